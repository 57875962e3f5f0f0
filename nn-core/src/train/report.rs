//! What a run reports: after each batch, after each epoch, and at its end.

use super::metrics::Metrics;

/// What a run tells its hook or [callback](super::Callback).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// A batch has been trained on (its step taken and checked).
    Batch(BatchStats),
    /// An epoch has ended and the validation and test sets (if any) have been evaluated.
    Epoch(EpochStats),
}

/// The state of training after one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BatchStats {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs in the run.
    pub epochs: usize,
    /// The batch within the epoch, counting from 1.
    pub batch: usize,
    /// The number of batches in an epoch.
    pub batches: usize,
    /// The mean loss over this batch, before its step.
    pub loss: f32,
    /// The mean loss over the epoch's samples so far.
    pub epoch_loss: f32,
    /// The learning rate of this batch's step.
    pub learning_rate: f32,
    /// The global norm of this batch's gradient, `‖g‖₂` over every parameter, before any
    /// clipping; computed only when clipping is on (`None` otherwise).
    pub gradient_norm: Option<f32>,
}

/// The result of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct EpochStats {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs in the run.
    pub epochs: usize,
    /// The mean training loss over the epoch: each sample's loss as computed for its batch's
    /// gradient, before that batch's step (so the weights move during the epoch, as in most
    /// frameworks' reported training loss).
    pub train_loss: f32,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f32,
    /// The mean loss over the validation set with the weights at the end of the epoch; `None`
    /// without a validation set.
    pub validation_loss: Option<f32>,
    /// The metrics of the validation set (accuracy, or MSE/MAE/R²); `None` without one.
    pub validation: Option<Metrics>,
    /// The metrics of the test set; `None` without one.
    pub test: Option<Metrics>,
    /// The share of test samples classified right, in `[0, 1]`, with the weights at the end of
    /// the epoch; `None` without a test set, or for a regression (see
    /// [`Task`](super::Task)), whose metrics are in [`test`](Self::test).
    pub test_accuracy: Option<f32>,
    /// Whether this epoch has the best validation figure so far (always `false` without early
    /// stopping).
    pub best: bool,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Stop {
    /// Every epoch was trained.
    #[default]
    Completed,
    /// Early stopping: the validation figure did not improve for `patience` epochs.
    EarlyStopped {
        /// The epoch whose weights the network holds (if early stopping restores them).
        best_epoch: usize,
    },
    /// The callback answered [`ControlFlow::Break`](std::ops::ControlFlow::Break).
    Callback {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within it, or `None` if the callback stopped at the epoch's end.
        batch: Option<usize>,
    },
}

/// The record of a run: one [`EpochStats`] per epoch trained, in order, and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct History {
    /// Each epoch's result (of a resumed run: the epochs trained after the checkpoint).
    pub epochs: Vec<EpochStats>,
    /// Why the run ended.
    pub stop: Stop,
    /// With early stopping, the epoch with the best validation figure (whose weights the
    /// network holds at the end if [`EarlyStopping::restore_best`](super::EarlyStopping) is
    /// on).
    pub best_epoch: Option<usize>,
}

impl History {
    /// The last epoch's result, `None` for an empty history.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The training loss of each epoch.
    pub fn train_loss(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().map(|e| e.train_loss)
    }

    /// The validation loss of each epoch that has one.
    pub fn validation_loss(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().filter_map(|e| e.validation_loss)
    }

    /// The test accuracy of each epoch that has one.
    pub fn test_accuracy(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().filter_map(|e| e.test_accuracy)
    }
}
