//! The seminar network at the limit of one core: inference and training steps at batch 1, 32
//! and 256, and, in the same run, the roofline they are read against (a large single-thread
//! sgemm).
//!
//! Networks, each trained with cross-entropy and momentum, f32, one thread, at batch 1, 32 and
//! 256, inference and a training step:
//!
//! | group | network | FLOP a sample: forward / training step |
//! | --- | --- | --- |
//! | `infer`, `train` | `784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax` (the seminar's) | 25,920 / 52,672 |
//! | `wide256` | `784 -> 256 relu -> 256 relu -> 10 softmax` | 537,600 / 1,211,392 |
//! | `wide1024` | `784 -> 1024 relu -> 1024 relu -> 10 softmax` | 3,723,264 / 9,564,160 |
//! | `deep_tanh` | `64 -> 64 tanh ×4 -> 10 softmax` | 34,048 / 93,952 |
//!
//! The FLOP are those of the matrix products: `2·Σ i·o` forward; a training step that again for
//! the weight gradients plus `2·i·o` for every layer's input gradient but the first's (which
//! nobody computes). Samples/s times these, over the `roofline` group's `fma_peak_avx512`, is
//! the share of the FMA peak (`BENCHMARKS.md`).
//!
//! ```text
//! cargo bench --bench seminar -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Throughput is in samples (`Throughput::Elements(batch)`), so criterion prints samples/s; the
//! roofline group is in FLOP (`2·m·n·k` for the sgemms), so it prints FLOP/s as "elem/s". The
//! roofline has two ceilings: a tuned 512³ sgemm (what a real matrix product reaches, packing and
//! cache traffic included) and the bare FMA rate on registers (the core's arithmetic limit), in
//! AVX2 and, where the CPU has it, AVX-512 (what nn's kernels use there).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::{CrossEntropy, Momentum, Optimizer, Trainable};
use nn_test_support::Data;

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

nn::network! {
    /// A wide relu network: 2·(784·256 + 256·256 + 256·10) = 537,600 FLOP a sample forward.
    struct Wide256: 784 -> 256 relu -> 256 relu -> 10 softmax;
}

nn::network! {
    /// A wider relu network: 2·(784·1024 + 1024·1024 + 1024·10) = 3,723,264 FLOP a sample
    /// forward.
    struct Wide1024: 784 -> 1024 relu -> 1024 relu -> 10 softmax;
}

nn::network! {
    /// A deep narrow network whose cost is as much in its activations as in its products: four
    /// hidden layers of 64 `tanh` neurons (2·(4·64·64 + 64·10) = 34,048 FLOP a sample forward,
    /// 256 `tanh` values).
    struct DeepTanh: 64 -> 64 tanh -> 64 tanh -> 64 tanh -> 64 tanh -> 10 softmax;
}

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

/// [`batch`] for [`DeepTanh`]: inputs in `[-1, 1)`, one-hot targets.
fn deep_batch(n: usize) -> (Vec<[f32; 64]>, Vec<[f32; 10]>) {
    let (xs, ys) = batch(n);
    let xs = xs
        .iter()
        .map(|x| core::array::from_fn(|k| 2.0 * x[k] - 1.0))
        .collect();
    (xs, ys)
}

