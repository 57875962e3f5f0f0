//! A training step allocates nothing once its buffers exist: counted by a global allocator
//! that tallies every allocation made on this test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::{Adam, CrossEntropy, Momentum, Optimizer, Progress, Samples, Trainer};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
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
