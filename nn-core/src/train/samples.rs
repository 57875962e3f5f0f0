//! The samples a network is trained and tested on, typed by their shapes, and the targets they
//! can hold: output rows or class labels.

use core::fmt;

use super::error::{InvalidData, TrainError};
use super::rng::ShuffleRng;
use rand::seq::SliceRandom;

/// Inputs and their targets, one target per input: a training, validation or test set.
///
/// Typed by the rows it holds, not by a network: `Samples<'_, [f32; 784], [f32; 10]>` feeds any
/// network of 784 inputs and 10 outputs. A target is either a row as wide as the output
/// (`[f32; OUT]`, e.g. one-hot) or a class label (`u8`, `u16`, `u32`, `usize`, less than `OUT`),
/// which the trainer turns into a one-hot row as it gathers a batch; see [`Target`].
pub struct Samples<'a, X, T> {
    /// The inputs, one row a sample.
    pub inputs: &'a [X],
    /// The targets, one a sample, in the order of the inputs.
    pub targets: &'a [T],
}

impl<'a, X, T> Samples<'a, X, T> {
    /// Pairs `inputs` with `targets`. Their lengths are checked where they are used.
    pub fn new(inputs: &'a [X], targets: &'a [T]) -> Self {
        Self { inputs, targets }
    }

    /// The number of samples (of inputs).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

impl<'a, const IN: usize, const CLASSES: usize> From<&'a crate::data::Dataset<IN, CLASSES>>
    for Samples<'a, [f32; IN], [f32; CLASSES]>
{
    /// A data set's inputs and one-hot targets.
    fn from(data: &'a crate::data::Dataset<IN, CLASSES>) -> Self {
        Self::new(&data.inputs, &data.targets)
    }
}

impl<const IN: usize, const CLASSES: usize> crate::data::Dataset<IN, CLASSES> {
    /// The data set's inputs with its one-hot targets, ready for a network of `IN` inputs and
    /// `CLASSES` outputs.
    pub fn samples(&self) -> Samples<'_, [f32; IN], [f32; CLASSES]> {
        Samples::from(self)
    }

    /// The data set's inputs with its class labels (no one-hot rows needed).
    pub fn labelled(&self) -> Samples<'_, [f32; IN], u8> {
        Samples::new(&self.inputs, &self.labels)
    }
}

impl<X, T> Clone for Samples<'_, X, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<X, T> Copy for Samples<'_, X, T> {}

impl<X, T> fmt::Debug for Samples<'_, X, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Samples")
            .field("inputs", &self.inputs.len())
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// What a target is: a row of output values or a class label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetKind {
    /// A row as wide as the network's output.
    Row,
    /// The index of a class, less than the network's output width.
    Label,
}

/// A target that can train or test a network whose output is `O` (`[f32; OUT]`).
///
/// Implemented for `[f32; OUT]` itself (a row of the output's width) and for the class labels
/// `u8`, `u16`, `u32` and `usize` (one-hot rows made as a batch is gathered).
#[diagnostic::on_unimplemented(
    message = "a target of type `{Self}` does not fit a network whose output is `{O}`",
    label = "these targets cannot train or test an output of `{O}`",
    note = "a target is a row as wide as the network's output (`{O}`), or a class label (`u8`, \
            `u16`, `u32` or `usize`)"
)]
pub trait Target<O>: Copy + Send + Sync + 'static {
    /// What kind of target this is.
    const KIND: TargetKind;

    /// Writes the target as an output row into `row` (every value of it).
    fn write_row(&self, row: &mut O);

    /// The class this target names: the label, or the index of the row's largest value.
    fn class(&self) -> usize;

    /// Checks the target for a network of `width` outputs: a label must be less than `width`,
    /// a row must be finite (the loss checks its range, see
    /// [`Loss::check_target`](crate::loss::Loss::check_target)).
    ///
    /// # Errors
    ///
    /// What is wrong with it.
    fn check(&self, width: usize) -> Result<(), InvalidData>;

    /// The target as a row of values, for a loss's own check; `None` for a label.
    fn values(&self) -> Option<&[f32]>;
}

impl<const K: usize> Target<[f32; K]> for [f32; K] {
    const KIND: TargetKind = TargetKind::Row;

    #[inline]
    fn write_row(&self, row: &mut [f32; K]) {
        *row = *self;
    }

    fn class(&self) -> usize {
        crate::math::argmax(self)
    }

