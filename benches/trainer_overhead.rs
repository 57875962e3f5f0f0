//! The trainer's overhead over the bare steps (issue 11, goal 4): 20 epochs over the 8,000
//! shipped MNIST digits at batch 32 (5,000 steps), the seminar network, cross-entropy,
//! momentum 0.9 at learning rate 0.1, one thread, measured in the same run two ways:
//!
//! - `bare`: for each epoch a seeded Fisher–Yates shuffle of the indices; for each batch the
//!   samples gathered into buffers made once, `gradient_batch`, and the optimizer's step;
//! - `trainer`: [`nn::Trainer::fit`] with the same settings (no test set), which adds the
//!   NaN guard (loss, gradient and weights checked, the weights before each step kept), the
//!   epoch statistics and the progress hook.
//!
//! ```text
//! cargo bench --bench trainer_overhead -- --warm-up-time 1 --measurement-time 10
//! ```
//!
//! The overhead is the ratio of the two medians.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::data::Mnist;
use nn::train::ShuffleRng;
use nn::{CrossEntropy, Momentum, Optimizer, Samples, Trainer, Workspace};

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

const EPOCHS: usize = 20;
const BATCH: usize = 32;

/// The steps alone: shuffle, gather, gradient, step.
fn bare(inputs: &[[f32; 784]], targets: &[[f32; 10]]) -> Digits {
    let mut net = Digits::new(1);
    let mut opt = Momentum::new(0.1, 0.9);
    let mut rng = ShuffleRng::seed_from_u64(1);
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    let mut xs = vec![inputs[0]; BATCH];
    let mut ys = vec![targets[0]; BATCH];
    let mut grads = Digits::zeros();
    let mut ws = Workspace::<Digits>::with_capacity(BATCH);
    for _ in 0..EPOCHS {
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(BATCH) {
            for ((x, y), &i) in xs.iter_mut().zip(ys.iter_mut()).zip(chunk) {
                *x = inputs[i];
                *y = targets[i];
            }
            let n = chunk.len();
            let loss = net
                .gradient_batch(CrossEntropy, &xs[..n], &ys[..n], &mut grads, &mut ws)
                .expect("the batch fits the workspace");
            black_box(loss);
            opt.step(&mut net, &grads);
        }
    }
    net
}

/// The same run through [`Trainer::fit`].
fn trainer(inputs: &[[f32; 784]], targets: &[[f32; 10]]) -> Digits {
    let mut net = Digits::new(1);
    let mut opt = Momentum::new(0.1, 0.9);
    Trainer {
        epochs: EPOCHS,
        batch_size: BATCH,
        seed: 1,
    }
    .fit(
        &mut net,
        &mut opt,
        CrossEntropy,
        Samples::new(inputs, targets),
        None,
        &mut |_| {},
    )
    .expect("the shipped digits are a valid training set");
    net
}

fn trainer_overhead(c: &mut Criterion) {
    let mnist = match Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("trainer_overhead: skipped, the shipped digits did not load: {e}");
            return;
        }
    };
    let (inputs, targets) = (&mnist.train.inputs[..], &mnist.train.targets[..]);

    let mut g = c.benchmark_group("trainer_overhead");
    g.sample_size(20);
    g.throughput(Throughput::Elements((EPOCHS * inputs.len()) as u64));
    g.bench_function("bare", |b| b.iter(|| bare(black_box(inputs), targets)));
    g.bench_function("trainer", |b| {
        b.iter(|| trainer(black_box(inputs), targets))
    });
    g.finish();
}

criterion_group!(benches, trainer_overhead);
criterion_main!(benches);
