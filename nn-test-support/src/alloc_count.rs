//! A global allocator that counts the allocations made on each thread, for the tests that
//! prove a training step allocates nothing once its buffers exist.
//!
//! A test binary installs it and reads the count around the code it checks:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: nn_test_support::CountingAllocator = nn_test_support::CountingAllocator;
//!
//! let before = nn_test_support::allocations();
//! // ... a training step ...
//! assert_eq!(nn_test_support::allocations(), before);
//! ```
// The one place of this crate with `unsafe`: implementing `GlobalAlloc` requires it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting each allocation and reallocation made on the calling thread
/// (see [`allocations`]); frees are not counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
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

/// How many allocations and reallocations [`CountingAllocator`] has seen on this thread so far
/// (0 when another allocator is installed).
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}
