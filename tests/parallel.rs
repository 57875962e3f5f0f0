//! Data-parallel gradients equal the one-thread gradient of the same batch, up to f32 rounding.

use nn_test_support::Data;

use nn::{CrossEntropy, DataParallel, Error, Momentum, Network, Optimizer};

nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// `n` reproducible samples: inputs in `[0, 1)`, one-hot targets.
fn batch(n: usize) -> (Vec<[f32; 784]>, Vec<[f32; 10]>) {
    let mut data = Data(0x9e37_79b9_7f4a_7c15);
    let xs = (0..n)
        .map(|_| core::array::from_fn(|_| data.uniform()))
        .collect();
    let ys = (0..n)
        .map(|i| {
            let mut y = [0.0; 10];
            y[(i * 7) % 10] = 1.0;
            y
        })
        .collect();
    (xs, ys)
}

/// The largest difference between two gradients, relative to the largest entry of the first.
fn relative_difference(a: &Digits, b: &Digits) -> f32 {
    let scale = a.parameters().flatten().fold(0.0f32, |m, g| m.max(g.abs()));
    let diff = a
        .parameters()
        .flatten()
        .zip(b.parameters().flatten())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

#[test]
fn split_gradients_equal_the_one_thread_gradient() {
    let net = Digits::new(3);
    let mut ws = nn::Workspace::new();
    // Uneven splits too: 257 = 86 + 86 + 85 on three threads.
    for (n, threads) in [(256, 2), (257, 3), (200, 4), (130, 2)] {
        let (xs, ys) = batch(n);
        let mut want = Digits::zeros();
        let want_loss = net
            .gradient_batch(CrossEntropy, &xs, &ys, &mut want, &mut ws)
            .unwrap();

        let mut parallel = DataParallel::<Digits>::new(threads).unwrap();
        parallel.set_min_chunk(1);
        assert_eq!(parallel.threads_for(n), threads);
        let mut got = Digits::zeros();
        let loss = parallel
            .gradient_batch(&net, CrossEntropy, &xs, &ys, &mut got)
            .unwrap();

        assert!(
            (loss - want_loss).abs() <= 1e-6 * want_loss,
            "{n}/{threads}: loss {loss} vs {want_loss}"
        );
        let rel = relative_difference(&want, &got);
        assert!(
            rel < 1e-5,
            "{n} samples on {threads} threads: relative difference {rel:e}"
        );
        // Same call, same bits.
        let mut again = Digits::zeros();
        parallel
            .gradient_batch(&net, CrossEntropy, &xs, &ys, &mut again)
            .unwrap();
        let bits = |n: &Digits| {
            n.parameters()
                .flatten()
                .map(|g| g.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&got), bits(&again));
    }
}

#[test]
fn small_batches_stay_on_the_calling_thread_and_match_exactly() {
    let net = Digits::new(5);
    let (xs, ys) = batch(40);
    let mut parallel = DataParallel::<Digits>::new(2).unwrap();
    assert_eq!(
        parallel.min_chunk(),
        DataParallel::<Digits>::DEFAULT_MIN_CHUNK
    );
    assert_eq!(parallel.threads_for(40), 1);
    let mut got = Digits::zeros();
    let loss = parallel
        .gradient_batch(&net, CrossEntropy, &xs, &ys, &mut got)
        .unwrap();
    let mut want = Digits::zeros();
    let want_loss = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut want, &mut nn::Workspace::new())
        .unwrap();
    assert_eq!(loss.to_bits(), want_loss.to_bits());
    assert!(got.parameters().flatten().eq(want.parameters().flatten()));
}

#[test]
fn training_on_two_threads_learns_like_one() {
    // Ten steps of momentum from the same start: the weights stay within rounding of each other.
    let (xs, ys) = batch(256);
    let (mut a, mut b) = (Digits::new(9), Digits::new(9));
    let (mut ga, mut gb) = (Digits::zeros(), Digits::zeros());
    let (mut oa, mut ob) = (Momentum::new(0.1, 0.9), Momentum::new(0.1, 0.9));
    let mut ws = nn::Workspace::new();
    let mut parallel = DataParallel::<Digits>::new(2).unwrap();
    let (mut la, mut lb) = (0.0, 0.0);
    for _ in 0..10 {
        la = a
            .gradient_batch(CrossEntropy, &xs, &ys, &mut ga, &mut ws)
            .unwrap();
        oa.step(&mut a, &ga);
        lb = parallel
            .gradient_batch(&b, CrossEntropy, &xs, &ys, &mut gb)
            .unwrap();
        ob.step(&mut b, &gb);
    }
    assert!((la - lb).abs() < 1e-4, "losses {la} and {lb}");
    let drift = a
        .parameters()
        .flatten()
        .zip(b.parameters().flatten())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(drift < 1e-4, "weights drifted apart by {drift}");
}

#[test]
fn malformed_batches_are_errors() {
    let net = Digits::new(1);
    let mut parallel = DataParallel::<Digits>::new(2).unwrap();
    let mut grads = Digits::zeros();
    let (xs, ys) = batch(200);
    assert_eq!(
        parallel.gradient_batch(&net, CrossEntropy, &xs, &ys[..199], &mut grads),
        Err(Error::BatchMismatch {
            inputs: 200,
            targets: 199
        })
    );
    assert_eq!(
        parallel.gradient_batch(&net, CrossEntropy, &[], &[], &mut grads),
        Err(Error::EmptyBatch)
    );
}
