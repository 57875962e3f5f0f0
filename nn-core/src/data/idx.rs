//! The IDX file format, in which the MNIST handwritten-digit data set is
//! distributed.
//!
//! An IDX file is a short big-endian header followed by raw data. The two
//! kinds this module reads are:
//!
//! | kind   | magic        | header (big-endian `u32`s) | data                                   |
//! |--------|--------------|----------------------------|----------------------------------------|
//! | images | `0x00000803` | magic, count, rows, cols   | `count * rows * cols` pixels, 0..=255 |
//! | labels | `0x00000801` | magic, count               | `count` labels, one byte each          |
//!
//! Pixels are stored row-major, one image after another. A file may be
//! gzip-compressed (as MNIST is distributed); compression is recognised by
//! the gzip magic bytes `1f 8b` at the start of the file, not by its name.
//!
//! [`read_images`] and [`read_labels`] return the raw bytes;
//! [`Dataset::from_idx`] pairs an images file with a labels file and turns
//! them into `f32` inputs in `[0, 1]` with one-hot targets; [`Mnist::load`]
//! reads the four standard MNIST files from a folder. [`write_images`] and
//! [`write_labels`] make small uncompressed IDX files.
//!
//! # Errors
//!
//! Nothing here panics on the contents of a file: every problem is an
//! [`IdxError`] whose message names the file and says what was expected and
//! what was found. A declared size is checked against the data actually
//! present before any memory is allocated for it, so a corrupt header cannot
//! make the reader allocate gigabytes. The data must be exactly as long as
//! the header says: trailing bytes are an error, not ignored. Where the cause
//! is an operating-system or decompression error, it is available through
//! [`std::error::Error::source`] rather than repeated in the message.

// The reader and writers live in `format`, the errors in `error`, `Dataset` and `Mnist` in
// modules of their own: this module keeps the public paths (`data::idx::read_images`, ...).

pub use super::dataset::Dataset;
pub use super::error::IdxError;
pub use super::format::{
    read_images, read_images_with, read_labels, read_labels_with, write_images, write_labels,
    IdxImages,
};
pub use super::limits::{Limit, Limits};
pub use super::magic::{IMAGES_MAGIC, LABELS_MAGIC};
pub use super::mnist::Mnist;
