// An f64 network trains, checks its gradients and saves its weights with the f32 API.
nn::network! {
    struct Precise: f64 3 -> 4 tanh -> 2 softmax;
}

fn main() {
    use nn::Optimizer;
    let mut net = Precise::new(1);
    let mut grads = Precise::zeros();
    let mut ws = nn::Workspace::new();
    let mut opt = nn::Adam::new(1e-2);
    let xs = [[0.5f64, -0.25, 1.0]];
    let ys = [[1.0f64, 0.0]];
    let loss: f64 = net
        .gradient_batch(nn::CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    opt.step(&mut net, &grads);
    let out: [f64; 2] = net.forward(&xs[0]);
    assert!(loss.is_finite() && (out[0] + out[1] - 1.0).abs() < 1e-15);
}
