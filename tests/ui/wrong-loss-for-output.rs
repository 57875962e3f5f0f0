nn::network! {
    struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid;
}

fn main() {
    let net = Xor::new(1);
    let mut grads = Xor::zeros();
    let mut ws = nn::Workspace::new();
    let _ = net.gradient(nn::CrossEntropy, &[0.0, 1.0], &[1.0], &mut grads, &mut ws);
}
