//! A whole training run: 20 epochs over the 8,000 shipped MNIST digits at batch 32 (5,000
//! steps), the seminar network with cross-entropy and momentum, one thread. The issue's goal is
//! under 0.5 s of training time.
//!
//! ```text
//! cargo bench --bench mnist_run -- --warm-up-time 1 --measurement-time 10
//! ```
//!
//! Each iteration trains a fresh network from the same seed with [`nn::Trainer`], the loop and
//! the defaults of the MNIST example (shuffled batches, momentum 0.9 at learning rate 0.1, seed 1),
//! without the per-epoch test pass, so every iteration does the same work; the test accuracy of
//! the trained network is printed once, to show the run is a real one.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::data::Mnist;
use nn::{CrossEntropy, Momentum, Samples, Trainer};

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

const EPOCHS: usize = 20;
const BATCH: usize = 32;

/// Trains a fresh network for [`EPOCHS`] epochs over `inputs` in batches of [`BATCH`].
fn train(inputs: &[[f32; 784]], targets: &[[f32; 10]]) -> Digits {
    let mut net = Digits::new(1);
    let mut opt = Momentum::new(0.1, 0.9);
    let trainer = Trainer {
        epochs: EPOCHS,
        batch_size: BATCH,
        seed: 1,
    };
    trainer
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

fn mnist_run(c: &mut Criterion) {
    let mnist = match Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mnist_run: skipped, the shipped digits did not load: {e}");
            return;
        }
    };
    let (inputs, targets) = (&mnist.train.inputs, &mnist.train.targets);

    let net = train(inputs, targets);
    let correct = mnist
        .test
        .inputs
        .iter()
        .zip(&mnist.test.labels)
        .filter(|(x, &l)| nn::argmax(&net.forward(x)) == usize::from(l))
        .count();
    eprintln!(
        "mnist_run: {EPOCHS} epochs x {} digits at batch {BATCH}: test accuracy {correct}/{}",
        inputs.len(),
        mnist.test.len()
    );

    let mut g = c.benchmark_group("mnist");
    g.sample_size(10);
    g.throughput(Throughput::Elements((EPOCHS * inputs.len()) as u64));
    g.bench_function("train_20_epochs_batch_32", |b| {
        b.iter(|| train(black_box(inputs), targets))
    });
    g.finish();
}

criterion_group!(benches, mnist_run);
criterion_main!(benches);
