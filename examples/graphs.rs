//! Slide 8, frameworks: the slide's graph `a = x * y; b = a + z; c = sum(b)` on a dynamic graph
//! (a tape recorded at run time), then the seminar's digit network run both by the tape and by
//! the code `network!` generated: the same outputs and gradients, and what each costs.
//!
//! `cargo run --release --example graphs`

use std::hint::black_box;
use std::time::Instant;

use nn::data::Dataset;
use nn::tape::{Tape, TapeNetwork};
use nn::{CrossEntropy, Network, Workspace};

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    /// A tiny network, where the cost of the graph itself shows.
    struct Tiny: 2 -> 3 tanh -> 2 softmax;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- The slide's example, recorded as it runs.
    let mut tape = Tape::new();
    let x = tape.leaf(&[1.0, 2.0, 3.0]);
    let y = tape.leaf(&[4.0, 5.0, 6.0]);
    let z = tape.leaf(&[7.0, 8.0, 9.0]);
    let a = tape.mul(x, y)?;
    let b = tape.add(a, z)?;
    let c = tape.sum(b)?;
    println!("the slide's graph on a tape of {} nodes", tape.len());
    println!(
        "  x = {:?}, y = {:?}, z = {:?}",
        tape.value(x)?,
        tape.value(y)?,
        tape.value(z)?
    );
    println!(
        "  a = x * y = {:?}, b = a + z = {:?}, c = sum(b) = {:?}",
        tape.value(a)?,
        tape.value(b)?,
        tape.value(c)?
    );
    tape.backward(c)?;
    println!(
        "  backward from c: dc/dx = {:?} (= y), dc/dy = {:?} (= x), dc/dz = {:?}",
        tape.grad(x)?,
        tape.grad(y)?,
        tape.grad(z)?
    );

    // --- The same network, two ways.
    let data = Dataset::<784, 10>::from_idx(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-images-idx3-ubyte.gz"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-labels-idx1-ubyte.gz"
        ),
    )?;
    let net = Digits::new(1);
    let (x0, y0) = (&data.inputs[0], &data.targets[0]);

    let mut tape = Tape::new();
    let recorded = TapeNetwork::record(&mut tape, &net)?;
    let params_end = tape.len();
    let xv = tape.leaf(x0);
    let yv = tape.leaf(y0);
    let out = recorded.forward(&mut tape, xv)?;
    let loss = tape.cross_entropy(out, yv)?;
    tape.backward(loss)?;

    let mut grads = Digits::zeros();
    let mut ws = Workspace::new();
    let generated_loss = net.gradient(CrossEntropy, x0, y0, &mut grads, &mut ws);
    let generated_out = net.forward(x0);

    println!();
    println!(
        "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax on test digit 0 (a {}), cross-entropy",
        data.labels[0]
    );
    println!(
        "  tape: {} nodes ({} for the parameters, {} for one sample)",
        tape.len(),
        params_end,
        tape.len() - params_end
    );
    let out_diff = max_diff(tape.value(out)?, &generated_out);
    println!(
        "  outputs: largest difference {out_diff:.1e} (outputs up to {:.3})",
        generated_out.iter().fold(0.0f32, |m, v| m.max(*v))
    );
    println!(
        "  loss:    tape {:.7}, generated {generated_loss:.7}",
        tape.value(loss)?[0]
    );
    for (k, (p, g)) in recorded.parameters().zip(grads.parameters()).enumerate() {
        let part = if k % 2 == 0 { "weights" } else { "biases " };
        let layer = nn::model::Parameter::locate(Digits::LAYERS, k, 0).map_or("?", |p| p.layer);
        let scale = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        println!(
            "  gradient of {layer} {part}: largest difference {:.1e} (largest gradient {scale:.1e})",
            max_diff(tape.grad(p)?, g)
        );
    }

    // --- What each costs: forward and backward of one sample, averaged over many.
    println!();
    println!("forward + backward per sample (a rough wall-clock timing; see `cargo bench --bench tape`):");
    let n = 1000.min(data.len());
    let (xs, ys) = (&data.inputs[..n], &data.targets[..n]);
    report(
        "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax",
        &net,
        xs,
        ys,
    )?;
    let tiny_x: Vec<[f32; 2]> = (0..n)
        .map(|i| [(i % 2) as f32, (i / 2 % 2) as f32])
        .collect();
    let tiny_y: Vec<[f32; 2]> = tiny_x
        .iter()
        .map(|x| if x[0] != x[1] { [0.0, 1.0] } else { [1.0, 0.0] })
        .collect();
    report("2 -> 3 tanh -> 2 softmax", &Tiny::new(1), &tiny_x, &tiny_y)?;
    println!("the tape pays for being built as it runs: a Vec for every value and gradient, a match on every");
    println!("operation, loops whose sizes are known only at run time. network! has nothing to build: its");
    println!(
        "loops have the layer sizes as constants. (Timings on a busy machine vary: use the bench.)"
    );
    Ok(())
}

/// Times forward + backward with cross-entropy, per sample: on the tape, and by the generated
/// code one sample at a time and as one batch.
fn report<N: nn::Trainable<CrossEntropy, Scalar = f32>>(
    name: &str,
    net: &N,
    xs: &[N::Input],
    ys: &[N::Output],
) -> Result<(), Box<dyn std::error::Error>> {
    let n = xs.len();
    let mut tape = Tape::new();
    let recorded = TapeNetwork::record(&mut tape, net)?;
    let params_end = tape.len();
    let tape_time = best_of_3(n, || {
        for (x, y) in xs.iter().zip(ys) {
            tape.truncate(params_end);
            let xv = tape.leaf(x.as_ref());
            let yv = tape.leaf(y.as_ref());
            let out = recorded.forward(&mut tape, xv)?;
            let loss = tape.cross_entropy(out, yv)?;
            tape.backward(loss)?;
            black_box(tape.grad(xv)?);
        }
        Ok(())
    })?;

    let mut grads = N::zeros();
    let mut ws = Workspace::with_capacity(n);
    let one_time = best_of_3(n, || {
        for (x, y) in xs.iter().zip(ys) {
            black_box(net.gradient_batch(
                CrossEntropy,
                core::slice::from_ref(x),
                core::slice::from_ref(y),
                &mut grads,
                &mut ws,
            )?);
        }
        Ok(())
    })?;
    let batch_time = best_of_3(n, || {
        black_box(net.gradient_batch(CrossEntropy, xs, ys, &mut grads, &mut ws)?);
        Ok(())
    })?;

    println!("  {name}, {n} samples:");
    println!(
        "    dynamic graph (tape)            {:>8.2} µs",
        tape_time * 1e6
    );
    println!(
        "    network!, one sample at a time  {:>8.2} µs  ({:.1}× faster)",
        one_time * 1e6,
        tape_time / one_time
    );
    println!(
        "    network!, one batch of {n:<5}    {:>8.2} µs  ({:.1}× faster)",
        batch_time * 1e6,
        tape_time / batch_time
    );
    Ok(())
}

/// The fastest of three runs of `f` (after one to warm up), per sample.
fn best_of_3(
    n: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best / n as f64)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
}
