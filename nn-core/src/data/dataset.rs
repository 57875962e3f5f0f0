//! A labelled data set ready for a network: scaled inputs and one-hot targets.

use std::fmt;
use std::path::Path;

use super::error::IdxError;
use super::format::{read_images_checked, read_labels_with};
use super::limits::{Limit, Limits};

/// A labelled data set ready for a network: inputs scaled to `[0, 1]` as
/// `f32`, one-hot targets.
///
/// `IN` is the number of pixels per image (the network's input width) and
/// `CLASSES` the number of classes (its output width).
#[derive(Clone, PartialEq, Default)]
pub struct Dataset<const IN: usize, const CLASSES: usize> {
    /// One input per item: its pixels divided by 255, row-major.
    pub inputs: Vec<[f32; IN]>,
    /// One target per item: 1 at the index of its label, 0 elsewhere.
    pub targets: Vec<[f32; CLASSES]>,
    /// One label per item, each less than `CLASSES`.
    pub labels: Vec<u8>,
}

impl<const IN: usize, const CLASSES: usize> Dataset<IN, CLASSES> {
    /// Reads an images file and a labels file (IDX, plain or gzipped),
    /// checks that there is one label per image, that each image has `IN`
    /// pixels, and that every label is `< CLASSES`, within the default [`Limits`] (see
    /// [`Dataset::from_idx_with`]).
    ///
    /// # Errors
    ///
    /// As for [`Dataset::from_idx_with`].
    pub fn from_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self, IdxError> {
        Self::from_idx_with(images, labels, &Limits::default())
    }

