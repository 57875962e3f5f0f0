//! The network, its weights baked in from the file `examples/embed.rs` trains and writes.
//! Included by `../../check` too: by `#[path]`, from a crate beside this one, so the path in
//! `#[weights]` (relative to the manifest directory of the crate being compiled) names the
//! same file there.

nn::network! {
    /// `examples/embed.rs`'s digit reader, its weights compiled in from the file that example
    /// writes (`cargo run --release --example embed -- --bake`): statics in `.rodata`, a
    /// forward pass on stack arrays.
    #[weights("../../embed.safetensors")]
    pub struct Digits: 784 -> 16 relu -> 10 softmax;
}

/// A network input from 784 pixels (0 background, 255 full ink): each divided by 255, as nn's
/// MNIST loader does (`f32::from(pixel) / 255.0`). A `const fn`, so a `static` of it is
/// computed while compiling.
pub const fn input(pixels: &[u8; 784]) -> [f32; 784] {
    let mut x = [0.0; 784];
    let mut k = 0;
    while k < 784 {
        x[k] = pixels[k] as f32 / 255.0;
        k += 1;
    }
    x
}

/// The index of the largest of ten outputs, the first one on a tie (as `nn::argmax`).
pub fn class(p: &[f32; 10]) -> u32 {
    let mut best = 0;
    for (k, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = k;
        }
    }
    best as u32
}
