//! Saving and loading a network's weights as [safetensors](https://huggingface.co/docs/safetensors),
//! in the layout PyTorch's `nn.Sequential` of `nn.Linear` layers uses, so a network trained here
//! loads in PyTorch with one call (and the other way round).
//!
//! ```
//! # fn main() -> Result<(), nn_core::weights::WeightsError> {
//! # struct Digits(nn_core::Dense<nn_core::typenum::U2, nn_core::typenum::U1, nn_core::Sigmoid>);
//! # // A stand-in for `nn::network! { struct Digits: 2 -> 1 sigmoid; }`.
//! # impl nn_core::Network for Digits {
//! #     const INPUT: usize = 2;
//! #     const OUTPUT: usize = 1;
//! #     const WIDTHS: &'static [usize] = &[1];
//! #     const LAYER_NAMES: &'static [&'static str] = &["layer1"];
//! #     const ACTIVATIONS: &'static [&'static str] = &["sigmoid"];
//! #     const LAYERS: &'static [nn_core::LayerShape] =
//! #         &[nn_core::LayerShape::dense("layer1", 2, 1, nn_core::ActivationKind::Sigmoid)];
//! #     const DECLARATION: &'static str = "2 -> 1 sigmoid";
//! #     type Input = [f32; 2];
//! #     type Output = [f32; 1];
//! #     type OutputActivation = nn_core::Sigmoid;
//! #     fn zeros() -> Self { Digits(nn_core::Dense::zeros()) }
//! #     fn parameters(&self) -> impl Iterator<Item = &[f32]> { self.0.parameters().into_iter() }
//! #     fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
//! #         self.0.parameters_mut().into_iter()
//! #     }
//! #     fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
//! #         let mut out = Default::default();
//! #         self.0.forward(nn_core::generic_array::GenericArray::from_slice(x), &mut out);
//! #         out.into_array()
//! #     }
//! #     fn forward_batch(&self, x: &[[f32; 2]], y: &mut [[f32; 1]],
//! #         _: &mut nn_core::Workspace<Self>) -> Result<(), nn_core::Error> {
//! #         for (x, y) in x.iter().zip(y) { *y = self.forward(x); }
//! #         Ok(())
//! #     }
//! # }
//! use nn_core::{weights, Network};
//!
//! let mut net = Digits::zeros();
//! net.0.set_weights(&[[0.5, -1.5]]);
//! let bytes = weights::to_bytes(&net)?; // or weights::save(&net, "digits.safetensors")?
//! let copy: Digits = weights::from_bytes(&bytes)?; // or weights::load("digits.safetensors")?
//! assert_eq!(copy.0.weights()[0][1], -1.5);
//! # Ok(())
//! # }
//! ```
//!
//! # The file
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each tensor
//! with its dtype, shape and byte range, then the raw tensor data. A network's file holds two
//! tensors per layer, all `F32` (little-endian), named after the layer's index in
//! `nn.Sequential(Linear, Activation, Linear, Activation, ..., Linear)`: layer `k`, counting
//! from 0, is module `2k` there, because each activation module sits between two linear ones.
//! For `784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax`:
//!
//! | tensor | shape | holds |
//! | --- | --- | --- |
//! | `0.weight` | `[16, 784]` | layer 1's weights, row `o` = neuron `o`'s 784 input weights |
//! | `0.bias` | `[16]` | layer 1's biases |
//! | `2.weight` | `[16, 16]` | layer 2's weights |
//! | `2.bias` | `[16]` | layer 2's biases |
//! | `4.weight` | `[10, 16]` | the output layer's weights |
//! | `4.bias` | `[10]` | the output layer's biases |
//!
//! A weight tensor is `[out, in]`, row-major: weight `w[o][i]` (neuron `o`, input `i`) is
//! element `o * in + i`. That is both how [`Dense`](crate::Dense) stores its weights and how
//! `nn.Linear.weight` does, so nothing is transposed on the way in or out. Layer names given in
//! the declaration (`2 -> hidden: 3 tanh -> out: 1 sigmoid`) do not change the tensor names:
//! PyTorch's `nn.Sequential` knows its layers by number.
//!
//! The header's `__metadata__` holds one entry, `nn.network`, the network's declaration as
//! `network!` reads it, e.g. `"784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax"` (layer names are
//! included where they are not the default `layerN`). It is for people and tools reading the
//! file; loading does not require it, so files written by PyTorch load too. One entry keeps the
//! file reproducible: the same weights always give the same bytes.
//!
//! # Loading the file in PyTorch
//!
//! ```python
//! from torch import nn
//! from safetensors.torch import load_file
//!
//! model = nn.Sequential(
//!     nn.Linear(784, 16), nn.Sigmoid(),
//!     nn.Linear(16, 16), nn.Sigmoid(),
//!     nn.Linear(16, 10), nn.Softmax(dim=-1),
//! )
//! model.load_state_dict(load_file("mnist.safetensors"))
//! ```
//!
//! `scripts/check_pytorch.py` runs exactly this on the test fixture with PyTorch 2.15 and
//! compares PyTorch's outputs with nn's (they agree to 3e-8).
//!
//! [`pytorch_sequential`] writes the `nn.Sequential(...)` expression for any network. The
//! activations map to `nn.Sigmoid()`, `nn.Tanh()`, `nn.ReLU()`, `nn.Softplus()`,
//! `nn.Identity()` (for `linear`, to keep the module numbering) and `nn.Softmax(dim=-1)`;
//! `step` has no PyTorch module, so define one: `class Step(nn.Module): forward = lambda self,
//! x: (x > 0).float()`. In the other direction, `save_file(model.state_dict(), path)` from
//! `safetensors.torch` writes a file that [`load`] reads into the matching network (save a
//! `float32` model; `load` wants `F32` tensors).
//!
//! # Guarantees
//!
//! - Loading never panics on a file's contents: every problem is a [`WeightsError`] that names
//!   the tensor and says what was expected and what was found (and, for [`load`] and
//!   [`load_into`], the file).
//! - Loading is all or nothing: [`load_into`] and [`from_bytes_into`] check every tensor's name,
//!   dtype, shape and values before writing a single weight, so on error the network is as it
//!   was. Every value must be finite; a NaN or an infinity is refused.
//! - A file is read in two steps: the header first, checked against the network, then the data,
//!   so a file of some other, much larger model is refused without reading it all.
//! - [`save`] writes to a temporary file in the same folder and renames it over the target, so
//!   an existing file is either replaced whole or left as it was. It refuses to write non-finite
//!   weights, which [`load`] would refuse to read back.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, Metadata, SafeTensors, TensorView};
use safetensors::SafeTensorError;

