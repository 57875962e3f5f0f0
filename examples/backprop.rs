//! Slide 5, training, and backprop = the chain rule: the steps of the slides on a tiny network,
//! with the gradient of one weight three ways: the generated backward pass, the chain-rule
//! product written out by hand, and a finite difference of the loss.
//!
//! `cargo run --release --example backprop`

use nn::{GradientDescent, MeanSquaredError, Optimizer, Workspace};

nn::network! {
    /// Two inputs, two hidden sigmoid neurons, one sigmoid output.
    struct Tiny: 2 -> hidden: 2 sigmoid -> out: 1 sigmoid;
}

fn main() {
    let x = [0.5f32, -0.3];
    let y = [1.0f32];

    // 1. Random initialisation.
    let mut net = Tiny::new(3);
    println!("1. random init (seed 3, Xavier uniform, zero biases)");
    println!("   W1 = {:?}", net.hidden.weights());
    println!("   W2 = {:?}", net.out.weights());

    // 2. Feed forward.
    let acts = net.forward_all(&x);
    let (a1, a2) = (acts.hidden, acts.out[0]);
    println!("2. feed forward x = {x:?}");
    println!("   a1 = sigmoid(W1·x + b1) = {a1:?}");
    println!("   a2 = sigmoid(W2·a1 + b2) = {a2}");

    // 3. The loss: mean squared error over the one output, L = (a2 - y)².
    let loss = (a2 - y[0]) * (a2 - y[0]);
    println!("3. loss L = (a2 - y)² = ({a2} - {})² = {loss}", y[0]);

    // 4. The gradient. First as the generated backward pass computes it, for every weight...
    let mut grads = Tiny::zeros();
    let mut ws = Workspace::new();
    net.gradient(MeanSquaredError, &x, &y, &mut grads, &mut ws);
    let generated = grads.hidden.weights()[0][0];

    // ... then by hand for one weight, w = W1[0][0] (hidden neuron 0, input 0), link by link:
    // L depends on w through z1₀ = W1[0]·x + b1₀, a1₀ = s(z1₀), z2 = W2·a1 + b2, a2 = s(z2).
    let dl_da2 = 2.0 * (a2 - y[0]); // ∂L/∂a2 of (a2 - y)²
    let da2_dz2 = a2 * (1.0 - a2); // sigmoid' = s(1 - s)
    let dz2_da1 = net.out.weights()[0][0]; // z2 = W2[0][0]·a1₀ + ...
    let da1_dz1 = a1[0] * (1.0 - a1[0]);
    let dz1_dw = x[0]; // z1₀ = w·x₀ + ...
    let by_hand = dl_da2 * da2_dz2 * dz2_da1 * da1_dz1 * dz1_dw;
    println!("4. gradient of L with respect to w = W1[0][0], by the chain rule:");
    println!("   ∂L/∂w = ∂L/∂a2 · ∂a2/∂z2 · ∂z2/∂a1₀ · ∂a1₀/∂z1₀ · ∂z1₀/∂w");
    println!(
        "         = 2(a2-y) · a2(1-a2) · W2[0][0] · a1₀(1-a1₀) · x₀\n         = {dl_da2:.6} · {da2_dz2:.6} · {dz2_da1:.6} · {da1_dz1:.6} · {dz1_dw}"
    );

    // ... and as a finite difference of the loss alone, (L(w + h) - L(w - h)) / 2h, with the
    // forward pass redone by hand in f64 so that rounding does not blur the difference.
    let h = 1e-4;
    let w0 = net.hidden.weights()[0][0];
    let numeric = (loss_f64(&net, &x, y[0], f64::from(w0) + h)
        - loss_f64(&net, &x, y[0], f64::from(w0) - h))
        / (2.0 * h);
    println!("   generated backward   {generated:+.7}");
    println!("   chain rule by hand   {by_hand:+.7}");
    println!("   finite difference    {numeric:+.7}   (h = {h}, forward pass in f64)");

    // 5. The update w_new = w - α·∂L/∂w, for every weight and bias at once.
    let alpha = 2.0;
    let mut gd = GradientDescent::new(alpha);
    gd.step(&mut net, &grads);
    println!(
        "5. update w_new = w - α·grad with α = {alpha}: W1[0][0] {w0:.6} -> {:.6}",
        net.hidden.weights()[0][0]
    );
    println!(
        "   loss {loss:.6} -> {:.6}",
        net.loss(MeanSquaredError, &x, &y)
    );

    // And repeat: feed forward, loss, gradient, update.
    print!("   repeating steps 2-5, loss every 10 steps:");
    for step in 1..=50 {
        let l = net.gradient(MeanSquaredError, &x, &y, &mut grads, &mut ws);
        gd.step(&mut net, &grads);
        if step % 10 == 0 {
            print!(" {l:.4}");
        }
    }
    println!();
}

/// The loss `(a2 - y)²` with `W1[0][0]` set to `w`, the forward pass written out in f64.
fn loss_f64(net: &Tiny, x: &[f32; 2], y: f32, w: f64) -> f64 {
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (w1, b1) = (net.hidden.weights(), net.hidden.bias());
    let (w2, b2) = (net.out.weights(), net.out.bias());
    let a1: Vec<f64> = (0..2)
        .map(|i| {
            let w_i0 = if i == 0 { w } else { f64::from(w1[i][0]) };
            s(w_i0 * f64::from(x[0]) + f64::from(w1[i][1]) * f64::from(x[1]) + f64::from(b1[i]))
        })
        .collect();
    let a2 = s(f64::from(w2[0][0]) * a1[0] + f64::from(w2[0][1]) * a1[1] + f64::from(b2[0]));
    (a2 - f64::from(y)).powi(2)
}
