//! The errors of running and training a network.

/// What went wrong in a call on a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A batch held no samples.
    #[error("the batch is empty: expected at least one sample")]
    EmptyBatch,
    /// Inputs and targets (or outputs) of a batch differ in number.
    #[error(
        "the batch has {inputs} inputs but {targets} targets (or outputs): expected one per input"
    )]
    BatchMismatch {
        /// The number of input samples.
        inputs: usize,
        /// The number of target (or output) rows.
        targets: usize,
    },
}
