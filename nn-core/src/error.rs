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
    /// More threads were asked of `DataParallel::new` than it starts: at most
    /// `nn::parallel::max_threads()`.
    #[error(
        "cannot start {requested} threads: expected at most {limit}, {per_core} for each thread \
         the machine runs at once"
    )]
    TooManyThreads {
        /// The number of threads asked for.
        requested: usize,
        /// The most threads that can be asked for on this machine.
        limit: usize,
        /// The threads allowed for each thread the machine runs at once
        /// (`nn::parallel::THREADS_PER_CORE`).
        per_core: usize,
    },
}
