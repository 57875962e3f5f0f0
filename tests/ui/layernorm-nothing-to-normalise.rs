nn::network! {
    struct Scalar: 4 -> 1 tanh -> layernorm -> 2 softmax;
}

fn main() {
    let _ = Scalar::new(1);
}
