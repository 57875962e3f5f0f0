//! What can stop training, and where in the network a value went wrong.

use core::fmt;

use crate::error::Error;
use crate::network::Network;

/// A network parameter, located for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// The layer's name ([`Network::LAYER_NAMES`]).
    pub layer: &'static str,
    /// The neuron (row of the weight matrix, or index of the bias).
    pub neuron: usize,
    /// The input (column of the weight matrix), `None` for a bias.
    pub input: Option<usize>,
}

impl Parameter {
    /// Locates value `index` of the `slice`-th slice of [`Network::parameters`].
    pub(super) fn locate<N: Network>(slice: usize, index: usize) -> Self {
        let layer = slice / 2;
        let name = N::LAYER_NAMES.get(layer).copied().unwrap_or("?");
        if slice % 2 == 1 {
            return Self {
                layer: name,
                neuron: index,
                input: None,
            };
        }
        let inputs = match layer.checked_sub(1) {
            None => N::INPUT,
            Some(previous) => N::WIDTHS.get(previous).copied().unwrap_or(0),
        }
        .max(1);
        Self {
            layer: name,
            neuron: index / inputs,
            input: Some(index % inputs),
        }
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.input {
            Some(input) => write!(
                f,
                "weight [{}][{input}] of layer `{}`",
                self.neuron, self.layer
            ),
            None => write!(f, "bias [{}] of layer `{}`", self.neuron, self.layer),
        }
    }
}

/// Which value of a training step was not finite.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NonFinite {
    /// The batch's mean loss.
    #[error("the loss is {value}")]
    Loss {
        /// The loss (NaN or ±infinity).
        value: f32,
    },
    /// A partial derivative of the loss.
    #[error("the gradient of {at} is {value}")]
    Gradient {
        /// The parameter.
        at: Parameter,
        /// Its partial derivative (NaN or ±infinity).
        value: f32,
    },
    /// A weight or bias after the optimizer's step (gradient and loss were finite).
    #[error("the optimizer's step made {at} {value}")]
    Weight {
        /// The parameter.
        at: Parameter,
        /// Its value after the step (NaN or ±infinity).
        value: f32,
    },
}

/// What can stop [`Trainer::fit`](super::Trainer::fit).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// [`Trainer::epochs`](super::Trainer::epochs) is 0.
    #[error("the number of epochs is 0: expected at least 1")]
    ZeroEpochs,
    /// [`Trainer::batch_size`](super::Trainer::batch_size) is 0.
    #[error("the batch size is 0: expected at least 1")]
    ZeroBatchSize,
    /// The training set has no samples.
    #[error("the training set is empty: expected at least one sample")]
    EmptyTrainingSet,
    /// The test set was given but has no samples.
    #[error("the test set is empty: expected at least one sample, or no test set")]
    EmptyTestSet,
    /// A set's inputs and targets differ in number.
    #[error(
        "the {set} set has {inputs} inputs but {targets} targets: expected one target per input"
    )]
    Mismatch {
        /// `"training"` or `"test"`.
        set: &'static str,
        /// The number of inputs.
        inputs: usize,
        /// The number of targets.
        targets: usize,
    },
    /// The history of this many epochs does not fit in memory.
    #[error("cannot reserve memory for the history of {epochs} epochs")]
    TooManyEpochs {
        /// The number of epochs asked for.
        epochs: usize,
    },
    /// Training diverged: a loss, gradient or weight became NaN or infinite. The network holds
    /// the weights it had before this batch.
    #[error(
        "training diverged in epoch {epoch}, batch {batch}: {what}; the network keeps its \
         weights from before this batch"
    )]
    NonFinite {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within the epoch, counting from 1.
        batch: usize,
        /// What was not finite (already part of this error's message).
        what: NonFinite,
    },
    /// A call on the network failed (a batch it was handed did not fit it).
    #[error(transparent)]
    Network(#[from] Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_network::Pair;

    #[test]
    fn messages_say_what_was_expected_and_found() {
        let e = TrainError::Mismatch {
            set: "training",
            inputs: 8,
            targets: 7,
        };
        assert_eq!(
            e.to_string(),
            "the training set has 8 inputs but 7 targets: expected one target per input"
        );
        let e = TrainError::NonFinite {
            epoch: 3,
            batch: 17,
            what: NonFinite::Gradient {
                at: Parameter {
                    layer: "hidden",
                    neuron: 2,
                    input: Some(5),
                },
                value: f32::NAN,
            },
        };
        assert_eq!(
            e.to_string(),
            "training diverged in epoch 3, batch 17: the gradient of weight [2][5] of layer \
             `hidden` is NaN; the network keeps its weights from before this batch"
        );
        // The cause is in the message, so it is not repeated as a source.
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn parameters_are_located_by_layer_row_and_column() {
        // Pair: weights 2×2 (slice 0), bias 2 (slice 1).
        assert_eq!(
            Parameter::locate::<Pair>(0, 3),
            Parameter {
                layer: "layer",
                neuron: 1,
                input: Some(1)
            }
        );
        assert_eq!(
            Parameter::locate::<Pair>(1, 1),
            Parameter {
                layer: "layer",
                neuron: 1,
                input: None
            }
        );
        assert_eq!(
            Parameter::locate::<Pair>(1, 1).to_string(),
            "bias [1] of layer `layer`"
        );
    }
}
