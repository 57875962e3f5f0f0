//! Reading a network's weights from safetensors: the header first, checked against the
//! network, then the data, all checked before a single weight is written.

use std::io::Read;
use std::path::Path;

use safetensors::tensor::SafeTensors;

use super::dtype::{decode_as, Dtype, Stored, Unfit};
use super::error::WeightsError;
use super::header::{self, Entry, Header};
use super::layout::{specs, Spec};
use crate::file_check::open_regular;
use crate::network::Network;

/// The largest header the safetensors format allows, in bytes (the limit of the reference
/// implementation).
const MAX_HEADER_LEN: u64 = 100_000_000;

/// The length of the header-length prefix, in bytes.
const PREFIX_LEN: usize = 8;

/// The header length an 8-byte `prefix` declares, checked against the `following` bytes.
fn header_len(prefix: [u8; PREFIX_LEN], following: u64) -> Result<usize, WeightsError> {
    let declared = u64::from_le_bytes(prefix);
    if declared > MAX_HEADER_LEN {
        return Err(WeightsError::format(format!(
            "its first 8 bytes declare a {declared}-byte header, more than the \
             {MAX_HEADER_LEN} bytes the format allows"
        )));
    }
    if declared > following {
        return Err(WeightsError::format(format!(
            "its first 8 bytes declare a {declared}-byte header, but only {following} bytes \
             follow them"
        )));
    }
    usize::try_from(declared).map_err(|_| {
        WeightsError::format(format!("a {declared}-byte header does not fit in memory"))
    })
}

/// Checks the file's tensor names, dtypes and shapes against the network's `specs`; returns
/// each spec's entry and dtype, in the specs' order.
fn check_tensors<'h>(
    specs: &[Spec],
    header: &'h Header,
) -> Result<Vec<(&'h Entry, Stored)>, WeightsError> {
    for spec in specs {
        if header.get(&spec.name).is_none() {
            return Err(WeightsError::MissingTensor {
                name: spec.name.clone(),
                found: header.names(),
                file: None,
            });
        }
    }
    for name in header.names() {
        if !specs.iter().any(|s| s.name == name) {
            return Err(WeightsError::UnexpectedTensor {
                name,
                expected: specs.iter().map(|s| s.name.clone()).collect(),
                file: None,
            });
        }
    }
    let mut checked = Vec::with_capacity(specs.len());
    for spec in specs {
        let Some(entry) = header.get(&spec.name) else {
            continue; // Checked above.
        };
        // A buffer may be I64 (PyTorch's `num_batches_tracked`); a trainable parameter is
        // always a float in PyTorch, so an integer one is refused (see `WeightsError::Dtype`).
        let buffer = !spec.role.is_parameter();
        let Some(dtype) = Stored::from_safetensors(entry.dtype)
            .filter(|stored| buffer || matches!(stored, Stored::Float(_)))
        else {
            return Err(WeightsError::Dtype {
                name: spec.name.clone(),
                found: entry.dtype.to_string(),
                buffer,
                file: None,
            });
        };
        if entry.shape != spec.shape {
            return Err(WeightsError::Shape {
                name: spec.name.clone(),
                expected: spec.shape.clone(),
                found: entry.shape.clone(),
                file: None,
            });
        }
        checked.push((entry, dtype));
    }
    Ok(checked)
}

/// The header and the data of a safetensors file's `bytes`, split at the length its first
/// 8 bytes declare.
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8]), WeightsError> {
    let Some((prefix, rest)) = bytes.split_first_chunk::<PREFIX_LEN>() else {
        return Err(WeightsError::format(format!(
            "it is {} bytes long, too short for the 8-byte header length that starts a \
             safetensors file",
            bytes.len()
        )));
    };
    let n = header_len(*prefix, rest.len() as u64)?;
    rest.split_at_checked(n).ok_or_else(|| {
        // `header_len` checked `n` against the bytes that follow the prefix.
        WeightsError::format(format!("its {n}-byte header runs past its end"))
    })
}

