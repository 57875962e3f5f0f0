//! The baked digit and the C functions that run the baked network. Included by `../../check`
//! too.

use super::digit;
use super::net::{self, Digits};

/// The baked digit, in read-only memory: its pixels divided by 255 while compiling, as nn's
/// MNIST loader divides them at run time (the same division, so the same bits).
pub static DIGIT: [f32; 784] = net::input(&digit::PIXELS);

/// The class probabilities of one 28 × 28 image (row-major, values in `[0, 1]`), written into
/// `output`. From C: `void nn_baked_forward(const float input[784], float output[10]);`
#[no_mangle]
pub extern "C" fn nn_baked_forward(input: &[f32; 784], output: &mut [f32; 10]) {
    *output = Digits.forward(input);
}

/// The most probable digit of one image. From C: `uint32_t nn_baked_classify(const float
/// input[784]);`
#[no_mangle]
pub extern "C" fn nn_baked_classify(input: &[f32; 784]) -> u32 {
    net::class(&Digits.forward(input))
}

/// The class probabilities of the baked digit. From C: `void nn_baked_digit_forward(float
/// output[10]);`
#[no_mangle]
pub extern "C" fn nn_baked_digit_forward(output: &mut [f32; 10]) {
    nn_baked_forward(&DIGIT, output);
}

/// The baked digit's class, as the network reads it. From C: `uint32_t
/// nn_baked_digit_class(void);`
#[no_mangle]
pub extern "C" fn nn_baked_digit_class() -> u32 {
    nn_baked_classify(&DIGIT)
}

/// The baked digit's label in the data set. From C: `uint32_t nn_baked_digit_label(void);`
#[no_mangle]
pub extern "C" fn nn_baked_digit_label() -> u32 {
    digit::LABEL
}
