//! nn's kernels against a tuned general sgemm on the seminar network's first layer, the product
//! that dominates its cost: why nn has its own kernels rather than calling a crate.
//!
//! ```text
//! cargo bench --bench kernels -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The first layer is 784 inputs to 16 neurons; for a batch of `n` samples its forward product is
//! `Z = X·Wᵀ` (`n × 784` by `784 × 16`) and its weight gradient `∂W = Δᵀ·X` (`16 × n` by
//! `n × 784`). Each is timed through `nn::kernel` and through matrixmultiply's `sgemm` (packed,
//! runtime AVX2/FMA dispatch, a packing buffer allocated on every call), throughput in FLOP
//! (`2·n·784·16`).
//!
//! The `activation` group times the activation kernels against the scalar loops they replaced.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const INPUTS: usize = 784;
const OUTPUTS: usize = 16;

fn first_layer(c: &mut Criterion) {
    let (i, o) = (INPUTS, OUTPUTS);
    let mut g = c.benchmark_group("layer1");
    for n in [1usize, 32, 256] {
        let x: Vec<f32> = (0..n * i).map(|k| (k % 17) as f32 * 0.01).collect();
        let w: Vec<f32> = (0..o * i).map(|k| (k % 13) as f32 * 0.02).collect();
        let d: Vec<f32> = (0..n * o).map(|k| (k % 7) as f32 * 0.1).collect();
        let b = vec![0.0f32; o];
        let mut z = vec![0.0f32; n * o];
        let (mut gw, mut gb) = (vec![0.0f32; o * i], vec![0.0f32; o]);
        g.throughput(Throughput::Elements((2 * n * i * o) as u64));

        g.bench_function(BenchmarkId::new("forward_nn", n), |bch| {
            bch.iter(|| nn::kernel::affine(n, i, o, black_box(&x), &w, &b, &mut z))
        });
        g.bench_function(BenchmarkId::new("forward_matrixmultiply", n), |bch| {
            bch.iter(|| {
                // SAFETY: X is n × i row-major, Wᵀ is read from W (o × i) through its strides,
                // Z is n × o row-major; all three buffers hold those sizes.
                #[allow(unsafe_code)]
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        i,
                        o,
                        1.0,
                        black_box(&x).as_ptr(),
                        i as isize,
                        1,
                        w.as_ptr(),
                        1,
                        i as isize,
                        0.0,
                        z.as_mut_ptr(),
                        o as isize,
                        1,
                    );
                }
                black_box(&z);
            })
        });
        g.bench_function(BenchmarkId::new("weight_grad_nn", n), |bch| {
            bch.iter(|| nn::kernel::weight_grad(n, i, o, black_box(&x), &d, &mut gw, &mut gb))
        });
        g.bench_function(BenchmarkId::new("weight_grad_matrixmultiply", n), |bch| {
            bch.iter(|| {
                // SAFETY: Δᵀ is read from Δ (n × o) through its strides, X is n × i, ∂W is
                // o × i row-major; all three buffers hold those sizes.
                #[allow(unsafe_code)]
                unsafe {
                    matrixmultiply::sgemm(
                        o,
                        n,
                        i,
                        1.0,
                        d.as_ptr(),
                        1,
                        o as isize,
                        black_box(&x).as_ptr(),
                        i as isize,
                        1,
                        0.0,
                        gw.as_mut_ptr(),
                        i as isize,
                        1,
                    );
                }
                black_box(&gw);
            })
        });
    }
    g.finish();
}