use crate::network::Network;

/// The `__metadata__` key under which a file records the network's declaration.
pub const NETWORK_KEY: &str = "nn.network";

/// The largest header the safetensors format allows, in bytes (the limit of the reference
/// implementation).
const MAX_HEADER_LEN: u64 = 100_000_000;

/// The length of the header-length prefix, in bytes.
const PREFIX_LEN: usize = 8;

/// The bytes of one `F32` value.
const F32_LEN: usize = 4;

/// An underlying error, kept as the [`source`](std::error::Error::source) of a [`WeightsError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong saving or loading weights.
///
/// The variants about a file's contents carry `file`: the path for [`load`] and [`load_into`],
/// `None` for bytes in memory. Messages start in lower case and end without a period, so they
/// can be embedded in other messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be opened or read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file (or its temporary sibling) could not be written or renamed into place. An
    /// existing file at `path` is left as it was.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The data is not a safetensors file, or its header is corrupt or does not match the data
    /// that follows it.
    #[error("{} not a valid safetensors file: {reason}", subject(.file))]
    Format {
        /// The file, if the data came from one.
        file: Option<PathBuf>,
        /// What is wrong, in words.
        reason: String,
        /// The underlying error (the JSON parser's, or the safetensors crate's), if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A tensor the network needs is not in the file.
    #[error("tensor `{name}`{} is missing: {}", in_file(.file), file_has(.found))]
    MissingTensor {
        /// The missing tensor's name, e.g. `2.weight`.
        name: String,
        /// The names of the tensors the file does have, in file order.
        found: Vec<String>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// The file has a tensor the network does not: it was saved from a larger network, or
    /// under names other than `nn.Sequential`'s.
    #[error(
        "tensor `{name}`{} is not a parameter of this network, which has exactly {}",
        in_file(.file),
        name_list(.expected)
    )]
    UnexpectedTensor {
        /// The unexpected tensor's name.
        name: String,
        /// The names of the network's tensors.
        expected: Vec<String>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A tensor is not `F32`.
    #[error("tensor `{name}`{} has dtype {found}, expected F32", in_file(.file))]
    Dtype {
        /// The tensor's name.
        name: String,
        /// The dtype in the file, as safetensors names it (`F64`, `BF16`, ...).
        found: String,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A tensor's shape is not the layer's: `[out, in]` for weights, `[out]` for biases.
    #[error(
        "tensor `{name}`{} has shape {found:?}, expected {expected:?}{}",
        in_file(.file),
        transposed_hint(.found, .expected)
    )]
    Shape {
        /// The tensor's name.
        name: String,
        /// The shape the network needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// A weight or bias is NaN or infinite (in a file being loaded, or in a network being
    /// saved).
    #[error(
        "tensor `{name}`{} holds {value} at index {index}{}: weights and biases must be finite",
        in_file(.file),
        position(*.index, .shape)
    )]
    NotFinite {
        /// The tensor's name.
        name: String,
        /// The value's index in the tensor's row-major data.
        index: usize,
        /// The value: NaN, `inf` or `-inf`.
        value: f32,
        /// The tensor's shape, to turn `index` into a row and a column.
        shape: Vec<usize>,
        /// The file, if the data came from one.
        file: Option<PathBuf>,
    },

    /// The safetensors encoder refused the network's tensors (which a network generated by
    /// `network!` never causes).
    #[error("cannot encode the network as safetensors: {reason}")]
    Encode {
        /// What is wrong, in words.
        reason: String,
        /// The safetensors crate's error, if it reported one.
        #[source]
        source: Option<BoxError>,
    },
}

