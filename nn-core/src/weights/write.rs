//! Writing a network's weights as safetensors.

use std::path::Path;

use safetensors::tensor::{Dtype as StDtype, TensorView};

use super::dtype::{encode_as, encode_count, Dtype, Unfit};
use super::error::WeightsError;
use super::layout::{declaration, specs, F32_LEN, NETWORK_KEY};
use crate::model::TensorRole;
use crate::network::Network;
use crate::scalar::Scalar;

/// The network's weights as the bytes of a safetensors file of tensors of its own scalar type,
/// `F32` (or `F64` for an `f64` network), see the [module docs](super) for the layout; batch
/// normalisation's `num_batches_tracked` is `I64`, as PyTorch keeps it: [`to_bytes_as`] with
/// [`Dtype::of`]. The same weights always give the same bytes.
///
/// # Errors
///
/// [`WeightsError::NotFinite`] if a weight or bias is NaN or infinite (a diverged network):
/// such a file could not be loaded back.
pub fn to_bytes<N: Network>(network: &N) -> Result<Vec<u8>, WeightsError> {
    to_bytes_as(network, Dtype::of::<N::Scalar>())
}

/// The network's weights as the bytes of a safetensors file whose tensors are all of `dtype`,
/// but batch normalisation's `num_batches_tracked`, which is `I64` as in PyTorch (whatever the
/// floats' dtype: PyTorch's `.half()` leaves it alone too), holding the whole count
/// [`BatchNorm::batches_tracked`](crate::layer::BatchNorm::batches_tracked) reports.
/// `F32` and `F64` hold every weight exactly; `F16` and `BF16` round each to the nearest
/// representable value, ties to even, as PyTorch's `.to(torch.float16)` does (see [`Dtype`]).
/// The same weights always give the same bytes.
///
/// # Errors
///
/// [`WeightsError::NotFinite`] if a weight or bias is NaN or infinite (a diverged network), and
/// [`WeightsError::OutOfRange`] for a weight that would round to an infinity in `dtype` (beyond
/// 65504 in magnitude for `F16`), naming the tensor and the index.
pub fn to_bytes_as<N: Network>(network: &N, dtype: Dtype) -> Result<Vec<u8>, WeightsError> {
    let specs = specs::<N>();
    let parameters: Vec<&[N::Scalar]> = network.state().collect();
    if parameters.len() != specs.len() {
        return Err(WeightsError::Encode {
            reason: format!(
                "the network yields {} parameter tensors, its shape says {}",
                parameters.len(),
                specs.len()
            ),
            source: None,
        });
    }
    let mut data = Vec::with_capacity(specs.len());
    let mut stored = Vec::with_capacity(specs.len());
    for (spec, values) in specs.iter().zip(&parameters) {
        // PyTorch keeps `num_batches_tracked` as an I64 whatever the floats' dtype (`.half()`
        // leaves it alone), so `load_state_dict` sees the dtype it made.
        let count = spec.role == TensorRole::NumBatchesTracked;
        let (st_dtype, size) = if count {
            (StDtype::I64, 8)
        } else {
            (dtype.to_safetensors(), dtype.size())
        };
        let encoded = if count {
            let counts: Vec<f32> = values.iter().map(|v| v.to_f32()).collect();
            encode_count(&counts)
        } else {
            encode_as(dtype, values)
        };
        let bytes = encoded.map_err(|unfit| match unfit {
            Unfit::NotFinite { index, .. } => WeightsError::NotFinite {
                name: spec.name.clone(),
                index,
                value: values[index].to_f32(),
                shape: spec.shape.clone(),
                file: None,
            },
            Unfit::OutOfRange {
                index,
                value,
                integer,
            } => WeightsError::OutOfRange {
                name: spec.name.clone(),
                index,
                value,
                target: dtype,
                integer,
                shape: spec.shape.clone(),
                file: None,
            },
        })?;
        // The spec's size in `F32`, scaled to `dtype`: a check that the shape and the
        // parameter agree, which they do for every network `network!` writes.
        let expected = spec.byte_len().map(|n| n / F32_LEN * size);
        if expected != Some(bytes.len()) {
            return Err(WeightsError::Encode {
                reason: format!(
                    "tensor `{}` has {} values, its shape {:?} says otherwise",
                    spec.name,
                    values.len(),
                    spec.shape
                ),
                source: None,
            });
        }
        data.push(bytes);
        stored.push(st_dtype);
    }
    let encode_error = |source| WeightsError::Encode {
        reason: "a tensor's data does not fit its shape".to_owned(),
        source: Some(Box::new(source)),
    };
    let mut views = Vec::with_capacity(specs.len());
    for ((spec, bytes), st_dtype) in specs.iter().zip(&data).zip(stored) {
        let view = TensorView::new(st_dtype, spec.shape.clone(), bytes).map_err(encode_error)?;
        views.push((spec.name.as_str(), view));
    }
    let metadata = [(NETWORK_KEY.to_owned(), declaration::<N>())];
    safetensors::serialize(views, Some(metadata.into_iter().collect())).map_err(|source| {
        WeightsError::Encode {
            reason: "the encoder failed".to_owned(),
            source: Some(Box::new(source)),
        }
    })
}

