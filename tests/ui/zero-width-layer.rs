nn::network! {
    struct Digits: 784 -> hidden: 0 relu -> 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
