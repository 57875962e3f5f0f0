//! The element types a weights file may hold (`F32`, `F64`, `F16`, `BF16`) and the conversions
//! between them and a network's `f32`, with the range checks that keep a value from turning
//! into an infinity on the way; and the `I64` of PyTorch's `num_batches_tracked`, a buffer
//! [`Stored`] reads exactly and [`encode_count`] writes.

use std::fmt;

use half::{bf16, f16};
use safetensors::tensor::Dtype as StDtype;

use crate::scalar::Scalar;

/// The element type of a weights file's tensors: what [`load`](super::load) accepts and what
/// [`save_as`](super::save_as) writes.
///
/// Loading converts every value to the network's `f32`: `F16` and `BF16` exactly (both are
/// subsets of `f32`), `F64` rounded to the nearest `f32` (ties to even), refusing a finite value
/// beyond `f32`'s range with [`WeightsError::OutOfRange`](super::WeightsError::OutOfRange).
/// Saving converts from `f32`: to `F64` exactly, to `F16` and `BF16` rounded to the nearest
/// representable value, ties to even (what PyTorch's `tensor.to(torch.float16)` and
/// `.to(torch.bfloat16)` do), so values below the smallest subnormal become a zero of the same
/// sign; a finite value that would round to an infinity is refused the same way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// IEEE 754 single precision, 4 bytes: the network's own type, saved and loaded bit for bit.
    #[default]
    F32,
    /// IEEE 754 double precision, 8 bytes.
    F64,
    /// IEEE 754 half precision, 2 bytes: 11 significant bits, largest finite value 65504.
    F16,
    /// bfloat16, 2 bytes: `f32`'s range with 8 significant bits.
    BF16,
}

impl Dtype {
    /// Every dtype, in the order messages list them.
    pub const ALL: [Dtype; 4] = [Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F64];

    /// The dtype that holds a network's scalar `T` exactly: `F32` for `f32`, `F64` for `f64`.
    ///
    /// ```
    /// use nn_core::weights::Dtype;
    /// assert_eq!((Dtype::of::<f32>(), Dtype::of::<f64>()), (Dtype::F32, Dtype::F64));
    /// ```
    pub fn of<T: Scalar>() -> Self {
        if wide::<T>() {
            Dtype::F64
        } else {
            Dtype::F32
        }
    }

