//! # nn: a neural network is a type
//!
//! Declare a network in source with [`network!`] and the compiler checks it: shapes are types,
//! forward and backward passes are written out layer by layer at compile time, and a training
//! step allocates nothing.
//!
//! ```
//! nn::network! {
//!     /// The seminar's XOR network: two inputs, two hidden tanh neurons, one sigmoid output.
//!     pub struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid;
//! }
//!
//! let net = Xor::new(7);
//! let y: [f32; 1] = net.forward(&[1.0, 0.0]);
//! assert!(y[0] > 0.0 && y[0] < 1.0);
//! assert_eq!(net.hidden.weights().len(), 2);
//! ```
//!
//! New to neural networks? The [`tutorial`] follows the "Neural nets 101" seminar slide by
//! slide, with code that the test suite runs.
pub use nn_core::*;

pub mod tutorial;

/// Declares one or more neural networks as types.
pub use nn_macros::network;
