nn::network! {
    struct Digits: 784 -> layer2: 16 sigmoid -> 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
