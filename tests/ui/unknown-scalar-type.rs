// A network computes in f32 or f64; `f16` is neither.
nn::network! {
    struct Half: f16 4 -> 2 softmax;
}

fn main() {}
