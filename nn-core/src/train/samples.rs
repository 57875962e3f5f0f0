//! The samples a network is trained and tested on.

use core::fmt;

use super::error::TrainError;
use crate::network::Network;

/// Inputs and their targets, one target per input: a training or test set.
pub struct Samples<'a, N: Network> {
    /// The inputs, one row a sample.
    pub inputs: &'a [N::Input],
    /// The targets, one row a sample, in the order of the inputs.
    pub targets: &'a [N::Output],
}

impl<'a, N: Network> Samples<'a, N> {
    /// Pairs `inputs` with `targets`. Their lengths are checked where they are used.
    pub fn new(inputs: &'a [N::Input], targets: &'a [N::Output]) -> Self {
        Self { inputs, targets }
    }

    /// The number of samples (of inputs).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

impl<N: Network> Clone for Samples<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: Network> Copy for Samples<'_, N> {}

impl<N: Network> fmt::Debug for Samples<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Samples")
            .field("inputs", &self.inputs.len())
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// Checks that a set has one target per input.
pub(super) fn check_set<N: Network>(
    samples: Samples<'_, N>,
    set: &'static str,
) -> Result<(), TrainError> {
    if samples.inputs.len() != samples.targets.len() {
        return Err(TrainError::Mismatch {
            set,
            inputs: samples.inputs.len(),
            targets: samples.targets.len(),
        });
    }
    Ok(())
}
