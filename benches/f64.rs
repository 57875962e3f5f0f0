//! `f64` networks next to the same `f32` networks, in one run: what precision costs.
//!
//! The seminar's network (784-16-16-10 sigmoid) and a wider relu one (784-256-256-10), each in
//! `f32` (the SIMD back end the CPU selects) and `f64` (`kernel/double.rs`: the AVX-512 or AVX2
//! variant of its products the CPU has, libm's scalar functions), trained a batch of 32 with
//! momentum and inferred a batch of 32 and a single sample; and the three products of a dense
//! layer alone (`products/NxIxO`) at the shapes of those networks, in both types.
//!
//! ```text
//! cargo bench --bench f64 -- --warm-up-time 1 --measurement-time 4
//! NN_KERNEL=portable cargo bench --bench f64 -- products    # the portable loops
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::{CrossEntropy, Momentum, Optimizer, Trainable, Workspace};
use nn_test_support::Data;

nn::network! {
    struct Seminar32: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    struct Seminar64: f64 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    struct Wide32: 784 -> 256 relu -> 256 relu -> 10 softmax;
    struct Wide64: f64 784 -> 256 relu -> 256 relu -> 10 softmax;
}

const BATCH: usize = 32;

/// Converts the `f32` data to the network's scalar type.
fn data<T: Copy, const N: usize>(rows: &[[f32; N]], to: impl Fn(f32) -> T) -> Vec<[T; N]> {
    rows.iter().map(|r| r.map(&to)).collect()
}

fn case<N, T, const I: usize>(c: &mut Criterion, name: &str, scalar: &str, to: fn(f32) -> T)
where
    N: Trainable<CrossEntropy, Scalar = T, Input = [T; I], Output = [T; 10]>,
    T: nn::Scalar,
{
    let mut d = Data(7);
    let xs = data(&d.rows::<I>(BATCH, Data::uniform), to);
    let ys = data(&d.one_hot::<10>(BATCH), to);
    let mut net = N::zeros();
    for (k, p) in net.parameters_mut().flatten().enumerate() {
        *p = to(((k * 7919) % 1000) as f32 / 1000.0 * 0.1 - 0.05);
    }
    let mut grads = N::zeros();
    let mut ws = Workspace::with_capacity(BATCH);
    let mut opt = Momentum::new(0.01, 0.9);
    let mut out = vec![[to(0.0); 10]; BATCH];
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(BenchmarkId::new("train32", scalar), |b| {
        b.iter(|| {
            let loss = net.gradient_batch(CrossEntropy, black_box(&xs), &ys, &mut grads, &mut ws);
            opt.step(&mut net, &grads);
            loss.is_ok()
        })
    });
    group.bench_function(BenchmarkId::new("infer32", scalar), |b| {
        b.iter(|| net.forward_batch(black_box(&xs), &mut out, &mut ws).is_ok())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("infer1", scalar), |b| {
        b.iter(|| net.forward(black_box(&xs[0])))
    });
    group.finish();
}

/// The three products of a dense layer at one shape, in the scalar type `T` (the kernels
/// `Scalar` hands a layer: the dispatched SIMD back end for `f32`, `kernel/double.rs` for
/// `f64`).
fn products<T: nn::Scalar>(c: &mut Criterion, (n, i, o): (usize, usize, usize), to: fn(f32) -> T) {
    let fill = |len: usize, seed: usize| -> Vec<T> {
        (0..len)
            .map(|k| to((((k + seed) * 7919) % 1000) as f32 / 1000.0 - 0.5))
            .collect()
    };
    let (x, w, b, d) = (fill(n * i, 1), fill(o * i, 2), fill(o, 3), fill(n * o, 4));
    let mut z = vec![T::ZERO; n * o];
    let (mut gw, mut gb) = (vec![T::ZERO; o * i], vec![T::ZERO; o]);
    let mut dx = vec![T::ZERO; n * i];
    let mut group = c.benchmark_group(format!("products/{n}x{i}x{o}"));
    group.throughput(Throughput::Elements((n * i * o) as u64));
    group.bench_function(BenchmarkId::new("affine", T::NAME), |bch| {
        bch.iter(|| T::affine(n, i, o, black_box(&x), &w, &b, &mut z))
    });
    group.bench_function(BenchmarkId::new("weight_grad", T::NAME), |bch| {
        bch.iter(|| T::weight_grad(n, i, o, black_box(&x), &d, &mut gw, &mut gb))
    });
    group.bench_function(BenchmarkId::new("input_grad", T::NAME), |bch| {
        bch.iter(|| T::input_grad(n, i, o, black_box(&d), &w, &mut dx))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for shape in [(32, 784, 16), (1, 784, 256), (32, 784, 256), (32, 256, 256)] {
        products::<f32>(c, shape, |v| v);
        products::<f64>(c, shape, f64::from);
    }
    case::<Seminar32, f32, 784>(c, "seminar", "f32", |v| v);
    case::<Seminar64, f64, 784>(c, "seminar", "f64", f64::from);
    case::<Wide32, f32, 784>(c, "wide256", "f32", |v| v);
    case::<Wide64, f64, 784>(c, "wide256", "f64", f64::from);
}

criterion_group!(f64_vs_f32, benches);
criterion_main!(f64_vs_f32);
