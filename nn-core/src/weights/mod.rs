//! Saving and loading a network's weights as [safetensors](https://huggingface.co/docs/safetensors),
//! in the layout PyTorch's `nn.Sequential` of `nn.Linear` layers uses, so a network trained here
//! loads in PyTorch with one call (and the other way round).
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
pub use layout::{declaration, pytorch_sequential, tensor_names, NETWORK_KEY};
pub use read::{from_bytes, from_bytes_into, load, load_into};
pub use write::{save, save_as, to_bytes, to_bytes_as};
