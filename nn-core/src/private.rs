//! What the code `network!` writes refers to. Not a public API: it may change in any release.

pub use generic_array;
pub use typenum;

pub use crate::activation::{
    Activation, Custom, CustomActivation, Differentiable, Gelu, LeakyRelu, Linear, Relu, Sigmoid,
    Silu, Softmax, Softplus, Step, Tanh,
};
pub use crate::dense::Dense;
pub use crate::error::Error;
pub use crate::layer::Aux;
pub use crate::layer::{AvgPool, Backward, BatchNorm, Conv, Dropout, Layer, LayerNorm, MaxPool};
pub use crate::loss::{Loss, LossGradient};
pub use crate::model::{ActivationKind, LayerKind, LayerShape, PoolKind, Real, Shape};
pub use crate::nested::{
    describes, flatten, layer_count, name_len, names, output_and_delta, output_rows, rows_as,
    rows_as_mut, take_many, take_one, Layer as PathLayer, Part,
};
pub use crate::network::{check_batch, check_outputs, LayerBuffers, Network, Trainable, Workspace};

use generic_array::{ArrayLength, GenericArray};
use rand::SeedableRng;

/// The random number generator networks are seeded with: xoshiro256++, a fixed algorithm, so
/// the same seed gives the same weights on every machine.
pub type SeedRng = rand::rngs::Xoshiro256PlusPlus;

/// The generator for a seed.
#[inline]
pub fn seed_rng(seed: u64) -> SeedRng {
    SeedRng::seed_from_u64(seed)
}

/// A seed for a path layer's [`PathLayer::new`], drawn from the network's generator.
#[inline]
pub fn next_seed(rng: &mut SeedRng) -> u64 {
    rand::Rng::next_u64(rng)
}

/// A plain array seen as a typed vector, checked at compile time to have the same length.
#[inline(always)]
pub fn array<const N: usize, L: ArrayLength>(x: &[f32; N]) -> &GenericArray<f32, L> {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::from_slice(x)
}

/// A mutable plain array seen as a typed vector.
#[inline(always)]
pub fn array_mut<const N: usize, L: ArrayLength>(x: &mut [f32; N]) -> &mut GenericArray<f32, L> {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::from_mut_slice(x)
}

/// A batch of plain arrays seen as typed rows.
#[inline(always)]
pub fn rows<const N: usize, L: ArrayLength>(x: &[[f32; N]]) -> &[GenericArray<f32, L>] {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::chunks_from_slice(x.as_flattened()).0
}

/// A mutable batch of plain arrays seen as typed rows.
#[inline(always)]
pub fn rows_mut<const N: usize, L: ArrayLength>(x: &mut [[f32; N]]) -> &mut [GenericArray<f32, L>] {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::chunks_from_slice_mut(x.as_flattened_mut()).0
}

/// A zeroed array on the heap, for a layer too wide to keep on the stack.
#[inline]
pub fn zeroed_box<const N: usize>() -> Box<[f32; N]> {
    match vec![0.0f32; N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("a vector of N values converts to [f32; N]"),
    }
}

/// The batch bodies of a generated network, behind hidden traits so that they are not methods
/// of the user's type: the row types of its input and output.
pub trait Rows: Network {
    /// The input width as a typenum length.
    type In: ArrayLength;
    /// The output width as a typenum length.
    type Out: ArrayLength;
}

/// Backprop over a non-empty batch with one target per input, written by `network!`.
pub trait GradientRows<L>: Rows {
    /// The forward pass keeping every layer's `z` and `a`, the loss's delta at the output, then
    /// the chain rule layer by layer in reverse; returns the mean loss.
    fn gradient_rows(
        &self,
        loss: L,
        x: &[GenericArray<f32, Self::In>],
        y: &[GenericArray<f32, Self::Out>],
        grads: &mut Self,
        workspace: &mut Workspace<Self>,
    ) -> f32;
}

/// The mean loss over a non-empty batch with one target per input, written by `network!`.
pub trait LossRows<L>: Rows {
    /// The forward pass, then the mean loss; no gradients.
    fn loss_rows(
        &self,
        loss: L,
        x: &[GenericArray<f32, Self::In>],
        y: &[GenericArray<f32, Self::Out>],
        workspace: &mut Workspace<Self>,
    ) -> f32;
}
