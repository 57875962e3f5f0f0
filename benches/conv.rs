//! The convolution and pooling kernels at the shapes of LeNet's feature extractor, batch 1, 32
//! and 256: `1x28x28 -> conv 6 5x5 pad 2 -> maxpool 2x2 -> conv 16 5x5 -> maxpool 2x2`.
//!
//! ```text
//! cargo bench --bench conv -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Throughput is in FLOP (two a multiply-add) of the convolutions' products, so criterion's
//! "elem/s" reads as FLOP/s, to set against the machine's FMA peak (`BENCHMARKS.md`):
//!
//! - `conv1`: `2·6·25·784` = 235,200 a sample each way (forward; weight gradient);
//! - `conv2`: `2·16·150·100` = 480,000 a sample each way (forward; weight gradient; input
//!   gradient);
//! - `stack/forward`: both convolutions and both poolings, 715,200 FLOP a sample;
//! - `stack/backward`: both poolings' and both convolutions' backward passes, the first
//!   convolution without its input gradient (as a first layer runs), 1,195,200 FLOP a sample.
//!
//! The poolings do no multiply-adds and count nothing; the stack's figures include their time.
//!
//! Figures on the 2-vCPU AMD EPYC Zen 5 KVM with AVX-512 (FMA peak 246.3 GFLOP/s,
//! `BENCHMARKS.md`), shared and loaded (load average 5 to 8), shortest of 3000, 300 and 40 runs
//! of the stack at batch 1, 32 and 256 beside PyTorch 2.15 eager on one thread
//! (`torch.set_num_threads(1)`; the same modules, `no_grad` for inference, `backward` of the
//! output with the input not requiring a gradient for training), alternated in one session:
//!
//! | LeNet features | nn | % of peak | PyTorch | PyTorch / nn |
//! | --- | --- | --- | --- | --- |
//! | inference b1 | 5.5 µs | 53% | 80 µs | 14.5 |
//! | inference b32 | 172 µs | 54% | 1013 µs | 5.9 |
//! | inference b256 | 1.40 ms | 53% | 7.87 ms | 5.6 |
//! | forward + backward b1 | 19.1 µs | 41% | 250 µs | 13.1 |
//! | forward + backward b32 | 508 µs | 49% | 1727 µs | 3.4 |
//! | forward + backward b256 | 4.11 ms | 48% | 13.3 ms | 3.2 |
//!
//! Criterion's medians on that machine ran up to twice as long as the shortest runs (other
//! processes sharing the two cores); compare figures from one run.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::kernel::conv::{conv2d_backward, conv2d_forward, Conv2d};
use nn::kernel::pool::{maxpool2d_backward, maxpool2d_forward, Pool2d};

const CONV1: Conv2d = Conv2d {
    in_channels: 1,
    in_height: 28,
    in_width: 28,
    out_channels: 6,
    kernel_height: 5,
    kernel_width: 5,
    stride: 1,
    pad: 2,
};
const POOL1: Pool2d = Pool2d {
    channels: 6,
    in_height: 28,
    in_width: 28,
    window_height: 2,
    window_width: 2,
    stride: 2,
};
const CONV2: Conv2d = Conv2d {
    in_channels: 6,
    in_height: 14,
    in_width: 14,
    out_channels: 16,
    kernel_height: 5,
    kernel_width: 5,
    stride: 1,
    pad: 0,
};
const POOL2: Pool2d = Pool2d {
    channels: 16,
    in_height: 10,
    in_width: 10,
    window_height: 2,
    window_width: 2,
    stride: 2,
};

/// FLOP of one convolution's product (forward, or either gradient) for one sample.
const fn flops(g: &Conv2d) -> usize {
    2 * g.weight_len() * g.out_height() * g.out_width()
}

/// `len` values in `[-1, 1)`, deterministic.
fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|k| {
            ((k as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 8_388_608.0
                - 1.0
        })
        .collect()
}

/// Every buffer of the stack for a batch of `n`, allocated once.
struct Stack {
    n: usize,
    x: Vec<f32>,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    a1: Vec<f32>,
    p1: Vec<f32>,
    am1: Vec<u32>,
    a2: Vec<f32>,
    p2: Vec<f32>,
    am2: Vec<u32>,
    scratch: Vec<f32>,
    d_p2: Vec<f32>,
    d_a2: Vec<f32>,
    d_p1: Vec<f32>,
    d_a1: Vec<f32>,
    gw1: Vec<f32>,
    gb1: Vec<f32>,
    gw2: Vec<f32>,
    gb2: Vec<f32>,
}

