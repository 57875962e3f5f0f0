//! Reading a baked network's safetensors file while compiling: what nn-core's run-time loader
//! (`nn_core::weights::from_bytes`) accepts, this accepts, and what it refuses, this refuses,
//! as compile errors.
//!
//! - The header: a key named twice is refused (a JSON parser would keep the last); the
//!   safetensors crate then checks that every tensor's byte range fits its dtype and shape and
//!   that the ranges tile the data.
//! - The tensors: every one the declaration needs must be there, none other; each `F32`,
//!   `F16`, `BF16` or `F64` (the floats a network's weights load from), or for a buffer (batch
//!   normalisation's running statistics and `num_batches_tracked`) also `I64`, as PyTorch keeps
//!   `num_batches_tracked`; each of the layer's shape.
//! - The values: decoded exactly as an `f64` (every one of those dtypes is a subset of it),
//!   refused if NaN or infinite, then rounded to the nearest `f32` (exact for `F32`, `F16` and
//!   `BF16`; ties to even for `F64`), refused if that overflows to an infinity. These are the
//!   loader's steps, in its order, so a baked value is the loaded value, bit for bit. An
//!   `I64` value is taken exactly, refused beyond ±2^24 (where `f32` skips integers), as the
//!   loader takes it.
//!
//! Problems are collected, not stopped at, so one compile reports them all.

use std::collections::BTreeSet;
use std::fmt;

use half::{bf16, f16};
use nn_model::{TensorRole, TensorShape};
use safetensors::tensor::{Dtype as StDtype, SafeTensors};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::layout::Expected;

/// The largest header the safetensors format allows, in bytes (as nn-core's loader).
const MAX_HEADER_LEN: u64 = 100_000_000;

/// The largest integer magnitude up to which `f32` holds every integer exactly, 2^24: an
/// `I64` buffer's values must be within it (as nn-core's loader).
const F32_EXACT_INTEGER: f64 = 16_777_216.0;

/// The key of the header's free-form metadata, which is not a tensor.
const METADATA_KEY: &str = "__metadata__";

/// One tensor of the file, checked and converted.
pub struct Tensor {
    /// Its name, e.g. `0.weight`.
    pub name: String,
    /// Which tensor of its layer it is.
    pub role: TensorRole,
    /// The layer that holds it, counting from 0.
    pub layer: usize,
    /// Its values as `f32`, row-major.
    pub values: Vec<f32>,
}

/// One problem with the file: a message and, if it concerns one, the layer to point at.
#[derive(Debug)]
pub struct Problem {
    /// The layer the problem concerns (counting from 0), or `None` for the file as a whole.
    pub layer: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn file(message: String) -> Self {
        Problem {
            layer: None,
            message,
        }
    }
}