    /// The name safetensors and its header use: `F32`, `F64`, `F16`, `BF16`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
        }
    }

    /// The bytes of one value.
    #[must_use]
    pub const fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }

    /// The largest finite magnitude the dtype holds: 65504 for `F16`,
    /// 3.3895313892515355e38 for `BF16`, `f32::MAX` and `f64::MAX`.
    #[must_use]
    pub fn max(self) -> f64 {
        match self {
            Dtype::F32 => f64::from(f32::MAX),
            Dtype::F64 => f64::MAX,
            Dtype::F16 => f64::from(f16::MAX),
            Dtype::BF16 => f64::from(bf16::MAX),
        }
    }

    /// The safetensors crate's name for it.
    pub(super) fn to_safetensors(self) -> StDtype {
        match self {
            Dtype::F32 => StDtype::F32,
            Dtype::F64 => StDtype::F64,
            Dtype::F16 => StDtype::F16,
            Dtype::BF16 => StDtype::BF16,
        }
    }

    /// The dtype of a file's tensor, if a network can load it.
    pub(super) fn from_safetensors(dtype: StDtype) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.to_safetensors() == dtype)
    }

    /// The little-endian `bytes` of one value, exactly as an `f64` (every dtype here is a
    /// subset of `f64`); `bytes` is [`size`](Dtype::size) long.
    fn decode(self, bytes: &[u8]) -> f64 {
        let mut b = [0u8; 8];
        let n = self.size().min(bytes.len());
        b[..n].copy_from_slice(&bytes[..n]);
        match self {
            Dtype::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            Dtype::F64 => f64::from_le_bytes(b),
            Dtype::F16 => f64::from(f16::from_bits(u16::from_le_bytes([b[0], b[1]]))),
            Dtype::BF16 => f64::from(bf16::from_bits(u16::from_le_bytes([b[0], b[1]]))),
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The largest integer magnitude up to which `f32` holds every integer exactly: 2^24.
pub(super) const F32_EXACT_INTEGER: i64 = 1 << 24;

/// How a tensor of a file is stored: one of the float [`Dtype`]s, or `I64`, the integer type
/// PyTorch keeps `num_batches_tracked` in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// A float dtype.
    Float(Dtype),
    /// Little-endian signed 64-bit integers.
    I64,
}

impl Stored {
    /// How a file's tensor of `dtype` is stored, if a network can load it.
    pub(super) fn from_safetensors(dtype: StDtype) -> Option<Self> {
        match dtype {
            StDtype::I64 => Some(Stored::I64),
            other => Dtype::from_safetensors(other).map(Stored::Float),
        }
    }

    /// The values of a tensor stored so in `bytes`, as `f32`: [`decode_f32`] for a float
    /// dtype; for `I64`, exactly, refusing a value beyond ±2^24 (where `f32` starts skipping
    /// integers) as [`Unfit::OutOfRange`] with `integer` set.
    pub(super) fn decode(self, bytes: &[u8]) -> Result<Vec<f32>, Unfit> {
        let Stored::Float(dtype) = self else {
            return decode_i64(bytes);
        };
        decode_f32(dtype, bytes)
    }
}

/// `I64` values as `f32`, exactly (see [`Stored::decode`]).
fn decode_i64(bytes: &[u8]) -> Result<Vec<f32>, Unfit> {
    let mut values = Vec::with_capacity(bytes.len() / 8);
    for (index, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let value = i64::from_le_bytes(b);
        if value.unsigned_abs() > F32_EXACT_INTEGER.unsigned_abs() {
            #[allow(clippy::cast_precision_loss)] // For the message only.
            let value = value as f64;
            return Err(Unfit::OutOfRange {
                index,
                value,
                integer: true,
            });
        }
        #[allow(clippy::cast_precision_loss)] // Exact: |value| <= 2^24, checked above.
        values.push(value as f32);
    }
    Ok(values)
}

/// Batch normalisation's step counts `values` as the little-endian bytes of an `I64` tensor,
/// as PyTorch stores `num_batches_tracked`: each the whole, non-negative count
/// [`BatchNorm::batches_tracked`](crate::layer::BatchNorm::batches_tracked) reports (an `f32`
/// count is whole unless a file made it otherwise).
///
/// # Errors
///
/// The first value that is NaN or infinite.
pub(super) fn encode_count(values: &[f32]) -> Result<Vec<u8>, Unfit> {
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for (index, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(Unfit::NotFinite {
                index,
                value: f64::from(v),
            });
        }
        // Whole and within i64: an f32 below 2^63 truncated towards zero (saturating above).
        #[allow(clippy::cast_possible_truncation)]
        let count = v.max(0.0).trunc() as i64;
        bytes.extend_from_slice(&count.to_le_bytes());
    }
    Ok(bytes)
}

/// Why a value could not be converted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Unfit {
    /// The value is NaN or infinite.
    NotFinite {
        /// Its index in the tensor.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The value is finite but beyond the target type's range (or, for an integer, beyond
    /// the ±2^24 in which `f32` holds it exactly).
    OutOfRange {
        /// Its index in the tensor.
        index: usize,
        /// The value.
        value: f64,
        /// Whether it is an `I64` tensor's integer.
        integer: bool,
    },
}

