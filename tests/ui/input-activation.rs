nn::network! {
    struct Digits: 784 sigmoid -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