impl WeightsError {
    /// Records the file a content error was found in.
    fn with_file(mut self, path: &Path) -> Self {
        match &mut self {
            Self::Format { file, .. }
            | Self::MissingTensor { file, .. }
            | Self::UnexpectedTensor { file, .. }
            | Self::Dtype { file, .. }
            | Self::Shape { file, .. }
            | Self::NotFinite { file, .. } => *file = Some(path.to_path_buf()),
            Self::Read { .. } | Self::Write { .. } | Self::Encode { .. } => {}
        }
        self
    }

    /// A format error without a cause from the safetensors crate.
    fn format(reason: String) -> Self {
        Self::Format {
            file: None,
            reason,
            source: None,
        }
    }
}

/// "`path` is" or "the data is", the subject of a format error.
fn subject(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!("{} is", path.display()),
        None => "the data is".to_owned(),
    }
}

/// " in `path`", or nothing for data in memory.
fn in_file(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!(" in {}", path.display()),
        None => String::new(),
    }
}

/// "`a`, `b`, `c`".
fn name_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// What a file with the tensors `found` has, for a missing-tensor message.
fn file_has(found: &[String]) -> String {
    if found.is_empty() {
        "the file has no tensors".to_owned()
    } else {
        format!("the file has {}", name_list(found))
    }
}

/// A hint when a weight tensor is the transpose of the expected one.
fn transposed_hint(found: &[usize], expected: &[usize]) -> &'static str {
    if found.len() == 2 && found[0] != found[1] && found.iter().rev().eq(expected) {
        " (transposed? weights are stored [out, in], like nn.Linear.weight)"
    } else {
        ""
    }
}

/// " ([row][column])" for an index into a matrix, nothing for a vector.
fn position(index: usize, shape: &[usize]) -> String {
    match shape {
        [_, columns] if *columns > 0 => format!(" ([{}][{}])", index / columns, index % columns),
        _ => String::new(),
    }
}

/// One tensor of a network: its name and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    name: String,
    shape: Vec<usize>,
}

impl Spec {
    /// The number of bytes of the tensor's `F32` data, or `None` on overflow.
    fn byte_len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(F32_LEN, |n, &d| n.checked_mul(d))
    }
}

/// The network's tensors in [`Network::parameters`] order: each layer's weights, then biases.
fn specs<N: Network>() -> Vec<Spec> {
    let mut inputs = N::INPUT;
    let mut specs = Vec::with_capacity(2 * N::WIDTHS.len());
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        specs.push(Spec {
            name: format!("{}.weight", 2 * k),
            shape: vec![width, inputs],
        });
        specs.push(Spec {
            name: format!("{}.bias", 2 * k),
            shape: vec![width],
        });
        inputs = width;
    }
    specs
}

