//! Layers written as a path in a declaration: a network declared with `network!` used inside
//! another (nesting), or a layer type of the user's own. Both implement the public [`Layer`]
//! trait.
//!
//! ```
//! # extern crate nn_core as nn;
//! # use nn_macros::network;
//! network! {
//!     struct Stack: 8 -> encoder: Encoder -> 3 softmax;
//!     struct Encoder: 8 -> 5 relu -> 4 tanh;
//! }
//! use nn::{Layer, Network};
//!
//! // The encoder's layers are part of the outer network's, named by path. (`Stack::LAYERS`
//! // would be ambiguous here: both traits are in scope and name a constant `LAYERS`.)
//! let names: Vec<_> = <Stack as Network>::LAYERS.iter().map(|l| l.name).collect();
//! assert_eq!(names, ["encoder.layer1", "encoder.layer2", "layer2"]);
//! assert_eq!(<Encoder as Layer>::OUTPUT, 4);
//! let stack = Stack::new(1);
//! let p = stack.forward(&[0.5; 8]);
//! assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! ```
//!
//! # How a path layer is stored, buffered and called
//!
//! - **Stored** as a field of the path's type (`pub encoder: Encoder`).
//! - **Described** by its [`Layer::LAYERS`], which become part of the outer network's
//!   [`Network::LAYERS`](crate::network::Network::LAYERS), each name prefixed with the field's
//!   (`encoder.layer1`; an entry named `""` takes the field's name alone). So everything that
//!   reads a network's structure at run time (weight files, the gradient check, the trainer's
//!   error locations, the tape) sees a nested network's layers as its own, and a custom layer as
//!   one entry of kind [`LayerKind::Custom`](crate::model::LayerKind::Custom).
//! - **Buffered** by the outer network's [`Workspace`](crate::network::Workspace), one
//!   [`LayerBuffers`] per entry of its `LAYERS`, sized from that entry: `z`, `a` and `d` rows of
//!   the entry's output width and the [`Aux`](crate::layer::Aux) its kind asks for (a custom
//!   kind's `scratch` per sample). The layer's output is the `a` rows of its last entry, and the
//!   gradient of the loss with respect to its output arrives in the `d` rows of its last entry.
//! - **Called** by the generated code through [`Layer::forward_rows`] (inference),
//!   [`Layer::forward_train`] and [`Layer::backward_rows`] (training), with its slice of the
//!   workspace, one call each, in order and then in reverse.
//!
//! The input and output widths are typenum lengths, so the compiler checks that a path layer
//! reads what the layer before it gives; `network!` writes that check spanned at the path, so a
//! mismatch reads in numbers (`expected an array with a size of 784, found one with a size of
//! 64`).
//!
//! # A layer of your own
//!
//! A per-feature learnable scale, `y = s ⊙ x`, with `∂L/∂s = Σ_batch ∂L/∂y ⊙ x` and
//! `∂L/∂x = s ⊙ ∂L/∂y`:
//!
//! ```
//! # extern crate nn_core as nn;
//! # use nn_macros::network;
//! use nn::generic_array::GenericArray;
//! use nn::model::{LayerKind, LayerShape, Shape, TensorRole, TensorShape};
//! use nn::network::LayerBuffers;
//! use nn::typenum::U4;
//!
//! /// `y = scale ⊙ x` over 4 features; PyTorch: a module with one parameter `scale` of shape `[4]`.
//! pub struct MyScale {
//!     pub scale: [f32; 4],
//! }
//!
//! impl nn::Layer for MyScale {
//!     type In = U4;
//!     type Out = U4;
//!     const LAYERS: &'static [LayerShape] = &[LayerShape::new(
//!         "",
//!         LayerKind::Custom {
//!             name: "MyScale",
//!             tensors: &[TensorShape::new(TensorRole::Named("scale"), &[4])],
//!             scratch: 0,
//!         },
//!         Shape::Flat(4),
//!         Shape::Flat(4),
//!     )];
//!
//!     fn new(_seed: u64) -> Self {
//!         Self { scale: [1.0; 4] }
//!     }
//!     fn zeros() -> Self {
//!         Self { scale: [0.0; 4] }
//!     }
//!     fn parameters(&self) -> impl Iterator<Item = &[f32]> {
//!         core::iter::once(&self.scale[..])
//!     }
//!     fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
//!         core::iter::once(&mut self.scale[..])
//!     }
//!     fn forward_rows(&self, x: &[GenericArray<f32, U4>], buffers: &mut [LayerBuffers]) {
//!         let (_, out, _) = buffers[0].rows::<U4>(x.len());
//!         for (x, y) in x.iter().zip(out) {
//!             for ((y, x), s) in y.iter_mut().zip(x).zip(&self.scale) {
//!                 *y = s * x;
//!             }
//!         }
//!     }
//!     fn backward_rows(
//!         &self,
//!         x: &[GenericArray<f32, U4>],
//!         buffers: &mut [LayerBuffers],
//!         grads: &mut Self,
//!         dx: Option<&mut [GenericArray<f32, U4>]>,
//!     ) {
//!         let (_, _, dy) = buffers[0].rows::<U4>(x.len());
//!         grads.scale = [0.0; 4];
//!         for (x, dy) in x.iter().zip(dy.iter()) {
//!             for ((g, x), dy) in grads.scale.iter_mut().zip(x).zip(dy) {
//!                 *g += dy * x;
//!             }
//!         }
//!         if let Some(dx) = dx {
//!             for (dx, dy) in dx.iter_mut().zip(dy.iter()) {
//!                 for ((dx, dy), s) in dx.iter_mut().zip(dy).zip(&self.scale) {
//!                     *dx = s * dy;
//!                 }
//!             }
//!         }
//!     }
//! }
//!
//! network! {
//!     struct Scaled: 3 -> 4 tanh -> MyScale -> 2 softmax;
//! }
//!
//! use nn::Network;
//! let names: Vec<_> = Scaled::LAYERS.iter().map(|l| l.name).collect();
//! assert_eq!(names, ["layer1", "layer2", "layer3"]);
//! assert_eq!(Scaled::parameter_count(), 3 * 4 + 4 + 4 + 4 * 2 + 2);
//! let p = Scaled::new(7).forward(&[1.0, 0.0, -1.0]);
//! assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
//! ```
//!
//! `nn::gradcheck` checks such a layer's backward against finite differences inside any
//! network (`tests/nested.rs` does so for this one and a parameter-free normalisation).