/// The values of a tensor of `dtype` stored in `bytes` (little-endian, a whole number of
/// values), converted to `f32`: rounded to nearest, ties to even, for `F64`, exact otherwise.
///
/// # Errors
///
/// The first value that is not finite, or that is finite but beyond `f32`'s range.
pub(super) fn decode_f32(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, Unfit> {
    let mut values = Vec::with_capacity(bytes.len() / dtype.size());
    for (index, chunk) in bytes.chunks_exact(dtype.size()).enumerate() {
        let value = dtype.decode(chunk);
        if !value.is_finite() {
            return Err(Unfit::NotFinite { index, value });
        }
        #[allow(clippy::cast_possible_truncation)] // Rounding to f32 is the point; checked below.
        let narrow = value as f32;
        if narrow.is_infinite() {
            return Err(Unfit::OutOfRange {
                index,
                value,
                integer: false,
            });
        }
        values.push(narrow);
    }
    Ok(values)
}

/// `values` as the little-endian bytes of a tensor of `dtype` (rounding as the [`Dtype`] docs
/// say).
///
/// # Errors
///
/// The first value that is not finite, or that would round to an infinity in `dtype`.
pub(super) fn encode_f32(dtype: Dtype, values: &[f32]) -> Result<Vec<u8>, Unfit> {
    let mut bytes = Vec::with_capacity(values.len() * dtype.size());
    for (index, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(Unfit::NotFinite {
                index,
                value: f64::from(v),
            });
        }
        let out_of_range = Unfit::OutOfRange {
            index,
            value: f64::from(v),
            integer: false,
        };
        match dtype {
            Dtype::F32 => bytes.extend_from_slice(&v.to_le_bytes()),
            Dtype::F64 => bytes.extend_from_slice(&f64::from(v).to_le_bytes()),
            Dtype::F16 => {
                let h = f16::from_f32(v);
                if h.is_infinite() {
                    return Err(out_of_range);
                }
                bytes.extend_from_slice(&h.to_bits().to_le_bytes());
            }
            Dtype::BF16 => {
                let h = bf16::from_f32(v);
                if h.is_infinite() {
                    return Err(out_of_range);
                }
                bytes.extend_from_slice(&h.to_bits().to_le_bytes());
            }
        }
    }
    Ok(bytes)
}

/// The values of a tensor of `dtype` stored in `bytes`, converted to `f64`: exactly, whatever
/// the dtype (every one is a subset of `f64`).
///
/// # Errors
///
/// The first value that is not finite.
pub(super) fn decode_f64(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f64>, Unfit> {
    let mut values = Vec::with_capacity(bytes.len() / dtype.size());
    for (index, chunk) in bytes.chunks_exact(dtype.size()).enumerate() {
        let value = dtype.decode(chunk);
        if !value.is_finite() {
            return Err(Unfit::NotFinite { index, value });
        }
        values.push(value);
    }
    Ok(values)
}

/// `values` of an `f64` network as the little-endian bytes of a tensor of `dtype`: exact for
/// `F64`, rounded to the nearest value of `dtype` (ties to even, in one rounding) otherwise.
///
/// # Errors
///
/// The first value that is not finite, or that would round to an infinity in `dtype`.
pub(super) fn encode_f64(dtype: Dtype, values: &[f64]) -> Result<Vec<u8>, Unfit> {
    let mut bytes = Vec::with_capacity(values.len() * dtype.size());
    for (index, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(Unfit::NotFinite { index, value: v });
        }
        let out_of_range = Unfit::OutOfRange {
            index,
            value: v,
            integer: false,
        };
        match dtype {
            Dtype::F64 => bytes.extend_from_slice(&v.to_le_bytes()),
            Dtype::F32 => {
                #[allow(clippy::cast_possible_truncation)] // Rounding is the point; checked.
                let narrow = v as f32;
                if narrow.is_infinite() {
                    return Err(out_of_range);
                }
                bytes.extend_from_slice(&narrow.to_le_bytes());
            }
            Dtype::F16 => {
                let h = f16::from_f64(v);
                if h.is_infinite() {
                    return Err(out_of_range);
                }
                bytes.extend_from_slice(&h.to_bits().to_le_bytes());
            }
            Dtype::BF16 => {
                let h = bf16::from_f64(v);
                if h.is_infinite() {
                    return Err(out_of_range);
                }
                bytes.extend_from_slice(&h.to_bits().to_le_bytes());
            }
        }
    }
    Ok(bytes)
}