/// The names of a network's tensors in a file, in parameter order: `0.weight`, `0.bias`,
/// `2.weight`, `2.bias`, ... (layer `k` counting from 0 is module `2k` of PyTorch's
/// `nn.Sequential(Linear, Activation, Linear, ...)`).
pub fn tensor_names<N: Network>() -> Vec<String> {
    specs::<N>().into_iter().map(|s| s.name).collect()
}

/// The network's declaration as `network!` reads it, e.g. `784 -> 16 sigmoid -> 10 softmax`,
/// with layer names where they are not the default `layerN`. Saved in the file's metadata
/// under [`NETWORK_KEY`].
pub fn declaration<N: Network>() -> String {
    let mut text = N::INPUT.to_string();
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        text.push_str(" -> ");
        let name = N::LAYER_NAMES.get(k).copied().unwrap_or_default();
        if !name.is_empty() && name != format!("layer{}", k + 1) {
            text.push_str(name);
            text.push_str(": ");
        }
        text.push_str(&width.to_string());
        text.push(' ');
        text.push_str(N::ACTIVATIONS.get(k).copied().unwrap_or("?"));
    }
    text
}

/// The PyTorch module that loads a network's file with `load_state_dict`, as Python source:
/// `nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), ..., nn.Softmax(dim=-1))`, with `nn` being
/// `torch.nn`.
///
/// `linear` becomes `nn.Identity()`, which keeps the module numbering; `step` becomes `Step()`,
/// a module you define (see the [module docs](self)).
pub fn pytorch_sequential<N: Network>() -> String {
    let mut modules = Vec::with_capacity(2 * N::WIDTHS.len());
    let mut inputs = N::INPUT;
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        modules.push(format!("nn.Linear({inputs}, {width})"));
        let activation = N::ACTIVATIONS.get(k).copied().unwrap_or_default();
        modules.push(
            match activation {
                "sigmoid" => "nn.Sigmoid()",
                "tanh" => "nn.Tanh()",
                "relu" => "nn.ReLU()",
                "softplus" => "nn.Softplus()",
                "linear" => "nn.Identity()",
                "softmax" => "nn.Softmax(dim=-1)",
                "step" => "Step()",
                _ => "nn.Identity()",
            }
            .to_owned(),
        );
        inputs = width;
    }
    format!("nn.Sequential({})", modules.join(", "))
}

// --- writing ---------------------------------------------------------------------------------

/// The network's weights as the bytes of a safetensors file (see the [module docs](self) for the
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

/// Saves the network's weights to a safetensors file at `path` (see the [module docs](self) for
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

// --- reading ---------------------------------------------------------------------------------

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

/// Parses the JSON `header` and checks that it describes exactly the `data_len` bytes of tensor
/// data that follow it.
fn parse_header(header: &[u8], data_len: u64) -> Result<Metadata, WeightsError> {
    let metadata: Metadata = serde_json::from_slice(header).map_err(|e| WeightsError::Format {
        file: None,
        reason: "its header is not a valid safetensors JSON header".to_owned(),
        source: Some(Box::new(SafeTensorError::InvalidHeaderDeserialization(e))),
    })?;
    let described = metadata.data_len() as u64;
    if described != data_len {
        return Err(WeightsError::format(format!(
            "its header describes {described} bytes of tensor data, but {data_len} bytes follow \
             the header"
        )));
    }
    Ok(metadata)
}

/// Checks the file's tensor names, dtypes and shapes against the network's `specs`.
fn check_tensors(specs: &[Spec], metadata: &Metadata) -> Result<(), WeightsError> {
    for spec in specs {
        if metadata.info(&spec.name).is_none() {
            return Err(WeightsError::MissingTensor {
                name: spec.name.clone(),
                found: metadata.offset_keys(),
                file: None,
            });
        }
    }
    for name in metadata.offset_keys() {
        if !specs.iter().any(|s| s.name == name) {
            return Err(WeightsError::UnexpectedTensor {
                name,
                expected: specs.iter().map(|s| s.name.clone()).collect(),
                file: None,
            });
        }
    }
    for spec in specs {
        let Some(info) = metadata.info(&spec.name) else {
            continue; // Checked above.
        };
        if info.dtype != Dtype::F32 {
            return Err(WeightsError::Dtype {
                name: spec.name.clone(),
                found: info.dtype.to_string(),
                file: None,
            });
        }
        if info.shape != spec.shape {
            return Err(WeightsError::Shape {
                name: spec.name.clone(),
                expected: spec.shape.clone(),
                found: info.shape.clone(),
                file: None,
            });
        }
    }
    Ok(())
}