use generic_array::{ArrayLength, GenericArray};
use typenum::Unsigned;

use crate::model::{ActivationKind, LayerShape};
use crate::network::LayerBuffers;

/// A layer `network!` can hold by its type's path (`-> encoder: Encoder ->`, `-> MyNormalize ->`):
/// a network declared with `network!` (every chain of layers implements this trait, but one with
/// a `step` layer; a network with `residual`, `concat` or `heads` blocks does not, and cannot
/// hold a path layer) or a type of your own.
///
/// Its shapes are types, so the compiler checks that it reads what the layer before it gives;
/// its parameters are slices, so the optimizers, the weight files and the gradient check handle
/// it as they handle the built-in layers; it works in the buffers the network's
/// [`Workspace`](crate::network::Workspace) keeps for it, so a training step allocates nothing.
/// See the [module docs](self) for the calling convention and a complete example.
///
/// A network type implements both this trait and [`Network`](crate::network::Network), which
/// share method names (`zeros`, `parameters`, ...): with both traits in scope, call them as
/// `Network::parameters(&net)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer: it does not implement `nn::Layer`",
    label = "a layer written as a path must implement `nn::Layer`",
    note = "a chain of layers declared with `network!` implements it (a network with blocks or \
            heads does not); a type of your own implements it as the example in the documentation \
            of `nn::nested` shows"
)]
pub trait Layer: Sized {
    /// One sample's input length.
    type In: ArrayLength;
    /// One sample's output length.
    type Out: ArrayLength;
    /// One sample's input length as a number (leave the default).
    const INPUT: usize = <Self::In as Unsigned>::USIZE;
    /// One sample's output length as a number (leave the default).
    const OUTPUT: usize = <Self::Out as Unsigned>::USIZE;
    /// How the layer appears in the `LAYERS` of a network holding it, one entry per buffer set
    /// it needs; never empty, and the last entry's output is [`OUTPUT`](Layer::OUTPUT) wide. A
    /// custom layer has one entry of kind [`LayerKind::Custom`](crate::model::LayerKind::Custom)
    /// named `""`, listing its tensors (names and shapes for the weight files, in the order
    /// of [`parameters`](Layer::parameters)) and its scratch; a network lists its layers.
    const LAYERS: &'static [LayerShape];

    /// The layer with its initial parameters, drawn from `seed` if they are random.
    fn new(seed: u64) -> Self;

    /// The layer with every parameter zero: the starting value of a gradient.
    fn zeros() -> Self;

