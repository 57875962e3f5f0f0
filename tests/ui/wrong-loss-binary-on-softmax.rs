nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let net = Digits::new(1);
    let _ = net.loss(nn::BinaryCrossEntropy, &[0.0; 784], &[0.0; 10]);
}
