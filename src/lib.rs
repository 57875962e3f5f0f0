#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use nn_core::*;

pub mod tutorial;

/// Declares one or more neural networks as types.
///
/// ```
/// nn::network! {
///     /// The seminar's digit classifier.
///     #[derive(Clone)]
///     pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
///
///     struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid;
/// }
///
/// let digits = Digits::new(1);
/// let p = digits.forward(&[0.0; 784]);
/// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
/// let xor = Xor::zeros();
/// assert_eq!(xor.forward(&[1.0, 0.0]), [0.5]);
/// ```
///
/// The grammar, the generated items and the errors are described in the
/// [crate documentation](crate).
pub use nn_macros::network;
