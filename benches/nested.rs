//! A nested network against the same layers declared flat: a training step (gradient and
//! momentum step) and inference at batch 32, f32, one thread, in the same run so that the two
//! read against each other on a noisy machine. The nested one hands its workspace out layer by
//! layer and calls the encoder through `nn::Layer`; the arithmetic is the same.
//!
//! ```text
//! cargo bench --bench nested -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::{CrossEntropy, Momentum, Optimizer, Trainable, Workspace};
use nn_test_support::Data;

nn::network! {
    struct Nested: 784 -> encoder: Encoder -> 10 softmax;
    struct Encoder: 784 -> 256 relu -> 256 relu;
    struct Flat: 784 -> 256 relu -> 256 relu -> 10 softmax;
}

const BATCH: usize = 32;

fn train<N: Trainable<CrossEntropy, Scalar = f32, Input = [f32; 784], Output = [f32; 10]>>(
    c: &mut Criterion,
    name: &str,
    mut net: N,
) {
    let mut d = Data(1);
    let xs = d.rows::<784>(BATCH, Data::uniform);
    let ys = d.one_hot::<10>(BATCH);
    let mut grads = N::zeros();
    let mut ws = Workspace::with_capacity(BATCH);
    let mut opt = Momentum::new(0.01, 0.9);
    let mut out = vec![[0.0f32; 10]; BATCH];
    let mut group = c.benchmark_group("nested");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(format!("{name}/train32"), |b| {
        b.iter(|| {
            let loss = net
                .gradient_batch(CrossEntropy, black_box(&xs), &ys, &mut grads, &mut ws)
                .unwrap_or(f32::NAN);
            opt.step(&mut net, &grads);
            loss
        })
    });
    group.bench_function(format!("{name}/infer32"), |b| {
        b.iter(|| net.forward_batch(black_box(&xs), &mut out, &mut ws).is_ok())
    });
    group.finish();
}

fn nested_and_flat(c: &mut Criterion) {
    // Alternated, twice each, so that a change in the machine's load shows as a spread.
    for round in 0..2 {
        train(c, &format!("flat{round}"), Flat::new(1));
        train(c, &format!("nested{round}"), Nested::new(1));
    }
}

criterion_group!(benches, nested_and_flat);
criterion_main!(benches);
