// Blocks and heads compute in f32 only: an f64 network is a chain.
nn::network! {
    struct Skip: f64 4 -> 4 tanh -> residual { 4 relu -> 4 linear } -> 2 softmax;
}

fn main() {
    let _ = Skip::new(1);
}