    /// Its trained parameters as slices, one per tensor of its `LAYERS` entries, in order.
    fn parameters(&self) -> impl Iterator<Item = &[f32]>;

    /// [`parameters`](Layer::parameters), mutable.
    fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]>;

    /// Every tensor a weights file holds (parameters, then any buffers such as running
    /// statistics, entry by entry); the parameters unless it keeps buffers.
    fn state(&self) -> impl Iterator<Item = &[f32]> {
        self.parameters()
    }

    /// [`state`](Layer::state), mutable.
    fn state_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.parameters_mut()
    }

    /// Folds the statistics of a training step (carried by the gradient `step`) into running
    /// statistics, as [`Network::fold_statistics`](crate::network::Network::fold_statistics);
    /// nothing by default.
    fn fold_statistics(&mut self, step: &Self) {
        let _ = step;
    }

    /// Inference over a batch (no dropout, running statistics): writes the output of the
    /// `x.len()` samples into the `a` rows of the last of `buffers` (one per entry of
    /// [`LAYERS`](Layer::LAYERS), sized for at least `x.len()` samples).
    fn forward_rows(&self, x: &[GenericArray<f32, Self::In>], buffers: &mut [LayerBuffers]);

    /// The training pass: as [`forward_rows`](Layer::forward_rows), keeping in `buffers` what
    /// [`backward_rows`](Layer::backward_rows) needs. By default the inference pass, for a
    /// layer that trains as it infers.
    fn forward_train(&self, x: &[GenericArray<f32, Self::In>], buffers: &mut [LayerBuffers]) {
        self.forward_rows(x, buffers);
    }

    /// The chain rule, after [`forward_train`](Layer::forward_train) on the same `x` and
    /// `buffers`: reads `∂L/∂output` from the `d` rows of the last of `buffers` (and may
    /// overwrite it), writes the gradient of every parameter into `grads` (overwriting it, in
    /// the layout of [`parameters`](Layer::parameters)) and, if asked, `∂L/∂x` into `dx`.
    fn backward_rows(
        &self,
        x: &[GenericArray<f32, Self::In>],
        buffers: &mut [LayerBuffers],
        grads: &mut Self,
        dx: Option<&mut [GenericArray<f32, Self::In>]>,
    );
}

/// The part a layer of a declaration adds to its network's `LAYERS`: a built-in layer's own
/// entry (`prefix` empty), or a path layer's [`Layer::LAYERS`] under its field's name.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// The field's name for a path layer, `""` for a built-in one.
    pub prefix: &'static str,
    /// The entries.
    pub layers: &'static [LayerShape],
}

/// The number of entries of all `parts`.
#[doc(hidden)]
pub const fn layer_count(parts: &[Part]) -> usize {
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        n += parts[p].layers.len();
        p += 1;
    }
    n
}

/// The length of `prefix.name` (or `prefix` for an entry named `""`).
const fn joined_len(prefix: &str, name: &str) -> usize {
    if name.is_empty() {
        prefix.len()
    } else {
        prefix.len() + 1 + name.len()
    }
}

/// The bytes of every prefixed name of `parts`, one after the other.
#[doc(hidden)]
pub const fn name_len(parts: &[Part]) -> usize {
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        let part = parts[p];
        if !part.prefix.is_empty() {
            let mut k = 0;
            while k < part.layers.len() {
                n += joined_len(part.prefix, part.layers[k].name);
                k += 1;
            }
        }
        p += 1;
    }
    n
}

/// Copies `from` into `out` at `at`; returns the position after it.
const fn copy_into<const B: usize>(out: &mut [u8; B], at: usize, from: &[u8]) -> usize {
    let mut i = 0;
    while i < from.len() {
        out[at + i] = from[i];
        i += 1;
    }
    at + from.len()
}

/// The prefixed names of `parts` (`B` = [`name_len`]), concatenated.
#[doc(hidden)]
pub const fn names<const B: usize>(parts: &[Part]) -> [u8; B] {
    let mut out = [0u8; B];
    let (mut at, mut p) = (0, 0);
    while p < parts.len() {
        let part = parts[p];
        if !part.prefix.is_empty() {
            let mut k = 0;
            while k < part.layers.len() {
                at = copy_into(&mut out, at, part.prefix.as_bytes());
                let name = part.layers[k].name;
                if !name.is_empty() {
                    at = copy_into(&mut out, at, b".");
                    at = copy_into(&mut out, at, name.as_bytes());
                }
                k += 1;
            }
        }
        p += 1;
    }
    out
}

