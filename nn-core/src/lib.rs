//! The runtime of [`nn`](https://docs.rs/nn): everything a network declared with `network!`
//! runs on.
//!
//! - [`Dense<I, O, A, T>`](Dense): a fully connected layer of `O` neurons over `I` inputs with
//!   activation `A`, shapes as typenum lengths, weights in `[out][in]` order (on the heap with
//!   `alloc`, inline without), computing in `T`: `f32`, or `f64` ([`scalar`], [`Scalar`]).
//! - [`baked`]: [`DenseRef`], [`ConvRef`], [`BatchNormRef`] and [`LayerNormRef`], layers over
//!   borrowed (`static`) weights, inference only:
//!   what a network baked in at compile time with `#[weights("file.safetensors")]` runs on.
//! - [`activation`]: `sigmoid`, `tanh`, `relu`, `softplus`, `linear`, `softmax`, `step`,
//!   `leaky_relu`, `gelu`, `silu`, each a zero-sized type with its function and derivative, and
//!   [`CustomActivation`] for one of your own.
//! - [`layer`]: the other layer kinds, [`Conv`], [`MaxPool`], [`AvgPool`], [`Dropout`],
//!   [`BatchNorm`], [`LayerNorm`], with the
//!   design they share (how a kind is described, buffered and called; training and inference).
//! - [`loss`]: mean squared error, mean absolute error (L1), Huber, cross-entropy on softmax,
//!   binary cross-entropy on sigmoid.
//! - [`math`]: the scalar functions behind them, [`math::logistic`] and [`math::softplus`].
//! - [`optim`]: gradient descent, momentum and Adam, each with decoupled weight decay (AdamW).
//! - [`Network`] and [`Trainable`]: what every generated network implements, for generic code.
//! - [`nested`]: the [`Layer`] trait of a layer written as a path in a declaration, a network
//!   used inside another or a layer type of your own.
//! - [`model`]: a network's structure as one typed value ([`Network::LAYERS`]): each layer's
//!   name, kind and shapes, read by everything that needs the structure at run time.
//! - [`train`]: the training loop ([`TrainConfig::fit`], and the short [`Trainer::fit`]):
//!   shuffled mini-batches over epochs, validation and metrics, schedules, early stopping,
//!   clipping, checkpoints, threads, a callback that can stop the run, and a stop with the last
//!   good weights on divergence.
//! - [`parallel`]: data-parallel gradients ([`DataParallel`]): a batch split across threads.
//! - [`gradcheck`]: the finite-difference check of any network's backward pass.
//! - [`data`]: the IDX file format of MNIST, plain or gzipped; CSV tables; standardisation.
//! - [`file_check`]: the refusal of a FIFO, folder, socket or device given as a file to read.
//! - [`least_squares`]: linear regression in closed form (simple regression, the normal
//!   equations by QR): what a `linear` neuron trained by gradient descent converges to.
//! - [`perceptron`]: Rosenblatt's learning rule for a network of one `step` layer.
//! - [`plain_array`]: the plain array `[T; N]` of a typenum length, for signatures in numbers.
//! - [`tape`]: a dynamic computation graph (micrograd-style autograd over vectors), which runs
//!   any generated network a second way and checks its gradients.
//! - [`weights`]: saving and loading a network's weights as safetensors, in the layout of
//!   PyTorch's `nn.Sequential` of `nn.Linear` layers.
//!
//! Use it through the facade crate `nn`, which re-exports all of this with the `network!` macro.
//!
//! The crate denies `unsafe` code everywhere but in one private module, [`kernel`]'s x86 SIMD
//! back ends (AVX2 + FMA, AVX-512F), one of which the CPU's features select at run time; see
//! that module for why and how it is kept sound.
//!
//! # Features
//!
//! | feature | what it adds |
//! | --- | --- |
//! | (none) | `#![no_std]` inference: [`Dense`] with its weights inline (no heap, [`Dense::from_arrays`] is a `const fn`), the activations, [`Network`] and a dense network's `forward`; the kernels chosen at compile time from the target features |
//! | `alloc` | training: [`Workspace`], [`Trainable`], the optimizers, the gradient check, least squares, the layer kinds other than dense, layers written as a path ([`nested`]); [`Dense`] keeps its weights on the heap |
//! | `std` (default, implies `alloc`) | the tape, files (weights, data sets), threads ([`DataParallel`]), the trainer, and the kernels chosen at run time from the CPU's features |
//!
//! The code `network!` writes follows the same features: what needs the heap is left out
//! without `alloc` (see `examples/embedded/` in the repository for a `no_std` static library).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

