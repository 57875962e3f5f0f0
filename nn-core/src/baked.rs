//! Layers over borrowed weights: what a network baked in at compile time runs on.
//!
//! `network! { #[weights("model.safetensors")] struct Tiny: 784 -> 16 relu -> 10 softmax; }`
//! reads the file while compiling and writes every tensor as a `static` array, in read-only
//! memory. Its forward pass then calls each layer as a [`DenseRef`], a view of those arrays,
//! (or a convolution as a [`ConvRef`]), which runs exactly the code
//! [`Dense::forward`](crate::dense::Dense::forward) (or [`Conv`](crate::layer::Conv)'s
//! inference pass) runs: those layers build the same view of their own weights and call the
//! same method. Pooling layers have no weights: a baked network calls their kernels with the
//! layer type's own geometry. The same kernels on the
//! same values give the same bits, so a baked network computes what loading its file at run
//! time computes, bit for bit.
//!
//! Nothing here allocates or needs `std`: a view is two slices, and its forward pass writes into
//! the caller's arrays.
//!
//! ```
//! use nn_core::baked::DenseRef;
//! use nn_core::generic_array::GenericArray;
//! use nn_core::typenum::{U2, U3};
//! use nn_core::Relu;
//!
//! static WEIGHTS: [f32; 6] = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
//! static BIAS: [f32; 2] = [0.0, 1.0];
//! // Checked while compiling: a slice of the wrong length does not build.
//! const LAYER: DenseRef<'static, U3, U2, Relu> = match DenseRef::new(&WEIGHTS, &BIAS) {
//!     Some(layer) => layer,
//!     None => panic!("a weight or bias slice of the wrong length"),
//! };
//! let x = GenericArray::from_array([2.0, 5.0, 3.0]);
//! let mut out = GenericArray::default();
//! LAYER.forward(&x, &mut out);
//! assert_eq!(out.as_slice(), &[2.0, 0.0]);
//! ```

use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};

use crate::activation::Activation;
use crate::kernel::conv::{conv2d_forward, Conv2d};
use crate::scalar::Scalar;

/// A fully connected layer of `O` neurons over `I` inputs with activation `A`, over borrowed
/// weights (`O × I` values, row-major `[out][in]` as PyTorch's `nn.Linear.weight`) and biases
/// (`O` values): inference only.
pub struct DenseRef<'a, I, O, A, T = f32> {
    /// The weights, `O × I` values, row-major.
    pub(crate) weights: &'a [T],
    /// The biases, `O` values.
    pub(crate) bias: &'a [T],
    /// The widths and the activation, which the slices do not carry.
    pub(crate) shape: PhantomData<(I, O, A)>,
}

impl<'a, I: ArrayLength, O: ArrayLength, A: Activation, T: Scalar> DenseRef<'a, I, O, A, T> {
    /// The view of `weights` (`O × I` values, row-major) and `bias` (`O` values); `None` if
    /// either has another length. A `const` fn, so a view of `static` arrays built in a `const`
    /// item is checked while compiling (see the [module docs](self)).
    #[must_use]
    pub const fn new(weights: &'a [T], bias: &'a [T]) -> Option<Self> {
        let Some(len) = O::USIZE.checked_mul(I::USIZE) else {
            return None;
        };
        if weights.len() != len || bias.len() != O::USIZE {
            return None;
        }
        Some(Self {
            weights,
            bias,
            shape: PhantomData,
        })
    }

    /// The weights, `O × I` values, row-major.
    #[must_use]
    pub const fn weights_flat(&self) -> &'a [T] {
        self.weights
    }

    /// The biases, `O` values.
    #[must_use]
    pub const fn bias(&self) -> &'a [T] {
        self.bias
    }

    /// Forward pass of one sample: `out = f(W·x + b)`.
    #[inline]
    pub fn forward(&self, x: &GenericArray<T, I>, out: &mut GenericArray<T, O>) {
        self.forward_rows(core::slice::from_ref(x), core::slice::from_mut(out));
    }

    /// Forward pass of a batch, one row a sample: `out = f(X·Wᵀ + b)`. Writes the first
    /// `x.len()` rows of `out`.
    #[inline]
    pub fn forward_rows(&self, x: &[GenericArray<T, I>], out: &mut [GenericArray<T, O>]) {
        let n = x.len();
        let out = GenericArray::slice_from_chunks_mut(&mut out[..n]);
        T::affine(
            n,
            I::USIZE,
            O::USIZE,
            GenericArray::slice_from_chunks(x),
            self.weights,
            self.bias,
            out,
        );
        T::activate::<A>(out, O::USIZE);
    }
}

impl<I, O, A, T> Clone for DenseRef<'_, I, O, A, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O, A, T> Copy for DenseRef<'_, I, O, A, T> {}

impl<I: ArrayLength, O: ArrayLength, A: Activation, T> fmt::Debug for DenseRef<'_, I, O, A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DenseRef({} -> {} {})", I::USIZE, O::USIZE, A::NAME)
    }
}