/// The values of an `F32` tensor's little-endian bytes.
fn values(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(F32_LEN)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
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
/// are not exactly the network's, [`WeightsError::Dtype`] for a tensor that is not `F32`,
/// [`WeightsError::Shape`] for a tensor of the wrong shape, and [`WeightsError::NotFinite`] for a
/// NaN or infinite value.
pub fn from_bytes_into<N: Network>(network: &mut N, bytes: &[u8]) -> Result<(), WeightsError> {
    let Some((prefix, rest)) = bytes.split_first_chunk::<PREFIX_LEN>() else {
        return Err(WeightsError::format(format!(
            "it is {} bytes long, too short for the 8-byte header length that starts a \
             safetensors file",
            bytes.len()
        )));
    };
    let n = header_len(*prefix, rest.len() as u64)?;
    let Some((header, data)) = rest.split_at_checked(n) else {
        // `header_len` checked `n` against the bytes that follow the prefix.
        return Err(WeightsError::format(format!(
            "its {n}-byte header runs past its end"
        )));
    };
    let metadata = parse_header(header, data.len() as u64)?;
    let specs = specs::<N>();
    check_tensors(&specs, &metadata)?;
    // The header's offsets are now known to cover the data exactly, so the crate's reader
    // cannot fail; its errors are mapped all the same, never unwrapped.
    let tensors = SafeTensors::deserialize(bytes).map_err(|source| WeightsError::Format {
        file: None,
        reason: "the safetensors reader refused it".to_owned(),
        source: Some(Box::new(source)),
    })?;
    let mut data = Vec::with_capacity(specs.len());
    for spec in &specs {
        let view = tensors
            .tensor(&spec.name)
            .map_err(|_| WeightsError::MissingTensor {
                name: spec.name.clone(),
                found: tensors.names().iter().map(|n| (*n).to_owned()).collect(),
                file: None,
            })?;
        let bytes = view.data();
        let needed = spec.byte_len();
        if Some(bytes.len()) != needed {
            return Err(WeightsError::format(format!(
                "tensor `{}` has {} bytes of data, but its shape {:?} needs {}",
                spec.name,
                bytes.len(),
                spec.shape,
                needed.map_or_else(|| "more than fit in memory".to_owned(), |n| n.to_string())
            )));
        }
        if let Some((index, value)) = values(bytes).enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(WeightsError::NotFinite {
                name: spec.name.clone(),
                index,
                value,
                shape: spec.shape.clone(),
                file: None,
            });
        }
        data.push(bytes);
    }
    // Everything is checked: write.
    for (parameter, bytes) in network.parameters_mut().zip(data) {
        for (p, v) in parameter.iter_mut().zip(values(bytes)) {
            *p = v;
        }
    }
    Ok(())
}

