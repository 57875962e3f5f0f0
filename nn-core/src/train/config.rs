//! How to train: the settings of a run.

/// How to train, in short: the number of epochs, the mini-batch size and the seed of the
/// shuffling, for [`Trainer::fit`]. [`TrainConfig`](super::TrainConfig) holds these and every
/// other setting (validation, schedules, early stopping, clipping, threads, checkpoints), and
/// converts from a `Trainer`.
///
/// The network's initial weights have their own seed (`Net::new(seed)`); this one only decides
/// the order in which samples are visited. The same network, optimizer, data and `Trainer` give
/// the same run, bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trainer {
    /// How many passes over the training set, at least 1.
    pub epochs: usize,
    /// Samples per mini-batch, at least 1. The last batch of an epoch holds the remainder when
    /// the training set does not divide evenly; a size larger than the training set makes one
    /// batch of all of it (full-batch gradient descent).
    pub batch_size: usize,
    /// The seed of the shuffling.
    pub seed: u64,
}

impl Default for Trainer {
    /// 10 epochs of batches of 32, seed 0.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            seed: 0,
        }
    }
}
