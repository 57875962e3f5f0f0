nn::network! {
    struct Digits: 784 -> 16u32 sigmoid -> 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
