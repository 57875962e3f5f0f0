//! The settings of a steered run: [`TrainConfig`] and the pieces it is made of.

use std::path::PathBuf;

use super::config::Trainer;
use super::metrics::Task;
use super::samples::Samples;
use super::schedule::Schedule;

/// Which validation figure early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Monitor {
    /// The mean loss over the validation set: lower is better.
    #[default]
    ValidationLoss,
    /// The validation accuracy of a classifier, or R² of a regression: higher is better.
    ValidationMetric,
}

/// Early stopping: end the run when the validation figure has not improved for `patience`
/// epochs, and (by default) give the network the weights of the best epoch.
///
/// An epoch improves on the best so far if its figure is better by more than `min_delta`
/// (`loss < best - min_delta`, or `metric > best + min_delta`). The best epoch's weights are
/// copied into a buffer made before the first step (no allocation in the run).
///
/// ```
/// use nn_core::train::{EarlyStopping, Monitor};
/// let stop = EarlyStopping::new(5).min_delta(1e-4).monitor(Monitor::ValidationMetric);
/// assert_eq!(stop.patience, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct EarlyStopping {
    /// Epochs without improvement before the run stops, at least 1.
    pub patience: usize,
    /// The improvement that counts.
    pub min_delta: f32,
    /// The figure watched.
    pub monitor: Monitor,
    /// Whether the network ends with the best epoch's weights (also when every epoch ran).
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Stop after `patience` epochs without a lower validation loss; restore the best weights.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
            monitor: Monitor::ValidationLoss,
            restore_best: true,
        }
    }

    /// The improvement that counts.
    #[must_use]
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// The figure watched.
    #[must_use]
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Whether the network ends with the best epoch's weights.
    #[must_use]
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }
}

/// The divergence rule: a run whose loss stays finite but explodes is stopped too.
///
/// With `L₀` the run's first batch loss, a batch whose loss is above
/// `factor · max(L₀, floor)` is *out of bounds*; `batches` out-of-bounds batches in a row stop
/// the run with [`TrainError::Diverged`](super::TrainError::Diverged), and the network gets the
/// weights it had before the first of them (a copy kept before every step, as the NaN guard
/// keeps one). The `floor` keeps a tiny starting loss from making every later one look
/// enormous.
///
/// The default, `factor` 1000, `batches` 10, `floor` 1e-3, caught learning rate 1e6 with
/// cross-entropy on the digits (loss ~1e7 from 2.3) within 10 batches, and never fired on the
/// examples and tests of this repository. Turn it off with
/// [`TrainConfig::divergence`]`(None)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Divergence {
    /// How many times the starting loss is out of bounds.
    pub factor: f32,
    /// Out-of-bounds batches in a row that stop the run, at least 1.
    pub batches: usize,
    /// The least starting loss the bound is computed from.
    pub floor: f32,
}

impl Divergence {
    /// The rule with `factor` and `batches` (floor 1e-3).
    pub fn new(factor: f32, batches: usize) -> Self {
        Self {
            factor,
            batches,
            floor: 1e-3,
        }
    }
}

impl Default for Divergence {
    /// Factor 1000, 10 batches, floor 1e-3.
    fn default() -> Self {
        Self::new(1000.0, 10)
    }
}

/// The data of a run: the training set, and optionally a validation set (evaluated every
/// epoch, watched by early stopping) and a test set (evaluated every epoch, never used to
/// decide anything).
///
/// ```
/// # let (xs, ys) = (vec![[0.0f32; 2]; 4], vec![[1.0f32]; 4]);
/// use nn_core::train::{Samples, Sets};
/// let sets = Sets::new(Samples::new(&xs, &ys)).test(Samples::new(&xs, &ys));
/// assert!(sets.validation.is_none());
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Sets<'a, X, T> {
    /// The samples trained on.
    pub train: Samples<'a, X, T>,
    /// The validation set, if given (a [`TrainConfig::validation_split`] makes one from
    /// `train` instead).
    pub validation: Option<Samples<'a, X, T>>,
    /// The test set, if given.
    pub test: Option<Samples<'a, X, T>>,
}

impl<'a, X, T> Sets<'a, X, T> {
    /// A run on `train` alone.
    pub fn new(train: Samples<'a, X, T>) -> Self {
        Self {
            train,
            validation: None,
            test: None,
        }
    }

    /// With a validation set.
    #[must_use]
    pub fn validation(mut self, validation: Samples<'a, X, T>) -> Self {
        self.validation = Some(validation);
        self
    }

    /// With a test set.
    #[must_use]
    pub fn test(mut self, test: Samples<'a, X, T>) -> Self {
        self.test = Some(test);
        self
    }
}

impl<'a, X, T> From<Samples<'a, X, T>> for Sets<'a, X, T> {
    fn from(train: Samples<'a, X, T>) -> Self {
        Self::new(train)
    }
}

