//! Everything that can go wrong reading or writing an IDX file, and the pieces its messages
//! are made of.

use std::io;
use std::path::PathBuf;

use super::limits::Limit;
use super::magic::{idx_type_name, kind_name, IMAGES_MAGIC, LABELS_MAGIC};

/// Everything that can go wrong reading or writing an IDX file.
///
/// Every variant names the file concerned. The messages start in lower case
/// and end without a period, so they can be embedded in other messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The file could not be opened or read, or is not a regular file. The message ends with
    /// what the operating system reported; a FIFO, a folder or a device given as a file is
    /// refused before anything is read (find the refusal with
    /// [`NotRegularFile::find`](crate::file_check::NotRegularFile::find)).
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file starts with the gzip magic bytes, but its compressed data is
    /// corrupt or cut short (including a checksum mismatch).
    #[error(
        "cannot decompress {}: the gzip data is corrupt or truncated: {source}",
        .path.display()
    )]
    GzipCorrupt {
        /// The gzip file.
        path: PathBuf,
        /// What the decompressor reported.
        #[source]
        source: io::Error,
    },

    /// The file does not start with the magic number of the kind of IDX
    /// file that was asked for.
    #[error("{}: {}", .path.display(), magic_message(*.expected, *.found))]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number wanted: [`IMAGES_MAGIC`] or [`LABELS_MAGIC`].
        expected: u32,
        /// The first four bytes of the (decompressed) file, big-endian.
        found: u32,
    },

    /// The header, or the data it declares, is cut short.
    #[error(
        "{}: the file is truncated: expected {expected} bytes of {what}, found {found}",
        .path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is short, e.g. `pixel data (60000 x 28 x 28)`.
        what: String,
        /// How many bytes that part should have.
        expected: u64,
        /// How many bytes it has.
        found: u64,
    },

    /// The file goes on after the items its header declares.
    #[error(
        "{}: trailing data after the declared {what}: expected exactly {expected} bytes, found {}",
        .path.display(),
        found_more(*.found)
    )]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// What the header declares, e.g. `60000 images of 28x28`.
        what: String,
        /// The length the header implies, header included (decompressed,
        /// for a gzip file).
        expected: u64,
        /// The actual length, where known; `None` for a gzip file, which is
        /// only read as far as the first extra byte.
        found: Option<u64>,
    },

    /// The header declares more data than can be held in memory, or a size
    /// that overflows.
    #[error(
        "{}: the declared size of the {what} is too large: expected at most {limit} bytes",
        .path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The part declared, with its dimensions, e.g.
        /// `pixel data (4294967295 x 4294967295 x 4294967295)`.
        what: String,
        /// The largest size accepted, in bytes.
        limit: u64,
    },

    /// A size declared by the file's header is larger than one of the [`Limits`](super::Limits)
    /// the reader was given; nothing was allocated for it.
    #[error(
        "{}: {what} would take {size} bytes, more than the limit of {max} bytes ({limit}; \
         pass larger `Limits` to a `_with` reader to accept it)",
        .path.display()
    )]
    LimitExceeded {
        /// The file whose header declares the size (the images file for a data set).
        path: PathBuf,
        /// What would take the memory, e.g. `the pixel data (60000 x 28 x 28)` or
        /// `a Dataset<784, 10> of 60000 items`.
        what: String,
        /// Which limit it exceeds.
        limit: Limit,
        /// The size it would take, in bytes.
        size: u64,
        /// The limit, in bytes.
        max: u64,
    },

    /// An images file declares images but of zero rows or columns.
    #[error(
        "{}: expected images of at least one pixel, found {count} images of {rows}x{cols} = 0",
        .path.display()
    )]
    EmptyImages {
        /// The images file.
        path: PathBuf,
        /// The number of images declared.
        count: usize,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },

    /// The images do not have the number of pixels the caller expects.
    #[error(
        "{}: expected images of {expected} pixels{}, found {rows}x{cols} = {}",
        .path.display(),
        square_hint(*.expected),
        (*.rows as u128) * (*.cols as u128)
    )]
    DimensionMismatch {
        /// The images file.
        path: PathBuf,
        /// The number of pixels per image expected (a network's input width).
        expected: usize,
        /// Rows per image in the file.
        rows: usize,
        /// Columns per image in the file.
        cols: usize,
    },

    /// The images file and the labels file hold different numbers of items.
    #[error(
        "image/label count mismatch: {} has {images} images but {} has {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The number of images in it.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// The number of labels in it.
        labels: usize,
    },

    /// A label is not less than the number of classes the caller expects.
    #[error(
        "{}: label {label} of item {index} is out of range: expected a label less than {classes} (the number of classes)",
        .path.display()
    )]
    LabelOutOfRange {
        /// The labels file.
        path: PathBuf,
        /// The position of the offending item, counting from 0.
        index: usize,
        /// Its label.
        label: u8,
        /// The number of classes expected.
        classes: usize,
    },

    /// None of the names a file was looked for under exists.
    #[error("file not found: looked for {}", path_list(.looked_for))]
    MissingFile {
        /// The paths tried, in order of preference.
        looked_for: Vec<PathBuf>,
    },

    /// The file could not be written. The message ends with what the operating system
    /// reported.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file that was to be written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The data given to a writer cannot be stored as an IDX file.
    #[error("cannot write {}: {reason}", .path.display())]
    InvalidWrite {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong with the data.
        reason: String,
    },
}

/// The message for a wrong magic number, with a hint when the file is an
/// IDX file of another kind.
fn magic_message(expected: u32, found: u32) -> String {
    let hint = match found.to_be_bytes() {
        _ if found == IMAGES_MAGIC || found == LABELS_MAGIC => {
            format!("; this looks like {}", kind_name(found))
        }
        [0, 0, type_code, dims] => match idx_type_name(type_code) {
            Some(element) => format!(
                "; this looks like an IDX file of {element} in {dims} dimension{}",
                if dims == 1 { "" } else { "s" }
            ),
            None => String::new(),
        },
        // Only possible inside a gzip stream: a file compressed twice.
        [0x1f, 0x8b, ..] => "; this looks like gzip data compressed twice".to_owned(),
        _ => String::new(),
    };
    format!(
        "expected magic {expected:#010x} ({}), found {found:#010x}{hint}",
        kind_name(expected)
    )
}

/// ` (28x28 for MNIST)` and the like, for a pixel count that is a square.
fn square_hint(pixels: usize) -> String {
    let side = pixels.isqrt();
    if pixels == 0 || side * side != pixels {
        return String::new();
    }
    let mnist = if pixels == 784 { " for MNIST" } else { "" };
    format!(" ({side}x{side}{mnist})")
}

/// `1234`, or `more` when the length is unknown.
fn found_more(found: Option<u64>) -> String {
    found.map_or_else(|| "more".to_owned(), |n| n.to_string())
}

/// `a`, `a and b`, `a, b and c`.
fn path_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
