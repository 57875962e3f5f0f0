nn::network! {
    struct Branches: 1x8x8 -> concat { conv 4 3x3 relu, conv 2 5x5 relu } -> 10 softmax;
}

fn main() {
    let _ = Branches::new(1);
}
