nn::network! {
    struct Images: 3x9x7 -> conv 4 3x3 relu -> 2 softmax;
}

fn main() {
    let net = Images::new(1);
    let _ = net.forward(&[0.0; 784]);
}
