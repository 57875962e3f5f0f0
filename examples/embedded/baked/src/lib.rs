//! A firmware user's crate that reads a digit with a network trained by nn: the weights are
//! baked in at compile time from the file `examples/embed.rs` writes (`#[weights("...")]`, so
//! no file is read at start-up), one test digit of the shipped MNIST set is baked in beside
//! them as a `static [f32; 784]`, and C functions return the digit's class and the network's
//! output vector. `#![no_std]`, no global allocator, `panic = "abort"`: if anything in the
//! dependency graph needed `std` or `alloc`, this library would not link (a second
//! `panic_impl`, or "no global memory allocator found").
//!
//! | file | holds |
//! | --- | --- |
//! | [`net`] | the declaration with `#[weights("../../embed.safetensors")]` |
//! | [`digit`] | the baked digit's pixels and label (written by the main workspace's `tests/embedded.rs`) |
//! | `exports.rs` | the digit as a `static [f32; 784]` and the C functions |
//!
//! The three files are included by `#[path]` in `../check`, which runs them under a test
//! harness with this workspace's `nn` (no `std`, no `alloc`: the code this library holds) and
//! compares the output bits with `check/tests/baked.txt`; the main workspace's
//! `tests/embedded.rs` writes that file from nn with `std`, the same digit and the same weights
//! file loaded at run time. So the baked, no_std network computes the std network's bits.
//!
//! # Sizes
//!
//! Measured on x86-64 (`cargo build --release`: `opt-level = "s"`, LTO, one codegen unit; the
//! library linked into `main.c` with `-Wl,--gc-sections`; `nm -S --size-sort`, `size -A`):
//!
//! | what | bytes |
//! | --- | --- |
//! | the baked weights in `.rodata`: 12 544 + 16 + 160 + 10 `f32` | 50 920 |
//! | the baked digit, `DIGIT`: 784 `f32` | 3 136 |
//! | `Digits::forward` (two layers; relu, softmax and its `expf` inlined) | 1 019 |
//! | the portable `affine` kernel | 639 |
//! | the C functions (`nn_baked_classify`, `nn_baked_digit_forward`, `_class`, `_label`) | 74, 60, 13, 6 |
//! | panics (bounds checks, reached only on a bug) | 22 |
//!
//! About 1.8 KB of code for the whole inference, no `.data` or `.bss` of nn's, and a stack of
//! the layers' outputs (16 + 10 floats). Built for a CPU with AVX-512 (`RUSTFLAGS="-C
//! target-feature=+avx512f,+avx2,+fma"`: without `std` the kernels are chosen at compile
//! time) the code is 7.5 KB (the sixteen-lane `affine` alone 4.9 KB) and the outputs differ
//! from the portable ones by f32 rounding (the class is the same).
#![no_std]

pub mod digit;
pub mod net;

mod exports;

pub use exports::{
    nn_baked_classify, nn_baked_digit_class, nn_baked_digit_forward, nn_baked_digit_label,
    nn_baked_forward, DIGIT,
};

/// What runs on a panic (an index out of bounds, say; the baked forward pass has none to
/// raise): a firmware has nowhere to report it, so it waits for the watchdog. (Not in a
/// `cfg(test)` build, such as `cargo clippy --all-targets` makes, which links std's.)
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