/// Saves the network's weights to a safetensors file at `path` of tensors of its own scalar
/// type, `F32` (or `F64` for an `f64` network): [`save_as`] with [`Dtype::of`] (see the
/// [module docs](super) for the layout and for loading the file in PyTorch).
///
/// # Errors
///
/// As for [`save_as`].
pub fn save<N: Network>(network: &N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    save_as(network, path, Dtype::of::<N::Scalar>())
}

/// Saves the network's weights to a safetensors file at `path` whose tensors are all of
/// `dtype`, rounded as [`to_bytes_as`] says: `weights::save_as(&net, "digits.safetensors",
/// Dtype::F16)` writes half the bytes of `F32`, and [`load`](super::load) reads it back.
///
/// The data goes to a temporary file in the same folder, which is then renamed over `path`, so
/// an existing file is never left half-written.
///
/// # Errors
///
/// [`WeightsError::NotFinite`] for a NaN or infinite weight and [`WeightsError::OutOfRange`]
/// for one beyond `dtype`'s range (nothing is written then), and [`WeightsError::Write`] if the
/// file cannot be written.
pub fn save_as<N: Network>(
    network: &N,
    path: impl AsRef<Path>,
    dtype: Dtype,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = to_bytes_as(network, dtype)?;
    crate::atomic_file::write_atomically(path, &[&bytes]).map_err(|source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::fixtures::{bits, tiny, TestResult, Tiny};
    use nn_test_support::{assert_mentions, error_of, file_names};
    use safetensors::tensor::Dtype as StDtype;
    use safetensors::SafeTensors;
    use std::fs;

    #[test]
    fn the_same_weights_give_the_same_bytes() -> TestResult {
        assert_eq!(to_bytes(&tiny())?, to_bytes(&tiny())?);
        Ok(())
    }

    #[test]
    fn tensors_are_named_and_laid_out_like_pytorch() -> TestResult {
        let t = tiny();
        let bytes = to_bytes(&t)?;
        let file = SafeTensors::deserialize(&bytes)?;
        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);

        let w = file.tensor("0.weight")?;
        assert_eq!(w.dtype(), StDtype::F32);
        assert_eq!(w.shape(), [2, 3]);
        // Row-major [out][in]: weight[1][0] (neuron 1, input 0) is element `in` = 3, and
        // element 1 is weight[0][1]. Decoded here by hand from little-endian bytes.
        let element = |data: &[u8], i: usize| -> f32 {
            f32::from_le_bytes([
                data[4 * i],
                data[4 * i + 1],
                data[4 * i + 2],
                data[4 * i + 3],
            ])
        };
        assert_eq!(element(w.data(), 3).to_bits(), (-0.0f32).to_bits());
        assert_eq!(element(w.data(), 1), -1.25);
        assert_eq!(element(w.data(), 5), f32::MAX);
        // 0.5 is 0x3f000000: little-endian puts the low byte first.
        assert_eq!(&w.data()[..4], &[0x00, 0x00, 0x00, 0x3f]);

        let b = file.tensor("0.bias")?;
        assert_eq!((b.dtype(), b.shape()), (StDtype::F32, &[2][..]));
        assert_eq!(element(b.data(), 0), 0.1);

        let w2 = file.tensor("2.weight")?;
        assert_eq!(w2.shape(), [2, 2]);
        assert_eq!(element(w2.data(), 2), f32::MIN);
        assert_eq!(file.tensor("2.bias")?.shape(), [2]);
        Ok(())
    }

    #[test]
    fn header_records_the_declaration() -> TestResult {
        let bytes = to_bytes(&tiny())?;
        // By hand: an 8-byte little-endian length, then that many bytes of JSON.
        let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + n])?;
        assert!(header.starts_with('{'), "{header}");
        assert!(
            header.contains(r#""__metadata__":{"nn.network":"3 -> 2 tanh -> out: 2 softmax"}"#),
            "{header}"
        );
        // Six values of 4 bytes each after the header, nothing else.
        assert_eq!(bytes.len(), 8 + n + 4 * (6 + 2 + 4 + 2));
        Ok(())
    }

    #[test]
    fn saving_non_finite_weights_is_refused() -> TestResult {
        let mut t = tiny();
        t.out.bias_mut()[1] = f32::INFINITY;
        let e = error_of(to_bytes(&t))?;
        assert!(
            matches!(&e, WeightsError::NotFinite { name, index: 1, .. } if name == "2.bias"),
            "{e:?}"
        );
        Ok(())
    }

    #[test]
    fn saving_in_another_dtype_rounds_and_loads_back() -> TestResult {
        let mut t = tiny();
        // F16 holds neither f32::MAX nor f32::MIN: the first out-of-range value is named.
        let e = error_of(to_bytes_as(&t, Dtype::F16))?;
        assert!(
            matches!(&e, WeightsError::OutOfRange { name, index: 5, target: Dtype::F16, .. }
                if name == "0.weight"),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &[
                "tensor `0.weight` holds 3.4028234663852886e38 at index 5 ([1][2])",
                "outside the range of F16 (largest finite magnitude 6.5504e4)",
            ],
        );
        // F64 holds every f32: loaded back, bit for bit.
        let back: Tiny = crate::weights::from_bytes(&to_bytes_as(&t, Dtype::F64)?)?;
        assert_eq!(bits(&back), bits(&t));

        t.layer1
            .set_weights(&[[0.5, -1.25, 3.0], [-0.0, 1e-40, 1.0 + 2f32.powi(-11)]]);
        t.out.set_weights(&[[1.0, -2.0], [65504.0, 0.3]]);
        let bytes = to_bytes_as(&t, Dtype::F16)?;
        let file = SafeTensors::deserialize(&bytes)?;
        assert!(file
            .tensors()
            .iter()
            .all(|(_, v)| v.dtype() == StDtype::F16));
        let back: Tiny = crate::weights::from_bytes(&bytes)?;
        // 1e-40 is below F16's smallest subnormal, 1 + 2^-11 ties to 1, 0.3 rounds to the
        // nearest F16, 0.300048828125 (0x34cd: 1 + 205/1024 times 2^-2, as 0.2 * 1024 = 204.8).
        assert_eq!(
            back.layer1.weights_flat()[..],
            [0.5, -1.25, 3.0, -0.0, 0.0, 1.0]
        );
        assert_eq!(back.layer1.weights_flat()[3].to_bits(), (-0.0f32).to_bits());
        assert_eq!(
            back.out.weights_flat()[..],
            [1.0, -2.0, 65504.0, 0.300_048_83]
        );
        Ok(())
    }

    #[test]
    fn a_failed_save_leaves_the_old_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("tiny.safetensors");
        save(&tiny(), &path)?;
        let mut diverged = tiny();
        diverged.layer1.weights_mut()[0][0] = f32::NAN;
        error_of(save(&diverged, &path))?;
        assert_eq!(fs::read(&path)?, to_bytes(&tiny())?);
        assert_eq!(file_names(dir.path())?, ["tiny.safetensors"]);

        // A folder that does not exist: a write error naming the path.
        let missing = dir.path().join("no-such-folder").join("tiny.safetensors");
        let e = error_of(save(&tiny(), &missing))?;
        assert!(
            matches!(&e, WeightsError::Write { path, .. } if path == &missing),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["cannot write", &missing.display().to_string()],
        );

        // A path that is a folder: the rename fails, nothing is left behind.
        let e = error_of(save(&tiny(), dir.path()))?;
        assert!(matches!(e, WeightsError::Write { .. }), "{e:?}");
        assert_eq!(file_names(dir.path())?, ["tiny.safetensors"]);
        Ok(())
    }
}
