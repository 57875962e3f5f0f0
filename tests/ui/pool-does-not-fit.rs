nn::network! {
    struct Pooled: 3x9x7 -> conv 4 5x5 relu -> maxpool 4x4 -> 2 softmax;
}

fn main() {
    let _ = Pooled::new(1);
}
