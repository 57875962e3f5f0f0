nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let net = Digits::new(1);
    let _ = net.forward(&[0.0; 100]);
}
