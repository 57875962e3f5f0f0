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
/// # Weights baked in at compile time
///
/// `#[weights("file.safetensors")]` on a declaration reads that file while compiling (the path
/// relative to the crate's `Cargo.toml`), checks every tensor's name, dtype and shape against
/// the declaration, as [`weights::load`] would at run time, and writes the weights as statics
/// in read-only memory. The struct is then a zero-sized unit struct with an inference-only
/// `forward` and `forward_all` that allocate nothing, bit for bit what the trainable network
/// computes with the file loaded; it has no training methods. Editing the file rebuilds the
/// crate. Dense, conv, maxpool, avgpool, dropout, batchnorm (with its running statistics, as
/// at inference) and layernorm layers bake (each layer's output, and a convolution's scratch
/// space, at most 4096 values, as they live on the stack).
///
/// ```
/// nn::network! {
///     /// The seminar's XOR network, trained elsewhere and saved with `nn::weights::save`.
///     #[weights("tests/fixtures/baked/xor.safetensors")]
///     pub struct Xor: 2 -> 3 tanh -> 1 sigmoid;
/// }
///
/// let y = Xor.forward(&[1.0, 0.0]);
/// assert!(y[0] > 0.0 && y[0] < 1.0);
/// assert_eq!(Xor.layer1().weights_flat().len(), 6);
/// ```
///
/// # Networks in `f64`
///
/// `f64` after the colon makes every number of the network an `f64`: inputs, outputs, weights,
/// gradients and the loss. The optimizers, the gradient check (at [`GradCheck::F64`]'s
/// tolerance) and the weight files (`F64` tensors) take it as they take an `f32` one. It holds
/// dense layers with built-in activations in a chain; anything else is a compile error.
///
/// ```
/// nn::network! {
///     struct Precise: f64 2 -> 3 tanh -> 1 linear;
/// }
///
/// let net = Precise::new(1);
/// let y: [f64; 1] = net.forward(&[0.25, -1.0]);
/// assert!(y[0].is_finite());
/// ```
///
/// The grammar, the generated items and the errors are described in the
/// [crate documentation](crate).
pub use nn_macros::network;
