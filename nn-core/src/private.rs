//! What the code `network!` writes refers to. Not a public API: it may change in any release.

pub use generic_array;
pub use typenum;

pub use crate::activation::{
    Activation, Custom, CustomActivation, Differentiable, Gelu, LeakyRelu, Linear, Relu, Sigmoid,
    Silu, Softmax, Softplus, Step, Tanh,
};
pub use crate::baked::{BatchNormRef, ConvRef, DenseRef, LayerNormRef};
pub use crate::dense::Dense;
pub use crate::error::Error;
pub use crate::kernel::conv::Conv2d;
pub use crate::kernel::pool::{avgpool2d_forward, maxpool2d_forward, Pool2d};
#[cfg(feature = "alloc")]
pub use crate::layer::Aux;
#[cfg(feature = "alloc")]
pub use crate::layer::{AvgPool, Backward, BatchNorm, Conv, Dropout, Layer, LayerNorm, MaxPool};
pub use crate::loss::{Loss, LossGradient};
pub use crate::model::{ActivationKind, LayerKind, LayerShape, PoolKind, Real, Shape};
pub use crate::model::{Block, BlockKind, Head, Heads, Node};
#[cfg(feature = "alloc")]
pub use crate::nested::{
    describes, flatten, layer_count, name_len, names, output_and_delta, output_rows, rows_as,
    rows_as_mut, take_many, take_one, Layer as PathLayer, Part,
};
pub use crate::network::{check_batch, check_outputs, Network};
#[cfg(feature = "alloc")]
pub use crate::network::{BlockBuffers, LayerBuffers, Trainable, Workspace};
#[cfg(feature = "alloc")]
pub use crate::optim::FusedStep;
#[cfg(feature = "std")]
pub use crate::train::InvalidData;

/// The items `network!` writes that need the heap (workspaces, batches, gradients, training,
/// the layer kinds other than dense), kept when nn-core has its `alloc` feature and dropped
/// without it. The macro cannot see nn-core's features, so it wraps those items in
/// `::nn::__private::__if_alloc! { ... }` and this macro's definition decides.
#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_alloc {
    ($($items:tt)*) => { $($items)* };
}

/// Without `alloc`: the items vanish.
#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_alloc {
    ($($items:tt)*) => {};
}

/// The opposite of [`__if_alloc`]: items kept only without `alloc`, such as the error that
/// names the feature a network's layers need.
#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_no_alloc {
    ($($items:tt)*) => {};
}

/// Without `alloc`: the items are kept.
#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_no_alloc {
    ($($items:tt)*) => { $($items)* };
}

pub use crate::__nn_if_alloc as __if_alloc;
pub use crate::__nn_if_no_alloc as __if_no_alloc;

/// The items `network!` writes that need `std` (the target checks the trainer calls), kept when
/// nn-core has its `std` feature and dropped without it, like [`__if_alloc`].
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_std {
    ($($items:tt)*) => { $($items)* };
}

/// Without `std`: the items vanish.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __nn_if_std {
    ($($items:tt)*) => {};
}

pub use crate::__nn_if_std as __if_std;

use generic_array::{ArrayLength, GenericArray};
use rand::SeedableRng;

/// `true`, for a type that implements [`CustomActivation`]: the constant `network!` writes in
/// `Custom<T, { is_custom_activation::<T>() }>`, so that a type that does not implement it is
/// an error here, at the user's path, and nowhere else.
#[must_use]
pub const fn is_custom_activation<T: CustomActivation>() -> bool {
    true
}

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
pub fn array<T, const N: usize, L: ArrayLength>(x: &[T; N]) -> &GenericArray<T, L> {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::from_slice(x)
}

/// A mutable plain array seen as a typed vector.
#[inline(always)]
pub fn array_mut<T, const N: usize, L: ArrayLength>(x: &mut [T; N]) -> &mut GenericArray<T, L> {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::from_mut_slice(x)
}

/// A batch of plain arrays seen as typed rows.
#[inline(always)]
pub fn rows<T, const N: usize, L: ArrayLength>(x: &[[T; N]]) -> &[GenericArray<T, L>] {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::chunks_from_slice(x.as_flattened()).0
}

/// A mutable batch of plain arrays seen as typed rows.
#[inline(always)]
pub fn rows_mut<T, const N: usize, L: ArrayLength>(x: &mut [[T; N]]) -> &mut [GenericArray<T, L>] {
    const { assert!(N == L::USIZE, "array length differs from the layer width") };
    GenericArray::chunks_from_slice_mut(x.as_flattened_mut()).0
}