/// The activation kernels on a batch of the deep tanh network's hidden layer (256 samples × 64
/// values), each beside the scalar loop it replaced (`f32::tanh`, `nn::math::softplus`,
/// `Gelu::function`, `z·logistic(z)`, leaky relu's branch, the in-order softmax), throughput in
/// values; and softmax and log-sum-exp on rows of 10 (the
/// seminar network's output layer).
fn activations(c: &mut Criterion) {
    const LEN: usize = 256 * 64;
    let z: Vec<f32> = (0..LEN)
        .map(|k| ((k * 7919) % 1000) as f32 * 0.008 - 4.0)
        .collect();
    let mut v = z.clone();
    let mut g = c.benchmark_group("activation");
    g.throughput(Throughput::Elements(LEN as u64));
    let mut pair = |name: &str, simd: &dyn Fn(&mut [f32]), scalar: &dyn Fn(&mut [f32])| {
        g.bench_function(format!("{name}_kernel"), |b| {
            b.iter(|| {
                v.copy_from_slice(black_box(&z));
                simd(&mut v);
            })
        });
        g.bench_function(format!("{name}_scalar"), |b| {
            b.iter(|| {
                v.copy_from_slice(black_box(&z));
                scalar(&mut v);
            })
        });
    };
    pair("tanh", &nn::kernel::tanh_in_place, &|v| {
        v.iter_mut().for_each(|x| *x = x.tanh())
    });
    pair("logistic", &nn::kernel::logistic_in_place, &|v| {
        v.iter_mut().for_each(|x| *x = nn::math::logistic(*x))
    });
    pair("softplus", &nn::kernel::softplus_in_place, &|v| {
        v.iter_mut().for_each(|x| *x = nn::math::softplus(*x))
    });
    pair("gelu", &nn::kernel::gelu_in_place, &|v| {
        v.iter_mut().for_each(|x| *x = nn::Gelu::function(*x))
    });
    pair("silu", &nn::kernel::silu_in_place, &|v| {
        v.iter_mut().for_each(|x| *x *= nn::math::logistic(*x))
    });
    pair(
        "leaky_relu",
        &|v| nn::kernel::leaky_relu_in_place(v, 0.01),
        &|v| {
            v.iter_mut().for_each(|x| {
                if *x <= 0.0 {
                    *x *= 0.01;
                }
            })
        },
    );
    pair(
        "softmax_rows_of_10",
        &|v| nn::kernel::softmax_rows(v, 10),
        &|v| {
            v.chunks_exact_mut(10).for_each(|row| {
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for x in row.iter_mut() {
                    *x = (*x - m).exp();
                    sum += *x;
                }
                let inv = 1.0 / sum;
                row.iter_mut().for_each(|x| *x *= inv);
            })
        },
    );
    pair(
        "log_sum_exp_rows_of_10",
        &|v| {
            let s: f32 = v.chunks_exact(10).map(nn::kernel::log_sum_exp).sum();
            black_box(s);
        },
        &|v| {
            let s: f32 = v
                .chunks_exact(10)
                .map(|z| {
                    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    m + z.iter().map(|z| (z - m).exp()).sum::<f32>().ln()
                })
                .sum();
            black_box(s);
        },
    );
    g.finish();
}

/// The three products of every layer of the wide networks (`784 -> 256 -> 256 -> 10` and
/// `784 -> 1024 -> 1024 -> 10`) through `nn::kernel`, at batch 32 and 256, throughput in FLOP
/// (`2·n·i·o`): group `wide`, ids `{forward,weight_grad,input_grad}_{i}x{o}/{n}`. Their FLOP
/// rate over the `seminar` bench's `fma_peak_avx512` is the share of the peak each product
/// reaches at the shapes the networks run.
fn wide_layers(c: &mut Criterion) {
    let mut g = c.benchmark_group("wide");
    g.sample_size(20);
    for (i, o) in [(784usize, 256usize), (256, 256), (784, 1024), (1024, 1024)] {
        for n in [32usize, 256] {
            let x: Vec<f32> = (0..n * i).map(|k| (k % 17) as f32 * 0.01).collect();
            let w: Vec<f32> = (0..o * i).map(|k| (k % 13) as f32 * 0.02).collect();
            let d: Vec<f32> = (0..n * o).map(|k| (k % 7) as f32 * 0.1).collect();
            let b = vec![0.0f32; o];
            let mut z = vec![0.0f32; n * o];
            let (mut gw, mut gb) = (vec![0.0f32; o * i], vec![0.0f32; o]);
            let mut dx = vec![0.0f32; n * i];
            g.throughput(Throughput::Elements((2 * n * i * o) as u64));
            g.bench_function(BenchmarkId::new(format!("forward_{i}x{o}"), n), |bch| {
                bch.iter(|| nn::kernel::affine(n, i, o, black_box(&x), &w, &b, &mut z))
            });
            g.bench_function(BenchmarkId::new(format!("weight_grad_{i}x{o}"), n), |bch| {
                bch.iter(|| nn::kernel::weight_grad(n, i, o, black_box(&x), &d, &mut gw, &mut gb))
            });
            g.bench_function(BenchmarkId::new(format!("input_grad_{i}x{o}"), n), |bch| {
                bch.iter(|| nn::kernel::input_grad(n, i, o, black_box(&d), &w, &mut dx))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, first_layer, activations, wide_layers);
criterion_main!(benches);
