//! Loading training data from disk.
//!
//! [`Table`] reads tabular data from CSV (see [`csv`]), and [`Standardizer`] scales
//! its features (fit on the training set, applied to the others).
//!
//! The [`idx`] module reads and writes the IDX format used by MNIST, plain or
//! gzip-compressed, and turns a pair of images and labels files into a
//! [`Dataset`] whose inputs and one-hot targets can be fed to a network.
//!
//! ```no_run
//! use nn_core::data::Mnist;
//!
//! let mnist = Mnist::load("data/mnist")?;
//! println!("{} training images, {} test images", mnist.train.len(), mnist.test.len());
//! # Ok::<(), nn_core::data::IdxError>(())
//! ```

pub mod csv;
mod dataset;
mod error;
#[cfg(test)]
mod fixtures;
mod format;
pub mod idx;
mod limits;
mod magic;
mod mnist;
mod standardize;

pub use self::csv::{CsvError, Table, MAX_CSV_BYTES};
pub use idx::{
    read_images, read_images_with, read_labels, read_labels_with, write_images, write_labels,
    Dataset, IdxError, IdxImages, Limit, Limits, Mnist,
};
pub use standardize::{StandardizeError, Standardizer};
