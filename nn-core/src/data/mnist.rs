//! The MNIST data set: its four standard files, read from a folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::IdxError;
use super::limits::Limits;
use crate::file_check::refusal;

/// The four standard MNIST files in a folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// The training set (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`).
    pub train: Dataset<784, 10>,
    /// The test set (`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`).
    pub test: Dataset<784, 10>,
}

impl Mnist {
    /// Reads `train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)`,
    /// `t10k-images-idx3-ubyte(.gz)` and `t10k-labels-idx1-ubyte(.gz)` from
    /// `dir`, preferring the `.gz` name and falling back to the plain name, within the default
    /// [`Limits`] (see [`Mnist::load_with`]).
    ///
    /// The number of items is not checked against the full data set's 60000
    /// and 10000, so a subset works too.
    ///
    /// # Errors
    ///
    /// As for [`Mnist::load_with`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, IdxError> {
        Self::load_with(dir, &Limits::default())
    }

    /// [`Mnist::load`] within `limits`: each file's data and each of the two data sets are
    /// checked against them before they are read.
    ///
    /// # Errors
    ///
    /// [`IdxError::MissingFile`], naming the paths looked for, if neither
    /// name of a file exists; [`IdxError::Io`] holding a
    /// [`NotRegularFile`](crate::file_check::NotRegularFile) if a name exists but none is a
    /// regular file (a folder, a FIFO); otherwise any error of [`Dataset::from_idx_with`].
    pub fn load_with(dir: impl AsRef<Path>, limits: &Limits) -> Result<Self, IdxError> {
        let dir = dir.as_ref();
        let train = Dataset::from_idx_with(
            find_file(dir, "train-images-idx3-ubyte")?,
            find_file(dir, "train-labels-idx1-ubyte")?,
            limits,
        )?;
        let test = Dataset::from_idx_with(
            find_file(dir, "t10k-images-idx3-ubyte")?,
            find_file(dir, "t10k-labels-idx1-ubyte")?,
            limits,
        )?;
        Ok(Mnist { train, test })
    }
}

/// `dir/name.gz` if it is a regular file, else `dir/name` if it is one (symbolic links
/// followed); if neither is but one of them exists, the refusal of the first that does.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, IdxError> {
    let looked_for = vec![dir.join(format!("{name}.gz")), dir.join(name)];
    let mut not_regular = None;
    for candidate in &looked_for {
        match fs::metadata(candidate) {
            Ok(meta) if meta.is_file() => return Ok(candidate.clone()),
            Ok(meta) => {
                not_regular.get_or_insert_with(|| IdxError::Io {
                    path: candidate.clone(),
                    source: refusal(candidate, meta.file_type()),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IdxError::Io {
                    path: candidate.clone(),
                    source,
                })
            }
        }
    }
    Err(not_regular.unwrap_or(IdxError::MissingFile { looked_for }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{gzip, images_bytes, labels_bytes, shown, TestResult};
    use crate::data::format::{read_images, write_images, write_labels};
    use nn_test_support::{assert_mentions, error_of};

    #[test]
    fn mnist_load_prefers_gzip_and_names_missing_files() -> TestResult {
        let dir = tempfile::tempdir()?;
        let err = error_of(Mnist::load(dir.path()))?;
        let gz = dir.path().join("train-images-idx3-ubyte.gz");
        let plain = dir.path().join("train-images-idx3-ubyte");
        assert!(
            matches!(&err, IdxError::MissingFile { looked_for } if *looked_for == [gz.clone(), plain.clone()]),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &["not found", &shown(&gz), &shown(&plain)],
        );

        // Plain train images that would not load, and gzipped ones that do.
        fs::write(&plain, b"not an idx file")?;
        fs::write(&gz, gzip(&images_bytes(2, 28, 28, &[255; 2 * 784]))?)?;
        write_labels(dir.path().join("train-labels-idx1-ubyte"), &[3, 9])?;
        write_images(dir.path().join("t10k-images-idx3-ubyte"), 28, 28, &[0; 784])?;
        let err = error_of(Mnist::load(dir.path()))?;
        let test_labels = dir.path().join("t10k-labels-idx1-ubyte");
        assert!(matches!(err, IdxError::MissingFile { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &[&shown(&test_labels)]);

        fs::write(
            dir.path().join("t10k-labels-idx1-ubyte.gz"),
            gzip(&labels_bytes(1, &[4]))?,
        )?;
        let mnist = Mnist::load(dir.path())?;
        assert_eq!((mnist.train.len(), mnist.test.len()), (2, 1));
        assert_eq!(mnist.train.labels, vec![3, 9]);
        assert_eq!(mnist.train.inputs[1][783], 1.0);
        assert_eq!(mnist.test.targets[0][4], 1.0);
        Ok(())
    }

    #[test]
    fn reads_the_vendored_mnist_subset() -> TestResult {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist"));
        let train_images = read_images(find_file(dir, "train-images-idx3-ubyte")?)?;
        assert_eq!(
            (train_images.len(), train_images.rows, train_images.cols),
            (8000, 28, 28)
        );

        let mnist = Mnist::load(dir)?;
        assert_eq!(mnist.train.len(), 8000);
        assert_eq!(mnist.test.len(), 1000);
        assert_eq!(mnist.train.inputs.len(), 8000);
        assert_eq!(mnist.test.targets.len(), 1000);
        for (name, set) in [("train", &mnist.train), ("test", &mnist.test)] {
            let mut seen = [0usize; 10];
            for (&label, target) in set.labels.iter().zip(&set.targets) {
                assert!(label < 10);
                seen[usize::from(label)] += 1;
                assert_eq!(target.iter().sum::<f32>(), 1.0);
                assert_eq!(target[usize::from(label)], 1.0);
            }
            assert!(
                seen.iter().all(|&n| n > 0),
                "{name}: every class appears: {seen:?}"
            );
            assert!(set
                .inputs
                .iter()
                .all(|x| x.iter().all(|v| (0.0..=1.0).contains(v))));
            // Real digits: ink somewhere, background at the corners.
            assert!(set
                .inputs
                .iter()
                .all(|x| x.iter().any(|&v| v > 0.5) && x[0] == 0.0));
        }
        Ok(())
    }
}