/// The entries of `parts` in order (`N` = [`layer_count`]), a path layer's named
/// `prefix.name` from `bytes` (the output of [`names`]).
#[doc(hidden)]
pub const fn flatten<const N: usize>(parts: &[Part], bytes: &'static [u8]) -> [LayerShape; N] {
    let filler = LayerShape::dense("", 0, 0, ActivationKind::Linear);
    let mut out = [filler; N];
    let (mut i, mut at, mut p) = (0, 0, 0);
    while p < parts.len() {
        let part = parts[p];
        let mut k = 0;
        while k < part.layers.len() {
            let mut layer = part.layers[k];
            if !part.prefix.is_empty() {
                let len = joined_len(part.prefix, layer.name);
                let (_, rest) = bytes.split_at(at);
                let (name, _) = rest.split_at(len);
                layer.name = match core::str::from_utf8(name) {
                    Ok(name) => name,
                    Err(_) => panic!("layer names are whole UTF-8 strings"),
                };
                at += len;
            }
            out[i] = layer;
            i += 1;
            k += 1;
        }
        p += 1;
    }
    out
}

/// Whether a path layer's `LAYERS` fit its widths: not empty, its last entry `output` wide.
#[doc(hidden)]
pub const fn describes(layers: &[LayerShape], output: usize) -> bool {
    match layers.last() {
        Some(last) => last.output.len() == output,
        None => false,
    }
}

/// The next buffer set of a workspace being handed out layer by layer.
#[doc(hidden)]
pub fn take_one<'a>(rest: &mut &'a mut [LayerBuffers]) -> &'a mut LayerBuffers {
    match core::mem::take(rest).split_first_mut() {
        Some((first, tail)) => {
            *rest = tail;
            first
        }
        // The generated code takes exactly `Network::LAYERS.len()` sets, which the workspace
        // holds (checked at compile time by `Workspace::layers`).
        None => unreachable!("a workspace holds one buffer set per layer"),
    }
}

/// The next `count` buffer sets, for a path layer.
#[doc(hidden)]
pub fn take_many<'a>(rest: &mut &'a mut [LayerBuffers], count: usize) -> &'a mut [LayerBuffers] {
    let all = core::mem::take(rest);
    let count = count.min(all.len());
    let (taken, tail) = all.split_at_mut(count);
    *rest = tail;
    taken
}

/// A path layer's output rows for `n` samples: the `a` rows of its last buffer set.
#[doc(hidden)]
pub fn output_rows<W: ArrayLength>(buffers: &[LayerBuffers], n: usize) -> &[GenericArray<f32, W>] {
    let a = buffers
        .last()
        .and_then(|b| b.a.get(..n * W::USIZE))
        .unwrap_or(&[]);
    GenericArray::chunks_from_slice(a).0
}

/// A path layer's output rows and its delta rows (`∂L/∂output`), for `n` samples.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn output_and_delta<W: ArrayLength>(
    buffers: &mut [LayerBuffers],
    n: usize,
) -> (&[GenericArray<f32, W>], &mut [GenericArray<f32, W>]) {
    match buffers.last_mut() {
        Some(last) => {
            let len = n * W::USIZE;
            let a = last.a.get(..len).unwrap_or(&[]);
            let d = last.d.get_mut(..len).unwrap_or(&mut []);
            (
                GenericArray::chunks_from_slice(a).0,
                GenericArray::chunks_from_slice_mut(d).0,
            )
        }
        None => (&[], &mut []),
    }
}

/// Rows of one typenum length seen as rows of another, the same number (checked when the
/// code is compiled): where a path layer reads the previous layer's rows. `network!` checks the
/// widths with a message in numbers at the path; this keeps rustc from repeating it in typenum.
#[doc(hidden)]
#[inline(always)]
pub fn rows_as<A: ArrayLength, B: ArrayLength>(
    x: &[GenericArray<f32, A>],
) -> &[GenericArray<f32, B>] {
    const { assert!(A::USIZE == B::USIZE, "a path layer reads another width") };
    GenericArray::chunks_from_slice(GenericArray::slice_from_chunks(x)).0
}

/// [`rows_as`], mutable.
#[doc(hidden)]
#[inline(always)]
pub fn rows_as_mut<A: ArrayLength, B: ArrayLength>(
    x: &mut [GenericArray<f32, A>],
) -> &mut [GenericArray<f32, B>] {
    const { assert!(A::USIZE == B::USIZE, "a path layer reads another width") };
    GenericArray::chunks_from_slice_mut(GenericArray::slice_from_chunks_mut(x)).0
}
