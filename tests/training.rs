//! Training end to end on problems with known answers.

use nn::{BinaryCrossEntropy, GradientDescent, MeanSquaredError, Momentum, Network, Optimizer};

nn::network! {
    /// The seminar's XOR network.
    #[derive(Clone, Debug, PartialEq)]
    struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid;

    /// One linear neuron: linear regression.
    struct Regression: 3 -> neuron: 1 linear;
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn train_xor(seed: u64) -> (Xor, f32) {
    let mut net = Xor::new(seed);
    let mut grads = Xor::zeros();
    let mut ws = nn::Workspace::new();
    let mut opt = Momentum::new(0.5, 0.9);
    let mut loss = f32::NAN;
    for _ in 0..1000 {
        loss = net
            .gradient_batch(BinaryCrossEntropy, &XOR_X, &XOR_Y, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
    }
    (net, loss)
}

#[test]
fn xor_reaches_100_percent() {
    let (net, loss) = train_xor(1);
    assert!(loss < 0.01, "final loss {loss}");
    for (x, y) in XOR_X.iter().zip(&XOR_Y) {
        let out = net.forward(x)[0];
        assert_eq!(out > 0.5, y[0] > 0.5, "xor{x:?} = {out}");
    }
}

#[test]
fn same_seed_same_bits() {
    let (a, la) = train_xor(1);
    let (b, lb) = train_xor(1);
    assert_eq!(la.to_bits(), lb.to_bits());
    let bits = |n: &Xor| -> Vec<u32> { n.parameters().flatten().map(|w| w.to_bits()).collect() };
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a, b);
    // A different seed starts elsewhere.
    assert_ne!(Xor::new(1), Xor::new(2));
}

#[test]
fn a_linear_neuron_recovers_known_coefficients() {
    // y = 2·x1 - 3·x2 + 0.5·x3 + 1, exactly, on a grid of inputs.
    let (w, b) = ([2.0f32, -3.0, 0.5], 1.0f32);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..5 {
        for j in 0..5 {
            for k in 0..4 {
                let x = [i as f32 / 2.0 - 1.0, j as f32 / 4.0, k as f32 - 1.5];
                ys.push([w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b]);
                xs.push(x);
            }
        }
    }
    let mut net = Regression::zeros();
    let mut grads = Regression::zeros();
    let mut ws = nn::Workspace::new();
    let mut sgd = GradientDescent::new(0.1);
    for _ in 0..2000 {
        net.gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        sgd.step(&mut net, &grads);
    }
    let got = net.neuron.weights()[0];
    for (g, want) in got.iter().zip(&w) {
        assert!((g - want).abs() < 1e-4, "weights {got:?}, want {w:?}");
    }
    assert!((net.neuron.bias()[0] - b).abs() < 1e-4);
}

#[test]
fn momentum_is_the_seminar_rule() {
    // v <- a*g + mu*v; w <- w - v, by hand on one weight over three steps.
    let mut net = Regression::zeros();
    let mut grads = Regression::zeros();
    grads.neuron.set_weights(&[[1.0, 0.0, 0.0]]);
    let mut opt = Momentum::new(0.1, 0.5);
    let (mut v, mut w) = (0.0f32, 0.0f32);
    for _ in 0..3 {
        opt.step(&mut net, &grads);
        v = 0.1 * 1.0 + 0.5 * v;
        w -= v;
    }
    assert_eq!(net.neuron.weights()[0][0], w);
    assert_eq!(opt.velocity().neuron.weights()[0][0], v);
}