/// The `expected` tensors read from the `bytes` of a safetensors file, in `expected`'s order.
///
/// # Errors
///
/// Every problem found: the file's format at once, else each missing, unexpected, mistyped or
/// misshapen tensor, else each tensor's first value that is not finite or beyond `f32`.
pub fn read(bytes: &[u8], expected: &[Expected]) -> Result<Vec<Tensor>, Vec<Problem>> {
    let names = header_names(bytes).map_err(|reason| {
        vec![Problem::file(format!(
            "not a valid safetensors file: {reason}"
        ))]
    })?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        vec![Problem::file(format!(
            "not a valid safetensors file: the safetensors reader refused it: {e}"
        ))]
    })?;
    let mut problems = Vec::new();
    for e in expected {
        if !names.contains(&e.name) {
            problems.push(Problem {
                layer: Some(e.layer),
                message: format!(
                    "tensor `{}` is missing: {} needs it for its {}, shape {:?}; {}",
                    e.name,
                    e.layer_label,
                    e.role,
                    e.shape,
                    file_has(&names)
                ),
            });
        }
    }
    for name in &names {
        if !expected.iter().any(|e| &e.name == name) {
            problems.push(Problem::file(format!(
                "tensor `{name}` is not a parameter of this network, which has exactly {}",
                name_list(expected.iter().map(|e| e.name.as_str()))
            )));
        }
    }
    let mut tensors = Vec::with_capacity(expected.len());
    for e in expected {
        let Ok(view) = file.tensor(&e.name) else {
            continue; // Reported as missing above.
        };
        let at = Some(e.layer);
        // A buffer may be I64 (PyTorch's `num_batches_tracked`); a parameter is a float.
        let buffer = !e.role.is_parameter();
        let Some(dtype) = Dtype::of(view.dtype()).filter(|d| buffer || *d != Dtype::I64) else {
            let note = match (buffer, view.dtype()) {
                (true, _) => " (or I64 for a buffer)",
                (false, StDtype::I64) => {
                    " (I64 only for a buffer such as num_batches_tracked: a trainable parameter \
                     is a float)"
                }
                (false, _) => "",
            };
            problems.push(Problem {
                layer: at,
                message: format!(
                    "tensor `{}` has dtype {}, expected F32, F16, BF16 or F64{note}",
                    e.name,
                    view.dtype()
                ),
            });
            continue;
        };
        if view.shape() != e.shape.as_slice() {
            problems.push(Problem {
                layer: at,
                message: format!(
                    "tensor `{}` has shape {:?} in the file, but {} needs {:?}",
                    e.name,
                    view.shape(),
                    e.layer_label,
                    e.shape
                ),
            });
            continue;
        }
        match decode(dtype, view.data()) {
            Ok(values) => tensors.push(Tensor {
                name: e.name.clone(),
                role: e.role,
                layer: e.layer,
                values,
            }),
            Err(unfit) => problems.push(Problem {
                layer: at,
                message: unfit.message(e),
            }),
        }
    }
    if problems.is_empty() {
        Ok(tensors)
    } else {
        Err(problems)
    }
}

/// The dtypes a network's tensors load from: the floats, and `I64` for a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    F16,
    BF16,
    I64,
}

impl Dtype {
    /// The dtype of a file's tensor, if a weight loads from it.
    fn of(dtype: StDtype) -> Option<Self> {
        match dtype {
            StDtype::F32 => Some(Dtype::F32),
            StDtype::F64 => Some(Dtype::F64),
            StDtype::F16 => Some(Dtype::F16),
            StDtype::BF16 => Some(Dtype::BF16),
            StDtype::I64 => Some(Dtype::I64),
            _ => None,
        }
    }

    /// The bytes of one value.
    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }

    /// One little-endian value, exactly, as an `f64` (an `I64` one below 2^53, exactly; larger
    /// ones are refused anyway).
    fn decode(self, b: &[u8]) -> f64 {
        let byte = |i: usize| b.get(i).copied().unwrap_or(0);
        let two = || [byte(0), byte(1)];
        match self {
            Dtype::F32 => f64::from(f32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)])),
            Dtype::F64 => f64::from_le_bytes(std::array::from_fn(byte)),
            Dtype::F16 => f64::from(f16::from_bits(u16::from_le_bytes(two()))),
            Dtype::BF16 => f64::from(bf16::from_bits(u16::from_le_bytes(two()))),
            #[allow(clippy::cast_precision_loss)] // Exact within ±2^24, refused beyond.
            Dtype::I64 => i64::from_le_bytes(std::array::from_fn(byte)) as f64,
        }
    }
}

/// Why a value could not be baked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unfit {
    /// NaN or infinite.
    NotFinite { index: usize, value: f64 },
    /// Finite, but rounds to an infinity in `f32`.
    OutOfRange { index: usize, value: f64 },
    /// An `I64` integer beyond ±2^24, which `f32` does not hold exactly.
    Inexact { index: usize, value: f64 },
}

impl Unfit {
    /// The message for tensor `e`.
    fn message(self, e: &Expected) -> String {
        let at = |index: usize| {
            let coords = TensorShape::new(e.role, &e.shape)
                .coords(index)
                .map(|c| c.to_string())
                .filter(|c| !c.is_empty()) // A scalar's one value has no coordinates.
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            format!("index {index}{coords}")
        };
        match self {
            Unfit::NotFinite { index, value } => format!(
                "tensor `{}` holds {value} at {}: weights and biases must be finite",
                e.name,
                at(index)
            ),
            Unfit::OutOfRange { index, value } => format!(
                "tensor `{}` holds {value:e} at {}, beyond the range of f32 (±{:e})",
                e.name,
                at(index),
                f32::MAX
            ),
            Unfit::Inexact { index, value } => format!(
                "tensor `{}` holds {value:e} at {}, beyond the integers f32 holds exactly \
                 (magnitude at most 2^24 = {F32_EXACT_INTEGER})",
                e.name,
                at(index)
            ),
        }
    }
}

