//! The inputs every peer gets: the shipped MNIST training digits, cut into
//! consecutive batches that each case cycles through in the same order. The
//! 64-input network (`deep64`) reads an 8 × 8 subsample of each digit (pixels
//! at rows and columns 2, 5, ..., 23), the same in every peer.

use std::path::Path;

/// The shipped MNIST training digits: inputs scaled to `[0, 1]`, one-hot
/// targets and labels.
pub struct Data {
    /// One row of 784 pixels per digit.
    pub inputs: Vec<[f32; 784]>,
    /// The 8 × 8 subsample of each digit ([`subsample`]), for the 64-input network.
    pub small: Vec<[f32; 64]>,
    /// One one-hot row of 10 per digit.
    pub targets: Vec<[f32; 10]>,
    /// One label per digit, `0..10`.
    pub labels: Vec<u8>,
}

impl Data {
    /// Loads the training set from `dir` (the IDX files of `data/mnist`).
    ///
    /// # Errors
    ///
    /// The loader's error, which names the file and what was wrong with it.
    pub fn load(dir: &Path) -> Result<Self, nn::data::IdxError> {
        let mnist = nn::data::Mnist::load(dir)?;
        let small = mnist.train.inputs.iter().map(subsample).collect();
        Ok(Self {
            small,
            inputs: mnist.train.inputs,
            targets: mnist.train.targets,
            labels: mnist.train.labels,
        })
    }

    /// The number of whole batches of `batch` digits (the rest is not used).
    pub fn batch_count(&self, batch: usize) -> usize {
        self.inputs.len() / batch.max(1)
    }

    /// The inputs of batch `i` of size `batch`, flattened row-major.
    pub fn flat_inputs(&self, batch: usize, i: usize) -> Vec<f32> {
        self.flat_rows::<784>(batch, i)
    }

    /// The inputs of width `I` (784, or 64 for the subsample) of batch `i` of size `batch`,
    /// flattened row-major.
    pub fn flat_rows<const I: usize>(&self, batch: usize, i: usize) -> Vec<f32>
    where
        Self: Rows<I>,
    {
        self.rows()[i * batch..(i + 1) * batch]
            .iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The one-hot targets of batch `i` of size `batch`, flattened row-major.
    pub fn flat_targets(&self, batch: usize, i: usize) -> Vec<f32> {
        self.targets[i * batch..(i + 1) * batch]
            .iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The labels of batch `i` of size `batch`.
    pub fn batch_labels(&self, batch: usize, i: usize) -> Vec<u32> {
        self.labels[i * batch..(i + 1) * batch]
            .iter()
            .map(|&l| u32::from(l))
            .collect()
    }
}

/// The 8 × 8 subsample of a digit: pixels at rows and columns 2, 5, ..., 23.
pub fn subsample(digit: &[f32; 784]) -> [f32; 64] {
    core::array::from_fn(|k| digit[(2 + 3 * (k / 8)) * 28 + 2 + 3 * (k % 8)])
}

/// The input rows of one width: 784 pixels, or the 64 of the subsample.
pub trait Rows<const I: usize> {
    /// One row per digit.
    fn rows(&self) -> &[[f32; I]];
}

impl Rows<784> for Data {
    fn rows(&self) -> &[[f32; 784]] {
        &self.inputs
    }
}

impl Rows<64> for Data {
    fn rows(&self) -> &[[f32; 64]] {
        &self.small
    }
}

/// Cycles through the whole batches of a [`Data`] as slices (no copy).
pub struct Batches<'a> {
    data: &'a Data,
    batch: usize,
    count: usize,
    next: usize,
}

impl<'a> Batches<'a> {
    /// Batches of `batch` digits, starting at the first.
    pub fn new(data: &'a Data, batch: usize) -> Self {
        Self {
            data,
            batch,
            count: data.batch_count(batch).max(1),
            next: 0,
        }
    }

    /// The next batch's inputs (of width `I`: 784, or 64 for the subsample), targets and
    /// labels, wrapping around at the end.
    pub fn next_of<const I: usize>(&mut self) -> (&'a [[f32; I]], &'a [[f32; 10]], &'a [u8])
    where
        Data: Rows<I>,
    {
        let range = self.next * self.batch..(self.next + 1) * self.batch;
        self.next = (self.next + 1) % self.count;
        (
            &self.data.rows()[range.clone()],
            &self.data.targets[range.clone()],
            &self.data.labels[range],
        )
    }
}

/// Cycles through pre-built items (a framework's own tensors, one per batch).
pub struct Cycle<T> {
    items: Vec<T>,
    next: usize,
}

impl<T> Cycle<T> {
    /// Cycles through `items`, which must not be empty.
    pub fn new(items: Vec<T>) -> Self {
        Self { items, next: 0 }
    }

    /// The next item, wrapping around at the end.
    pub fn next_item(&mut self) -> &T {
        let i = self.next;
        self.next = (self.next + 1) % self.items.len();
        &self.items[i]
    }
}