// With `std`, the standard prelude as always; with `alloc` alone, the heap types are imported
// where they are used and `vec!`/`format!` come from `alloc`.
#[cfg(all(feature = "alloc", not(feature = "std")))]
#[macro_use]
extern crate alloc;
#[cfg(feature = "std")]
extern crate alloc;

pub mod activation;
#[cfg(feature = "std")]
mod atomic_file;
pub mod baked;
#[cfg(feature = "std")]
pub mod data;
pub mod dense;
pub mod error;
#[cfg(feature = "std")]
pub mod file_check;
#[cfg(feature = "alloc")]
pub mod gradcheck;
pub mod kernel;
#[cfg(feature = "alloc")]
pub mod layer;
#[cfg(feature = "alloc")]
pub mod least_squares;
pub mod loss;
pub mod math;
#[cfg(feature = "alloc")]
pub mod nested;
pub mod network;
#[cfg(feature = "alloc")]
pub mod optim;
#[cfg(feature = "std")]
pub mod parallel;
mod params;
#[cfg(feature = "alloc")]
pub mod perceptron;
pub mod plain_array;
pub mod scalar;
#[cfg(feature = "std")]
pub mod tape;
#[cfg(feature = "std")]
pub mod train;
#[cfg(feature = "std")]
pub mod weights;

// The code `network!` writes names `::nn`; in nn-core's own tests that is nn-core itself.
#[cfg(test)]
extern crate self as nn;
#[cfg(test)]
mod test_network;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use generic_array;
pub use nn_model as model;
pub use typenum;

#[allow(deprecated)]
pub use activation::{sigmoid, softplus};
pub use activation::{
    Activation, Custom, CustomActivation, Differentiable, Gelu, Init, LeakyRelu, Linear, Relu,
    Sigmoid, Silu, Softmax, Softplus, Step, Tanh,
};
pub use baked::{BatchNormRef, ConvRef, DenseRef, LayerNormRef};
pub use dense::Dense;
pub use error::Error;
#[cfg(feature = "alloc")]
pub use gradcheck::{check_gradients, GradCheck, GradCheckReport, Mismatch};
#[cfg(feature = "alloc")]
pub use layer::{AvgPool, BatchNorm, Conv, Dropout, LayerNorm, MaxPool};
pub use loss::{
    BinaryCrossEntropy, CrossEntropy, Huber, Loss, LossGradient, MeanAbsoluteError,
    MeanSquaredError,
};
pub use model::{ActivationKind, LayerKind, LayerShape, Shape};
#[cfg(feature = "alloc")]
pub use nested::Layer;
pub use network::Network;
#[allow(deprecated)]
#[cfg(feature = "alloc")]
pub use network::Train;
#[cfg(feature = "alloc")]
pub use network::{Trainable, Workspace};
#[cfg(feature = "alloc")]
pub use optim::{Adam, FusedStep, GradientDescent, Momentum, Optimizer};
#[cfg(feature = "std")]
pub use parallel::DataParallel;
pub use scalar::Scalar;
#[cfg(feature = "std")]
pub use train::{
    accuracy, argmax, callback, confusion_matrix, evaluate, BatchStats, Callback, ConfusionMatrix,
    Divergence, EarlyStopping, EpochStats, History, Metrics, Monitor, NonFinite, Parameter,
    Progress, Samples, Schedule, Sets, Stop, Target, Task, TrainConfig, TrainError, Trainer,
};
