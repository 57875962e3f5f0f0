//! The declaration and the weights, shared with the main workspace's `tests/embedded.rs`
//! (included there by `#[path]`, so that `nn` with `std` runs the very same network).
//!
//! A real firmware crate writes the arrays a training run printed (or bakes a weight file in);
//! here they are drawn while compiling by a `const fn`, Xavier-uniform like `Digits::new`, so
//! that the example needs no data file.

nn::network! {
    /// The seminar's digit classifier.
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// Layer 1's weights, `[neuron][pixel]`. A `const`, not a `static`: it exists only while
/// compiling, inside `DIGITS`, so the binary holds the weights once.
#[allow(clippy::large_const_arrays)]
pub const W1: [[f32; 784]; 16] = weights(1, 0.0866);
/// Layer 1's biases.
pub const B1: [f32; 16] = biases(1);
/// Layer 2's weights.
pub const W2: [[f32; 16]; 16] = weights(2, 0.433);
/// Layer 2's biases.
pub const B2: [f32; 16] = biases(2);
/// Layer 3's weights.
pub const W3: [[f32; 16]; 10] = weights(3, 0.480);
/// Layer 3's biases.
pub const B3: [f32; 10] = biases(3);

/// SplitMix64's finaliser: a well-mixed 64-bit value for each counter.
const fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A value uniform in `[-r, r)`, from the top 24 bits of `mix(key)` (exact in an `f32`).
const fn uniform(key: u64, r: f32) -> f32 {
    let unit = (mix(key) >> 40) as f32 / 16_777_216.0;
    (2.0 * unit - 1.0) * r
}

/// A layer's weights, uniform in `[-r, r)` (`r = √(6 / (in + out))`, written out).
const fn weights<const IN: usize, const OUT: usize>(layer: u64, r: f32) -> [[f32; IN]; OUT] {
    let mut w = [[0.0; IN]; OUT];
    let mut o = 0;
    while o < OUT {
        let mut i = 0;
        while i < IN {
            w[o][i] = uniform((layer << 32) | (o * IN + i) as u64, r);
            i += 1;
        }
        o += 1;
    }
    w
}

/// A layer's biases, small: uniform in `[-0.1, 0.1)`.
const fn biases<const OUT: usize>(layer: u64) -> [f32; OUT] {
    let mut b = [0.0; OUT];
    let mut o = 0;
    while o < OUT {
        b[o] = uniform((layer << 32) | (1 << 31) | o as u64, 0.1);
        o += 1;
    }
    b
}

/// Pixel `pixel` of test image `image`: a few strokes of different slopes, values in `[0, 1]`,
/// so that each image has its own pattern (the inputs both comparison tests run).
pub fn pixel(image: usize, pixel: usize) -> f32 {
    let (row, col) = (pixel / 28, pixel % 28);
    let slope = image % 5 + 1;
    let on = (row * slope + image * 3) % 28 == col || (col + image).is_multiple_of(9);
    if on {
        1.0
    } else {
        ((row + col + image) % 7) as f32 / 28.0
    }
}

/// Test image `image`, 784 pixels.
pub fn image(image: usize) -> [f32; 784] {
    let mut x = [0.0; 784];
    for (p, v) in x.iter_mut().enumerate() {
        *v = pixel(image, p);
    }
    x
}

/// How many test images the comparison runs.
pub const IMAGES: usize = 8;