/// The settings of a run of [`TrainConfig::fit`]: made with [`TrainConfig::new`] and changed by
/// its builder methods (one per field, named after it), so settings can be added without
/// breaking anyone's code.
///
/// ```
/// use nn_core::train::{EarlyStopping, Schedule, TrainConfig};
/// let config = TrainConfig::new()
///     .epochs(50)
///     .batch_size(32)
///     .seed(1)
///     .validation_split(0.2)
///     .schedule(Schedule::cosine(100, 0.0))
///     .early_stopping(EarlyStopping::new(5))
///     .clip_norm(1.0)
///     .threads(2);
/// assert_eq!(config.epochs, 50);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrainConfig {
    /// Passes over the training set, at least 1 (default 10).
    pub epochs: usize,
    /// Samples per mini-batch, at least 1 (default 32); the last batch of an epoch holds the
    /// remainder, and a size larger than the set makes one batch of all of it.
    pub batch_size: usize,
    /// The seed of the shuffling (and of the validation split).
    pub seed: u64,
    /// Threads to compute a batch's gradient on (default 1). With more than one, the trainer
    /// uses [`DataParallel`](crate::parallel::DataParallel), which splits only batches of at least two
    /// [`DataParallel::min_chunk`](crate::parallel::DataParallel::min_chunk)s (64 samples each by
    /// default; smaller ones run on the calling thread, where threads did not pay). The
    /// gradient is then rounded differently than on one thread: the same seed and thread
    /// count give the same bits.
    pub threads: usize,
    /// The learning-rate schedule (default constant).
    pub schedule: Schedule,
    /// Early stopping (default none).
    pub early_stopping: Option<EarlyStopping>,
    /// Clip the gradient to this global norm before each step (default none):
    /// `g ← g · min(1, c / ‖g‖₂)` with `‖g‖₂ = √(Σ g²)` over every weight and bias.
    pub clip_norm: Option<f32>,
    /// Hold out this share of the training set for validation (a seeded, disjoint split, see
    /// [`split`](super::split)); used when [`Sets::validation`] is not given.
    pub validation_split: Option<f32>,
    /// The divergence rule (default [`Divergence::default`]); `None` keeps only the NaN guard.
    pub divergence: Option<Divergence>,
    /// Check every input and target once before training (default `true`): inputs finite,
    /// targets finite, labels below the output width, and in the loss's range (see
    /// [`Loss::check_target`](crate::loss::Loss::check_target)). Nothing below the trainer checks
    /// data (a training step does not look at every value twice).
    pub check_data: bool,
    /// How the metrics judge the outputs (default [`Task::Auto`]).
    pub task: Task,
    /// Write a checkpoint to this file after every epoch (atomically, see
    /// [`checkpoint`](super::checkpoint)).
    pub checkpoint: Option<PathBuf>,
    /// Resume from this checkpoint file instead of starting afresh.
    pub resume: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            seed: 0,
            threads: 1,
            schedule: Schedule::Constant,
            early_stopping: None,
            clip_norm: None,
            validation_split: None,
            divergence: Some(Divergence::default()),
            check_data: true,
            task: Task::Auto,
            checkpoint: None,
            resume: None,
        }
    }
}

impl From<Trainer> for TrainConfig {
    /// The plain run of [`Trainer::fit`]: its epochs, batch size and seed, no data check and no
    /// divergence rule (only the NaN guard).
    fn from(t: Trainer) -> Self {
        Self::new()
            .epochs(t.epochs)
            .batch_size(t.batch_size)
            .seed(t.seed)
            .check_data(false)
            .divergence(None)
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $value:expr;)*) => {
        impl TrainConfig {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, $name: $ty) -> Self {
                    self.$name = $value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`epochs`](TrainConfig::epochs).
    epochs: usize => epochs;
    /// Sets [`batch_size`](TrainConfig::batch_size).
    batch_size: usize => batch_size;
    /// Sets [`seed`](TrainConfig::seed).
    seed: u64 => seed;
    /// Sets [`threads`](TrainConfig::threads).
    threads: usize => threads;
    /// Sets [`schedule`](TrainConfig::schedule).
    schedule: Schedule => schedule;
    /// Turns on [`early_stopping`](TrainConfig::early_stopping).
    early_stopping: EarlyStopping => Some(early_stopping);
    /// Turns on gradient clipping at global norm [`clip_norm`](TrainConfig::clip_norm).
    clip_norm: f32 => Some(clip_norm);
    /// Sets [`validation_split`](TrainConfig::validation_split).
    validation_split: f32 => Some(validation_split);
    /// Sets (or with `None` turns off) the [`divergence`](TrainConfig::divergence) rule.
    divergence: Option<Divergence> => divergence;
    /// Sets [`check_data`](TrainConfig::check_data).
    check_data: bool => check_data;
    /// Sets [`task`](TrainConfig::task).
    task: Task => task;
    /// Writes a [`checkpoint`](TrainConfig::checkpoint) after every epoch.
    checkpoint: impl Into<PathBuf> => Some(checkpoint.into());
    /// [`resume`](TrainConfig::resume)s from a checkpoint.
    resume: impl Into<PathBuf> => Some(resume.into());
}

impl TrainConfig {
    /// The defaults: 10 epochs of batches of 32, seed 0, one thread, a constant learning rate,
    /// no early stopping, clipping or validation split, the default divergence rule, data
    /// checked, metrics for the task.
    pub fn new() -> Self {
        Self::default()
    }
}
