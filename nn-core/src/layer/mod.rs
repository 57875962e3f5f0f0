//! The layer kinds besides [`Dense`](crate::dense::Dense): convolution, pooling, dropout, batch and layer
//! normalisation, each in its own file with its forward, its
//! backward and its parameters side by side.
//!
//! # How a layer kind is described, stored and called
//!
//! - **Described** once, in [`nn_model`](crate::model): a [`LayerKind`] variant holds the
//!   hyper-parameters the declaration gives (`Conv { filters, kernel, stride, pad, activation }`,
//!   `Pool { kind, window, stride }`, `Dropout { rate }`, `BatchNorm`, `LayerNorm`), and each
//!   layer's [`LayerShape`] holds its input and output [`Shape`] (`Flat(n)`,
//!   or `Image { channels, height, width }` stored channel-major). The macro computes every
//!   shape; [`LayerShape::tensors`] lists the trained tensors in `state_dict` order and
//!   [`LayerShape::buffers`] the saved, untrained ones (batch normalisation's `running_mean`,
//!   `running_var`, `num_batches_tracked`).
//! - **Stored** in the network's struct as one field per layer: a type of this module whose
//!   type arguments are typenum lengths of one sample's input and output (and, where the kind has
//!   them, its activation and channel count), so a layer that does not fit its neighbours does
//!   not compile.
//! - **Buffered** by the [`Workspace`](crate::network::Workspace): for every layer `z`, `a` and `d` rows
//!   of its output width, and the [`Aux`] buffers its kind needs, sized
//!   from its `LayerShape` by [`Aux::lens`](Aux::lens). A dropout layer keeps
//!   its mask in `z`, a norm layer its normalised input `x̂`.
//! - **Called** uniformly by the generated code through the two traits here: [`Layer`] (the
//!   inference and the training forward pass) and [`Backward<L>`] (the chain rule), one call per
//!   layer, in order and then in reverse. Dense layers keep their own calls (they fuse the
//!   output delta with the loss).
//!
//! # Training and inference
//!
//! `forward`, `forward_batch` and [`Layer::forward_rows`] are inference: `&self`, no mask, the
//! running statistics. The gradient and loss paths are training: [`Layer::forward_train`] masks
//! with bits drawn from a generator seeded by [`Aux::seed`](Aux::seed) (which the
//! workspace derives from its seed, the step and the layer, see [`Workspace`](crate::network::Workspace))
//! and normalises with the batch's own statistics. The network stays `&self` in training too:
//! batch normalisation's backward writes the batch's mean and unbiased variance into the
//! gradient's running-statistics slots, and the optimizer's step folds them into the network
//! with PyTorch's momentum 0.1 ([`Network::fold_statistics`](crate::network::Network::fold_statistics)),
//! so running statistics change only in training steps.

mod batch_norm;
mod conv;
mod dropout;
mod layer_norm;
mod pool;
pub mod reference;

pub use batch_norm::BatchNorm;
pub use conv::Conv;
pub use dropout::Dropout;
pub use layer_norm::LayerNorm;
pub use pool::{AvgPool, MaxPool};

/// The convolution and pooling kernels the layers call: [`crate::kernel::conv`] and
/// [`crate::kernel::pool`] (SIMD, dispatched at run time). [`reference`] has the same types and
/// signatures in plain scalar code, the tests' independent reference.
mod kernels {
    pub use crate::kernel::{conv, pool};
}

mod buffers;
pub use buffers::{Aux, AuxLens};

use alloc::boxed::Box;
use generic_array::{ArrayLength, GenericArray};

use crate::model::{LayerKind, LayerShape, Shape};

/// A layer's forward passes over a batch, one row a sample.
pub trait Layer {
    /// One sample's input length.
    type In: ArrayLength;
    /// One sample's output length.
    type Out: ArrayLength;

    /// Inference: writes the first `x.len()` rows of `out`.
    fn forward_rows(
        &self,
        x: &[GenericArray<f32, Self::In>],
        out: &mut [GenericArray<f32, Self::Out>],
        aux: &mut Aux,
    );

    /// Training: writes the first `x.len()` rows of `a`, and keeps in `z` and `aux` what
    /// [`Backward::backward_rows`] needs. By default the inference pass, for a layer that
    /// trains as it infers and keeps nothing in `z` (pooling).
    fn forward_train(
        &self,
        x: &[GenericArray<f32, Self::In>],
        _z: &mut [GenericArray<f32, Self::Out>],
        a: &mut [GenericArray<f32, Self::Out>],
        aux: &mut Aux,
    ) {
        self.forward_rows(x, a, aux);
    }
}

/// A layer's chain rule, for training with the loss `L` (which only matters to the activations
/// a layer applies, as for [`Differentiable<L>`](crate::activation::Differentiable)).
pub trait Backward<L>: Layer + Sized {
    /// From the layer's input `x`, what [`Layer::forward_train`] kept (`z`, `a`, `aux`) and
    /// `delta = ∂L/∂a` (which it may overwrite), writes the gradient of the layer's parameters
    /// into `grad` (overwriting it) and, if asked, `∂L/∂x` into `dx`.
    #[allow(clippy::too_many_arguments)]
    fn backward_rows(
        &self,
        x: &[GenericArray<f32, Self::In>],
        z: &[GenericArray<f32, Self::Out>],
        a: &[GenericArray<f32, Self::Out>],
        delta: &mut [GenericArray<f32, Self::Out>],
        aux: &mut Aux,
        grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, Self::In>]>,
    );
}

/// The geometry of a convolution layer, from its description.
pub fn conv_geometry(layer: &LayerShape) -> Option<kernels::conv::Conv2d> {
    let LayerKind::Conv {
        filters,
        kernel: [kernel_height, kernel_width],
        stride,
        pad,
        ..
    } = layer.kind
    else {
        return None;
    };
    let Shape::Image {
        channels,
        height,
        width,
    } = layer.input
    else {
        return None;
    };
    Some(kernels::conv::Conv2d {
        in_channels: channels,
        in_height: height,
        in_width: width,
        out_channels: filters,
        kernel_height,
        kernel_width,
        stride,
        pad,
    })
}

/// The scratch a layer's kernel needs for `batch` samples (a convolution's; none elsewhere).
pub fn scratch_len(layer: &LayerShape, batch: usize) -> usize {
    conv_geometry(layer).map_or(0, |g| g.scratch_len(batch))
}

/// A zeroed heap slice of `len` values.
fn zeroed(len: usize) -> Box<[f32]> {
    vec![0.0; len].into_boxed_slice()
}

/// A heap slice of `len` copies of `value`.
fn filled(len: usize, value: f32) -> Box<[f32]> {
    vec![value; len].into_boxed_slice()
}
