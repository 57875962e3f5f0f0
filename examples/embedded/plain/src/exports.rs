//! The network in a `static` and the C functions that run it. Included by `../../check` too.

use super::net::{self, Digits};
use nn::Dense;

/// The network, in read-only memory: every weight is computed while compiling.
pub static DIGITS: Digits = Digits {
    layer1: Dense::from_arrays(&net::W1, &net::B1),
    layer2: Dense::from_arrays(&net::W2, &net::B2),
    layer3: Dense::from_arrays(&net::W3, &net::B3),
};

/// The class probabilities of one 28 × 28 image (row-major, values in `[0, 1]`), written into
/// `output`. From C: `void nn_digits_forward(const float input[784], float output[10]);`
#[no_mangle]
pub extern "C" fn nn_digits_forward(input: &[f32; 784], output: &mut [f32; 10]) {
    *output = DIGITS.forward(input);
}

/// The most probable digit of one image. From C: `uint32_t nn_digits_classify(const float
/// input[784]);`
#[no_mangle]
pub extern "C" fn nn_digits_classify(input: &[f32; 784]) -> u32 {
    let p = DIGITS.forward(input);
    let mut best = 0;
    for (k, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = k;
        }
    }
    best as u32
}
