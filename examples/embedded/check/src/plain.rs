//! `../plain`: the seminar's digit network in a `static`, and its C functions.

#[path = "../../plain/src/net.rs"]
pub mod net;

#[path = "../../plain/src/exports.rs"]
mod exports;

pub use exports::{nn_digits_classify, nn_digits_forward, DIGITS};