    /// Reads an images file and a labels file (IDX, plain or gzipped) within `limits`,
    /// checks that there is one label per image, that each image has `IN`
    /// pixels, and that every label is `< CLASSES`.
    ///
    /// The images file's header is checked before its pixels are read: its size against
    /// `limits.max_file_bytes`, and the data set it would make (`count * (4 * IN + 4 * CLASSES
    /// + 1)` bytes) against `limits.max_dataset_bytes`.
    ///
    /// # Errors
    ///
    /// Any error of [`read_images_with`](super::read_images_with) or
    /// [`read_labels_with`](super::read_labels_with);
    /// [`IdxError::DimensionMismatch`] if the images do not have `IN`
    /// pixels; [`IdxError::LimitExceeded`] if the data set would be larger than
    /// `limits.max_dataset_bytes`; [`IdxError::CountMismatch`] if the files hold different
    /// numbers of items; [`IdxError::LabelOutOfRange`] for a label
    /// `>= CLASSES`.
    pub fn from_idx_with(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        limits: &Limits,
    ) -> Result<Self, IdxError> {
        let (images_path, labels_path) = (images.as_ref(), labels.as_ref());

        let images = read_images_checked(images_path, limits, |count, rows, cols| {
            if rows.checked_mul(cols) != Some(IN) {
                return Err(IdxError::DimensionMismatch {
                    path: images_path.to_path_buf(),
                    expected: IN,
                    rows,
                    cols,
                });
            }
            let per_item = 4 * (IN as u64) + 4 * (CLASSES as u64) + 1;
            let size = (count as u64).saturating_mul(per_item);
            if size > limits.max_dataset_bytes {
                return Err(IdxError::LimitExceeded {
                    path: images_path.to_path_buf(),
                    what: format!("a Dataset<{IN}, {CLASSES}> of {count} items"),
                    limit: Limit::DatasetBytes,
                    size,
                    max: limits.max_dataset_bytes,
                });
            }
            Ok(())
        })?;

        let labels = read_labels_with(labels_path, limits)?;
        // Images of zero pixels were refused unless there are none at all.
        let count = images.len();
        if count != labels.len() {
            return Err(IdxError::CountMismatch {
                images_path: images_path.to_path_buf(),
                images: count,
                labels_path: labels_path.to_path_buf(),
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &label)| usize::from(label) >= CLASSES)
        {
            return Err(IdxError::LabelOutOfRange {
                path: labels_path.to_path_buf(),
                index,
                label,
                classes: CLASSES,
            });
        }

        let inputs = images
            .pixels
            .chunks_exact(IN.max(1))
            .map(|image| {
                let mut input = [0.0f32; IN];
                for (x, &pixel) in input.iter_mut().zip(image) {
                    *x = f32::from(pixel) / 255.0;
                }
                input
            })
            .collect();
        let targets = labels
            .iter()
            .map(|&label| {
                let mut target = [0.0f32; CLASSES];
                if let Some(t) = target.get_mut(usize::from(label)) {
                    *t = 1.0;
                }
                target
            })
            .collect();
        Ok(Dataset {
            inputs,
            targets,
            labels,
        })
    }

    /// The number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl<const IN: usize, const CLASSES: usize> fmt::Debug for Dataset<IN, CLASSES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("inputs", &IN)
            .field("classes", &CLASSES)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{gzip, images_bytes, labels_bytes, shown, TestResult};
    use crate::data::format::{read_images, read_labels, write_images, write_labels};
    use nn_test_support::{assert_mentions, error_of};
    use std::fs;

    #[test]
    fn round_trip_plain() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (images_path, labels_path) = (dir.path().join("images"), dir.path().join("labels"));
        let pixels: Vec<u8> = (0..18).map(|i| i * 15).collect();
        write_images(&images_path, 2, 3, &pixels)?;
        write_labels(&labels_path, &[2, 0, 3])?;
        assert_eq!(fs::read(&images_path)?, images_bytes(3, 2, 3, &pixels));

        let images = read_images(&images_path)?;
        assert_eq!((images.rows, images.cols), (2, 3));
        assert_eq!(images.pixels, pixels);
        assert_eq!(images.len(), 3);
        assert!(!images.is_empty());
        assert_eq!(images.pixels_per_image(), 6);
        assert_eq!(images.image(1), Some(&pixels[6..12]));
        assert_eq!(images.image(3), None);
        assert_eq!(images.image(usize::MAX), None);
        assert_eq!(read_labels(&labels_path)?, vec![2, 0, 3]);

        let data = Dataset::<6, 4>::from_idx(&images_path, &labels_path)?;
        assert_eq!(data.len(), 3);
        assert!(!data.is_empty());
        assert_eq!(data.labels, vec![2, 0, 3]);
        assert_eq!(data.inputs[0][0], 0.0);
        assert_eq!(data.inputs[2][5], 1.0);
        assert!((data.inputs[1][0] - 90.0 / 255.0).abs() < 1e-7);
        assert_eq!(data.targets[0], [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(data.targets[1], [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(data.targets[2], [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(
            format!("{data:?}"),
            "Dataset { len: 3, inputs: 6, classes: 4, .. }"
        );
        Ok(())
    }

    #[test]
    fn round_trip_empty() -> TestResult {
        let dir = tempfile::tempdir()?;
        write_images(dir.path().join("images"), 28, 28, &[])?;
        write_labels(dir.path().join("labels"), &[])?;
        let images = read_images(dir.path().join("images"))?;
        assert!(images.is_empty());
        assert_eq!((images.rows, images.cols), (28, 28));
        let data =
            Dataset::<784, 10>::from_idx(dir.path().join("images"), dir.path().join("labels"))?;
        assert!(data.is_empty());
        Ok(())
    }

    #[test]
    fn round_trip_gzipped_detected_by_content() -> TestResult {
        let dir = tempfile::tempdir()?;
        let pixels: Vec<u8> = (0..=255).collect();
        // Gzip data under a plain name, and plain data under a .gz name.
        let (gz_images, gz_labels) = (dir.path().join("images.idx"), dir.path().join("labels.idx"));
        fs::write(&gz_images, gzip(&images_bytes(4, 8, 8, &pixels))?)?;
        fs::write(&gz_labels, gzip(&labels_bytes(4, &[9, 8, 7, 6]))?)?;
        let plain_images = dir.path().join("plain-images.gz");
        write_images(&plain_images, 8, 8, &pixels)?;

        let images = read_images(&gz_images)?;
        assert_eq!((images.rows, images.cols, images.len()), (8, 8, 4));
        assert_eq!(images.pixels, pixels);
        assert_eq!(read_images(&plain_images)?, images);
        assert_eq!(read_labels(&gz_labels)?, vec![9, 8, 7, 6]);

        let data = Dataset::<64, 10>::from_idx(&gz_images, &gz_labels)?;
        assert_eq!(data.labels, vec![9, 8, 7, 6]);
        assert_eq!(data.inputs[3][63], 1.0);
        assert_eq!(data.targets[0][9], 1.0);
        Ok(())
    }

    #[test]
    fn count_mismatch_names_both_files() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
        write_images(&images, 1, 2, &[0, 1, 2, 3, 4, 5])?;
        write_labels(&labels, &[0, 1])?;
        let err = error_of(Dataset::<2, 2>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&images), "3 images", &shown(&labels), "2 labels"],
        );
        Ok(())
    }

    #[test]
    fn label_out_of_range_names_item_label_and_classes() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
        write_images(&images, 1, 1, &[0, 1, 2, 3])?;
        write_labels(&labels, &[0, 1, 7, 2])?;
        let err = error_of(Dataset::<1, 5>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::LabelOutOfRange {
                    index: 2,
                    label: 7,
                    classes: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&labels), "label 7 of item 2", "less than 5"],
        );
        // The boundary: a label equal to the number of classes.
        write_labels(&labels, &[5, 0, 0, 0])?;
        let err = error_of(Dataset::<1, 5>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::LabelOutOfRange {
                    index: 0,
                    label: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn dimension_mismatch_says_what_was_expected() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
        write_images(&images, 8, 8, &[0; 128])?;
        write_labels(&labels, &[0, 1])?;
        let err = error_of(Dataset::<784, 10>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::DimensionMismatch {
                    expected: 784,
                    rows: 8,
                    cols: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&images),
                "expected images of 784 pixels (28x28 for MNIST), found 8x8 = 64",
            ],
        );
        // Same pixel count, different shape: accepted.
        assert_eq!(Dataset::<64, 2>::from_idx(&images, &labels)?.len(), 2);
        write_images(&images, 4, 16, &[0; 128])?;
        assert_eq!(Dataset::<64, 2>::from_idx(&images, &labels)?.len(), 2);
        let err = error_of(Dataset::<10, 2>::from_idx(&images, &labels))?;
        assert_mentions(
            &err.to_string(),
            &["expected images of 10 pixels, found 4x16 = 64"],
        );
        Ok(())
    }
}
