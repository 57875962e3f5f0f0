//! Steering a run: a callback sees every batch and epoch and answers continue or stop.

use std::ops::ControlFlow;

use super::report::{BatchStats, EpochStats, Progress};

/// What [`TrainConfig::fit`](super::TrainConfig::fit) calls after every batch and every epoch.
/// Each call answers [`ControlFlow::Continue`] to go on or [`ControlFlow::Break`] to end the run
/// there (the network keeps the weights it has then; [`History::stop`](super::History::stop)
/// says why the run ended).
///
/// A closure `FnMut(&Progress) -> ControlFlow<()>` is a callback; so is `()`, which watches
/// nothing. A callback's calls happen between steps: one that allocates nothing keeps the run
/// free of allocation.
///
/// ```
/// use std::ops::ControlFlow;
/// use nn_core::train::{Callback, EpochStats};
///
/// /// Stops once the training loss is below a bound.
/// struct GoodEnough(f32);
///
/// impl Callback for GoodEnough {
///     fn on_epoch(&mut self, epoch: &EpochStats) -> ControlFlow<()> {
///         if epoch.train_loss < self.0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
///     }
/// }
/// ```
pub trait Callback {
    /// After each batch's step (and its checks).
    fn on_batch(&mut self, _batch: &BatchStats) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// After each epoch, once its evaluation, early-stopping bookkeeping and checkpoint are
    /// done.
    fn on_epoch(&mut self, _epoch: &EpochStats) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl<F: FnMut(&Progress) -> ControlFlow<()>> Callback for F {
    fn on_batch(&mut self, batch: &BatchStats) -> ControlFlow<()> {
        self(&Progress::Batch(*batch))
    }

    fn on_epoch(&mut self, epoch: &EpochStats) -> ControlFlow<()> {
        self(&Progress::Epoch(*epoch))
    }
}

/// Watches nothing and never stops a run.
impl Callback for () {}

/// The old hook, `FnMut(&Progress)`, as a callback that never stops.
pub(super) struct Hook<'h>(pub(super) &'h mut dyn FnMut(&Progress));

impl Callback for Hook<'_> {
    fn on_batch(&mut self, batch: &BatchStats) -> ControlFlow<()> {
        (self.0)(&Progress::Batch(*batch));
        ControlFlow::Continue(())
    }

    fn on_epoch(&mut self, epoch: &EpochStats) -> ControlFlow<()> {
        (self.0)(&Progress::Epoch(*epoch));
        ControlFlow::Continue(())
    }
}
