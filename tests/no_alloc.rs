//! A training step allocates nothing once its buffers exist: counted by a global allocator
//! that tallies every allocation made on this test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::{CrossEntropy, Momentum, Optimizer};

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
