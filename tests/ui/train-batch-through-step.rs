nn::network! {
    struct Perceptrons: 2 -> hidden: 3 step -> out: 1 sigmoid;
}

fn main() {
    let net = Perceptrons::new(1);
    let mut grads = Perceptrons::zeros();
    let mut ws = nn::Workspace::new();
    let x = [[0.0, 1.0], [1.0, 0.0]];
    let y = [[1.0], [1.0]];
    let _ = net.gradient_batch(nn::BinaryCrossEntropy, &x, &y, &mut grads, &mut ws);
}
