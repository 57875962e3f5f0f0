//! Saving and loading a network's weights as [safetensors](https://huggingface.co/docs/safetensors),
//! in the layout of the equivalent PyTorch `nn.Sequential` (its `state_dict`), so a network
//! trained here loads in PyTorch with one call (and the other way round).
//!
//! ```
//! # // nn-core's doctests run without the facade crate `nn`, which `network!`'s code names.
//! # extern crate nn_core as nn;
//! # use nn_macros as macros;
//! # fn main() -> Result<(), nn_core::weights::WeightsError> {
//! # use macros::network;
//! network! {
//!     struct Digits: 2 -> 1 sigmoid;
//! }
//! use nn_core::{weights, Network};
//!
//! let mut net = Digits::zeros();
//! net.layer1.set_weights(&[[0.5, -1.5]]);
//! let bytes = weights::to_bytes(&net)?; // or weights::save(&net, "digits.safetensors")?
//! let copy: Digits = weights::from_bytes(&bytes)?; // or weights::load("digits.safetensors")?
//! assert_eq!(copy.layer1.weights()[0][1], -1.5);
//! # Ok(())
//! # }
//! ```
//!
//! # The file
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each tensor
//! with its dtype, shape and byte range, then the raw tensor data. A network's file holds two
//! tensors per layer, all `F32` (little-endian) unless saved with [`save_as`], named after the
//! layer's index in `nn.Sequential(Linear, Activation, Linear, Activation, ..., Linear)`: layer
//! `k`, counting from 0, is module `2k` there, because each activation module sits between two
//! linear ones.
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
//! element `o * in + i`. That is both how [`Dense`](crate::dense::Dense) stores its weights and how
//! `nn.Linear.weight` does, so nothing is transposed on the way in or out. Layer names given in
//! the declaration (`2 -> hidden: 3 tanh -> out: 1 sigmoid`) do not change the tensor names:
//! PyTorch's `nn.Sequential` knows its layers by number.
//!
//! # Other layer kinds
//!
//! Every layer kind maps to the modules PyTorch would use, counted as PyTorch counts them,
//! parameter-free modules included ([`pytorch_sequential`] prints the whole module):
//!
//! | declared | modules | tensors, in `state_dict` order |
//! | --- | --- | --- |
//! | `WIDTH act` | `nn.Linear` (after `nn.Flatten` if its input is an image), then the activation's module | `weight [out, in]`, `bias [out]` |
//! | `conv F KxK ... act` | `nn.Conv2d`, then the activation's module | `weight [F, in, kh, kw]`, `bias [F]` |
//! | `maxpool KxK`, `avgpool KxK` | `nn.MaxPool2d`, `nn.AvgPool2d` | none |
//! | `dropout P` | `nn.Dropout(p=P)` | none |
//! | `batchnorm` | `nn.BatchNorm1d` (flat) or `nn.BatchNorm2d` (image) | `weight`, `bias`, then the buffers `running_mean`, `running_var`, `num_batches_tracked` |
//! | `layernorm` | `nn.LayerNorm` | `weight`, `bias` |
//! | a path to a type (`encoder: Encoder`, `MyNormalize`) | named modules, see below | the type's, named by path |
//!
//! A network with a layer written as a path (a nested network, a custom layer implementing
//! [`Layer`](crate::nested::Layer)) names its tensors by path instead of by number:
//! `encoder.layer1.weight`, `encoder.layer1.bias`, `layer2.scale`, ..., the `state_dict` keys of
//! the `nn.Sequential(OrderedDict([...]))` of named modules that [`pytorch_sequential`] prints,
//! nested where the declaration nests (a custom layer is a module `Name()` the user defines in
//! PyTorch with the attributes its `LAYERS` list); [`pytorch_module`] prints it with
//! `OrderedDict` imported. Such a network is always a chain: `network!` refuses a path layer in
//! a network with blocks or heads, and a network with them is not a [`Layer`](crate::nested::Layer),
//! so the two namings below never meet.
//!
//! The buffers are saved and loaded with the parameters ([`Network::state`](crate::network::Network::state))
//! but not trained: the running statistics move only in training steps.
//!
//! The header's `__metadata__` holds one entry, `nn.network`, the network's declaration as
//! `network!` reads it, e.g. `"784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax"` (layer names are
//! included where they are not the default `layerN`). It is for people and tools reading the
//! file; loading does not require it, so files written by PyTorch load too. One entry keeps the
//! file reproducible: the same weights always give the same bytes.
//!
//! # Graph networks
//!
//! A network with blocks or heads ([`Network::GRAPH`](crate::network::Network::GRAPH)) is still
//! an `nn.Sequential` at the top, with one module per block: `Residual(...)` (an `nn.Sequential`
//! whose forward is `x + f(x)`), `Concat(nn.Sequential(...), ...)` (an `nn.ModuleList` joined by
//! `torch.cat(dim=1)`) and, last, `Heads({"digit": nn.Sequential(...), ...})` (an
//! `nn.ModuleDict` whose forward returns a dict). The tensors are named by their module's path,
//! as PyTorch's `state_dict` names them: for `784 -> trunk: 64 relu -> heads { digit: 10
//! softmax, even: 16 relu -> 1 sigmoid }` they are `0.weight`, `0.bias`, `2.digit.0.weight`,
//! `2.digit.0.bias`, `2.even.0.weight`, ..., `2.even.2.bias`; a residual block at module 2 holds
//! `2.0.weight`, a concatenation's second branch `2.1.0.weight`. [`pytorch_module`] prints the
//! three classes ([`PYTORCH_GRAPH_MODULES`]) and the model.
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
//! `safetensors.torch` writes a file that [`load`] reads into the matching network.
//!
//! # Dtypes
//!
//! [`save`] writes `F32` tensors, the network's own values bit for bit. [`save_as`] writes
//! another [`Dtype`]: `F64` (exact, twice the bytes), or `F16` or `BF16` (half the bytes),
//! rounding each weight to the nearest representable value with ties to even, as PyTorch's
//! `model.half()` and `model.to(torch.bfloat16)` do; a weight that would round to an infinity
//! (beyond 65504 in magnitude for `F16`) is refused with [`WeightsError::OutOfRange`].
//! [`load`] reads `F32`, `F16`, `BF16` and `F64` tensors into the `f32` network, the dtype
//! chosen per tensor: half precision exactly, `F64` rounded to the nearest `f32`, refusing a
//! finite value beyond `f32`'s range with [`WeightsError::OutOfRange`] naming the tensor and the
//! index. Batch normalisation's `num_batches_tracked` is `I64` in every file nn writes, as in
//! PyTorch's `state_dict`; it loads from `I64` (exactly, up to 2^24) or from the `F32` of older
//! nn files. Other buffers may be `I64` too; a weight or bias may not (PyTorch's parameters are
//! floats). `tests/fixtures/weights/digits-{f16,bf16,f64}.safetensors` are files PyTorch wrote
//! (`scripts/write_dtype_fixtures.py`); a test checks that they load and that `save_as` rounds
//! exactly as PyTorch did.
//!
//! # Guarantees
//!
//! - Loading never panics on a file's contents: every problem is a [`WeightsError`] that names
//!   the tensor and says what was expected and what was found (and, for [`load`] and
//!   [`load_into`], the file).
//! - Loading is all or nothing: [`load_into`] and [`from_bytes_into`] check every tensor's name,
//!   dtype, shape and values before writing a single weight, so on error the network is as it
//!   was. Every value must be finite; a NaN or an infinity is refused.
//! - The header is read here before the safetensors crate sees it: a key named twice is
//!   refused (a JSON parser would keep the last), and every tensor's `data_offsets` are checked
//!   against its dtype and shape, against the tensor before it (no gap, no overlap) and against
//!   the length of the data, with a message naming the tensor, its offsets and the data length.
//!   A header that is valid JSON but not a safetensors header says so, and is not called
//!   invalid JSON.
//! - A file is read in two steps: the header first, checked against the network, then the data,
//!   so a file of some other, much larger model is refused without reading it all. A path that
//!   is not a regular file (a FIFO, a folder) is refused with [`WeightsError::Read`] holding a
//!   [`NotRegularFile`](crate::file_check::NotRegularFile) before anything is read; the message
//!   of a read or write error ends with what the operating system said.
//! - [`save`] writes to a temporary file in the same folder and renames it over the target, so
//!   an existing file is either replaced whole or left as it was. It refuses to write non-finite
//!   weights, which [`load`] would refuse to read back.

mod by_path;
mod dtype;
mod error;
#[cfg(test)]
mod fixtures;
mod header;
mod layout;
mod read;
mod write;

pub use dtype::Dtype;
pub use error::{BoxError, WeightsError};
pub use layout::{
    declaration, pytorch_module, pytorch_sequential, tensor_names, NETWORK_KEY,
    PYTORCH_GRAPH_MODULES,
};
pub use read::{from_bytes, from_bytes_into, load, load_into};
pub use write::{save, save_as, to_bytes, to_bytes_as};
