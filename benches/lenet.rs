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
//!
//! A training step costs about 2,263,920 FLOP a sample: the forward pass, the weight and input
//! gradients of every layer but the first convolution's input gradient.
//!
//! Figures on the 2-vCPU AMD EPYC Zen 5 KVM with AVX-512 (FMA peak 246.3 GFLOP/s,
//! `BENCHMARKS.md`), shared (load average 3 to 4.7), pinned to one core (`taskset -c 1`), beside
//! `scripts/bench_lenet_pytorch.py` (PyTorch 2.15 eager, `torch.set_num_threads(1)`), alternated
//! in one session; each figure is the middle of three runs' medians:
//!
//! | LeNet | nn | samples/s | % of peak | PyTorch | samples/s | PyTorch / nn |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | inference b1 | 10.5 µs | 95 k | 32% | 121 µs | 8.2 k | 11.6 |
//! | inference b32 | 223 µs | 143 k | 48% | 1077 µs | 29.7 k | 4.8 |
//! | inference b256 | 2.10 ms | 122 k | 41% | 9.25 ms | 27.7 k | 4.4 |
//! | training step b1 | 41.8 µs | 23.9 k | 22% | 647 µs | 1.5 k | 15.5 |
//! | training step b32 | 720 µs | 44.4 k | 41% | 2.45 ms | 13.1 k | 3.4 |
//! | training step b256 | 6.69 ms | 38.3 k | 35% | 23.3 ms | 11.0 k | 3.5 |
//!
//! Single runs on that machine spread by up to 1.7 times (other processes sharing the two
//! cores); compare figures from one session.

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