/// Loads a network's weights from a safetensors file (see the [module docs](self) for the
/// layout, and [`save`] for writing one).
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
    let mut file = File::open(path).map_err(read_error)?;
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
    let metadata = parse_header(header, data_len).map_err(|e| e.with_file(path))?;
    check_tensors(&specs::<N>(), &metadata).map_err(|e| e.with_file(path))?;
    // The header is the network's, so the data is the size of its parameters.
    file.take(data_len)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Softmax, Tanh};
    use crate::dense::Dense;
    use crate::error::Error;
    use crate::model::{ActivationKind, LayerShape};
    use crate::network::Workspace;
    use crate::test_dir::TempDir;
    use generic_array::GenericArray;
    use std::error::Error as _;
    use std::fs;
    use typenum::{U2, U3};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// `3 -> 2 tanh -> out: 2 softmax`, written by hand as `network!` would write it.
    #[derive(Clone, Debug, PartialEq)]
    struct Tiny {
        layer1: Dense<U3, U2, Tanh>,
        out: Dense<U2, U2, Softmax>,
    }

    impl Network for Tiny {
        const INPUT: usize = 3;
        const OUTPUT: usize = 2;
        const WIDTHS: &'static [usize] = &[2, 2];
        const LAYER_NAMES: &'static [&'static str] = &["layer1", "out"];
        const ACTIVATIONS: &'static [&'static str] = &["tanh", "softmax"];
        const LAYERS: &'static [LayerShape] = &[
            LayerShape::dense("layer1", 3, 2, ActivationKind::Tanh),
            LayerShape::dense("out", 2, 2, ActivationKind::Softmax),
        ];
        const DECLARATION: &'static str = "3 -> 2 tanh -> out: 2 softmax";
        type Input = [f32; 3];
        type Output = [f32; 2];
        type OutputActivation = Softmax;

        fn zeros() -> Self {
            Self {
                layer1: Dense::zeros(),
                out: Dense::zeros(),
            }
        }

        fn parameters(&self) -> impl Iterator<Item = &[f32]> {
            [self.layer1.parameters(), self.out.parameters()]
                .into_iter()
                .flatten()
        }

        fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
            [self.layer1.parameters_mut(), self.out.parameters_mut()]
                .into_iter()
                .flatten()
        }

        fn forward(&self, input: &[f32; 3]) -> [f32; 2] {
            let mut hidden = GenericArray::default();
            self.layer1
                .forward(GenericArray::from_slice(input), &mut hidden);
            let mut out = GenericArray::default();
            self.out.forward(&hidden, &mut out);
            out.into_array()
        }

        fn forward_batch(
            &self,
            inputs: &[[f32; 3]],
            outputs: &mut [[f32; 2]],
            _workspace: &mut Workspace<Self>,
        ) -> Result<(), Error> {
            for (x, y) in inputs.iter().zip(outputs) {
                *y = self.forward(x);
            }
            Ok(())
        }
    }

    /// A `Tiny` whose every parameter is distinct, including values that a lossy round trip
    /// would change: a negative zero, a subnormal, the extremes of `f32`.
    fn tiny() -> Tiny {
        let mut t = Tiny::zeros();
        t.layer1
            .set_weights(&[[0.5, -1.25, 3.0], [-0.0, 1e-40, f32::MAX]]);
        t.layer1.set_bias(&[0.1, -f32::MIN_POSITIVE]);
        t.out.set_weights(&[[1.0, -2.0], [f32::MIN, 0.3]]);
        t.out.set_bias(&[0.25, -0.75]);
        t
    }

    /// Every parameter's bits, in order.
    fn bits<N: Network>(network: &N) -> Vec<u32> {
        network
            .parameters()
            .flat_map(|p| p.iter().map(|v| v.to_bits()))
            .collect()
    }

    /// The error of `result`, or a test failure if it succeeded.
    fn error_of<T>(
        result: Result<T, WeightsError>,
    ) -> Result<WeightsError, Box<dyn std::error::Error>> {
        match result {
            Ok(_) => Err("expected an error, got Ok".into()),
            Err(e) => Ok(e),
        }
    }

    /// Checks that `message` contains every one of `parts` and reads as an embeddable message.
    fn assert_mentions(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(
                message.contains(part),
                "{message:?} should mention {part:?}"
            );
        }
        assert!(
            !message.ends_with('.'),
            "{message:?} should end without a period"
        );
    }

    /// A safetensors file of the given `(name, dtype, shape, data)` tensors, written by the
    /// safetensors crate's own serializer.
    fn file_of(
        tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
    ) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut views = Vec::new();
        for (name, dtype, shape, data) in tensors {
            views.push((*name, TensorView::new(*dtype, shape.clone(), data)?));
        }
        Ok(safetensors::serialize(views, None)?)
    }

    /// Little-endian bytes of `F32` values.
    fn le(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The tensors of `tiny()` as `(name, dtype, shape, data)`, for building variants of its
    /// file.
    fn tiny_tensors() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
        let t = tiny();
        vec![
            (
                "0.weight",
                Dtype::F32,
                vec![2, 3],
                le(t.layer1.weights_flat()),
            ),
            ("0.bias", Dtype::F32, vec![2], le(t.layer1.bias())),
            ("2.weight", Dtype::F32, vec![2, 2], le(t.out.weights_flat())),
            ("2.bias", Dtype::F32, vec![2], le(t.out.bias())),
        ]
    }

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
    fn declaration_and_pytorch_module() {
        assert_eq!(declaration::<Tiny>(), "3 -> 2 tanh -> out: 2 softmax");
        assert_eq!(
            pytorch_sequential::<Tiny>(),
            "nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 2), nn.Softmax(dim=-1))"
        );
        assert_eq!(
            tensor_names::<Tiny>(),
            ["0.weight", "0.bias", "2.weight", "2.bias"]
        );
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
        tensors.push(("4.weight", Dtype::F32, vec![1, 2], le(&[1.0, 2.0])));
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
        let doubles: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors[3] = ("2.bias", Dtype::F64, vec![2], doubles);
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert!(
            matches!(&e, WeightsError::Dtype { name, found, .. } if name == "2.bias" && found == "F64"),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["tensor `2.bias` has dtype F64, expected F32"],
        );

        tensors[3] = ("2.bias", Dtype::BF16, vec![2], vec![0; 4]);
        let e = error_of(from_bytes::<Tiny>(&file_of(&tensors)?))?;
        assert_mentions(
            &e.to_string(),
            &["tensor `2.bias` has dtype BF16, expected F32"],
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
    fn a_failed_load_leaves_the_network_unchanged() -> TestResult {
        let before = tiny();
        let mut other = Tiny::zeros();
        other.layer1.set_weights(&[[9.0; 3]; 2]);
        // Every tensor of `other` is valid but the last, so a loader that wrote as it went
        // would have changed `0.weight` by the time it found the problem.
        let mut tensors: Vec<_> = vec![
            (
                "0.weight",
                Dtype::F32,
                vec![2, 3],
                le(other.layer1.weights_flat()),
            ),
            ("0.bias", Dtype::F32, vec![2], le(other.layer1.bias())),
            (
                "2.weight",
                Dtype::F32,
                vec![2, 2],
                le(other.out.weights_flat()),
            ),
            ("2.bias", Dtype::F32, vec![2], le(&[0.0, f32::NAN])),
        ];
        let mut net = before.clone();
        error_of(from_bytes_into(&mut net, &file_of(&tensors)?))?;
        assert_eq!(bits(&net), bits(&before));

        tensors[3] = ("2.bias", Dtype::F32, vec![1, 2], le(&[0.0, 0.0]));
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
                "not a valid safetensors JSON header",
            ),
            (
                "JSON that is not a header",
                raw_file(r#"{"a": 1}"#, &[]),
                "not a valid safetensors JSON header",
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
                "not a valid safetensors JSON header",
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
        let dir = TempDir::new("weights")?;
        let path = dir.path("tiny.safetensors");
        save(&tiny(), &path)?;
        assert_eq!(fs::read(&path)?, to_bytes(&tiny())?);
        let back: Tiny = load(&path)?;
        assert_eq!(bits(&back), bits(&tiny()));

        // Saving again replaces the file whole and leaves no temporary file behind.
        let mut other = tiny();
        other.out.set_bias(&[7.0, 8.0]);
        save(&other, &path)?;
        assert_eq!(fs::read(&path)?, to_bytes(&other)?);
        assert_eq!(dir.entries()?, ["tiny.safetensors"]);
        Ok(())
    }

    #[test]
    fn a_failed_save_leaves_the_old_file() -> TestResult {
        let dir = TempDir::new("weights")?;
        let path = dir.path("tiny.safetensors");
        save(&tiny(), &path)?;
        let mut diverged = tiny();
        diverged.layer1.weights_mut()[0][0] = f32::NAN;
        error_of(save(&diverged, &path))?;
        assert_eq!(fs::read(&path)?, to_bytes(&tiny())?);
        assert_eq!(dir.entries()?, ["tiny.safetensors"]);

        // A folder that does not exist: a write error naming the path.
        let missing = dir.path("no-such-folder").join("tiny.safetensors");
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
        let e = error_of(save(&tiny(), &dir.0))?;
        assert!(matches!(e, WeightsError::Write { .. }), "{e:?}");
        assert_eq!(dir.entries()?, ["tiny.safetensors"]);
        Ok(())
    }

    #[test]
    fn file_errors_name_the_file() -> TestResult {
        let dir = TempDir::new("weights")?;
        let missing = dir.path("missing.safetensors");
        let e = error_of(load::<Tiny>(&missing))?;
        assert!(
            matches!(&e, WeightsError::Read { path, .. } if path == &missing),
            "{e:?}"
        );
        assert_mentions(
            &e.to_string(),
            &["cannot read", &missing.display().to_string()],
        );

        let path = dir.path("bad.safetensors");
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
