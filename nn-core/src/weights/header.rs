//! The JSON header of a safetensors file, read and checked here before the safetensors crate
//! sees it: duplicate keys are refused (a JSON parser keeps the last), and every tensor's
//! byte range is checked against its dtype, its shape, its neighbours and the length of the
//! data, with messages that name the tensor and the numbers.

use std::collections::BTreeSet;
use std::fmt;

use safetensors::tensor::Dtype as StDtype;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error::WeightsError;

/// The key of the header's free-form string metadata.
const METADATA_KEY: &str = "__metadata__";

/// One tensor's entry in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The tensor's name, e.g. `2.weight`.
    pub(super) name: String,
    /// Its dtype.
    pub(super) dtype: StDtype,
    /// Its shape.
    pub(super) shape: Vec<usize>,
    /// Its byte range in the data section: `begin..end`.
    pub(super) begin: usize,
    /// The end of its byte range (exclusive).
    pub(super) end: usize,
}

/// A header whose tensors are known to tile the data section exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// The tensors in file order (by offset).
    pub(super) tensors: Vec<Entry>,
}

impl Header {
    /// The tensor called `name`.
    pub(super) fn get(&self, name: &str) -> Option<&Entry> {
        self.tensors.iter().find(|e| e.name == name)
    }

    /// The tensors' names in file order.
    pub(super) fn names(&self) -> Vec<String> {
        self.tensors.iter().map(|e| e.name.clone()).collect()
    }
}

/// A JSON value read with every object's keys checked to be distinct.
struct Unique(Value);

/// The custom error a duplicate key raises, recognised by its category (`Data`) afterwards.
fn duplicate<E: de::Error>(key: &str, object: &str) -> E {
    E::custom(format_args!("`{key}` appears twice in {object}"))
}

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueVisitor { depth: 0 })
            .map(Unique)
    }
}

