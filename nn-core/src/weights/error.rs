//! What can go wrong saving or loading weights, and the pieces its messages are made of.

use std::io;
use std::path::{Path, PathBuf};

use super::dtype::Dtype;

/// An underlying error, kept as the [`source`](std::error::Error::source) of a [`WeightsError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong saving or loading weights.
///
/// The variants about a file's contents carry `file`: the path for [`load`](super::load) and
/// [`load_into`](super::load_into), `None` for bytes in memory. Messages start in lower case and
/// end without a period, so they can be embedded in other messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be opened or read, or is not a regular file. The message ends with
    /// what the operating system reported; a FIFO, a folder or a device given as a file is
    /// refused before anything is read (find the refusal with
    /// [`NotRegularFile::find`](crate::file_check::NotRegularFile::find)).
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file (or its temporary sibling) could not be written or renamed into place. An
    /// existing file at `path` is left as it was. The message ends with what the operating
    /// system reported.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The data is not a safetensors file, or its header is corrupt or does not match the data
    /// that follows it.
    #[error("{} not a valid safetensors file: {reason}", subject(.file))]
    Format {
        /// The file, if the data came from one.
        file: Option<PathBuf>,
        /// What is wrong, in words.
        reason: String,
        /// The underlying error (the JSON parser's, or the safetensors crate's), if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A tensor the network needs is not in the file.
    #[error("tensor `{name}`{} is missing: {}", in_file(.file), file_has(.found))]
    MissingTensor {
        /// The missing tensor's name, e.g. `2.weight`.
        name: String,
        /// The names of the tensors the file does have, in file order.
        found: Vec<String>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// The file has a tensor the network does not: it was saved from a larger network, or
    /// under names other than `nn.Sequential`'s.
    #[error(
        "tensor `{name}`{} is not a parameter of this network, which has exactly {}",
        in_file(.file),
        name_list(.expected)
    )]
    UnexpectedTensor {
        /// The unexpected tensor's name.
        name: String,
        /// The names of the network's tensors.
        expected: Vec<String>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A tensor's dtype is not one a network loads: `F32`, `F16`, `BF16` or `F64`, and for a
    /// buffer (batch normalisation's running statistics and `num_batches_tracked`) also `I64`,
    /// as PyTorch stores `num_batches_tracked`. A weight or bias is never `I64`: PyTorch's
    /// trainable parameters are floats (an integer tensor cannot require a gradient), so an
    /// integer weight is another model's tensor, not a value to round.
    #[error(
        "tensor `{name}`{} has dtype {found}, expected F32, F16, BF16 or F64{}",
        in_file(.file),
        dtype_note(.found, *.buffer)
    )]
    Dtype {
        /// The tensor's name.
        name: String,
        /// The dtype in the file, as safetensors names it (`F64`, `BF16`, ...).
        found: String,
        /// Whether the tensor is a buffer, which may also be `I64`.
        buffer: bool,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A tensor's shape is not the layer's: `[out, in]` for weights, `[out]` for biases.
    #[error(
        "tensor `{name}`{} has shape {found:?}, expected {expected:?}{}",
        in_file(.file),
        transposed_hint(.found, .expected)
    )]
    Shape {
        /// The tensor's name.
        name: String,
        /// The shape the network needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A weight or bias is NaN or infinite (in a file being loaded, or in a network being
    /// saved).
    #[error(
        "tensor `{name}`{} holds {value} at index {index}{}: weights and biases must be finite",
        in_file(.file),
        position(*.index, .shape)
    )]
    NotFinite {
        /// The tensor's name.
        name: String,
        /// The value's index in the tensor's row-major data.
        index: usize,
        /// The value: NaN, `inf` or `-inf`.
        value: f32,
        /// The tensor's shape, to turn `index` into a row and a column.
        shape: Vec<usize>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A finite weight or bias does not fit the type it is converted to: a value of an `F64`
    /// tensor beyond `f32`'s range when loading, an integer of an `I64` buffer beyond ±2^24
    /// (where `f32` stops holding every integer; `integer` is set), or a weight that would
    /// round to an infinity in `F16` (or `BF16`) when saving in that dtype with
    /// [`save_as`](super::save_as).
    #[error(
        "tensor `{name}`{} holds {value:e} at index {index}{}, {}",
        in_file(.file),
        position(*.index, .shape),
        range_note(*.target, *.integer)
    )]
    OutOfRange {
        /// The tensor's name.
        name: String,
        /// The value's index in the tensor's row-major data.
        index: usize,
        /// The value, as read (loading) or as held by the network (saving).
        value: f64,
        /// The type it does not fit: `F32` when loading, the chosen dtype when saving.
        target: Dtype,
        /// Whether the value is an integer of an `I64` tensor, which must be within ±2^24 to
        /// become an `f32` exactly.
        integer: bool,
        /// The tensor's shape, to turn `index` into a row and a column.
        shape: Vec<usize>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// The safetensors encoder refused the network's tensors (which a network generated by
    /// `network!` never causes).
    #[error("cannot encode the network as safetensors: {reason}")]
    Encode {
        /// What is wrong, in words.
        reason: String,
        /// The safetensors crate's error, if it reported one.
        #[source]
        source: Option<BoxError>,
    },
}

