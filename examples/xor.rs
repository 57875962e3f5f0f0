//! XOR, the problem a single neuron cannot solve: a 2-2-1 network learns it.
//!
//! `cargo run --release --example xor`

use nn::{BinaryCrossEntropy, Momentum, Optimizer};

nn::network! {
    /// Two inputs, two hidden tanh neurons, one sigmoid output.
    struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid;
}

fn main() -> Result<(), nn::Error> {
    let inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let targets = [[0.0], [1.0], [1.0], [0.0]];

    let mut net = Xor::new(1);
    let mut grads = Xor::zeros();
    let mut workspace = nn::Workspace::new();
    let mut optimizer = Momentum::new(0.5, 0.9);

    println!("training 2 -> 2 tanh -> 1 sigmoid on XOR (binary cross-entropy, momentum 0.9)");
    for epoch in 0..=1000 {
        let loss = net.gradient_batch(
            BinaryCrossEntropy,
            &inputs,
            &targets,
            &mut grads,
            &mut workspace,
        )?;
        optimizer.step(&mut net, &grads);
        if epoch % 200 == 0 {
            println!("epoch {epoch:>4}  loss {loss:.5}");
        }
    }

    let mut correct = 0;
    for (x, y) in inputs.iter().zip(&targets) {
        let out = net.forward(x)[0];
        let ok = (out > 0.5) == (y[0] > 0.5);
        correct += usize::from(ok);
        println!(
            "{} xor {} = {out:.4}  (want {}) {}",
            x[0],
            x[1],
            y[0],
            if ok { "ok" } else { "WRONG" }
        );
    }
    println!("{correct}/4 correct");
    println!("hidden weights {:?}", net.hidden.weights());
    Ok(())
}
