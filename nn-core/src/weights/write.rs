//! Writing a network's weights as safetensors.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::error::WeightsError;
use super::layout::{declaration, specs, NETWORK_KEY};
use crate::network::Network;

/// The network's weights as the bytes of a safetensors file (see the [module docs](super) for the
/// layout). The same weights always give the same bytes.
///
/// # Errors
///
/// [`WeightsError::NotFinite`] if a weight or bias is NaN or infinite (a diverged network):
/// such a file could not be loaded back.
pub fn to_bytes<N: Network>(network: &N) -> Result<Vec<u8>, WeightsError> {
    let specs = specs::<N>();
    let parameters: Vec<&[f32]> = network.parameters().collect();
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
    for (spec, values) in specs.iter().zip(&parameters) {
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(WeightsError::NotFinite {
                name: spec.name.clone(),
                index,
                value: values[index],
                shape: spec.shape.clone(),
                file: None,
            });
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        data.push(bytes);
    }
    let encode_error = |source| WeightsError::Encode {
        reason: "a tensor's data does not fit its shape".to_owned(),
        source: Some(Box::new(source)),
    };
    let mut views = Vec::with_capacity(specs.len());
    for (spec, bytes) in specs.iter().zip(&data) {
        let view = TensorView::new(Dtype::F32, spec.shape.clone(), bytes).map_err(encode_error)?;
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

/// Saves the network's weights to a safetensors file at `path` (see the [module docs](super) for
/// the layout and for loading the file in PyTorch).
///
/// The data goes to a temporary file in the same folder, which is then renamed over `path`, so
/// an existing file is never left half-written.
///
/// # Errors
///
/// [`WeightsError::NotFinite`] for a NaN or infinite weight (nothing is written), and
/// [`WeightsError::Write`] if the file cannot be written.
pub fn save<N: Network>(network: &N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = to_bytes(network)?;
    crate::atomic_file::write_atomically(path, &[&bytes]).map_err(|source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::fixtures::{tiny, TestResult};
    use nn_test_support::{assert_mentions, error_of, file_names};
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
        assert_eq!(w.dtype(), Dtype::F32);
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
        assert_eq!((b.dtype(), b.shape()), (Dtype::F32, &[2][..]));
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
