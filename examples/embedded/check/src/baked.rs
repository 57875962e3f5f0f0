//! `../baked`: the network with weights baked in from `examples/embed.safetensors`, the baked
//! digit, and their C functions.

#[path = "../../baked/src/net.rs"]
pub mod net;

#[path = "../../baked/src/digit.rs"]
pub mod digit;

#[path = "../../baked/src/exports.rs"]
mod exports;

pub use exports::{
    nn_baked_classify, nn_baked_digit_class, nn_baked_digit_forward, nn_baked_digit_label,
    nn_baked_forward, DIGIT,
};