/// A zeroed array on the heap, for a layer too wide to keep on the stack.
#[cfg(feature = "alloc")]
#[inline]
pub fn zeroed_box<T: crate::scalar::Scalar, const N: usize>() -> alloc::boxed::Box<[T; N]> {
    match alloc::vec![T::ZERO; N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("a vector of N values converts to [T; N]"),
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
#[cfg(feature = "alloc")]
pub trait GradientRows<L>: Rows {
    /// The forward pass keeping every layer's `z` and `a`, the loss's delta at the output, then
    /// the chain rule layer by layer in reverse; returns the mean loss.
    fn gradient_rows(
        &self,
        loss: L,
        x: &[GenericArray<Self::Scalar, Self::In>],
        y: &[GenericArray<Self::Scalar, Self::Out>],
        grads: &mut Self,
        workspace: &mut Workspace<Self>,
    ) -> Self::Scalar;
}

/// The mean loss over a non-empty batch with one target per input, written by `network!`.
#[cfg(feature = "alloc")]
pub trait LossRows<L>: Rows {
    /// The forward pass, then the mean loss; no gradients.
    fn loss_rows(
        &self,
        loss: L,
        x: &[GenericArray<Self::Scalar, Self::In>],
        y: &[GenericArray<Self::Scalar, Self::Out>],
        workspace: &mut Workspace<Self>,
    ) -> Self::Scalar;
}

/// A residual block's forward step: `s = x + f(x)`, row by row, from the block's input `x` and
/// its branch's output `fx`; writes the first `x.len()` rows of `s`.
#[inline]
pub fn residual_rows<W: ArrayLength>(
    x: &[GenericArray<f32, W>],
    fx: &[GenericArray<f32, W>],
    s: &mut [GenericArray<f32, W>],
) {
    let n = x.len();
    let s = GenericArray::slice_from_chunks_mut(&mut s[..n]);
    let x = GenericArray::slice_from_chunks(x);
    let fx = GenericArray::slice_from_chunks(&fx[..n]);
    for ((s, x), fx) in s.iter_mut().zip(x).zip(fx) {
        *s = x + fx;
    }
}

/// A gradient arriving by a second path: `acc += more`, over the first `acc.len()` rows of
/// `more`. Where two branches' gradients meet (a residual block's skip and its branch, the
/// branches of a concatenation, the heads).
#[inline]
pub fn add_rows<W: ArrayLength>(acc: &mut [GenericArray<f32, W>], more: &[GenericArray<f32, W>]) {
    let n = acc.len();
    let acc = GenericArray::slice_from_chunks_mut(acc);
    let more = GenericArray::slice_from_chunks(&more[..n]);
    for (a, m) in acc.iter_mut().zip(more) {
        *a += m;
    }
}

/// `to = from` over the first `to.len()` rows: a residual block's output gradient handed to
/// its branch's last layer (which turns it into a delta in place).
#[inline]
pub fn copy_rows<W: ArrayLength>(to: &mut [GenericArray<f32, W>], from: &[GenericArray<f32, W>]) {
    let n = to.len();
    GenericArray::slice_from_chunks_mut(to)
        .copy_from_slice(GenericArray::slice_from_chunks(&from[..n]));
}

/// One branch's part of a concatenation's forward step: its output rows `part` (width `P`)
/// written at value `offset` of each row of the joined output `out` (width `W`). Image parts
/// join channel-wise: a sample's channels are consecutive in channel-major storage.
#[inline]
pub fn join_rows<W: ArrayLength, P: ArrayLength>(
    part: &[GenericArray<f32, P>],
    offset: usize,
    out: &mut [GenericArray<f32, W>],
) {
    const {
        assert!(
            P::USIZE <= W::USIZE,
            "a concatenation's part is wider than its output"
        )
    };
    for (o, p) in out.iter_mut().zip(part) {
        o[offset..offset + P::USIZE].copy_from_slice(p);
    }
}

/// The backward of [`join_rows`]: value `offset` onwards of each row of the joined output's
/// gradient `grad`, into the branch's output gradient rows `part` (its first `part.len()` rows).
#[inline]
pub fn split_rows<W: ArrayLength, P: ArrayLength>(
    grad: &[GenericArray<f32, W>],
    offset: usize,
    part: &mut [GenericArray<f32, P>],
) {
    const {
        assert!(
            P::USIZE <= W::USIZE,
            "a concatenation's part is wider than its output"
        )
    };
    for (p, g) in part.iter_mut().zip(grad) {
        p.copy_from_slice(&g[offset..offset + P::USIZE]);
    }
}

/// The first `n` rows of the flat buffer `buf` as rows of width `W`.
#[inline]
pub fn rows_of<W: ArrayLength>(buf: &mut [f32], n: usize) -> &mut [GenericArray<f32, W>] {
    GenericArray::chunks_from_slice_mut(&mut buf[..n * W::USIZE]).0
}

/// A head's target problem located in the joined row: its index moved by `start`, where the
/// head's values begin.
#[cfg(feature = "std")]
pub fn shifted(error: InvalidData, start: usize) -> InvalidData {
    match error {
        InvalidData::InputNotFinite { index, value } => InvalidData::InputNotFinite {
            index: index + start,
            value,
        },
        InvalidData::TargetNotFinite { index, value } => InvalidData::TargetNotFinite {
            index: index + start,
            value,
        },
        InvalidData::TargetOutOfRange {
            index,
            value,
            loss,
            expected,
        } => InvalidData::TargetOutOfRange {
            index: index + start,
            value,
            loss,
            expected,
        },
        other => other,
    }
}

/// A head's delta times its loss's weight, `δ = w·∂L_head/∂z`: the weighted sum of the heads'
/// losses is what the network minimises.
#[inline]
pub fn scale_rows<W: ArrayLength>(rows: &mut [GenericArray<f32, W>], weight: f32) {
    for v in GenericArray::slice_from_chunks_mut(rows) {
        *v *= weight;
    }
}

/// The batch bodies of a network with heads, behind hidden traits as for a chain's: the row
/// type of its input. Each head's targets are in the workspace (copied there by the caller from
/// its outputs struct or from the `Network` trait's joined rows) before a body runs.
#[cfg(feature = "alloc")]
pub trait HeadRows: Network {
    /// The input width as a typenum length.
    type In: ArrayLength;
    /// The number of heads.
    const HEADS: usize;

    /// The inference pass of a batch, leaving each head's output in its output layer's
    /// workspace rows.
    fn forward_heads(&self, x: &[GenericArray<f32, Self::In>], workspace: &mut Workspace<Self>);
}

/// Backprop of a network with heads over a non-empty batch, written by `network!`.
#[cfg(feature = "alloc")]
pub trait HeadsGradient<L>: HeadRows {
    /// The training forward pass, each head's weighted delta, the heads' chains back to the
    /// trunk (their input gradients summed), then the trunk; writes each head's mean loss
    /// (unweighted) into `losses`.
    fn gradient_heads(
        &self,
        loss: L,
        x: &[GenericArray<f32, Self::In>],
        losses: &mut [f32],
        grads: &mut Self,
        workspace: &mut Workspace<Self>,
    );
}

/// Each head's mean loss over a non-empty batch, written by `network!`.
#[cfg(feature = "alloc")]
pub trait HeadsLoss<L>: HeadRows {
    /// The training forward pass, then each head's mean loss (unweighted) into `losses`.
    fn loss_heads(
        &self,
        loss: L,
        x: &[GenericArray<f32, Self::In>],
        losses: &mut [f32],
        workspace: &mut Workspace<Self>,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use generic_array::arr;

    #[test]
    fn residual_join_split_and_add() {
        let x = [arr![1.0f32, 2.0], arr![3.0, 4.0]];
        let fx = [arr![0.5f32, -2.0], arr![1.0, 1.0]];
        let mut s = [GenericArray::<f32, typenum::U2>::default(); 3];
        residual_rows(&x, &fx, &mut s);
        assert_eq!(s[..2], [arr![1.5f32, 0.0], arr![4.0, 5.0]]);
        assert_eq!(s[2], arr![0.0f32, 0.0], "only the batch's rows are written");
        let mut joined = [GenericArray::<f32, typenum::U3>::default(); 2];
        join_rows(&x, 0, &mut joined);
        join_rows(&[arr![9.0f32], arr![8.0]], 2, &mut joined);
        assert_eq!(joined, [arr![1.0f32, 2.0, 9.0], arr![3.0, 4.0, 8.0]]);
        let mut tail = [GenericArray::<f32, typenum::U1>::default(); 2];
        split_rows(&joined, 2, &mut tail);
        assert_eq!(tail, [arr![9.0f32], arr![8.0]]);
        let mut acc = [arr![1.0f32, 1.0]];
        add_rows(&mut acc, &x);
        assert_eq!(acc, [arr![2.0f32, 3.0]]);
        copy_rows(&mut acc, &fx);
        assert_eq!(acc, [arr![0.5f32, -2.0]]);
    }
}