impl WeightsError {
    /// Records the file a content error was found in.
    pub(super) fn with_file(mut self, path: &Path) -> Self {
        match &mut self {
            Self::Format { file, .. }
            | Self::MissingTensor { file, .. }
            | Self::UnexpectedTensor { file, .. }
            | Self::Dtype { file, .. }
            | Self::Shape { file, .. }
            | Self::NotFinite { file, .. }
            | Self::OutOfRange { file, .. } => *file = Some(path.to_path_buf()),
            Self::Read { .. } | Self::Write { .. } | Self::Encode { .. } => {}
        }
        self
    }

    /// A format error without a cause from the safetensors crate.
    pub(super) fn format(reason: String) -> Self {
        Self::Format {
            file: None,
            reason,
            source: None,
        }
    }
}

/// "`path` is" or "the data is", the subject of a format error.
fn subject(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!("{} is", path.display()),
        None => "the data is".to_owned(),
    }
}

/// " in `path`", or nothing for data in memory.
fn in_file(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!(" in {}", path.display()),
        None => String::new(),
    }
}

/// "`a`, `b`, `c`".
fn name_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// What a file with the tensors `found` has, for a missing-tensor message.
fn file_has(found: &[String]) -> String {
    if found.is_empty() {
        "the file has no tensors".to_owned()
    } else {
        format!("the file has {}", name_list(found))
    }
}

/// A hint when a weight tensor is the transpose of the expected one.
fn transposed_hint(found: &[usize], expected: &[usize]) -> &'static str {
    if found.len() == 2 && found[0] != found[1] && found.iter().rev().eq(expected) {
        " (transposed? weights are stored [out, in], like nn.Linear.weight)"
    } else {
        ""
    }
}

/// " ([row][column])" for an index into a matrix, nothing for a vector.
fn position(index: usize, shape: &[usize]) -> String {
    match shape {
        [_, columns] if *columns > 0 => format!(" ([{}][{}])", index / columns, index % columns),
        _ => String::new(),
    }
}

/// What a dtype error adds: that a buffer may also be `I64`, or why a weight may not.
fn dtype_note(found: &str, buffer: bool) -> &'static str {
    match (buffer, found) {
        (true, _) => " (or I64 for a buffer)",
        (false, "I64") => {
            " (I64 only for a buffer such as num_batches_tracked: a trainable parameter is a float)"
        }
        (false, _) => "",
    }
}

/// The range a value is outside of, for an out-of-range message.
fn range_note(target: Dtype, integer: bool) -> String {
    if integer {
        format!(
            "beyond the integers {target} holds exactly (magnitude at most 2^24 = {})",
            super::dtype::F32_EXACT_INTEGER
        )
    } else {
        format!(
            "outside the range of {target} (largest finite magnitude {:e})",
            target.max()
        )
    }
}