/// A network's weights read from the bytes of a safetensors file.
///
/// # Errors
///
/// As for [`from_bytes_into`].
pub fn from_bytes<N: Network>(bytes: &[u8]) -> Result<N, WeightsError> {
    let mut network = N::zeros();
    from_bytes_into(&mut network, bytes)?;
    Ok(network)
}

/// Reads the bytes of a safetensors file into `network`'s weights and biases, all or nothing:
/// every tensor is checked before any weight is written, so on error `network` is unchanged.
///
/// # Errors
///
/// [`WeightsError::Format`] if the bytes are not a safetensors file,
/// [`WeightsError::MissingTensor`] or [`WeightsError::UnexpectedTensor`] if the file's tensors
/// are not exactly the network's, [`WeightsError::Dtype`] for a tensor that is not `F32`, `F16`,
/// `BF16` or `F64` (or `I64`, for a buffer), [`WeightsError::Shape`] for a tensor of the wrong
/// shape, [`WeightsError::NotFinite`] for a NaN or infinite value, and
/// [`WeightsError::OutOfRange`] for an `F64` value beyond `f32`'s range or an `I64` one beyond
/// ±2^24 (where `f32` stops holding every integer exactly).
///
/// Batch normalisation's `num_batches_tracked` loads from `I64`, as PyTorch and nn save it,
/// and from the `F32` that older nn files hold.
pub fn from_bytes_into<N: Network>(network: &mut N, bytes: &[u8]) -> Result<(), WeightsError> {
    let (header, data) = split(bytes)?;
    let header = header::parse(header, data.len() as u64)?;
    let specs = specs::<N>();
    let checked = check_tensors(&specs, &header)?;
    // The header's offsets are now known to tile the data exactly, so the crate's reader,
    // run as a second opinion, cannot fail; its errors are mapped all the same, never
    // unwrapped.
    SafeTensors::deserialize(bytes).map_err(|source| WeightsError::Format {
        file: None,
        reason: "the safetensors reader refused it".to_owned(),
        source: Some(Box::new(source)),
    })?;
    let mut values = Vec::with_capacity(specs.len());
    for (spec, (entry, dtype)) in specs.iter().zip(checked) {
        // In range: `header::parse` checked every range against the data's length.
        let bytes = data.get(entry.begin..entry.end).unwrap_or_default();
        let converted = decode_as::<N::Scalar>(dtype, bytes).map_err(|unfit| match unfit {
            Unfit::NotFinite { index, value } => WeightsError::NotFinite {
                name: spec.name.clone(),
                index,
                #[allow(clippy::cast_possible_truncation)] // NaN or an infinity: kept as such.
                value: value as f32,
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
                target: Dtype::F32,
                integer,
                shape: spec.shape.clone(),
                file: None,
            },
        })?;
        values.push(converted);
    }
    // Everything is checked: write.
    for (parameter, values) in network.state_mut().zip(values) {
        for (p, v) in parameter.iter_mut().zip(values) {
            *p = v;
        }
    }
    Ok(())
}

/// Loads a network's weights from a safetensors file (see the [module docs](super) for the
/// layout, and [`save`](super::save) for writing one).
///
/// # Errors
///
/// [`WeightsError::Read`] if the file cannot be read, and otherwise as for [`from_bytes_into`],
/// with the file named in the error.
pub fn load<N: Network>(path: impl AsRef<Path>) -> Result<N, WeightsError> {
    let mut network = N::zeros();
    load_into(&mut network, path)?;
    Ok(network)
}

/// Loads a safetensors file into `network`'s weights and biases, all or nothing: on error
/// `network` is unchanged.
///
/// # Errors
///
/// As for [`load`].
pub fn load_into<N: Network>(network: &mut N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = read_file::<N>(path)?;
    from_bytes_into(network, &bytes).map_err(|e| e.with_file(path))
}

