//! The 2-D pooling layers, each channel alone and without parameters: [`MaxPool`] keeps each
//! window's largest value, [`AvgPool`] its mean.
//!
//! | step | max | average |
//! | --- | --- | --- |
//! | forward | `a = max over the window` (its position kept) | `a = mean over the window` |
//! | backward | `∂L/∂x` = `∂L/∂a` at each window's maximum, 0 elsewhere | `∂L/∂a / (kh·kw)` over each window |
//!
//! Only the windows that fit whole are kept, PyTorch's floor rule: an `H × W` input gives
//! `((H - kh)/s + 1) × ((W - kw)/s + 1)`, rounded down, so `maxpool 3x3` of `28x28` is `9x9` and
//! the last row and column are never read.

use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};

use super::kernels::pool::{
    avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward, Pool2d,
};
use super::Aux;
use super::{Backward, Layer};

/// The geometry of a pooling of `C × H × W` with a `KH × KW` window and stride `S`, checked at
/// compile time against the typenum lengths `I` and `O`.
const fn geometry<I: ArrayLength, O: ArrayLength>(
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: usize,
) -> Pool2d {
    assert!(
        s > 0 && kh > 0 && kw > 0 && h >= kh && w >= kw,
        "a window larger than its input, or a stride of 0"
    );
    let g = Pool2d {
        channels: c,
        in_height: h,
        in_width: w,
        window_height: kh,
        window_width: kw,
        stride: s,
    };
    assert!(
        g.input_len() == I::USIZE && g.output_len() == O::USIZE,
        "a pooling's lengths that are not its geometry's"
    );
    g
}

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        pub struct $name<
            I,
            O,
            const C: usize,
            const H: usize,
            const W: usize,
            const KH: usize,
            const KW: usize,
            const S: usize,
        > {
            shape: PhantomData<(I, O)>,
        }

        impl<
                I: ArrayLength,
                O: ArrayLength,
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const S: usize,
            > $name<I, O, C, H, W, KH, KW, S>
        {
            /// The geometry.
            pub const GEOMETRY: Pool2d = geometry::<I, O>(C, H, W, KH, KW, S);

            /// The layer (it has nothing to set).
            pub fn new() -> Self {
                let _ = Self::GEOMETRY;
                Self { shape: PhantomData }
            }

            /// The layer's parameters: none.
            pub fn parameters(&self) -> [&[f32]; 0] {
                []
            }

            /// The layer's parameters, mutable: none.
            pub fn parameters_mut(&mut self) -> [&mut [f32]; 0] {
                []
            }
        }

        impl<
                I: ArrayLength,
                O: ArrayLength,
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const S: usize,
            > Default for $name<I, O, C, H, W, KH, KW, S>
        {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<I, O, const C: usize, const H: usize, const W: usize, const KH: usize, const KW: usize, const S: usize>
            Clone for $name<I, O, C, H, W, KH, KW, S>
        {
            fn clone(&self) -> Self {
                Self { shape: PhantomData }
            }
        }

        impl<I, O, const C: usize, const H: usize, const W: usize, const KH: usize, const KW: usize, const S: usize>
            PartialEq for $name<I, O, C, H, W, KH, KW, S>
        {
            fn eq(&self, _: &Self) -> bool {
                true
            }
        }

        impl<I, O, const C: usize, const H: usize, const W: usize, const KH: usize, const KW: usize, const S: usize>
            fmt::Debug for $name<I, O, C, H, W, KH, KW, S>
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({}x{}x{}, {}x{} stride {})"), C, H, W, KH, KW, S)
            }
        }
    };
}

pool_layer!(
    /// Max pooling of a `C × H × W` image with a `KH × KW` window and stride `S`; `I` and `O`
    /// are the typenum lengths of one input and one output image.
    MaxPool,
    "MaxPool"
);

pool_layer!(
    /// Average pooling of a `C × H × W` image with a `KH × KW` window and stride `S`; `I` and
    /// `O` are the typenum lengths of one input and one output image.
    AvgPool,
    "AvgPool"
);

impl<
        I: ArrayLength,
        O: ArrayLength,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
    > Layer for MaxPool<I, O, C, H, W, KH, KW, S>
{
    type In = I;
    type Out = O;

    /// The maxima into `out`, their positions into `aux.index` (training reuses this pass; the
    /// backward pass routes each delta to its position).
    fn forward_rows(
        &self,
        x: &[GenericArray<f32, I>],
        out: &mut [GenericArray<f32, O>],
        aux: &mut Aux,
    ) {
        let n = x.len();
        maxpool2d_forward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(x),
            GenericArray::slice_from_chunks_mut(&mut out[..n]),
            &mut aux.index,
        );
    }
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        L,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
    > Backward<L> for MaxPool<I, O, C, H, W, KH, KW, S>
{
    fn backward_rows(
        &self,
        _x: &[GenericArray<f32, I>],
        _z: &[GenericArray<f32, O>],
        _a: &[GenericArray<f32, O>],
        delta: &mut [GenericArray<f32, O>],
        aux: &mut Aux,
        _grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, I>]>,
    ) {
        let Some(dx) = dx else { return };
        let n = delta.len();
        maxpool2d_backward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(delta),
            &aux.index,
            GenericArray::slice_from_chunks_mut(&mut dx[..n]),
        );
    }
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
    > Layer for AvgPool<I, O, C, H, W, KH, KW, S>
{
    type In = I;
    type Out = O;

    fn forward_rows(
        &self,
        x: &[GenericArray<f32, I>],
        out: &mut [GenericArray<f32, O>],
        _aux: &mut Aux,
    ) {
        let n = x.len();
        avgpool2d_forward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(x),
            GenericArray::slice_from_chunks_mut(&mut out[..n]),
        );
    }
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        L,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
    > Backward<L> for AvgPool<I, O, C, H, W, KH, KW, S>
{
    fn backward_rows(
        &self,
        _x: &[GenericArray<f32, I>],
        _z: &[GenericArray<f32, O>],
        _a: &[GenericArray<f32, O>],
        delta: &mut [GenericArray<f32, O>],
        _aux: &mut Aux,
        _grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, I>]>,
    ) {
        let Some(dx) = dx else { return };
        let n = delta.len();
        avgpool2d_backward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(delta),
            GenericArray::slice_from_chunks_mut(&mut dx[..n]),
        );
    }
}
