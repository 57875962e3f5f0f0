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
//! what was found. The data must be exactly as long as the header says:
//! trailing bytes are an error, not ignored. Where the cause is an
//! operating-system or decompression error, the message ends with it, and it
//! is also the error's [`std::error::Error::source`].
//!
//! # Memory and hostile files
//!
//! A header can declare up to 2^96 bytes, and a small gzip file can inflate
//! to gigabytes, so the readers trust neither:
//!
//! - Every declared size is checked before any memory is allocated for it:
//!   against what memory can hold ([`IdxError::TooLarge`]), against the
//!   [`Limits`] given to the `_with` readers (by default 256 MiB of data per
//!   file and 1 GiB per [`Dataset`], several times the full MNIST set), with
//!   [`IdxError::LimitExceeded`] naming the limit that was hit, and, for a
//!   plain file, against the file's length ([`IdxError::Truncated`],
//!   [`IdxError::TrailingData`]).
//! - Gzip data is decompressed as it is read, into a buffer that grows by a
//!   quarter of what has arrived and never past the declared size; the
//!   inflated length is then checked against the header, so a file that
//!   declares more than it holds costs memory for what it holds only.
//! - A path that is not a regular file (a FIFO, a folder, a device) is
//!   refused with [`IdxError::Io`] holding a
//!   [`NotRegularFile`](crate::file_check::NotRegularFile) before anything
//!   is read, instead of blocking or reading without end; [`Mnist::load`]
//!   says so too when it finds one under a name it looks for.

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
