nn::network! {
    struct Regularised: 784 -> 128 relu -> dropout 1.5 -> 10 softmax;
}

fn main() {
    let _ = Regularised::new(1);
}
