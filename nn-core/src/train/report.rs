//! What a run reports: after each batch, after each epoch, and at its end.

/// What [`Trainer::fit`](super::Trainer::fit) tells its hook.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// A batch has been trained on (its step taken and checked).
    Batch(BatchStats),
    /// An epoch has ended and the test set (if any) has been evaluated.
    Epoch(EpochStats),
}

/// The state of training after one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
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
}

/// The result of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs in the run.
    pub epochs: usize,
    /// The mean training loss over the epoch: each sample's loss as computed for its batch's
    /// gradient, before that batch's step (so the weights move during the epoch, as in most
    /// frameworks' reported training loss).
    pub train_loss: f32,
    /// The share of test samples classified right, in `[0, 1]`, with the weights at the end of
    /// the epoch; `None` without a test set.
    pub test_accuracy: Option<f32>,
}

/// The record of a run: one [`EpochStats`] per epoch, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Each epoch's result.
    pub epochs: Vec<EpochStats>,
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

    /// The test accuracy of each epoch that has one.
    pub fn test_accuracy(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().filter_map(|e| e.test_accuracy)
    }
}