/// The values of a tensor of `dtype` stored in `bytes`, as `f32`: nn-core's `decode_f32`
/// step for step (see the [module docs](self)).
fn decode(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, Unfit> {
    let mut values = Vec::with_capacity(bytes.len() / dtype.size());
    for (index, chunk) in bytes.chunks_exact(dtype.size()).enumerate() {
        let value = dtype.decode(chunk);
        if dtype == Dtype::I64 && value.abs() > F32_EXACT_INTEGER {
            return Err(Unfit::Inexact { index, value });
        }
        if !value.is_finite() {
            return Err(Unfit::NotFinite { index, value });
        }
        #[allow(clippy::cast_possible_truncation)] // Rounding to f32 is the point; checked below.
        let narrow = value as f32;
        if narrow.is_infinite() {
            return Err(Unfit::OutOfRange { index, value });
        }
        values.push(narrow);
    }
    Ok(values)
}

/// "it has `0.weight`, `0.bias`" or "it has no tensors".
fn file_has(names: &[String]) -> String {
    if names.is_empty() {
        "the file has no tensors".to_owned()
    } else {
        format!(
            "the file has {}",
            name_list(names.iter().map(String::as_str))
        )
    }
}

/// `` `0.weight`, `0.bias` ``.
fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of the file's tensors in header order, with every object of the header checked to
/// name each key once; the reason if the header cannot be read.
fn header_names(bytes: &[u8]) -> Result<Vec<String>, String> {
    let Some((prefix, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(format!(
            "it is {} bytes long, too short for the 8-byte header length that starts a \
             safetensors file",
            bytes.len()
        ));
    };
    let declared = u64::from_le_bytes(*prefix);
    if declared > MAX_HEADER_LEN || declared > rest.len() as u64 {
        return Err(format!(
            "its first 8 bytes declare a {declared}-byte header, but {} bytes follow them (at \
             most {MAX_HEADER_LEN} are allowed)",
            rest.len()
        ));
    }
    let header = usize::try_from(declared)
        .ok()
        .and_then(|n| rest.get(..n))
        .ok_or_else(|| format!("its {declared}-byte header runs past its end"))?;
    let Header(names) =
        serde_json::from_slice(header).map_err(|e| format!("its header is not read: {e}"))?;
    Ok(names
        .into_iter()
        .filter(|name| name != METADATA_KEY)
        .collect())
}

/// A header's top-level keys, in order, every object in it checked for a key named twice.
struct Header(Vec<String>);

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(Unique { top: true })
            .map(Header)
    }
}

/// Visits a JSON value, refusing an object that names a key twice; at the top, returns the
/// object's keys.
#[derive(Clone, Copy)]
struct Unique {
    top: bool,
}

impl<'de> Visitor<'de> for Unique {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.top {
            "a JSON object of tensors"
        } else {
            "a JSON value"
        })
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Nested>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "`{key}` appears twice in {}",
                    if self.top { "the header" } else { "an entry" }
                )));
            }
            map.next_value::<Nested>()?;
            if self.top {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}

/// A value inside the header, checked by [`Unique`] and dropped.
struct Nested;

