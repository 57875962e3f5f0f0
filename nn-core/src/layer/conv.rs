//! The 2-D convolution layer: `a = f(W ⋆ x + b)` on channel-major images.
//!
//! | step | formula |
//! | --- | --- |
//! | forward | `z[f][y][x] = b[f] + Σ_c Σ_ky Σ_kx W[f][c][ky][kx] · x[c][y·s + ky - p][x·s + kx - p]`, `a = f(z)` |
//! | backward | `δ = ∂L/∂a ⊙ f'(z)`; `∂L/∂W = Σ δ ⋆ x`, `∂L/∂b = Σ δ`, `∂L/∂x = Wᵀ ⋆ δ` |
//!
//! with stride `s`, zero padding `p`, and values outside the image read as 0. The weights are
//! `[filters][channels][kh][kw]`, the layout of PyTorch's `nn.Conv2d.weight`; the output is
//! `filters × ((h + 2p - kh)/s + 1) × ((w + 2p - kw)/s + 1)`, rounded down as PyTorch does.

use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};
use rand::{Rng, RngExt};

use super::kernels::conv::{conv2d_backward, conv2d_forward, Conv2d};
use super::Aux;
use super::{zeroed, Backward, Layer};
use crate::activation::{Activation, Differentiable};
use crate::baked::ConvRef;

/// A convolution of `F` filters of `KH × KW` with stride `S` and padding `P` over a `C × H × W`
/// image, with activation `A`. `I` and `O` are the typenum lengths of one input and one output
/// image (`C·H·W` and `F·OH·OW`), checked against the geometry when the layer is built.
pub struct Conv<
    I,
    O,
    A,
    const C: usize,
    const H: usize,
    const W: usize,
    const F: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
> {
    weights: Box<[f32]>,
    bias: Box<[f32]>,
    shape: PhantomData<(I, O, A)>,
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        A: Activation,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    /// The geometry, checked at compile time against the typenum lengths.
    pub const GEOMETRY: Conv2d = {
        let g = Conv2d {
            in_channels: C,
            in_height: H,
            in_width: W,
            out_channels: F,
            kernel_height: KH,
            kernel_width: KW,
            stride: S,
            pad: P,
        };
        assert!(
            S > 0 && H + 2 * P >= KH && W + 2 * P >= KW,
            "a kernel larger than its padded input, or a stride of 0"
        );
        assert!(
            g.input_len() == I::USIZE && g.output_len() == O::USIZE,
            "a convolution's lengths that are not its geometry's"
        );
        g
    };

    /// A layer whose weights and biases are all zero.
    pub fn zeros() -> Self {
        let g = Self::GEOMETRY;
        Self {
            weights: zeroed(g.weight_len()),
            bias: zeroed(F),
            shape: PhantomData,
        }
    }

    /// A layer with weights drawn from `rng` by the activation's [`Init`](crate::activation::Init) over the
    /// fan-in `C·KH·KW` (and fan-out `F·KH·KW`), and zero biases.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        let r = A::INIT.range(C * KH * KW, F * KH * KW);
        if r > 0.0 {
            for w in layer.weights.iter_mut() {
                *w = rng.random_range(-r..r);
            }
        }
        layer
    }

    /// The weights, `[filters][channels][kh][kw]` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The weights, mutable.
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weights
    }

    /// The biases, one per filter.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// The parameters: weights, then biases.
    pub fn parameters(&self) -> [&[f32]; 2] {
        [&self.weights, &self.bias]
    }

    /// The parameters, mutable: weights, then biases.
    pub fn parameters_mut(&mut self) -> [&mut [f32]; 2] {
        [&mut self.weights, &mut self.bias]
    }
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        A: Activation,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > Layer for Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    type In = I;
    type Out = O;

    fn forward_rows(
        &self,
        x: &[GenericArray<f32, I>],
        out: &mut [GenericArray<f32, O>],
        aux: &mut Aux,
    ) {
        // The inference pass a baked network shares (`crate::baked`).
        let view: ConvRef<'_, I, O, A> = ConvRef {
            geometry: Self::GEOMETRY,
            weights: &self.weights,
            bias: &self.bias,
            shape: PhantomData,
        };
        view.forward_rows(x, out, &mut aux.scratch);
    }

    fn forward_train(
        &self,
        x: &[GenericArray<f32, I>],
        z: &mut [GenericArray<f32, O>],
        a: &mut [GenericArray<f32, O>],
        aux: &mut Aux,
    ) {
        let n = x.len();
        let z = GenericArray::slice_from_chunks_mut(&mut z[..n]);
        conv2d_forward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(x),
            &self.weights,
            &self.bias,
            z,
            &mut aux.scratch,
        );
        let a = GenericArray::slice_from_chunks_mut(&mut a[..n]);
        a.copy_from_slice(z);
        A::apply_rows(a, O::USIZE);
    }
}

impl<
        I: ArrayLength,
        O: ArrayLength,
        A: Differentiable<L>,
        L,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > Backward<L> for Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    fn backward_rows(
        &self,
        x: &[GenericArray<f32, I>],
        z: &[GenericArray<f32, O>],
        a: &[GenericArray<f32, O>],
        delta: &mut [GenericArray<f32, O>],
        aux: &mut Aux,
        grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, I>]>,
    ) {
        let n = delta.len();
        let d = GenericArray::slice_from_chunks_mut(delta);
        A::backward_rows(
            GenericArray::slice_from_chunks(&z[..n]),
            GenericArray::slice_from_chunks(&a[..n]),
            d,
            O::USIZE,
        );
        conv2d_backward(
            &Self::GEOMETRY,
            n,
            GenericArray::slice_from_chunks(&x[..n]),
            &self.weights,
            d,
            &mut grad.weights,
            &mut grad.bias,
            dx.map(|dx| GenericArray::slice_from_chunks_mut(&mut dx[..n])),
            &mut aux.scratch,
        );
    }
}

impl<
        I,
        O,
        A,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > Clone for Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    fn clone(&self) -> Self {
        Self {
            weights: self.weights.clone(),
            bias: self.bias.clone(),
            shape: PhantomData,
        }
    }
}

impl<
        I,
        O,
        A,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > PartialEq for Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights && self.bias == other.bias
    }
}

impl<
        I,
        O,
        A: Activation,
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
    > fmt::Debug for Conv<I, O, A, C, H, W, F, KH, KW, S, P>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Conv({C}x{H}x{W} -> {F} filters of {KH}x{KW}, stride {S}, pad {P}, {})",
            A::NAME
        )
    }
}
