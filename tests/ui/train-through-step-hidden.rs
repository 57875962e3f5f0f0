nn::network! {
    struct Perceptrons: 2 -> hidden: 3 step -> out: 1 sigmoid;
}

fn main() {
    let net = Perceptrons::new(1);
    let mut grads = Perceptrons::zeros();
    let mut ws = nn::Workspace::new();
    let _ = net.gradient(nn::MeanSquaredError, &[0.0, 1.0], &[1.0], &mut grads, &mut ws);
}
