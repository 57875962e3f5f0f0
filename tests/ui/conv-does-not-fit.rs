nn::network! {
    struct Tiny: 1x12x12
        -> conv 6 5x5 relu
        -> maxpool 2x2
        -> maxpool 1x1 stride 1
        -> conv 16 5x5 relu
        -> 10 softmax;
}

fn main() {
    let _ = Tiny::new(1);
}