/// One network's inference and training step at batch 1, 32 and 256 (cross-entropy, momentum,
/// one thread), in one group named `name` so that its two halves are read side by side:
/// `name/infer/{1,32,256}` and `name/train/{1,32,256}`, throughput in samples.
fn network_group<N: Trainable<CrossEntropy>>(
    c: &mut Criterion,
    name: &str,
    make: fn() -> N,
    xs: &[N::Input],
    ys: &[N::Output],
) where
    Momentum<N>: Optimizer<N>,
{
    let mut g = c.benchmark_group(name);
    // The 1024-wide network's batch-256 training step takes milliseconds: fewer, longer samples.
    g.sample_size(20);
    let net = make();
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("infer", 1), |b| {
        b.iter(|| net.forward(black_box(&xs[0])))
    });
    for n in [32usize, 256] {
        let mut ws = nn::Workspace::with_capacity(n);
        let mut out = vec![ys[0]; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("infer", n), |b| {
            b.iter(|| {
                net.forward_batch(black_box(&xs[..n]), &mut out, &mut ws)
                    .expect("one output row per input");
                black_box(&out);
            })
        });
    }
    for n in [1usize, 32, 256] {
        let mut net = make();
        let mut grads = N::zeros();
        let mut opt = Momentum::new(0.01, 0.9);
        let mut ws = nn::Workspace::with_capacity(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("train", n), |b| {
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

/// The deep tanh network (group `deep_tanh`), whose time goes as much to its activations as to
/// its products.
fn deep_tanh(c: &mut Criterion) {
    let (xs, ys) = deep_batch(256);
    network_group(c, "deep_tanh", || DeepTanh::new(1), &xs, &ys);
}

/// The two wide relu networks (groups `wide256` and `wide1024`), whose time is in their
/// products.
fn wide(c: &mut Criterion) {
    let (xs, ys) = batch(256);
    network_group(c, "wide256", || Wide256::new(1), &xs, &ys);
    network_group(c, "wide1024", || Wide1024::new(1), &xs, &ys);
}

fn inference(c: &mut Criterion) {
    let mut g = c.benchmark_group("infer");
    let net = Digits::new(1);
    let (xs, _) = batch(256);

    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("forward", 1), |b| {
        b.iter(|| net.forward(black_box(&xs[0])))
    });

    for n in [32usize, 256] {
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

fn training(c: &mut Criterion) {
    let mut g = c.benchmark_group("train");
    let (xs, ys) = batch(256);
    for n in [1usize, 32, 256] {
        let mut net = Digits::new(1);
        let mut grads = Digits::zeros();
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
    // Batch 1 with the first layer's weight gradient fused into the momentum update
    // (`train_step`): the same bits as `step/1`, without writing and reading the 50 KB gradient.
    let mut net = Digits::new(1);
    let mut grads = Digits::zeros();
    let mut opt = Momentum::new(0.01, 0.9);
    let mut ws = nn::Workspace::with_capacity(1);
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("fused", 1), |b| {
        b.iter(|| {
            net.train_step(
                CrossEntropy,
                black_box(&xs[0]),
                &ys[0],
                &mut opt,
                &mut grads,
                &mut ws,
            )
        })
    });
    // The same with plain gradient descent, unfused and fused.
    let mut sgd = nn::GradientDescent::new(0.01);
    g.bench_function(BenchmarkId::new("sgd_step", 1), |b| {
        b.iter(|| {
            let loss = net.gradient(CrossEntropy, black_box(&xs[0]), &ys[0], &mut grads, &mut ws);
            sgd.step(&mut net, &grads);
            loss
        })
    });
    // Adam's step (not fused: fused it measured slower, its update being compute-bound).
    let mut adam = nn::Adam::new(1e-3);
    g.bench_function(BenchmarkId::new("adam_step", 1), |b| {
        b.iter(|| {
            let loss = net.gradient(CrossEntropy, black_box(&xs[0]), &ys[0], &mut grads, &mut ws);
            adam.step(&mut net, &grads);
            loss
        })
    });
    g.bench_function(BenchmarkId::new("sgd_fused", 1), |b| {
        b.iter(|| {
            net.train_step(
                CrossEntropy,
                black_box(&xs[0]),
                &ys[0],
                &mut sgd,
                &mut grads,
                &mut ws,
            )
        })
    });
    g.finish();
}

/// Training steps with the batch split across two threads ([`nn::DataParallel`], every batch
/// split, however small), next to the one-thread step at the sizes the `train` group skips, to
/// find where a second thread starts to pay.
fn training_two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_2_threads");
    let (xs, ys) = batch(1024);
    for n in [32usize, 64, 128, 256, 512, 1024] {
        for threads in [1usize, 2] {
            if threads == 1 && n == 256 {
                continue; // measured in the `train` group
            }
            let mut net = Digits::new(1);
            let mut grads = Digits::zeros();
            let mut opt = Momentum::new(0.01, 0.9);
            let mut parallel = nn::DataParallel::<Digits>::new(threads)
                .expect("two threads are within the limit on any machine");
            parallel.set_min_chunk(1);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(
                BenchmarkId::new(format!("step_{threads}_threads"), n),
                |b| {
                    b.iter(|| {
                        let loss = parallel
                            .gradient_batch(
                                &net,
                                CrossEntropy,
                                black_box(&xs[..n]),
                                &ys[..n],
                                &mut grads,
                            )
                            .expect("a non-empty batch with one target per input");
                        opt.step(&mut net, &grads);
                        loss
                    })
                },
            );
        }
    }
    g.finish();
}

/// A large single-thread sgemm, `C = A·Bᵀ` with `A`, `B` and `C` all 512×512: the limit the
/// network's numbers are read against. Run twice: through matrixmultiply (a tuned, packed
/// sgemm with runtime AVX2/FMA dispatch) and through nn's own kernel.
fn roofline(c: &mut Criterion) {
    const N: usize = 512;
    let mut g = c.benchmark_group("roofline");
    g.throughput(Throughput::Elements((2 * N * N * N) as u64));
    let a: Vec<f32> = (0..N * N).map(|k| (k % 17) as f32 * 0.01).collect();
    let bm: Vec<f32> = (0..N * N).map(|k| (k % 13) as f32 * 0.02).collect();
    let bias = vec![0.0f32; N];
    let mut out = vec![0.0f32; N * N];

    g.bench_function("sgemm_matrixmultiply_512", |b| {
        b.iter(|| {
            // SAFETY: `a`, `bm` and `out` each hold N·N values; the strides describe A and C
            // row-major and B transposed, all in bounds.
            #[allow(unsafe_code)]
            unsafe {
                matrixmultiply::sgemm(
                    N,
                    N,
                    N,
                    1.0,
                    a.as_ptr(),
                    N as isize,
                    1,
                    bm.as_ptr(),
                    1,
                    N as isize,
                    0.0,
                    out.as_mut_ptr(),
                    N as isize,
                    1,
                );
            }
            black_box(&out);
        })
    });

    g.bench_function("sgemm_nn_kernel_512", |b| {
        b.iter(|| {
            nn::kernel::affine(N, N, N, black_box(&a), &bm, &bias, &mut out);
            black_box(&out);
        })
    });

    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        g.throughput(Throughput::Elements(peak::FLOP_PER_CALL));
        g.bench_function("fma_peak_avx2", |b| {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            #[allow(unsafe_code)]
            b.iter(|| unsafe { peak::fma_loop(black_box(1.0)) })
        });
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        g.throughput(Throughput::Elements(2 * peak::FLOP_PER_CALL));
        g.bench_function("fma_peak_avx512", |b| {
            // SAFETY: the CPU has AVX-512F (checked above).
            #[allow(unsafe_code)]
            b.iter(|| unsafe { peak::fma_loop_512(black_box(1.0)) })
        });
    }
    g.finish();
}

/// The compute ceiling itself: eight-lane (and sixteen-lane) FMAs on registers only, no memory
/// traffic, so 2·8 (2·16) FLOP an instruction at the core's full rate (two FMA pipes on this
/// EPYC).
#[cfg(target_arch = "x86_64")]
mod peak {
    use core::arch::x86_64::{
        __m256, __m512, _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps,
        _mm512_add_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps,
    };

    /// Independent accumulators: more than FMA latency (4 cycles) × pipes (2), so the chains
    /// never wait on each other.
    const CHAINS: usize = 12;
    /// Rounds of one FMA on every chain.
    const ROUNDS: usize = 4096;
    /// FLOP in one call: 2 (multiply, add) × 8 lanes × chains × rounds.
    pub const FLOP_PER_CALL: u64 = (2 * 8 * CHAINS * ROUNDS) as u64;

    /// `CHAINS × ROUNDS` FMAs `v ← v·a + b`; returns one lane of their sum so none is dead code.
    ///
    /// # Safety
    ///
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_loop(seed: f32) -> f32 {
        let mut acc: [__m256; CHAINS] = [_mm256_set1_ps(seed); CHAINS];
        let (a, b) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(1e-4));
        for _ in 0..ROUNDS {
            for v in &mut acc {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut sum = acc[0];
        for v in &acc[1..] {
            sum = _mm256_add_ps(sum, *v);
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes[0]
    }

    /// [`fma_loop`] with sixteen-lane FMAs: twice the FLOP a call (2 × 16 lanes × chains ×
    /// rounds), the ceiling of nn's AVX-512 kernels.
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_loop_512(seed: f32) -> f32 {
        let mut acc: [__m512; CHAINS] = [_mm512_set1_ps(seed); CHAINS];
        let (a, b) = (_mm512_set1_ps(0.999_9), _mm512_set1_ps(1e-4));
        for _ in 0..ROUNDS {
            for v in &mut acc {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut sum = acc[0];
        for v in &acc[1..] {
            sum = _mm512_add_ps(sum, *v);
        }
        _mm512_reduce_add_ps(sum)
    }
}

criterion_group!(
    benches,
    inference,
    training,
    deep_tanh,
    wide,
    training_two_threads,
    roofline
);
criterion_main!(benches);
