//! The training loop: epochs of shuffled mini-batches, for any network `network!` declares.
//!
//! [`TrainConfig::fit`] runs a steered training: its settings ([`TrainConfig`], a builder)
//! choose the epochs, batch size, seed and threads, a learning-rate [`Schedule`],
//! [`EarlyStopping`] on a validation set (given in [`Sets`], or split off with a seed), gradient
//! clipping, the [`Divergence`] rule, and [checkpoints](checkpoint) to resume from. A
//! [`Callback`] sees every batch and epoch and answers `ControlFlow::Continue` or `Break`.
//! [`Trainer::fit`] is the short form of the same loop with none of these.
//!
//! ```text
//! for epoch in 1..=epochs:
//!     shuffle the training samples (a seeded xoshiro256++, so a seed replays a run bit for bit)
//!     for each batch of batch_size samples (the last one may be smaller):
//!         α ← schedule(step, epoch)                 (see Schedule)
//!         g = ∂(mean loss over the batch)/∂w        backprop, `Trainable::gradient_batch`
//!         g ← g · min(1, c/‖g‖₂)                    with clip_norm c
//!         w ← optimizer.step(w, g)                  with its decoupled weight decay
//!     train loss       = mean over the epoch's samples of the loss seen while training on them
//!     validation       = loss and metrics on the validation set (accuracy, or MSE/MAE/R²)
//!     test             = metrics on the test set
//!     early stopping   = keep the best epoch's weights; stop after `patience` bad epochs
//! ```
//!
//! # Targets
//!
//! A target is a row as wide as the output (`[f32; OUT]`) or a class label (`u8`, `u16`, `u32`,
//! `usize`; see [`Target`]), which the trainer writes as a one-hot row into its batch buffer:
//! cross-entropy needs no one-hot data. [`Samples`] is typed by the rows it holds, so one set
//! feeds every network of the same widths; a [`Dataset`](crate::data::Dataset) converts to it.
//!
//! # Where data is checked
//!
//! Once per data set, before the first step, by [`TrainConfig::fit`] (unless
//! [`TrainConfig::check_data`] is off): every input finite, every target finite and valid (a
//! label below the output width, a value in the loss's range, see
//! [`Loss::check_target`](crate::loss::Loss::check_target)), for the training, validation and test
//! sets, with [`TrainError::InvalidData`] naming the set and sample. Nothing below the trainer
//! checks values (`gradient_batch` on a NaN input returns a NaN loss), so that a step reads
//! every value once; [`Trainer::fit`] does not check either, and relies on the NaN guard.
//!
//! # Divergence
//!
//! A learning rate that is too large, or a NaN in unchecked data, turns the loss or the weights
//! non-finite. The trainer checks the loss and the gradient of every batch before the
//! optimizer's step and the weights after it, and stops with [`TrainError::NonFinite`], naming
//! the epoch, the batch and the first value that was not finite. The network then holds the
//! weights it had before that batch, all finite: nothing trained so far is lost. A loss that
//! explodes without becoming infinite is caught by the [`Divergence`] rule
//! ([`TrainError::Diverged`]), which keeps the weights from before the loss left its bound.
//! (The optimizer's own state, such as momentum's velocity, may hold the failed steps; reset it
//! before training on.)
//!
//! # Memory
//!
//! Every buffer (the batch being gathered, the workspaces, the gradient, the copies of the
//! weights kept for a rollback and for early stopping, the shuffled order, the evaluation rows,
//! the history) is allocated once, before the first step. A training step, an evaluation and
//! the callback's calls between them allocate nothing; writing a checkpoint does, and so does,
//! with more than one thread, handing a chunk of a large batch to another thread.
//!
//! # Example
//!
//! ```ignore
//! nn::network! { struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax; }
//!
//! let mnist = nn::data::Mnist::load("data/mnist")?;
//! let mut net = Digits::new(1);
//! let history = nn::TrainConfig::new()
//!     .epochs(20)
//!     .batch_size(32)
//!     .seed(1)
//!     .fit(
//!         &mut net,
//!         &mut nn::Momentum::new(0.1, 0.9),
//!         nn::CrossEntropy,
//!         nn::Sets::new(mnist.train.labelled()).test(mnist.test.labelled()),
//!         &mut nn::callback(|progress| {
//!             if let nn::Progress::Epoch(e) = progress {
//!                 println!("epoch {}: loss {:.4}, test {:?}", e.epoch, e.train_loss, e.test);
//!             }
//!             std::ops::ControlFlow::Continue(())
//!         }),
//!     )?;
//! ```
//!
//! (`tests/trainer*.rs`, `examples/mnist.rs` and `examples/tabular.rs` in the facade crate `nn`
//! run this.)

mod callback;
pub mod checkpoint;
mod config;
mod error;
mod fit;
mod metrics;
mod report;
mod rng;
mod samples;
mod schedule;
mod settings;

pub use callback::Callback;
pub use checkpoint::CheckpointError;
pub use config::Trainer;
pub use error::{InvalidData, NonFinite, Parameter, TrainError};
pub use fit::callback;
pub use metrics::{accuracy, argmax, confusion_matrix, evaluate, ConfusionMatrix, Metrics, Task};
pub use report::{BatchStats, EpochStats, History, Progress, Stop};
pub use rng::ShuffleRng;
pub use samples::{split, Samples, Split, Target, TargetKind};
pub use schedule::{Position, Schedule};
pub use settings::{Divergence, EarlyStopping, Monitor, Sets, TrainConfig};
