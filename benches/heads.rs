//! The two-head `Reader` of `examples/heads.rs` at batch 1, 32 and 256: inference
//! (`forward_batch` into the outputs struct) and a training step (`gradient_batch` with
//! cross-entropy on the digit head and binary cross-entropy on the even head, then Adam), one
//! thread; beside it the one-head chain `784 -> 64 relu -> 10 softmax` (the same trunk and digit
//! head), so the difference is what the second head and the heads' bookkeeping (target copies,
//! the summed trunk gradient) cost.
//!
//! ```text
//! cargo bench --bench heads -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The same model in PyTorch eager (the same batches, losses and optimizer, one thread) is
//! `scripts/bench_heads_pytorch.py`; run the two alternately in one session to compare them.
//!
//! Throughput is in samples (`Throughput::Elements(batch)`). The workspace, the gradients and
//! the outputs are created once, outside the timed loop, so a measured step allocates nothing.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::{Adam, BinaryCrossEntropy, CrossEntropy, Optimizer};
use nn_test_support::Data;

nn::network! {
    /// One trunk, two heads.
    pub struct Reader: 784 -> trunk: 64 relu -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };
    /// The same trunk and digit head as a chain.
    pub struct OneHead: 784 -> 64 relu -> 10 softmax;
}

/// The batch sizes measured.
const BATCHES: [usize; 3] = [1, 32, 256];

/// A reproducible batch: pixel-like inputs in `[0, 1)` and each head's targets.
fn batch(n: usize) -> (Vec<[f32; 784]>, Vec<ReaderOutputs>) {
    let mut data = Data(0x2545_f491_4f6c_dd1d);
    let xs = (0..n)
        .map(|_| core::array::from_fn(|_| data.uniform()))
        .collect::<Vec<_>>();
    let ys = (0..n)
        .map(|i| {
            let mut digit = [0.0; 10];
            digit[i % 10] = 1.0;
            ReaderOutputs {
                digit,
                even: [f32::from(u8::from(i.is_multiple_of(2)))],
            }
        })
        .collect();
    (xs, ys)
}

fn inference(c: &mut Criterion) {
    let mut g = c.benchmark_group("heads_infer");
    let (reader, chain) = (Reader::new(1), OneHead::new(1));
    let (xs, _) = batch(256);
    for n in BATCHES {
        g.throughput(Throughput::Elements(n as u64));
        let mut ws = nn::Workspace::with_capacity(n);
        let mut out = vec![ReaderOutputs::zeros(); n];
        g.bench_function(BenchmarkId::new("two_heads", n), |b| {
            b.iter(|| {
                reader
                    .forward_batch(black_box(&xs[..n]), &mut out, &mut ws)
                    .expect("one output row per input");
                black_box(&out);
            })
        });
        let mut ws = nn::Workspace::with_capacity(n);
        let mut out = vec![[0.0f32; 10]; n];
        g.bench_function(BenchmarkId::new("one_head_chain", n), |b| {
            b.iter(|| {
                chain
                    .forward_batch(black_box(&xs[..n]), &mut out, &mut ws)
                    .expect("one output row per input");
                black_box(&out);
            })
        });
    }
    g.finish();
}

fn training(c: &mut Criterion) {
    let mut g = c.benchmark_group("heads_train");
    let (xs, ys) = batch(256);
    let digits: Vec<[f32; 10]> = ys.iter().map(|y| y.digit).collect();
    let losses = ReaderLosses {
        digit: (CrossEntropy, 1.0),
        even: (BinaryCrossEntropy, 0.5),
    };
    for n in BATCHES {
        g.throughput(Throughput::Elements(n as u64));
        let mut net = Reader::new(1);
        let mut grads = Reader::zeros();
        let mut opt = Adam::new(1e-3);
        let mut ws = nn::Workspace::with_capacity(n);
        g.bench_function(BenchmarkId::new("two_heads", n), |b| {
            b.iter(|| {
                let loss = net
                    .gradient_batch(losses, black_box(&xs[..n]), &ys[..n], &mut grads, &mut ws)
                    .expect("a non-empty batch with one target per input");
                opt.step(&mut net, &grads);
                loss
            })
        });
        let mut net = OneHead::new(1);
        let mut grads = OneHead::zeros();
        let mut opt = Adam::new(1e-3);
        let mut ws = nn::Workspace::with_capacity(n);
        g.bench_function(BenchmarkId::new("one_head_chain", n), |b| {
            b.iter(|| {
                let loss = net
                    .gradient_batch(
                        CrossEntropy,
                        black_box(&xs[..n]),
                        &digits[..n],
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
