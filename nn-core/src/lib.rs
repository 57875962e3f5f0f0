//! The runtime of [`nn`](https://docs.rs/nn): everything a network declared with `network!`
//! runs on.
//!
//! - [`Dense<I, O, A>`](Dense): a fully connected layer of `O` neurons over `I` inputs with
//!   activation `A`, shapes as typenum lengths, weights on the heap in `[out][in]` order.
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
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
mod atomic_file;
pub mod data;
pub mod dense;
pub mod error;
pub mod file_check;
pub mod gradcheck;
pub mod kernel;
pub mod layer;
pub mod least_squares;
pub mod loss;
pub mod math;
pub mod nested;
pub mod network;
pub mod optim;
pub mod parallel;
pub mod perceptron;
pub mod plain_array;
pub mod tape;
pub mod train;
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
pub use dense::Dense;
pub use error::Error;
pub use gradcheck::{check_gradients, GradCheck, GradCheckReport, Mismatch};
pub use layer::{AvgPool, BatchNorm, Conv, Dropout, LayerNorm, MaxPool};
pub use loss::{
    BinaryCrossEntropy, CrossEntropy, Huber, Loss, LossGradient, MeanAbsoluteError,
    MeanSquaredError,
};
pub use model::{ActivationKind, LayerKind, LayerShape, Shape};
pub use nested::Layer;
#[allow(deprecated)]
pub use network::Train;
pub use network::{Network, Trainable, Workspace};
pub use optim::{Adam, GradientDescent, Momentum, Optimizer};
pub use parallel::DataParallel;
pub use train::{
    accuracy, argmax, callback, confusion_matrix, evaluate, BatchStats, Callback, ConfusionMatrix,
    Divergence, EarlyStopping, EpochStats, History, Metrics, Monitor, NonFinite, Parameter,
    Progress, Samples, Schedule, Sets, Stop, Target, Task, TrainConfig, TrainError, Trainer,
};
