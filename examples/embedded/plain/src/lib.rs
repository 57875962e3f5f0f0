//! A firmware user's crate: the seminar's digit network (`784 -> 16 sigmoid -> 16 sigmoid -> 10
//! softmax`) in a `static`, built at compile time from plain arrays, and a C function that runs
//! its forward pass. `#![no_std]`, no global allocator, `panic = "abort"`: if anything in the
//! dependency graph needed `std` or `alloc`, this library would not link (a second
//! `panic_impl`, or "no global memory allocator found").
//!
//! The network and its weights are in [`net`], the static and the C functions in `exports.rs`.
//! Both files are included by `#[path]` elsewhere: `../check` runs them under a test harness
//! with this workspace's `nn` (no `std`, no `alloc`: the code this library holds), and the main
//! workspace's `tests/embedded.rs` runs `net.rs` with `nn`'s `std` feature; each compares its
//! outputs with `check/tests/expected.txt`, so the bits of the two are the same.
//!
//! # Sizes
//!
//! Measured on x86-64 (`cargo build --release`: `opt-level = "s"`, LTO, one codegen unit; the
//! library linked into `main.c` with `-Wl,--gc-sections`, `nm -S --size-sort`):
//!
//! | what | bytes |
//! | --- | --- |
//! | `DIGITS` in `.rodata`: 13 002 weights and biases, `f32` | 52 008 |
//! | `Digits::forward` (three layers, softmax inlined) | 525 |
//! | the portable `affine` kernel | 639 |
//! | the portable sigmoid | 107 |
//! | `libm`'s `expf` | 513 |
//! | `nn_digits_forward`, `nn_digits_classify` | 56, 74 |
//! | panics (bounds checks, reached only on a bug) | 18 |
//!
//! About 1.9 KB of code for the whole inference, no `.data` or `.bss` of nn's, and a stack of a
//! few hundred bytes (the hidden layers' outputs, 16 + 16 + 10 floats).
#![no_std]

pub mod net;

mod exports;

pub use exports::{nn_digits_classify, nn_digits_forward, DIGITS};

/// What runs on a panic (an index out of bounds, say; nn's forward pass has none to raise):
/// a firmware has nowhere to report it, so it waits for the watchdog. (Not in a `cfg(test)`
/// build, such as `cargo clippy --all-targets` makes, which links std's.)
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
