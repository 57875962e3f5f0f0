nn::network! {
    struct Digits: 784 -> 16 softmax -> 10 sigmoid;
}

fn main() {
    let _ = Digits::new(1);
}
