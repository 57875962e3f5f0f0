nn::network! {
    struct Perceptron: 2 -> 1 step;
}

fn main() {
    let net = Perceptron::new(1);
    let mut grads = Perceptron::zeros();
    let mut ws = nn::Workspace::new();
    let _ = net.gradient(nn::MeanSquaredError, &[0.0, 1.0], &[1.0], &mut grads, &mut ws);
}