/// Reads a weights file whole, after checking its header against the network `N`: a file of
/// another model is refused after reading only its header.
fn read_file<N: Network>(path: &Path) -> Result<Vec<u8>, WeightsError> {
    let read_error = |source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = open_regular(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    let Some(following) = len.checked_sub(PREFIX_LEN as u64) else {
        return Err(WeightsError::format(format!(
            "it is {len} bytes long, too short for the 8-byte header length that starts a \
             safetensors file"
        ))
        .with_file(path));
    };
    let mut prefix = [0; PREFIX_LEN];
    file.read_exact(&mut prefix).map_err(read_error)?;
    let n = header_len(prefix, following).map_err(|e| e.with_file(path))?;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&prefix);
    (&mut file)
        .take(n as u64)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let header = &bytes[PREFIX_LEN..];
    let data_len = following - header.len() as u64;
    let header = header::parse(header, data_len).map_err(|e| e.with_file(path))?;
    check_tensors(&specs::<N>(), &header).map_err(|e| e.with_file(path))?;
    // The header is the network's, so the data is the size of its parameters.
    file.take(data_len)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::fixtures::{bits, file_of, le, tiny, tiny_tensors, TestResult, Tiny};
    use crate::weights::{save, tensor_names, to_bytes};
    use nn_test_support::{assert_mentions, error_of, file_names};
    use safetensors::tensor::Dtype as StDtype;
    use std::error::Error as _;
    use std::fs;

    /// A header-length prefix, a JSON header and data, as raw bytes.
    fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn round_trip_is_bit_exact() -> TestResult {
        let t = tiny();
        let back: Tiny = from_bytes(&to_bytes(&t)?)?;
        assert_eq!(bits(&back), bits(&t));
        let x = [0.3, -0.7, 2.0];
        assert_eq!(
            back.forward(&x).map(f32::to_bits),
            t.forward(&x).map(f32::to_bits)
        );
        Ok(())
    }

    #[test]
    fn a_file_from_the_crates_serializer_loads() -> TestResult {
        let t: Tiny = from_bytes(&file_of(&tiny_tensors())?)?;
        assert_eq!(bits(&t), bits(&tiny()));
        Ok(())
    }

    #[test]
    fn missing_tensor_is_named_with_what_the_file_has() -> TestResult {
        let mut tensors = tiny_tensors();
        tensors.retain(|t| t.0 != "2.bias");
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::MissingTensor { name, found, file: None }
                if name == "2.bias" && found == &["0.bias", "0.weight", "2.weight"]),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &[
                "`2.bias` is missing",
                "the file has `0.bias`, `0.weight`, `2.weight`",
            ],
        );
        Ok(())
    }

    #[test]
    fn misnamed_tensor_is_reported_as_missing_with_the_files_names() -> TestResult {
        let mut tensors = tiny_tensors();
        tensors[0].0 = "fc1.weight";
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::MissingTensor { name, .. } if name == "0.weight"),
            "{e:?}"
        );
        assert_mentions(&e.to_string(), &["`0.weight` is missing", "`fc1.weight`"]);
        Ok(())
    }

    #[test]
    fn extra_tensor_is_named_with_what_the_network_has() -> TestResult {
        let mut tensors = tiny_tensors();
        tensors.push(("4.weight", StDtype::F32, vec![1, 2], le(&[1.0, 2.0])));
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::UnexpectedTensor { name, expected, .. }
                if name == "4.weight" && expected == &tensor_names::<Tiny>()),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &[
                "`4.weight`",
                "has exactly `0.weight`, `0.bias`, `2.weight`, `2.bias`",
            ],
        );
        Ok(())
    }

    #[test]
    fn wrong_dtype_names_tensor_and_both_dtypes() -> TestResult {
        let mut tensors = tiny_tensors();
        let longs: Vec<u8> = [1i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors[3] = ("2.bias", StDtype::I64, vec![2], longs);
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::Dtype { name, found, .. } if name == "2.bias" && found == "I64"),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["tensor `2.bias` has dtype I64, expected F32, F16, BF16 or F64"],
        );

        tensors[3] = ("2.bias", StDtype::U8, vec![2], vec![0; 2]);
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_mentions(
            &e.to_string(),
            &["tensor `2.bias` has dtype U8, expected F32, F16, BF16 or F64"],
        );
        Ok(())
    }

    #[test]
    fn half_precision_and_double_tensors_load_into_f32() -> TestResult {
        // Each of tiny()'s tensors in another dtype, encoded here by hand: F64 exactly, F16
        // and BF16 from values they hold exactly.
        let doubles = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let halves = |v: &[u16]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let t = tiny();
        let mut tensors = tiny_tensors();
        let w: Vec<f64> = t
            .layer1
            .weights_flat()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        tensors[0] = ("0.weight", StDtype::F64, vec![2, 3], doubles(&w));
        // F16 1.5 = 0x3e00 and -0.25 = 0xb400; BF16 0.25 = 0x3e80 and -0.75 = 0xbf40.
        tensors[1] = ("0.bias", StDtype::F16, vec![2], halves(&[0x3e00, 0xb400]));
        tensors[3] = ("2.bias", StDtype::BF16, vec![2], halves(&[0x3e80, 0xbf40]));
        let net: Tiny = from_bytes(&file_of(&tensors)?)?;
        assert_eq!(
            net.layer1
                .weights_flat()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            t.layer1
                .weights_flat()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
        assert_eq!(net.layer1.bias()[..], [1.5, -0.25]);
        assert_eq!(net.out.bias()[..], [0.25, -0.75]);
        assert_eq!(net.out.weights_flat(), t.out.weights_flat());
        Ok(())
    }

    #[test]
    fn values_beyond_f32_are_refused_with_the_tensor_and_index() -> TestResult {
        let mut tensors = tiny_tensors();
        // 0.weight is [2, 3]: index 5 is row 1, column 2.
        let w: Vec<u8> = [0.0, 1.0, 2.0, 3.0, 4.0, -1e300f64]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        tensors[0] = ("0.weight", StDtype::F64, vec![2, 3], w);
        let mut net = tiny();
        let e = error_of(from_bytes_into(&mut net, &file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::OutOfRange { name, index: 5, value, target: Dtype::F32, .. }
                if name == "0.weight" && *value == -1e300),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "tensor `0.weight` holds -1e300 at index 5 ([1][2]), outside the range of F32 \
             (largest finite magnitude 3.4028234663852886e38)"
        );
        assert_eq!(bits(&net), bits(&tiny()), "nothing written");

        // An infinity in F16 is not finite, as in F32.
        let mut tensors = tiny_tensors();
        tensors[3] = ("2.bias", StDtype::F16, vec![2], vec![0, 0, 0x00, 0xfc]);
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_eq!(
            e.to_string(),
            "tensor `2.bias` holds -inf at index 1: weights and biases must be finite"
        );
        Ok(())
    }

    #[test]
    fn wrong_shape_names_tensor_and_both_shapes() -> TestResult {
        let mut tensors = tiny_tensors();
        tensors[2].2 = vec![4, 1];
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::Shape { name, expected, found, .. }
                if name == "2.weight" && expected == &[2, 2] && found == &[4, 1]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "tensor `2.weight` has shape [4, 1], expected [2, 2]"
        );

        // The transpose of a weight matrix gets a hint.
        let mut tensors = tiny_tensors();
        tensors[0].2 = vec![3, 2];
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_mentions(
            &e.to_string(),
            &[
                "tensor `0.weight` has shape [3, 2], expected [2, 3]",
                "transposed?",
            ],
        );

        // A bias with a leading batch dimension is a shape error, not silently flattened.
        let mut tensors = tiny_tensors();
        tensors[1].2 = vec![1, 2];
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_mentions(
            &e.to_string(),
            &["tensor `0.bias` has shape [1, 2], expected [2]"],
        );
        assert!(!e.to_string().contains("transposed"));
        Ok(())
    }

    #[test]
    fn non_finite_values_are_named_with_their_index() -> TestResult {
        let mut tensors = tiny_tensors();
        // 0.weight is [2, 3]: index 4 is row 1, column 1.
        tensors[0].3[16..20].copy_from_slice(&f32::NAN.to_le_bytes());
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::NotFinite { name, index: 4, value, .. }
                if name == "0.weight" && value.is_nan()),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["tensor `0.weight` holds NaN at index 4 ([1][1])"],
        );

        let mut tensors = tiny_tensors();
        tensors[3].3[4..8].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_eq!(
            e.to_string(),
            "tensor `2.bias` holds -inf at index 1: weights and biases must be finite"
        );
        Ok(())
    }

    #[test]
    fn a_failed_load_leaves_the_network_unchanged() -> TestResult {
        let before = tiny();
        let mut other = Tiny::zeros();
        other.layer1.set_weights(&[[9.0; 3]; 2]);
        // Every tensor of `other` is valid but the last, so a loader that wrote as it went
        // would have changed `0.weight` by the time it found the problem.
        let mut tensors: Vec<_> = vec![
            (
                "0.weight",
                StDtype::F32,
                vec![2, 3],
                le(other.layer1.weights_flat()),
            ),
            ("0.bias", StDtype::F32, vec![2], le(other.layer1.bias())),
            (
                "2.weight",
                StDtype::F32,
                vec![2, 2],
                le(other.out.weights_flat()),
            ),
            ("2.bias", StDtype::F32, vec![2], le(&[0.0, f32::NAN])),
        ];
        let mut net = before.clone();
        error_of(from_bytes_into(&mut net, &file_of(&tensors)?))?;
        assert_eq!(bits(&net), bits(&before));

        tensors[3] = ("2.bias", StDtype::F32, vec![1, 2], le(&[0.0, 0.0]));
        error_of(from_bytes_into(&mut net, &file_of(&tensors)?))?;
        assert_eq!(bits(&net), bits(&before));

        tensors[3].2 = vec![2];
        from_bytes_into(&mut net, &file_of(&tensors)?)?;
        assert_eq!(net.layer1.weights()[1][2], 9.0);
        Ok(())
    }

    /// A file of eight `U8` tensors of `usize::MAX / 8` bytes each, with 8 bytes of data.
    fn huge_header() -> Vec<u8> {
        let m = usize::MAX / 8;
        let tensors: Vec<String> = (0..8)
            .map(|k| {
                format!(
                    r#""t{k}":{{"dtype":"U8","shape":[{m}],"data_offsets":[{},{}]}}"#,
                    k * m,
                    (k + 1) * m
                )
            })
            .collect();
        raw_file(&format!("{{{}}}", tensors.join(",")), &[0; 8])
    }

    #[test]
    fn data_that_is_not_safetensors_is_a_format_error() -> TestResult {
        let good = to_bytes(&tiny())?;
        let n = u64::from_le_bytes(good[..8].try_into()?) as usize;
        let mut truncated = good.clone();
        truncated.pop();
        let mut longer = good.clone();
        longer.push(0);
        let mut not_json = good.clone();
        not_json[8] = b'[';
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "it is 0 bytes long, too short"),
            ("seven bytes", vec![1; 7], "it is 7 bytes long, too short"),
            (
                "a png",
                png,
                "more than the 100000000 bytes the format allows",
            ),
            (
                "a header longer than the data",
                raw_file("{}", &[])[..9].to_vec(),
                "declare a 2-byte header, but only 1 bytes follow them",
            ),
            (
                "a header that is not JSON",
                not_json,
                "its header is not valid JSON: expected `,` or `]` at line 1 column",
            ),
            (
                "JSON that is not a header",
                raw_file(r#"{"a": 1}"#, &[]),
                "its header is valid JSON but not a safetensors header: the entry of tensor \
                 `a` is 1",
            ),
            (
                // A JSON parser keeps the last of two equal keys; the safetensors crate would
                // then read the second `0.bias` and never see the first.
                "a tensor named twice",
                raw_file(
                    r#"{"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
                "its header names a key twice: `0.bias` appears twice in the header",
            ),
            (
                "a truncated data section",
                truncated,
                "describes 56 bytes of tensor data, but 55 bytes follow",
            ),
            (
                "trailing bytes",
                longer,
                "describes 56 bytes of tensor data, but 57 bytes follow",
            ),
            (
                "offsets that leave a gap",
                raw_file(
                    r#"{"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    &[0; 8],
                ),
                "tensor `0.bias` has data_offsets [4, 8], but the data section starts at byte 0, \
                 leaving bytes 0..4 unused; tensors must fill the 8-byte data section",
            ),
            (
                // Eight tensors whose data adds up to almost usize::MAX bytes: a reader that
                // adds that to the header length without checking overflows (the safetensors
                // crate's own reader does, and panics in a debug build).
                "a huge data section",
                huge_header(),
                "bytes of tensor data, but 8 bytes follow",
            ),
        ];
        assert_eq!(n % 8, 0, "the crate pads the header to 8 bytes");
        for (what, bytes, expected) in cases {
            let e = error_of(from_bytes::<Tiny>(&bytes))?;
            assert!(
                matches!(e, WeightsError::Format { file: None, .. }),
                "{what}: {e:?}"
            );
            let message = e.to_string();
            assert_mentions(
                &message,
                &["the data is not a valid safetensors file", expected],
            );
        }
        // The JSON parser's complaint is kept as the source, not lost.
        let e = error_of(from_bytes::<Tiny>(&raw_file("{oops", &[])))?;
        assert!(e.source().is_some(), "{e:?}");
        Ok(())
    }

    #[test]
    fn save_and_load_a_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("tiny.safetensors");
        save(&tiny(), &path)?;
        assert_eq!(fs::read(&path)?, to_bytes(&tiny())?);
        let back: Tiny = load(&path)?;
        assert_eq!(bits(&back), bits(&tiny()));

        // Saving again replaces the file whole and leaves no temporary file behind.
        let mut other = tiny();
        other.out.set_bias(&[7.0, 8.0]);
        save(&other, &path)?;
        assert_eq!(fs::read(&path)?, to_bytes(&other)?);
        assert_eq!(file_names(dir.path())?, ["tiny.safetensors"]);
        Ok(())
    }

    #[test]
    fn file_errors_name_the_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let missing = dir.path().join("missing.safetensors");
        let e = error_of(load::<Tiny>(&missing))?;
        assert!(
            matches!(&e, WeightsError::Read { path, .. } if path == &missing),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["cannot read", &missing.display().to_string()],
        );

        let path = dir.path().join("bad.safetensors");
        let mut tensors = tiny_tensors();
        tensors[2].2 = vec![1, 4];
        fs::write(&path, file_of(&tensors)?)?;
        let e = error_of(load::<Tiny>(&path))?;
        assert!(
            matches!(&e, WeightsError::Shape { file: Some(f), .. } if f == &path),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "tensor `2.weight` in {} has shape [1, 4], expected [2, 2]",
                path.display()
            )
        );

        for (len, expected) in [(3, "is 3 bytes long"), (60, "declare a")] {
            let mut bytes = to_bytes(&tiny())?;
            bytes.truncate(len);
            fs::write(&path, &bytes)?;
            let e = error_of(load::<Tiny>(&path))?;
            assert_mentions(
                &e.to_string(),
                &[
                    &format!("{} is not a valid safetensors file", path.display()),
                    expected,
                ],
            );
        }

        // A file whose header is fine but whose data is cut short.
        let mut bytes = to_bytes(&tiny())?;
        bytes.truncate(bytes.len() - 4);
        fs::write(&path, &bytes)?;
        let e = error_of(load::<Tiny>(&path))?;
        assert!(matches!(e, WeightsError::Format { .. }), "{e:?}");
        assert_mentions(
            &e.to_string(),
            &["56 bytes of tensor data, but 52 bytes follow"],
        );

        let mut net = tiny();
        let mut tensors = tiny_tensors();
        tensors[3].3 = le(&[1.0, f32::NAN]);
        fs::write(&path, file_of(&tensors)?)?;
        let e = error_of(load_into(&mut net, &path))?;
        assert!(matches!(e, WeightsError::NotFinite { .. }), "{e:?}");
        assert_eq!(bits(&net), bits(&tiny()));
        Ok(())
    }
}
