nn::network! {
    struct Digits: 784 -> 16 sigmod -> 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
