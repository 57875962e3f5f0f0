//! What can stop training, and where in the network a value went wrong.

use crate::error::Error;
pub use crate::model::Parameter;

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

/// What is wrong with one sample of a data set, found by the check before training (see
/// [`TrainConfig::check_data`](super::TrainConfig::check_data)).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidData {
    /// An input value is NaN or infinite.
    #[error("input value {index} is {value}")]
    InputNotFinite {
        /// The index of the value in the input row.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A target value is NaN or infinite.
    #[error("target value {index} is {value}")]
    TargetNotFinite {
        /// The index of the value in the target row.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A target value is outside the range the loss accepts.
    #[error("target value {index} is {value}: {loss} expects {expected}")]
    TargetOutOfRange {
        /// The index of the value in the target row.
        index: usize,
        /// The value.
        value: f32,
        /// The loss's name.
        loss: &'static str,
        /// What the loss expects, e.g. `values in [0, 1]`.
        expected: &'static str,
    },
    /// A class label is not less than the number of outputs.
    #[error("the label is {label}, but the network has {classes} outputs: expected a label less than {classes}")]
    LabelOutOfRange {
        /// The label (`u64::MAX` if it does not fit in 64 bits).
        label: u64,
        /// The number of classes (outputs).
        classes: usize,
    },
}

/// What can stop [`Trainer::fit`](super::Trainer::fit) and [`TrainConfig::fit`](super::TrainConfig::fit).
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
    /// The validation set was given but has no samples.
    #[error("the validation set is empty: expected at least one sample, or no validation set")]
    EmptyValidationSet,
    /// A set's inputs and targets differ in number.
    #[error(
        "the {set} set has {inputs} inputs but {targets} targets: expected one target per input"
    )]
    Mismatch {
        /// `"training"`, `"validation"` or `"test"`.
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
    /// A value of a data set is not fit for training, found before training began.
    #[error("sample {sample} of the {set} set: {what}")]
    InvalidData {
        /// `"training"`, `"validation"` or `"test"`.
        set: &'static str,
        /// The index of the sample in its set.
        sample: usize,
        /// What is wrong with it.
        what: InvalidData,
    },
    /// Training diverged without a non-finite value: the batch loss stayed above the
    /// divergence rule's bound (see [`Divergence`](super::Divergence)). The network holds the
    /// last weights whose batch loss was within the bound.
    #[error(
        "training diverged in epoch {epoch}, batch {batch}: the batch loss was {loss}, above          {factor} times the starting loss {start}, for {batches} batches in a row; the network          keeps its weights from before the first of them"
    )]
    Diverged {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within the epoch, counting from 1.
        batch: usize,
        /// The last batch's loss.
        loss: f32,
        /// The loss the rule compares with (the run's first batch loss).
        start: f32,
        /// The rule's factor.
        factor: f32,
        /// How many batches in a row were above the bound.
        batches: usize,
    },
    /// A setting is out of its range (the message says which and why).
    #[error("the setting `{name}` is {value}: expected {expected}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// Early stopping, or a monitor, needs a validation set and there is none.
    #[error(
        "early stopping watches the validation set, but there is none: give one with          `Sets::validation`, or a split with `TrainConfig::validation_split`"
    )]
    NoValidationSet,
    /// A checkpoint could not be written or read, or does not fit this run.
    #[error(transparent)]
    Checkpoint(#[from] super::checkpoint::CheckpointError),
    /// A call on the network failed (a batch it was handed did not fit it).
    #[error(transparent)]
    Network(#[from] Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
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
                // Weight [2][5] of a `6 -> hidden: 3 ...` layer: flat index 2·6 + 5.
                at: Parameter::locate(
                    &[crate::model::LayerShape::dense(
                        "hidden",
                        6,
                        3,
                        crate::model::ActivationKind::Tanh,
                    )],
                    0,
                    17,
                )
                .expect("a weight of that layer"),
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
        let at = |slice, index| {
            Parameter::locate(Pair::LAYERS, slice, index).map(|p| (p.layer, p.neuron(), p.input()))
        };
        assert_eq!(at(0, 3), Some(("layer", 1, Some(1))));
        assert_eq!(at(1, 1), Some(("layer", 1, None)));
        assert_eq!(
            Parameter::locate(Pair::LAYERS, 1, 1).map(|p| p.to_string()),
            Some("bias [1] of layer `layer`".to_owned())
        );
    }
}
