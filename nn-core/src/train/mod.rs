//! The training loop: epochs of shuffled mini-batches, for any network `network!` declares.
//!
//! [`Trainer::fit`] runs stochastic mini-batch training:
//!
//! ```text
//! for epoch in 1..=epochs:
//!     shuffle the training samples (a seeded xoshiro256++, so a seed replays a run bit for bit)
//!     for each batch of batch_size samples (the last one may be smaller):
//!         g = ∂(mean loss over the batch)/∂w       backprop, `Trainable::gradient_batch`
//!         w ← optimizer.step(w, g)
//!     train loss    = mean over the epoch's samples of the loss seen while training on them
//!     test accuracy = share of test samples with argmax(output) = argmax(target)
//! ```
//!
//! A caller watches progress through a hook, `&mut dyn FnMut(&Progress)`, called after every
//! batch and every epoch: a progress bar or a plot lives in the caller, not in this crate.
//!
//! # Divergence
//!
//! A learning rate that is too large, or a NaN in the data, turns the loss or the weights
//! non-finite. [`Trainer::fit`] checks the loss and the gradient of every batch before the
//! optimizer's step and the weights after it, and stops with [`TrainError::NonFinite`], naming
//! the epoch, the batch and the first value that was not finite. The network then holds the
//! weights it had before that batch, all finite: nothing trained so far is lost. (The
//! optimizer's own state, such as momentum's velocity, may hold the failed step; reset it before
//! training on.)
//!
//! # Memory
//!
//! Every buffer (the batch being gathered, the workspace, the gradient, the copy of the weights
//! kept for a rollback, the shuffled order, the history) is allocated once, before the first
//! step. A training step, an evaluation and the hook calls between them allocate nothing.
//!
//! # Example
//!
//! ```ignore
//! nn::network! { struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax; }
//!
//! let mnist = nn::data::Mnist::load("data/mnist")?;
//! let mut net = Digits::new(1);
//! let mut optimizer = nn::Momentum::new(0.1, 0.9);
//! let trainer = nn::Trainer { epochs: 20, batch_size: 32, seed: 1 };
//! let history = trainer.fit(
//!     &mut net,
//!     &mut optimizer,
//!     nn::CrossEntropy,
//!     nn::Samples::new(&mnist.train.inputs, &mnist.train.targets),
//!     Some(nn::Samples::new(&mnist.test.inputs, &mnist.test.targets)),
//!     &mut |progress| {
//!         if let nn::Progress::Epoch(e) = progress {
//!             println!("epoch {}: loss {:.4}, accuracy {:?}", e.epoch, e.train_loss, e.test_accuracy);
//!         }
//!     },
//! )?;
//! ```
//!
//! (`tests/mnist.rs` and `examples/mnist.rs` in the facade crate `nn` run this.)

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
