nn::network! {
    struct Digits: 784 -> 16 sigmod -> 10 softmax;
    struct Xor: 2 -> 0 tanh -> 1 sigmoid;
}

fn main() {
    let _ = Digits::new(1);
    let _ = Xor::new(1);
}