impl<'de> Deserialize<'de> for Nested {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(Unique { top: false })
            .map(|_| Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use safetensors::tensor::{serialize, TensorView};

    /// `784 -> 16 ...`-like expectations for a `2 -> 3 -> 1` network.
    fn expected() -> Vec<Expected> {
        let e = |name: &str, shape: &[usize], role, layer| Expected {
            name: name.to_owned(),
            shape: shape.to_vec(),
            role,
            layer,
            layer_label: format!("layer {}", layer + 1),
        };
        vec![
            e("0.weight", &[3, 2], TensorRole::Weight, 0),
            e("0.bias", &[3], TensorRole::Bias, 0),
            e("2.weight", &[1, 3], TensorRole::Weight, 1),
            e("2.bias", &[1], TensorRole::Bias, 1),
        ]
    }

    /// A file of `(name, dtype, shape, bytes)` tensors written by the safetensors crate.
    fn file(tensors: &[(&str, StDtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
        let views: HashMap<String, TensorView<'_>> = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                let view = TensorView::new(*dtype, shape.clone(), bytes)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                ((*name).to_owned(), view)
            })
            .collect();
        serialize(views, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn f32s(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn good() -> Vec<(&'static str, StDtype, Vec<usize>, Vec<u8>)> {
        vec![
            (
                "0.weight",
                StDtype::F32,
                vec![3, 2],
                f32s(&[1.0, -2.0, 0.5, 0.25, 3.0, 1e-45]),
            ),
            ("0.bias", StDtype::F32, vec![3], f32s(&[0.0, -0.0, 7.0])),
            ("2.weight", StDtype::F32, vec![1, 3], f32s(&[1.0, 2.0, 3.0])),
            ("2.bias", StDtype::F32, vec![1], f32s(&[-1.0])),
        ]
    }

    fn messages(bytes: &[u8]) -> Vec<String> {
        match read(bytes, &expected()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| p.message).collect(),
        }
    }

    #[test]
    fn a_good_file_reads_bit_for_bit_in_layer_order() {
        let tensors = read(&file(&good()), &expected()).unwrap_or_else(|p| panic!("{p:?}"));
        let names: Vec<_> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
        assert_eq!(tensors[0].values[5].to_bits(), 1e-45f32.to_bits());
        assert_eq!(tensors[1].values[1].to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn every_missing_extra_mistyped_and_misshapen_tensor_is_reported() {
        let mut tensors = good();
        tensors.remove(3); // 2.bias missing
        tensors.push(("9.weight", StDtype::F32, vec![1], f32s(&[0.0])));
        tensors[0].2 = vec![2, 3]; // transposed
        tensors[1].1 = StDtype::I32;
        let got = messages(&file(&tensors));
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(
            got[0].starts_with(
                "tensor `2.bias` is missing: layer 2 needs it for its bias, shape [1]; the file \
                 has `"
            ),
            "{}",
            got[0]
        );
        assert!(got[1].starts_with("tensor `9.weight` is not a parameter of this network"));
        assert!(
            got[2].contains("`0.weight` has shape [2, 3] in the file, but layer 1 needs [3, 2]"),
            "{}",
            got[2]
        );
        assert!(
            got[3].contains("`0.bias` has dtype I32, expected F32, F16, BF16 or F64"),
            "{}",
            got[3]
        );
    }

    #[test]
    fn half_precision_and_double_convert_as_the_loader_converts() {
        let mut tensors = good();
        // 0x3555 is 0.33325195 in F16; bfloat16 is the top half of an f32.
        tensors[1] = (
            "0.bias",
            StDtype::F16,
            vec![3],
            [0x3c00u16, 0x3555, 0x0001]
                .iter()
                .flat_map(|b| b.to_le_bytes())
                .collect(),
        );
        tensors[3] = (
            "2.bias",
            StDtype::BF16,
            vec![1],
            0xc040u16.to_le_bytes().to_vec(),
        );
        let doubles = [0.1f64, f64::from(f32::MAX) * (1.0 + 1e-9), -1e-50];
        tensors[2] = (
            "2.weight",
            StDtype::F64,
            vec![1, 3],
            doubles.iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        let got = read(&file(&tensors), &expected()).unwrap_or_else(|p| panic!("{p:?}"));
        let bits = |k: usize| {
            got[k]
                .values
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bits(1),
            [
                1.0f32.to_bits(),
                0.333_251_95f32.to_bits(),
                2f32.powi(-24).to_bits()
            ]
        );
        assert_eq!(bits(3), [0xc040_0000]);
        // Rounded to nearest: 0.1 to 0.1f32, just above f32::MAX down to it, -1e-50 to -0.
        assert_eq!(
            bits(2),
            [0.1f32.to_bits(), f32::MAX.to_bits(), (-0.0f32).to_bits()]
        );
    }

    #[test]
    fn values_beyond_f32_and_non_finite_ones_are_refused_with_their_index() {
        let mut tensors = good();
        let doubles = [1.0f64, 2.0, -1e300];
        tensors[2] = (
            "2.weight",
            StDtype::F64,
            vec![1, 3],
            doubles.iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        tensors[1] = (
            "0.bias",
            StDtype::F16,
            vec![3],
            [0x3c00u16, 0x7c00, 0]
                .iter()
                .flat_map(|b| b.to_le_bytes())
                .collect(),
        );
        let got = messages(&file(&tensors));
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(
            got[0]
                .contains("`0.bias` holds inf at index 1 ([1]): weights and biases must be finite"),
            "{}",
            got[0]
        );
        assert!(
            got[1].contains("`2.weight` holds -1e300 at index 2 ([0][2]), beyond the range of f32"),
            "{}",
            got[1]
        );
    }

    #[test]
    fn a_key_named_twice_and_a_truncated_file_are_not_safetensors() {
        let header = br#"{"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0; 4]);
        let got = messages(&bytes);
        assert!(
            got[0].contains("`0.bias` appears twice in the header"),
            "{got:?}"
        );
        let got = messages(&[1, 2, 3]);
        assert!(
            got[0].contains("too short for the 8-byte header length"),
            "{got:?}"
        );
        let mut whole = file(&good());
        whole.truncate(whole.len() - 1);
        let got = messages(&whole);
        assert!(
            got[0].contains("the safetensors reader refused it"),
            "{got:?}"
        );
    }

    #[test]
    fn a_buffer_may_be_i64_a_parameter_may_not() {
        let e = |name: &str, shape: &[usize], role| Expected {
            name: name.to_owned(),
            shape: shape.to_vec(),
            role,
            layer: 0,
            layer_label: "layer 1".to_owned(),
        };
        let expected = [
            e("0.weight", &[2], TensorRole::Weight),
            e("0.bias", &[2], TensorRole::Bias),
            e("0.running_mean", &[2], TensorRole::RunningMean),
            e("0.running_var", &[2], TensorRole::RunningVar),
            e("0.num_batches_tracked", &[], TensorRole::NumBatchesTracked),
        ];
        let longs = |v: &[i64]| v.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>();
        let mut tensors = vec![
            ("0.weight", StDtype::F32, vec![2], f32s(&[1.0, 2.0])),
            ("0.bias", StDtype::F32, vec![2], f32s(&[0.5, -0.5])),
            ("0.running_mean", StDtype::I64, vec![2], longs(&[3, -4])),
            ("0.running_var", StDtype::F32, vec![2], f32s(&[1.5, 0.25])),
            ("0.num_batches_tracked", StDtype::I64, vec![], longs(&[7])),
        ];
        let got = read(&file(&tensors), &expected).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(got[2].values, [3.0, -4.0]);
        assert_eq!(got[4].values, [7.0]);
        // The F32 count of older nn files.
        tensors[4] = ("0.num_batches_tracked", StDtype::F32, vec![], f32s(&[7.0]));
        assert!(read(&file(&tensors), &expected).is_ok());
        tensors[4] = (
            "0.num_batches_tracked",
            StDtype::I64,
            vec![],
            longs(&[1 << 25]),
        );
        tensors[0] = ("0.weight", StDtype::I64, vec![2], longs(&[1, 2]));
        tensors[3] = ("0.running_var", StDtype::F32, vec![3], f32s(&[1.0; 3]));
        let got: Vec<_> = match read(&file(&tensors), &expected) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| p.message).collect(),
        };
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(
            got[0].contains(
                "`0.weight` has dtype I64, expected F32, F16, BF16 or F64 (I64 only for a buffer"
            ),
            "{}",
            got[0]
        );
        assert!(
            got[1].contains("`0.running_var` has shape [3] in the file, but layer 1 needs [2]"),
            "{}",
            got[1]
        );
        assert!(
            got[2].contains("`0.num_batches_tracked` holds 3.3554432e7 at index 0, beyond the integers f32 holds exactly"),
            "{}",
            got[2]
        );
    }
}
