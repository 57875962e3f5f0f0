//! A training step allocates nothing once its buffers exist: counted by a global allocator
//! that tallies every allocation made on this test's thread.

use nn_test_support::{allocations, CountingAllocator};

use nn::{Adam, CrossEntropy, Momentum, Optimizer, Progress, Samples, Trainer};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    struct Mlp: 784 -> 128 gelu -> batchnorm -> dropout 0.25 -> 64 leaky_relu -> layernorm
        -> 10 softmax;
    struct LeNet: 1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu
        -> maxpool 2x2 -> dropout 0.25 -> 120 relu -> 84 relu -> 10 softmax;
    struct Graph: 784 -> 64 relu -> residual { 64 relu -> dropout 0.1 -> 64 linear }
        -> concat { 16 tanh, 8 relu -> 8 relu } -> 10 softmax;
    struct Reader: 784 -> trunk: 64 relu -> residual { 64 relu -> 64 linear } -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };
}

#[test]
fn a_graph_training_step_allocates_nothing() {
    let mut net = Graph::new(1);
    let mut grads = Graph::zeros();
    let mut opt = Adam::new(1e-3);
    let mut ws = nn::Workspace::with_capacity(16);
    let xs = vec![[0.25f32; 784]; 16];
    let mut ys = vec![[0.0f32; 10]; 16];
    for (i, y) in ys.iter_mut().enumerate() {
        y[i % 10] = 1.0;
    }
    let mut out = vec![[0.0f32; 10]; 16];
    net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    opt.step(&mut net, &grads);

    let before = allocations();
    for _ in 0..3 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap();
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        assert!(out[0][0].is_finite());
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in a graph's training steps"
    );
}

#[test]
fn a_training_step_with_heads_allocates_nothing() {
    use nn::{BinaryCrossEntropy, Trainable};
    let mut net = Reader::new(1);
    let mut grads = Reader::zeros();
    let mut opt = Adam::new(1e-3);
    let mut ws = nn::Workspace::with_capacity(16);
    let xs = vec![[0.25f32; 784]; 16];
    let targets: Vec<ReaderOutputs> = (0..16)
        .map(|i| {
            let mut digit = [0.0; 10];
            digit[i % 10] = 1.0;
            ReaderOutputs {
                digit,
                even: [f32::from(u8::from(i.is_multiple_of(2)))],
            }
        })
        .collect();
    let joined: Vec<[f32; 11]> = targets.iter().map(|&t| t.into()).collect();
    let losses = ReaderLosses {
        digit: (CrossEntropy, 1.0),
        even: (BinaryCrossEntropy, 0.5),
    };
    let mut out = vec![ReaderOutputs::zeros(); 16];
    let mut rows = vec![[0.0f32; 11]; 16];
    net.gradient_batch(losses, &xs, &targets, &mut grads, &mut ws)
        .unwrap();
    opt.step(&mut net, &grads);

    let before = allocations();
    for _ in 0..3 {
        net.gradient_batch(losses, &xs, &targets, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        Trainable::gradient_batch(&net, losses, &xs, &joined, &mut grads, &mut ws).unwrap();
        opt.step(&mut net, &grads);
        net.loss_batch(losses, &xs, &targets, &mut ws).unwrap();
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        nn::Network::forward_batch(&net, &xs, &mut rows, &mut ws).unwrap();
        assert!(out[0].digit[0].is_finite() && rows[0][10].is_finite());
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in a training step with heads"
    );
}

#[test]
fn a_lenet_training_step_allocates_nothing() {
    let mut net = LeNet::new(1);
    let mut grads = LeNet::zeros();
    let mut opt = Momentum::new(0.01, 0.9);
    let mut ws = nn::Workspace::with_capacity(8);
    let xs = vec![[0.25f32; 784]; 8];
    let mut ys = vec![[0.0f32; 10]; 8];
    for (i, y) in ys.iter_mut().enumerate() {
        y[i % 10] = 1.0;
    }
    let mut out = vec![[0.0f32; 10]; 8];

    let before = allocations();
    for _ in 0..3 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        net.gradient(CrossEntropy, &xs[0], &ys[0], &mut grads, &mut ws);
        opt.step(&mut net, &grads);
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        assert!(out[0][0].is_finite());
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in LeNet's training steps"
    );
}

#[test]
fn a_training_step_with_dropout_and_norms_allocates_nothing() {
    let mut net = Mlp::new(1);
    let mut grads = Mlp::zeros();
    let mut opt = Adam::new(1e-3);
    let mut ws = nn::Workspace::with_capacity(32);
    let xs = vec![[0.25f32; 784]; 32];
    let mut ys = vec![[0.0f32; 10]; 32];
    for (i, y) in ys.iter_mut().enumerate() {
        y[i % 10] = 1.0;
    }
    let mut out = vec![[0.0f32; 10]; 32];
    // Adam's moments are allocated with its first step.
    net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    opt.step(&mut net, &grads);

    let before = allocations();
    for _ in 0..5 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap();
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        assert!(out[0][0].is_finite());
    }
    assert_eq!(allocations() - before, 0, "allocations in training steps");
}