/// A 2-D convolution with activation `A` over borrowed weights (`[filters][channels][kh][kw]`
/// row-major, as PyTorch's `nn.Conv2d.weight`) and biases (one per filter): inference only.
/// `I` and `O` are one sample's input and output lengths.
pub struct ConvRef<'a, I, O, A> {
    /// The shapes: the input image, the filters, stride and padding.
    pub(crate) geometry: Conv2d,
    /// The weights, `filters × channels × kh × kw` values.
    pub(crate) weights: &'a [f32],
    /// The biases, one per filter.
    pub(crate) bias: &'a [f32],
    /// The lengths and the activation.
    pub(crate) shape: PhantomData<(I, O, A)>,
}

impl<'a, I: ArrayLength, O: ArrayLength, A: Activation> ConvRef<'a, I, O, A> {
    /// The view of `weights` and `bias` as the convolution `geometry`; `None` if a slice has
    /// another length than the geometry needs, or `I`, `O` are not its input and output
    /// lengths. A `const` fn, as [`DenseRef::new`].
    #[must_use]
    pub const fn new(geometry: Conv2d, weights: &'a [f32], bias: &'a [f32]) -> Option<Self> {
        if weights.len() != geometry.weight_len()
            || bias.len() != geometry.out_channels
            || I::USIZE != geometry.input_len()
            || O::USIZE != geometry.output_len()
        {
            return None;
        }
        Some(Self {
            geometry,
            weights,
            bias,
            shape: PhantomData,
        })
    }

    /// The weights, `filters × channels × kh × kw` values, row-major.
    #[must_use]
    pub const fn weights_flat(&self) -> &'a [f32] {
        self.weights
    }

    /// The biases, one per filter.
    #[must_use]
    pub const fn bias(&self) -> &'a [f32] {
        self.bias
    }

    /// The geometry: input image, filters, stride, padding.
    #[must_use]
    pub const fn geometry(&self) -> &Conv2d {
        &self.geometry
    }

    /// The scratch space [`forward`](Self::forward) needs, in values.
    #[must_use]
    pub const fn scratch_len(&self) -> usize {
        self.geometry.scratch_len(1)
    }

    /// Forward pass of one sample, `out = f(W ⋆ x + b)`, with `scratch` (at least
    /// [`scratch_len`](Self::scratch_len) values) for the kernel.
    #[inline]
    pub fn forward(
        &self,
        x: &GenericArray<f32, I>,
        out: &mut GenericArray<f32, O>,
        scratch: &mut [f32],
    ) {
        self.forward_rows(
            core::slice::from_ref(x),
            core::slice::from_mut(out),
            scratch,
        );
    }

    /// Forward pass of a batch, one row a sample, with `scratch` for the kernel (at least
    /// `Conv2d::scratch_len(x.len())` values). Writes the first `x.len()` rows of `out`.
    #[inline]
    pub fn forward_rows(
        &self,
        x: &[GenericArray<f32, I>],
        out: &mut [GenericArray<f32, O>],
        scratch: &mut [f32],
    ) {
        let n = x.len();
        let out = GenericArray::slice_from_chunks_mut(&mut out[..n]);
        conv2d_forward(
            &self.geometry,
            n,
            GenericArray::slice_from_chunks(x),
            self.weights,
            self.bias,
            out,
            scratch,
        );
        A::apply_rows(out, O::USIZE);
    }
}

impl<I, O, A> Clone for ConvRef<'_, I, O, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O, A> Copy for ConvRef<'_, I, O, A> {}

impl<I: ArrayLength, O: ArrayLength, A: Activation> fmt::Debug for ConvRef<'_, I, O, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.geometry;
        write!(
            f,
            "ConvRef({}x{}x{} -> conv {} {}x{} stride {} pad {} {})",
            g.in_channels,
            g.in_height,
            g.in_width,
            g.out_channels,
            g.kernel_height,
            g.kernel_width,
            g.stride,
            g.pad,
            A::NAME
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Linear, Sigmoid};
    use crate::dense::Dense;
    use typenum::{U2, U3};

    #[test]
    fn wrong_lengths_are_refused() {
        let w = [0.0; 6];
        assert!(DenseRef::<U3, U2, Linear>::new(&w, &[0.0; 2]).is_some());
        assert!(DenseRef::<U3, U2, Linear>::new(&w[..5], &[0.0; 2]).is_none());
        assert!(DenseRef::<U3, U2, Linear>::new(&w, &[0.0; 3]).is_none());
    }

    #[test]
    fn a_view_computes_what_the_layer_computes_bit_for_bit() {
        let mut layer = Dense::<U3, U2, Sigmoid>::zeros();
        layer.set_weights(&[[0.3, -1.7, 2.9], [1e-3, 0.5, -0.25]]);
        layer.set_bias(&[0.125, -3.0]);
        let view = DenseRef::<U3, U2, Sigmoid>::new(layer.weights_flat(), layer.bias());
        let Some(view) = view else {
            panic!("the layer's own slices have the right lengths");
        };
        let x = GenericArray::from_array([0.7, -0.1, 0.33]);
        let (mut a, mut b) = (GenericArray::default(), GenericArray::default());
        layer.forward(&x, &mut a);
        view.forward(&x, &mut b);
        let bits = |v: &GenericArray<f32, U2>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(format!("{view:?}"), "DenseRef(3 -> 2 sigmoid)");
    }
}
