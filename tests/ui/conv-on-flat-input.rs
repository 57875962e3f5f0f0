nn::network! {
    struct Flat: 784 -> conv 6 5x5 relu -> 10 softmax;
}

fn main() {
    let _ = Flat::new(1);
}
