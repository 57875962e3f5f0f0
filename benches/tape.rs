//! What a run-time graph costs: one training sample's forward and backward pass (cross-entropy)
//! on the dynamic-graph tape (`nn::tape`) against the code `network!` generates, on the same
//! networks with the same weights. The tape records the parameters once and is truncated back to
//! them for each sample, as a framework keeps its parameters between steps. The networks: the
//! seminar's digit classifier, LeNet (convolutions and pooling), and a tiny one.
//!
//! `cargo bench --bench tape`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use nn::tape::{Tape, TapeNetwork};
use nn::{CrossEntropy, Trainable, Workspace};

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    /// A tiny network, where the graph's own cost dominates.
    struct Tiny: 2 -> 3 tanh -> 2 softmax;
    /// LeNet (issue 12's declaration without its dropout), where the tape's plain convolution
    /// loops meet the generated code's kernels.
    struct LeNet: 1x28x28
        -> conv 6 5x5 pad 2 relu
        -> maxpool 2x2
        -> conv 16 5x5 relu
        -> maxpool 2x2
        -> 120 relu
        -> 84 relu
        -> 10 softmax;
}

/// Benchmarks one sample's forward + backward both ways, cycling through `xs`.
fn compare<N: Trainable<CrossEntropy, Scalar = f32>>(
    c: &mut Criterion,
    name: &str,
    net: &N,
    xs: &[N::Input],
    ys: &[N::Output],
) {
    let mut group = c.benchmark_group(name);

    let mut tape = Tape::new();
    let recorded = match TapeNetwork::record(&mut tape, net) {
        Ok(r) => r,
        Err(e) => panic!("{name}: {e}"),
    };
    let params = tape.len();
    let mut i = 0;
    group.bench_function("tape", |b| {
        b.iter(|| {
            i = (i + 1) % xs.len();
            tape.truncate(params);
            let x = tape.leaf(xs[i].as_ref());
            let y = tape.leaf(ys[i].as_ref());
            let step = recorded
                .forward(&mut tape, x)
                .and_then(|out| tape.cross_entropy(out, y))
                .and_then(|loss| tape.backward(loss));
            black_box(step.is_ok())
        })
    });

    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    let mut i = 0;
    group.bench_function("network!", |b| {
        b.iter(|| {
            i = (i + 1) % xs.len();
            black_box(net.gradient_batch(
                CrossEntropy,
                core::slice::from_ref(&xs[i]),
                core::slice::from_ref(&ys[i]),
                &mut grads,
                &mut ws,
            ))
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let data = match nn::data::Dataset::<784, 10>::from_idx(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-images-idx3-ubyte.gz"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-labels-idx1-ubyte.gz"
        ),
    ) {
        Ok(d) => d,
        Err(e) => panic!("the vendored MNIST digits: {e}"),
    };
    let (xs, ys) = (&data.inputs[..64], &data.targets[..64]);
    compare(
        c,
        "digits 784-16-16-10, one sample",
        &Digits::new(1),
        xs,
        ys,
    );

    compare(c, "lenet 1x28x28, one sample", &LeNet::new(1), xs, ys);

    let tiny_x: Vec<[f32; 2]> = (0..4).map(|i| [(i % 2) as f32, (i / 2) as f32]).collect();
    let tiny_y: Vec<[f32; 2]> = tiny_x
        .iter()
        .map(|x| if x[0] != x[1] { [0.0, 1.0] } else { [1.0, 0.0] })
        .collect();
    compare(c, "tiny 2-3-2, one sample", &Tiny::new(1), &tiny_x, &tiny_y);
}

criterion_group!(tape, benches);
criterion_main!(tape);
