//! The whole LeNet of `examples/cnn.rs` at batch 1, 32 and 256: inference (`forward_batch`) and
//! a training step (`gradient_batch` with cross-entropy, then a momentum step), one thread.
//!
//! ```text
//! cargo bench --bench lenet -- --warm-up-time 1 --measurement-time 3
//! /path/to/torch/python scripts/bench_lenet_pytorch.py   # the same model in PyTorch eager
//! ```
//!
//! Network: `1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu -> maxpool 2x2
//! -> dropout 0.25 -> 120 relu -> 84 relu -> 10 softmax`. A forward pass costs 833,040 FLOP a
//! sample (715,200 in the two convolutions, 117,840 in the three dense layers).
//!
//! Throughput is in samples (`Throughput::Elements(batch)`), so criterion prints samples/s. The
//! workspace, the gradients and the outputs are created once, outside the timed loop, so a
//! measured step allocates nothing.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::{CrossEntropy, Momentum, Optimizer};
use nn_test_support::Data;

nn::network! {
    /// LeNet-style digit classifier on 28x28 greyscale images.
    pub struct LeNet: 1x28x28
        -> conv 6 5x5 pad 2 relu       // 6 filters of 5x5, stride 1: 6x28x28
        -> maxpool 2x2                 // 6x14x14 (stride defaults to the window)
        -> conv 16 5x5 relu            // 16x10x10
        -> maxpool 2x2                 // 16x5x5
        -> dropout 0.25
        -> 120 relu                    // a dense layer flattens channel-major, as torch.flatten
        -> 84 relu
        -> 10 softmax;
}

/// The batch sizes measured.
const BATCHES: [usize; 3] = [1, 32, 256];

/// A reproducible batch: pixel-like inputs in `[0, 1)` and one-hot targets.
fn batch(n: usize) -> (Vec<[f32; 784]>, Vec<[f32; 10]>) {
    let mut data = Data(0x2545_f491_4f6c_dd1d);
    let xs = (0..n)
        .map(|_| core::array::from_fn(|_| data.uniform()))
        .collect::<Vec<_>>();
    let ys = (0..n)
        .map(|i| {
            let mut y = [0.0; 10];
            y[i % 10] = 1.0;
            y
        })
        .collect();
    (xs, ys)
}

/// Inference: `forward_batch` into a reused output buffer and workspace.
fn inference(c: &mut Criterion) {
    let mut g = c.benchmark_group("lenet_infer");
    let net = LeNet::new(1);
    let (xs, _) = batch(256);
    for n in BATCHES {
        let mut ws = nn::Workspace::with_capacity(n);
        let mut out = vec![[0.0f32; 10]; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("forward_batch", n), |b| {
            b.iter(|| {
                net.forward_batch(black_box(&xs[..n]), &mut out, &mut ws)
                    .expect("one output row per input");
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// A training step: the gradient of the mean cross-entropy (dropout masks drawn), then momentum.
fn training(c: &mut Criterion) {
    let mut g = c.benchmark_group("lenet_train");
    let (xs, ys) = batch(256);
    for n in BATCHES {
        let mut net = LeNet::new(1);
        let mut grads = LeNet::zeros();
        let mut opt = Momentum::new(0.01, 0.9);
        let mut ws = nn::Workspace::with_capacity(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("step", n), |b| {
            b.iter(|| {
                let loss = net
                    .gradient_batch(
                        CrossEntropy,
                        black_box(&xs[..n]),
                        &ys[..n],
                        &mut grads,
                        &mut ws,
                    )
                    .expect("a non-empty batch with one target per input");
                opt.step(&mut net, &grads);
                loss
            })
        });
    }
    g.finish();
}

criterion_group!(benches, inference, training);
criterion_main!(benches);
