nn::network! {
    struct Net: 2 -> 3 relu -> 1 sigmoid;
    struct Net: 4 -> 2 tanh -> 1 sigmoid;
}

fn main() {
    let net = Net::new(1);
    let _ = net.forward(&[0.0, 1.0]);
}
