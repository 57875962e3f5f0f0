//! A training step of a network with nested networks and a layer of the user's own allocates
//! nothing once its buffers exist: counted by a global allocator that tallies every allocation
//! made on this test's thread (as `tests/no_alloc.rs` does for the built-in layers).

use nn_test_support::{allocations, CountingAllocator};

#[path = "nested/layers.rs"]
mod layers;

use layers::{MyNormalize, MyScale};
use nn::typenum::U64;
use nn::{Adam, CrossEntropy, Optimizer};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

nn::network! {
    struct Stack: 784 -> encoder: Encoder -> MyNormalize<U64> -> MyScale<U64> -> head: Head
        -> 10 softmax;
    struct Encoder: 784 -> 128 relu -> batchnorm -> dropout 0.25 -> 64 tanh;
    struct Head: 64 -> 32 gelu -> layernorm -> 16 relu;
}

#[test]
fn a_nested_training_step_allocates_nothing() {
    let mut net = Stack::new(1);
    let mut grads = Stack::zeros();
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
        net.gradient(CrossEntropy, &xs[0], &ys[0], &mut grads, &mut ws);
        opt.step(&mut net, &grads);
        net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap();
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        assert!(out[0][0].is_finite());
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in nested training steps"
    );

    // The counter does count: growing the workspace allocates.
    let big = vec![[0.25f32; 784]; 64];
    let big_y = vec![ys[0]; 64];
    net.gradient_batch(CrossEntropy, &big, &big_y, &mut grads, &mut ws)
        .unwrap();
    assert!(allocations() > before);
}