/// Builds a [`Value`], refusing an object that names a key twice. `depth` 0 is the header
/// object itself, 1 a tensor's entry or the metadata.
struct UniqueVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(Unique(v)) = seq.next_element_seed(UniqueSeed {
            depth: self.depth + 1,
        })? {
            values.push(v);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let object = if self.depth == 0 {
                    "the header"
                } else {
                    "an entry of the header"
                };
                return Err(duplicate(&key, object));
            }
            let Unique(value) = map.next_value_seed(UniqueSeed {
                depth: self.depth + 1,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// [`Unique`] at a given depth.
struct UniqueSeed {
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for UniqueSeed {
    type Value = Unique;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Unique, D::Error> {
        deserializer
            .deserialize_any(UniqueVisitor { depth: self.depth })
            .map(Unique)
    }
}

/// A format error about the header that is valid JSON but not a safetensors header.
fn not_a_header(what: String) -> WeightsError {
    WeightsError::format(format!(
        "its header is valid JSON but not a safetensors header: {what}"
    ))
}

/// A non-negative integer that fits in a `usize`, or `None`.
fn as_usize(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|v| usize::try_from(v).ok())
}

/// `[1, 2]`, for messages.
fn shown_pair(begin: usize, end: usize) -> String {
    format!("[{begin}, {end}]")
}

/// One tensor's entry, read from its JSON object.
fn entry(name: &str, value: &Value) -> Result<Entry, WeightsError> {
    let object = value.as_object().ok_or_else(|| {
        not_a_header(format!(
            "the entry of tensor `{name}` is {value}, not an object with `dtype`, `shape` and \
             `data_offsets`"
        ))
    })?;
    let field = |key: &str| {
        object
            .get(key)
            .ok_or_else(|| not_a_header(format!("the entry of tensor `{name}` has no `{key}`")))
    };
    let dtype_value = field("dtype")?;
    let dtype = match dtype_value {
        Value::String(_) => {
            serde_json::from_value::<StDtype>(dtype_value.clone()).map_err(|_| {
                not_a_header(format!(
                    "tensor `{name}` has dtype {dtype_value}, which safetensors does not know"
                ))
            })?
        }
        other => {
            return Err(not_a_header(format!(
                "tensor `{name}` has dtype {other}, not a string such as \"F32\""
            )))
        }
    };
    let shape_value = field("shape")?;
    let shape = shape_value
        .as_array()
        .and_then(|dims| dims.iter().map(as_usize).collect::<Option<Vec<usize>>>())
        .ok_or_else(|| {
            not_a_header(format!(
                "tensor `{name}` has shape {shape_value}, not a list of sizes"
            ))
        })?;
    let offsets_value = field("data_offsets")?;
    let offsets = offsets_value
        .as_array()
        .and_then(|pair| pair.iter().map(as_usize).collect::<Option<Vec<usize>>>())
        .filter(|pair| pair.len() == 2);
    let Some(&[begin, end]) = offsets.as_deref() else {
        return Err(not_a_header(format!(
            "tensor `{name}` has data_offsets {offsets_value}, not two byte positions [begin, end]"
        )));
    };
    Ok(Entry {
        name: name.to_owned(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// The number of bytes a tensor of `dtype` and `shape` holds, or `None` if that overflows or
/// is not a whole number of bytes.
pub(super) fn byte_len(dtype: StDtype, shape: &[usize]) -> Option<usize> {
    let bits = shape
        .iter()
        .try_fold(dtype.bitsize(), |n, &d| n.checked_mul(d))?;
    (bits % 8 == 0).then_some(bits / 8)
}

/// Reads the JSON `header` of a safetensors file whose data section is `data_len` bytes long,
/// and checks that its tensors tile the data section exactly: in offset order, each tensor's
/// range starts where the previous one ended (the first at 0), is as long as its dtype and
/// shape need, and the last one ends at `data_len`.
///
/// # Errors
///
/// [`WeightsError::Format`]: for a header that is not JSON (with the parser's error as the
/// source), that names a key twice, that is JSON but not a safetensors header, or whose
/// offsets do not tile the data; each message names the tensor and the numbers.
pub(super) fn parse(header: &[u8], data_len: u64) -> Result<Header, WeightsError> {
    let Unique(value) =
        serde_json::from_slice::<Unique>(header).map_err(|e| match e.classify() {
            // Only a duplicate key raises a custom (data) error while building a value.
            serde_json::error::Category::Data => WeightsError::format(format!(
                "its header names a key twice: {e}; each tensor must have exactly one entry"
            )),
            _ => WeightsError::Format {
                file: None,
                reason: format!("its header is not valid JSON: {e}"),
                source: Some(Box::new(e)),
            },
        })?;
    let Value::Object(object) = value else {
        return Err(not_a_header(format!(
            "it is {}, not an object mapping tensor names to entries",
            kind_of(&value)
        )));
    };
    let mut tensors = Vec::with_capacity(object.len());
    for (name, value) in &object {
        if name == METADATA_KEY {
            check_metadata(value)?;
        } else {
            tensors.push(entry(name, value)?);
        }
    }
    check_offsets(&mut tensors, data_len)?;
    Ok(Header { tensors })
}

/// `an array`, `a number`, ... for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `__metadata__` entry must map names to strings.
fn check_metadata(value: &Value) -> Result<(), WeightsError> {
    let Value::Object(entries) = value else {
        return Err(not_a_header(format!(
            "its `{METADATA_KEY}` is {}, not an object of strings",
            kind_of(value)
        )));
    };
    for (key, entry) in entries {
        if !entry.is_string() {
            return Err(not_a_header(format!(
                "its `{METADATA_KEY}` entry `{key}` is {}, not a string",
                kind_of(entry)
            )));
        }
    }
    Ok(())
}

/// Sorts `tensors` by offset and checks that they tile the `data_len` bytes of data.
fn check_offsets(tensors: &mut [Entry], data_len: u64) -> Result<(), WeightsError> {
    tensors.sort_by_key(|e| (e.begin, e.end));
    let mut previous: Option<&Entry> = None;
    let mut names = BTreeSet::new();
    for e in tensors.iter() {
        names.insert(e.name.as_str());
        let offsets = shown_pair(e.begin, e.end);
        if e.end < e.begin {
            return Err(WeightsError::format(format!(
                "tensor `{}` has data_offsets {offsets}, which end before they begin (the data \
                 section is {data_len} bytes)",
                e.name
            )));
        }
        let needed = byte_len(e.dtype, &e.shape);
        if needed != Some(e.end - e.begin) {
            return Err(WeightsError::format(format!(
                "tensor `{}` has data_offsets {offsets}, {} bytes, but its shape {:?} of {} \
                 needs {} (the data section is {data_len} bytes)",
                e.name,
                e.end - e.begin,
                e.shape,
                e.dtype,
                needed.map_or_else(
                    || "a size that overflows or is not a whole number of bytes".to_owned(),
                    |n| n.to_string()
                ),
            )));
        }
        let start = previous.map_or(0, |p| p.end);
        if e.begin != start {
            let before = match previous {
                Some(p) => format!(
                    "the tensor before it, `{}`, ends at byte {start} (data_offsets {})",
                    p.name,
                    shown_pair(p.begin, p.end)
                ),
                None => "the data section starts at byte 0".to_owned(),
            };
            let problem = if e.begin > start {
                format!("leaving bytes {start}..{} unused", e.begin)
            } else {
                "so the two overlap".to_owned()
            };
            return Err(WeightsError::format(format!(
                "tensor `{}` has data_offsets {offsets}, but {before}, {problem}; tensors must \
                 fill the {data_len}-byte data section one after another",
                e.name
            )));
        }
        previous = Some(e);
    }
    let described = previous.map_or(0, |p| p.end) as u64;
    if described != data_len {
        let last = previous.map_or_else(String::new, |p| {
            format!(
                " (the last tensor, `{}`, has data_offsets {})",
                p.name,
                shown_pair(p.begin, p.end)
            )
        });
        return Err(WeightsError::format(format!(
            "its header describes {described} bytes of tensor data, but {data_len} bytes follow \
             the header{last}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_test_support::{assert_mentions, error_of};

    fn parsed(header: &str, data_len: u64) -> Result<Header, WeightsError> {
        parse(header.as_bytes(), data_len)
    }

    #[test]
    fn a_sound_header_is_read_in_offset_order() -> Result<(), Box<dyn std::error::Error>> {
        let h = parsed(
            r#"{"__metadata__":{"a":"b"},
                "w":{"dtype":"F16","shape":[2,3],"data_offsets":[4,16]},
                "b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            16,
        )?;
        assert_eq!(h.names(), ["b", "w"]);
        let w = h.get("w").ok_or("no w")?;
        assert_eq!(
            (w.dtype, &w.shape[..], w.begin, w.end),
            (StDtype::F16, &[2, 3][..], 4, 16)
        );
        assert!(parsed("{}", 0)?.tensors.is_empty());
        Ok(())
    }

    #[test]
    fn duplicate_keys_are_refused_at_every_level() -> Result<(), Box<dyn std::error::Error>> {
        let e = error_of(parsed(
            r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            8,
        ))?;
        assert_mentions(
            &e.to_string(),
            &["names a key twice", "`b` appears twice in the header"],
        );
        let e = error_of(parsed(
            r#"{"b":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,4]}}"#,
            4,
        ))?;
        assert_mentions(&e.to_string(), &["`shape` appears twice in an entry"]);
        let e = error_of(parsed(r#"{"__metadata__":{"k":"1","k":"2"}}"#, 0))?;
        assert_mentions(&e.to_string(), &["`k` appears twice"]);
        Ok(())
    }

    #[test]
    fn valid_json_is_never_called_invalid_json() -> Result<(), Box<dyn std::error::Error>> {
        for (header, expected) in [
            ("[1, 2]", "it is an array, not an object"),
            (r#"{"a": 1}"#, "the entry of tensor `a` is 1, not an object"),
            (
                r#"{"a": {"shape": [], "data_offsets": [0, 0]}}"#,
                "tensor `a` has no `dtype`",
            ),
            (
                r#"{"a": {"dtype": "F128", "shape": [], "data_offsets": [0, 16]}}"#,
                "dtype \"F128\", which safetensors does not know",
            ),
            (
                r#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
                "shape [-1], not a list of sizes",
            ),
            (
                r#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#,
                "data_offsets [0], not two byte positions",
            ),
            (
                r#"{"__metadata__": {"k": 1}}"#,
                "entry `k` is a number, not a string",
            ),
        ] {
            let e = error_of(parsed(header, 4))?;
            let message = e.to_string();
            assert_mentions(
                &message,
                &["valid JSON but not a safetensors header", expected],
            );
            assert!(!message.contains("not valid JSON"), "{message}");
        }
        let e = error_of(parsed("{oops", 0))?;
        assert_mentions(&e.to_string(), &["its header is not valid JSON", "line 1"]);
        Ok(())
    }

    #[test]
    fn offsets_are_checked_with_the_tensor_and_the_numbers(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cases = [
            (
                r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
                "tensor `b` has data_offsets [4, 8], but the data section starts at byte 0, \
                 leaving bytes 0..4 unused; tensors must fill the 8-byte data section",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                    "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
                "tensor `b` has data_offsets [4, 8], but the tensor before it, `a`, ends at byte \
                 8 (data_offsets [0, 8]), so the two overlap",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                8,
                "tensor `a` has data_offsets [0, 8], 8 bytes, but its shape [3] of F32 needs 12 \
                 (the data section is 8 bytes)",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#,
                8,
                "tensor `a` has data_offsets [8, 4], which end before they begin",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                6,
                "describes 4 bytes of tensor data, but 6 bytes follow the header (the last \
                 tensor, `a`, has data_offsets [0, 4])",
            ),
        ];
        for (header, data_len, expected) in cases {
            let e = error_of(parsed(header, data_len))?;
            assert!(matches!(e, WeightsError::Format { .. }), "{e:?}");
            assert_mentions(&e.to_string(), &[expected]);
        }
        Ok(())
    }
}
