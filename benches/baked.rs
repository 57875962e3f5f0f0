//! The forward pass of `examples/embedded/baked`'s network (`784 -> 16 relu -> 10 softmax`, its
//! weights baked in from `examples/embed.safetensors`) on its baked digit, on the portable
//! kernels and on the SIMD ones. A process chooses its back end once, so the two are two runs,
//! best alternated:
//!
//! ```text
//! NN_KERNEL=portable cargo bench --bench baked -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench baked -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Each benchmark's name ends in the back end that ran it (`portable`, `avx2`, `avx512`), so
//! criterion keeps the runs apart. Beside the baked network, the same declaration with the same
//! file loaded at run time (weights on the heap): the same kernels, so the same speed is
//! expected.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../examples/embedded/baked/src/digit.rs"]
#[allow(dead_code)] // The index and the label are the tests'.
mod digit;

nn::network! {
    /// `examples/embedded/baked`'s network, baked in here from the same file.
    #[weights("examples/embed.safetensors")]
    struct Baked: 784 -> 16 relu -> 10 softmax;

    /// The same declaration, trainable: the file loaded at run time.
    struct Loaded: 784 -> 16 relu -> 10 softmax;
}

fn forward(c: &mut Criterion) {
    let backend = nn::kernel::backend_name();
    let x: [f32; 784] = std::array::from_fn(|k| f32::from(digit::PIXELS[k]) / 255.0);
    let loaded: Loaded = match nn::weights::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/embed.safetensors"
    )) {
        Ok(net) => net,
        Err(e) => panic!("cannot load examples/embed.safetensors: {e}"),
    };
    assert_eq!(
        Baked.forward(&x).map(f32::to_bits),
        loaded.forward(&x).map(f32::to_bits)
    );
    let mut g = c.benchmark_group("baked");
    g.bench_function(format!("forward_baked_{backend}"), |b| {
        b.iter(|| Baked.forward(black_box(&x)))
    });
    g.bench_function(format!("forward_loaded_{backend}"), |b| {
        b.iter(|| loaded.forward(black_box(&x)))
    });
    g.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