/// Whether `T` is `f64`: a weights file then converts to and from `f64` in one step.
fn wide<T: Scalar>() -> bool {
    T::NAME == <f64 as Scalar>::NAME
}

/// A tensor stored as `stored` in `bytes`, as a network of scalar `T` holds it:
/// [`Stored::decode`] for `f32`, [`decode_f64`] for `f64` (where `I64` counts never occur:
/// an `f64` network has no batch normalisation).
pub(super) fn decode_as<T: Scalar>(stored: Stored, bytes: &[u8]) -> Result<Vec<T>, Unfit> {
    match stored {
        Stored::Float(dtype) if wide::<T>() => Ok(decode_f64(dtype, bytes)?
            .into_iter()
            .map(T::from_f64)
            .collect()),
        _ => Ok(stored.decode(bytes)?.into_iter().map(T::from_f32).collect()),
    }
}

/// A network's tensor of scalar `T` as the bytes of a tensor of `dtype`: [`encode_f32`] or
/// [`encode_f64`].
pub(super) fn encode_as<T: Scalar>(dtype: Dtype, values: &[T]) -> Result<Vec<u8>, Unfit> {
    if wide::<T>() {
        let values: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        encode_f64(dtype, &values)
    } else {
        let values: Vec<f32> = values.iter().map(|v| v.to_f32()).collect();
        encode_f32(dtype, &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `F16`/`BF16` bit patterns.
    fn halves(bits: &[u16]) -> Vec<u8> {
        bits.iter().flat_map(|b| b.to_le_bytes()).collect()
    }

    #[test]
    fn half_precision_decodes_exactly() {
        // By hand from IEEE 754 binary16: sign, 5 exponent bits (bias 15), 10 fraction bits.
        let f16_bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555];
        let expected = [1.0, -2.0, 65504.0, 2f32.powi(-24), -0.0, 0.333_251_95];
        let got = decode_f32(Dtype::F16, &halves(&f16_bits)).expect("finite");
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            expected
                .iter()
                .map(|v: &f32| v.to_bits())
                .collect::<Vec<_>>()
        );
        // bfloat16 is the top half of an f32.
        let bf16_bits = [0x3f80, 0xc040, 0x7f7f, 0x0001];
        let got = decode_f32(Dtype::BF16, &halves(&bf16_bits)).expect("finite");
        for (g, b) in got.iter().zip(bf16_bits) {
            assert_eq!(g.to_bits(), u32::from(b) << 16);
        }
    }

    #[test]
    fn non_finite_and_out_of_range_values_are_found_with_their_index() {
        let e = decode_f32(Dtype::F16, &halves(&[0x3c00, 0x7c00])).expect_err("inf");
        assert_eq!(
            e,
            Unfit::NotFinite {
                index: 1,
                value: f64::INFINITY
            }
        );
        let doubles: Vec<u8> = [1.0f64, -1e300, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = decode_f32(Dtype::F64, &doubles).expect_err("too large");
        assert_eq!(
            e,
            Unfit::OutOfRange {
                index: 1,
                value: -1e300,
                integer: false
            }
        );
        // f32::MAX itself fits, and so does a double just above it that rounds down to it.
        let edge: Vec<u8> = [f64::from(f32::MAX), f64::from(f32::MAX) * (1.0 + 1e-9)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode_f32(Dtype::F64, &edge), Ok(vec![f32::MAX, f32::MAX]));
        // 65520 is the midpoint between 65504 and the next step: it rounds (to even) to inf.
        assert_eq!(
            encode_f32(Dtype::F16, &[1.0, 65519.0, 65520.0]),
            Err(Unfit::OutOfRange {
                index: 2,
                value: 65520.0,
                integer: false
            })
        );
        assert_eq!(
            encode_f32(Dtype::BF16, &[f32::MAX]),
            Err(Unfit::OutOfRange {
                index: 0,
                value: f64::from(f32::MAX),
                integer: false
            })
        );
    }

    #[test]
    fn encoding_rounds_to_nearest_even() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10 in F16: to even, 1. 1 + 3 * 2^-11 is
        // halfway between 1 + 2^-10 and 1 + 2^-9: to even, 1 + 2^-9.
        let bytes = encode_f32(
            Dtype::F16,
            &[1.0 + 2f32.powi(-11), 1.0 + 3.0 * 2f32.powi(-11), 1e-9],
        )
        .expect("in range");
        assert_eq!(bytes, halves(&[0x3c00, 0x3c02, 0x0000]));
        // bfloat16 keeps 7 fraction bits: 1 + 2^-8 ties to 1, 1 + 3 * 2^-8 to 1 + 2^-6.
        let bytes = encode_f32(
            Dtype::BF16,
            &[1.0 + 2f32.powi(-8), 1.0 + 3.0 * 2f32.powi(-8)],
        )
        .expect("in range");
        assert_eq!(bytes, halves(&[0x3f80, 0x3f82]));
        // F64 is exact both ways.
        let v = [0.1f32, -f32::MAX, 1e-45];
        let bytes = encode_f32(Dtype::F64, &v).expect("in range");
        assert_eq!(decode_f32(Dtype::F64, &bytes), Ok(v.to_vec()));
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(Dtype::default(), Dtype::F32);
        let names: Vec<String> = Dtype::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["F32", "F16", "BF16", "F64"]);
        for d in Dtype::ALL {
            assert_eq!(d.size() * 8, d.to_safetensors().bitsize());
            assert_eq!(Dtype::from_safetensors(d.to_safetensors()), Some(d));
        }
        assert_eq!(Dtype::from_safetensors(StDtype::I64), None);
        assert_eq!(Stored::from_safetensors(StDtype::I64), Some(Stored::I64));
        assert_eq!(
            Stored::from_safetensors(StDtype::BF16),
            Some(Stored::Float(Dtype::BF16))
        );
        assert_eq!(Stored::from_safetensors(StDtype::I32), None);
        assert_eq!(Dtype::F16.max(), 65504.0);
    }

    fn longs(values: &[i64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn integers_within_two_to_the_24_decode_exactly() {
        let edge = [0, 1, -7, 16_777_215, 16_777_216, -16_777_216];
        assert_eq!(
            Stored::I64.decode(&longs(&edge)),
            Ok(vec![
                0.0,
                1.0,
                -7.0,
                16_777_215.0,
                16_777_216.0,
                -16_777_216.0
            ])
        );
        // 2^24 + 1 is the first integer f32 cannot hold: refused, not rounded to 2^24.
        assert_eq!(
            Stored::I64.decode(&longs(&[3, 16_777_217])),
            Err(Unfit::OutOfRange {
                index: 1,
                value: 16_777_217.0,
                integer: true
            })
        );
        assert!(matches!(
            Stored::I64.decode(&longs(&[i64::MIN])),
            Err(Unfit::OutOfRange {
                index: 0,
                integer: true,
                ..
            })
        ));
    }

    #[test]
    fn counts_encode_as_whole_longs() {
        assert_eq!(
            encode_count(&[0.0, 37.0, 16_777_216.0]),
            Ok(longs(&[0, 37, 16_777_216]))
        );
        assert_eq!(
            encode_count(&[1.0, f32::NAN])
                .map_err(|e| matches!(e, Unfit::NotFinite { index: 1, .. })),
            Err(true)
        );
        // Read back exactly.
        let bytes = encode_count(&[12.0]).unwrap_or_default();
        assert_eq!(Stored::I64.decode(&bytes), Ok(vec![12.0]));
    }
}