#[test]
fn a_training_step_allocates_nothing() {
    let mut net = Digits::new(1);
    let mut grads = Digits::zeros();
    let mut opt = Momentum::new(0.1, 0.9);
    let mut ws = nn::Workspace::with_capacity(32);
    let xs = vec![[0.5f32; 784]; 32];
    let mut ys = vec![[0.0f32; 10]; 32];
    for (i, y) in ys.iter_mut().enumerate() {
        y[i % 10] = 1.0;
    }
    let mut out = vec![[0.0f32; 10]; 32];

    let before = allocations();
    for _ in 0..5 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        net.gradient(CrossEntropy, &xs[0], &ys[0], &mut grads, &mut ws);
        opt.step(&mut net, &grads);
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        let y = net.forward(&xs[0]);
        assert!(y[0].is_finite());
    }
    assert_eq!(allocations() - before, 0, "allocations in training steps");

    // The counter does count: growing the workspace allocates.
    let big = vec![[0.5f32; 784]; 64];
    let big_y = vec![ys[0]; 64];
    net.gradient_batch(CrossEntropy, &big, &big_y, &mut grads, &mut ws)
        .unwrap();
    assert!(allocations() > before);
}

#[test]
fn fit_allocates_nothing_after_its_first_step() {
    // 203 samples in batches of 32 (the last one of 11), a test set of 45 evaluated in batches
    // of 32 and 13, Adam's moments: every buffer exists before the first step ends.
    let xs: Vec<[f32; 784]> = (0..203)
        .map(|i| core::array::from_fn(|p| ((i * 7 + p * 13) % 256) as f32 / 255.0))
        .collect();
    let ys: Vec<[f32; 10]> = (0..203)
        .map(|i| core::array::from_fn(|c| f32::from(u8::from(c == i % 10))))
        .collect();
    let mut net = Digits::new(3);
    let mut adam = Adam::new(1e-3);
    // (allocations after the first batch, after the last epoch, epochs seen), kept in
    // variables the hook writes: recording allocates nothing itself.
    let mut first_batch = None;
    let mut last_epoch = 0;
    let mut epochs = 0;
    let before = allocations();
    let history = Trainer {
        epochs: 4,
        batch_size: 32,
        seed: 9,
    }
    .fit(
        &mut net,
        &mut adam,
        CrossEntropy,
        Samples::new(&xs, &ys),
        Some(Samples::new(&xs[..45], &ys[..45])),
        &mut |p| match p {
            Progress::Batch(_) if first_batch.is_none() => first_batch = Some(allocations()),
            Progress::Epoch(_) => {
                epochs += 1;
                last_epoch = allocations();
            }
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(epochs, 4);
    assert_eq!(history.epochs.len(), 4);
    let first_batch = first_batch.unwrap();
    assert!(first_batch > before, "fit's buffers are counted");
    assert_eq!(
        last_epoch - first_batch,
        0,
        "allocations from the end of the first batch to the end of the last epoch"
    );
}

/// The steered trainer with everything on: labels, a validation split, a test set, a schedule,
/// early stopping, clipping, the divergence rule and AdamW's moments. From the end of its first
/// batch to the end of its last epoch, nothing is allocated; with two threads, neither for
/// batches below two `DataParallel::min_chunk`s (which stay on the calling thread).
#[test]
fn train_config_fit_allocates_nothing_after_its_first_step() {
    use std::ops::ControlFlow;

    let xs: Vec<[f32; 784]> = (0..203)
        .map(|i| core::array::from_fn(|p| ((i * 7 + p * 13) % 256) as f32 / 255.0))
        .collect();
    let labels: Vec<u8> = (0..203).map(|i| (i % 10) as u8).collect();
    for threads in [1, 2] {
        let mut net = Digits::new(3);
        let mut adam = Adam::new(1e-3).with_weight_decay(0.01);
        let mut first_batch = None;
        let mut last_epoch = 0;
        let mut epochs = 0;
        let history = nn::TrainConfig::new()
            .epochs(4)
            .batch_size(32)
            .seed(9)
            .threads(threads)
            .validation_split(0.2)
            .schedule(nn::Schedule::cosine(3, 1e-5))
            .early_stopping(nn::EarlyStopping::new(10))
            .clip_norm(1.0)
            .fit(
                &mut net,
                &mut adam,
                CrossEntropy,
                nn::Sets::new(Samples::new(&xs, &labels))
                    .test(Samples::new(&xs[..45], &labels[..45])),
                &mut nn::callback(|p| {
                    match p {
                        Progress::Batch(_) if first_batch.is_none() => {
                            first_batch = Some(allocations())
                        }
                        Progress::Epoch(_) => {
                            epochs += 1;
                            last_epoch = allocations();
                        }
                        _ => {}
                    }
                    ControlFlow::Continue(())
                }),
            )
            .unwrap();
        assert_eq!((epochs, history.epochs.len()), (4, 4));
        assert_eq!(
            last_epoch - first_batch.unwrap(),
            0,
            "allocations from the end of the first batch to the end of the last epoch, {threads} threads"
        );
    }
}