impl Stack {
    fn new(n: usize) -> Self {
        let scratch = CONV1.scratch_len(n).max(CONV2.scratch_len(n));
        Stack {
            n,
            x: values(n * CONV1.input_len(), 1),
            w1: values(CONV1.weight_len(), 2),
            b1: values(CONV1.out_channels, 3),
            w2: values(CONV2.weight_len(), 4),
            b2: values(CONV2.out_channels, 5),
            a1: vec![0.0; n * CONV1.output_len()],
            p1: vec![0.0; n * POOL1.output_len()],
            am1: vec![0; n * POOL1.output_len()],
            a2: vec![0.0; n * CONV2.output_len()],
            p2: vec![0.0; n * POOL2.output_len()],
            am2: vec![0; n * POOL2.output_len()],
            scratch: vec![0.0; scratch],
            d_p2: values(n * POOL2.output_len(), 6),
            d_a2: vec![0.0; n * CONV2.output_len()],
            d_p1: vec![0.0; n * POOL1.output_len()],
            d_a1: vec![0.0; n * CONV1.output_len()],
            gw1: vec![0.0; CONV1.weight_len()],
            gb1: vec![0.0; CONV1.out_channels],
            gw2: vec![0.0; CONV2.weight_len()],
            gb2: vec![0.0; CONV2.out_channels],
        }
    }

    fn forward(&mut self) {
        let n = self.n;
        let s = &mut self.scratch;
        conv2d_forward(
            &CONV1,
            n,
            black_box(&self.x),
            &self.w1,
            &self.b1,
            &mut self.a1,
            s,
        );
        maxpool2d_forward(&POOL1, n, &self.a1, &mut self.p1, &mut self.am1);
        conv2d_forward(&CONV2, n, &self.p1, &self.w2, &self.b2, &mut self.a2, s);
        maxpool2d_forward(&POOL2, n, &self.a2, &mut self.p2, &mut self.am2);
        black_box(&self.p2);
    }

    fn backward(&mut self) {
        let n = self.n;
        let s = &mut self.scratch;
        maxpool2d_backward(&POOL2, n, black_box(&self.d_p2), &self.am2, &mut self.d_a2);
        let dx = Some(&mut self.d_p1[..]);
        conv2d_backward(
            &CONV2,
            n,
            &self.p1,
            &self.w2,
            &self.d_a2,
            &mut self.gw2,
            &mut self.gb2,
            dx,
            s,
        );
        maxpool2d_backward(&POOL1, n, &self.d_p1, &self.am1, &mut self.d_a1);
        conv2d_backward(
            &CONV1,
            n,
            &self.x,
            &self.w1,
            &self.d_a1,
            &mut self.gw1,
            &mut self.gb1,
            None,
            s,
        );
        black_box((&self.gw1, &self.gw2));
    }
}

fn lenet(c: &mut Criterion) {
    let mut g = c.benchmark_group("stack");
    for n in [1usize, 32, 256] {
        let mut st = Stack::new(n);
        st.forward();
        g.throughput(Throughput::Elements(
            ((flops(&CONV1) + flops(&CONV2)) * n) as u64,
        ));
        g.bench_function(BenchmarkId::new("forward", n), |b| b.iter(|| st.forward()));
        g.throughput(Throughput::Elements(
            ((flops(&CONV1) + 2 * flops(&CONV2)) * n) as u64,
        ));
        g.bench_function(BenchmarkId::new("backward", n), |b| {
            b.iter(|| st.backward())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("layer");
    for n in [1usize, 32, 256] {
        let mut st = Stack::new(n);
        st.forward();
        let s = &mut st.scratch;
        g.throughput(Throughput::Elements((flops(&CONV1) * n) as u64));
        g.bench_function(BenchmarkId::new("conv1_forward", n), |b| {
            b.iter(|| conv2d_forward(&CONV1, n, black_box(&st.x), &st.w1, &st.b1, &mut st.a1, s))
        });
        g.bench_function(BenchmarkId::new("conv1_backward_no_dx", n), |b| {
            b.iter(|| {
                conv2d_backward(
                    &CONV1,
                    n,
                    black_box(&st.x),
                    &st.w1,
                    &st.d_a1,
                    &mut st.gw1,
                    &mut st.gb1,
                    None,
                    s,
                )
            })
        });
        g.throughput(Throughput::Elements((flops(&CONV2) * n) as u64));
        g.bench_function(BenchmarkId::new("conv2_forward", n), |b| {
            b.iter(|| conv2d_forward(&CONV2, n, black_box(&st.p1), &st.w2, &st.b2, &mut st.a2, s))
        });
        g.throughput(Throughput::Elements((2 * flops(&CONV2) * n) as u64));
        g.bench_function(BenchmarkId::new("conv2_backward", n), |b| {
            let dx = &mut st.d_p1;
            b.iter(|| {
                conv2d_backward(
                    &CONV2,
                    n,
                    black_box(&st.p1),
                    &st.w2,
                    &st.d_a2,
                    &mut st.gw2,
                    &mut st.gb2,
                    Some(dx),
                    s,
                )
            })
        });
        g.throughput(Throughput::Elements((POOL1.input_len() * n) as u64));
        g.bench_function(BenchmarkId::new("pool1_forward", n), |b| {
            b.iter(|| maxpool2d_forward(&POOL1, n, black_box(&st.a1), &mut st.p1, &mut st.am1))
        });
        g.bench_function(BenchmarkId::new("pool1_backward", n), |b| {
            b.iter(|| maxpool2d_backward(&POOL1, n, black_box(&st.d_p1), &st.am1, &mut st.d_a1))
        });
    }
    g.finish();
}

criterion_group!(benches, lenet);
criterion_main!(benches);
