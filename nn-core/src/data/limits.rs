//! How much data the IDX readers agree to hold: a bound on one file's data and on a whole
//! [`Dataset`](super::Dataset), checked against the sizes a header declares before anything is
//! allocated for them.

use std::fmt;

/// The largest sizes the IDX readers accept, checked against what a file's header declares
/// before any memory is allocated for the data.
///
/// The defaults hold the full MNIST data set several times over (its largest file, the
/// training images, is 47 MB; its training set is 190 MB as a `Dataset<784, 10>`) and stop a
/// corrupt or hostile header from making the reader allocate gigabytes. For a larger data set
/// (EMNIST's `byclass` training images are 547 MB), raise them:
///
/// ```no_run
/// use nn_core::data::{Dataset, Limits};
///
/// let limits = Limits::default()
///     .with_max_file_bytes(1 << 30)
///     .with_max_dataset_bytes(4 << 30);
/// let train = Dataset::<784, 62>::from_idx_with(
///     "emnist-byclass-train-images-idx3-ubyte.gz",
///     "emnist-byclass-train-labels-idx1-ubyte.gz",
///     &limits,
/// )?;
/// # Ok::<(), nn_core::data::IdxError>(())
/// ```
///
/// A file that declares more is refused with [`IdxError::LimitExceeded`](super::IdxError::LimitExceeded),
/// which says which limit it hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// The largest data section of one IDX file, in bytes, after decompression: its header's
    /// `count * rows * cols` for images, `count` for labels (the 8- or 16-byte header is not
    /// counted). Default [`Limits::DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
    /// The largest [`Dataset`](super::Dataset) that [`Dataset::from_idx_with`](super::Dataset::from_idx_with)
    /// and [`Mnist::load_with`](super::Mnist::load_with) build, in bytes of memory: per item,
    /// its `IN` inputs and `CLASSES` targets as `f32` plus its one-byte label, that is
    /// `count * (4 * IN + 4 * CLASSES + 1)`. Default [`Limits::DEFAULT_MAX_DATASET_BYTES`].
    pub max_dataset_bytes: u64,
}

impl Limits {
    /// The default [`max_file_bytes`](Limits::max_file_bytes): 256 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

    /// The default [`max_dataset_bytes`](Limits::max_dataset_bytes): 1 GiB.
    pub const DEFAULT_MAX_DATASET_BYTES: u64 = 1 << 30;

    /// The default limits.
    #[must_use]
    pub const fn new() -> Self {
        Limits {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            max_dataset_bytes: Self::DEFAULT_MAX_DATASET_BYTES,
        }
    }

    /// No limit beyond what memory can address: every declared size is accepted, and the
    /// readers still allocate only as the data actually arrives.
    #[must_use]
    pub const fn unlimited() -> Self {
        Limits {
            max_file_bytes: u64::MAX,
            max_dataset_bytes: u64::MAX,
        }
    }

    /// These limits with [`max_file_bytes`](Limits::max_file_bytes) set to `bytes`.
    #[must_use]
    pub const fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// These limits with [`max_dataset_bytes`](Limits::max_dataset_bytes) set to `bytes`.
    #[must_use]
    pub const fn with_max_dataset_bytes(mut self, bytes: u64) -> Self {
        self.max_dataset_bytes = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

/// Which of the [`Limits`] a file exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_file_bytes`]: one file's data section.
    FileBytes,
    /// [`Limits::max_dataset_bytes`]: the [`Dataset`](super::Dataset) built from a pair of
    /// files.
    DatasetBytes,
}

impl fmt::Display for Limit {
    /// The field's path, `Limits::max_file_bytes` or `Limits::max_dataset_bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::FileBytes => "Limits::max_file_bytes",
            Limit::DatasetBytes => "Limits::max_dataset_bytes",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_builders() {
        assert_eq!(Limits::default(), Limits::new());
        assert_eq!(Limits::new().max_file_bytes, 256 << 20);
        assert_eq!(Limits::new().max_dataset_bytes, 1 << 30);
        let l = Limits::new()
            .with_max_file_bytes(5)
            .with_max_dataset_bytes(7);
        assert_eq!((l.max_file_bytes, l.max_dataset_bytes), (5, 7));
        assert_eq!(Limits::unlimited().max_file_bytes, u64::MAX);
        assert_eq!(Limit::FileBytes.to_string(), "Limits::max_file_bytes");
        assert_eq!(Limit::DatasetBytes.to_string(), "Limits::max_dataset_bytes");
    }
}