    fn check(&self, _width: usize) -> Result<(), InvalidData> {
        match self.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(InvalidData::TargetNotFinite {
                index,
                value: self[index],
            }),
            None => Ok(()),
        }
    }

    fn values(&self) -> Option<&[f32]> {
        Some(self)
    }
}

macro_rules! label_targets {
    ($($t:ty),*) => {$(
        impl<const K: usize> Target<[f32; K]> for $t {
            const KIND: TargetKind = TargetKind::Label;

            #[inline]
            fn write_row(&self, row: &mut [f32; K]) {
                row.fill(0.0);
                if let Some(v) = usize::try_from(*self).ok().and_then(|i| row.get_mut(i)) {
                    *v = 1.0;
                }
            }

            fn class(&self) -> usize {
                usize::try_from(*self).unwrap_or(usize::MAX)
            }

            fn check(&self, width: usize) -> Result<(), InvalidData> {
                let label = u64::try_from(*self).unwrap_or(u64::MAX);
                if usize::try_from(*self).map_or(true, |l| l >= width) {
                    return Err(InvalidData::LabelOutOfRange { label, classes: width });
                }
                Ok(())
            }

            fn values(&self) -> Option<&[f32]> {
                None
            }
        }
    )*};
}

label_targets!(u8, u16, u32, usize);

/// Checks that a set has one target per input.
pub(super) fn check_set<X, T>(
    samples: Samples<'_, X, T>,
    set: &'static str,
) -> Result<(), TrainError> {
    if samples.inputs.len() != samples.targets.len() {
        return Err(TrainError::Mismatch {
            set,
            inputs: samples.inputs.len(),
            targets: samples.targets.len(),
        });
    }
    Ok(())
}

/// Checks every value of a set once, before training: inputs finite, each target valid for a
/// network of `width` outputs (see [`Target::check`]) and for the loss (`check_values`).
pub(super) fn check_values<X: AsRef<[f32]>, T, O>(
    samples: Samples<'_, X, T>,
    set: &'static str,
    width: usize,
    check_values: impl Fn(&[f32]) -> Result<(), InvalidData>,
) -> Result<(), TrainError>
where
    T: Target<O>,
{
    let invalid = |sample, what| TrainError::InvalidData { set, sample, what };
    for (sample, (x, y)) in samples.inputs.iter().zip(samples.targets).enumerate() {
        if let Some(index) = x.as_ref().iter().position(|v| !v.is_finite()) {
            let value = x.as_ref()[index];
            return Err(invalid(
                sample,
                InvalidData::InputNotFinite { index, value },
            ));
        }
        y.check(width).map_err(|what| invalid(sample, what))?;
        if let Some(values) = y.values() {
            check_values(values).map_err(|what| invalid(sample, what))?;
        }
    }
    Ok(())
}

/// A seeded split of `n` sample indices into a training part and a disjoint validation part
/// of `round(fraction · n)` indices (at least one of each when `n ≥ 2` and `0 < fraction < 1`).
///
/// The indices are shuffled by the generator of `seed` (xoshiro256++, Fisher–Yates); the last
/// ones become the validation part; each part is then sorted. The same `n`, `fraction` and
/// `seed` give the same split on every machine.
///
/// ```
/// let split = nn_core::train::split(10, 0.3, 7);
/// assert_eq!((split.train.len(), split.validation.len()), (7, 3));
/// assert!(split.train.iter().all(|i| !split.validation.contains(i)));
/// ```
pub fn split(n: usize, fraction: f32, seed: u64) -> Split {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut k = (f64::from(fraction) * n as f64).round() as usize;
    if n >= 2 && fraction > 0.0 && fraction < 1.0 {
        k = k.clamp(1, n - 1);
    }
    let mut order: Vec<usize> = (0..n).collect();
    // A generator of its own, so the split does not move the shuffling of the epochs.
    order.shuffle(&mut ShuffleRng::seed_from_u64(seed ^ SPLIT_SALT));
    let mut validation = order.split_off(n - k.min(n));
    order.sort_unstable();
    validation.sort_unstable();
    Split {
        train: order,
        validation,
    }
}

/// Mixed into the seed of [`split`]'s generator, so that it differs from the shuffling's.
const SPLIT_SALT: u64 = 0x5eed_0000_5b11_7000;

/// The indices of a [`split`]: disjoint, each sorted, together `0..n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// The indices to train on.
    pub train: Vec<usize>,
    /// The indices held out for validation.
    pub validation: Vec<usize>,
}
