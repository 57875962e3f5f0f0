nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let net = Digits::new(1);
    let mut grads = Digits::zeros();
    let mut ws = nn::Workspace::new();
    let _ = net.gradient(nn::CrossEntropy, &[0.0; 784], &[0.0; 9], &mut grads, &mut ws);
}
