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
//! Normalisation layers bake too: [`BatchNormRef`] (with the running statistics, as at
//! inference) and [`LayerNormRef`] are the code [`BatchNorm`](crate::layer::BatchNorm)'s and
//! [`LayerNorm`](crate::layer::LayerNorm)'s inference passes run on their own tensors.
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
#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use crate::model::NORM_EPSILON;
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
        T::affine_activate::<A>(
            n,
            I::USIZE,
            O::USIZE,
            GenericArray::slice_from_chunks(x),
            self.weights,
            self.bias,
            None,
            out,
        );
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

/// Batch normalisation of `N` values a sample in `C` channels (`N / C` values each,
/// channel-major, as [`BatchNorm`](crate::layer::BatchNorm)) over borrowed parameters and
/// running statistics, one value a channel each: PyTorch's `nn.BatchNorm1d` (flat input) or
/// `nn.BatchNorm2d` (image input) in `eval()` mode. Inference only:
/// `a = γ·(x - running_mean)/√(running_var + ε) + β`, channel by channel, with `ε = 1e-5`.
///
/// [`BatchNorm`](crate::layer::BatchNorm)'s inference pass is this view of its own tensors
/// (and its training pass this code on the batch's statistics), so the bits are the same.
///
/// ```
/// use nn_core::baked::BatchNormRef;
/// use nn_core::generic_array::GenericArray;
/// use nn_core::typenum::U4;
///
/// // Two channels of two values each.
/// static GAMMA: [f32; 2] = [2.0, 1.0];
/// static BETA: [f32; 2] = [0.0, -1.0];
/// static MEAN: [f32; 2] = [1.0, 0.0];
/// static VAR: [f32; 2] = [4.0, 1.0];
/// const LAYER: BatchNormRef<'static, U4, 2> =
///     match BatchNormRef::new(&GAMMA, &BETA, &MEAN, &VAR) {
///         Some(layer) => layer,
///         None => panic!("a tensor of the wrong length"),
///     };
/// let x = GenericArray::from_array([1.0, 3.0, 0.0, 0.0]);
/// let mut out = GenericArray::default();
/// LAYER.forward(&x, &mut out);
/// assert_eq!(out[0], 0.0);
/// assert!((out[1] - 2.0).abs() < 1e-5);
/// assert_eq!(out[2], -1.0);
/// ```
pub struct BatchNormRef<'a, N, const C: usize> {
    /// The scale `γ`, one per channel.
    pub(crate) gamma: &'a [f32],
    /// The shift `β`, one per channel.
    pub(crate) beta: &'a [f32],
    /// The mean subtracted, one per channel: the running mean (or, in training, the batch's).
    pub(crate) mean: &'a [f32],
    /// The variance divided by, one per channel: the running variance (or the batch's).
    pub(crate) var: &'a [f32],
    /// The width, which the slices do not carry.
    pub(crate) width: PhantomData<N>,
}

impl<'a, N: ArrayLength, const C: usize> BatchNormRef<'a, N, C> {
    /// The view of `weight` (`γ`), `bias` (`β`), `running_mean` and `running_var`, `C` values
    /// each; `None` if one has another length, or `C` is 0 or does not divide `N`. A `const`
    /// fn, as [`DenseRef::new`].
    #[must_use]
    pub const fn new(
        weight: &'a [f32],
        bias: &'a [f32],
        running_mean: &'a [f32],
        running_var: &'a [f32],
    ) -> Option<Self> {
        if C == 0
            || N::USIZE % C != 0
            || weight.len() != C
            || bias.len() != C
            || running_mean.len() != C
            || running_var.len() != C
        {
            return None;
        }
        Some(Self {
            gamma: weight,
            beta: bias,
            mean: running_mean,
            var: running_var,
            width: PhantomData,
        })
    }

    /// The scale `γ`, one per channel.
    #[must_use]
    pub const fn weight(&self) -> &'a [f32] {
        self.gamma
    }

    /// The shift `β`, one per channel.
    #[must_use]
    pub const fn bias(&self) -> &'a [f32] {
        self.beta
    }

    /// The running mean, one per channel.
    #[must_use]
    pub const fn running_mean(&self) -> &'a [f32] {
        self.mean
    }

    /// The running (unbiased) variance, one per channel.
    #[must_use]
    pub const fn running_var(&self) -> &'a [f32] {
        self.var
    }

    /// Forward pass of one sample (see the type's docs).
    #[inline]
    pub fn forward(&self, x: &GenericArray<f32, N>, out: &mut GenericArray<f32, N>) {
        self.forward_rows(core::slice::from_ref(x), core::slice::from_mut(out));
    }

    /// Forward pass of a batch, one row a sample. Writes the first `x.len()` rows of `out`.
    #[inline]
    pub fn forward_rows(&self, x: &[GenericArray<f32, N>], out: &mut [GenericArray<f32, N>]) {
        let n = x.len();
        self.normalise(
            GenericArray::slice_from_chunks(x),
            GenericArray::slice_from_chunks_mut(&mut out[..n]),
            None,
        );
    }

    /// `a = γ·x̂ + β` over a batch of rows of `N` values, channel by channel, with
    /// `x̂ = (x - mean)/√(var + ε)`; `x̂` kept in `xhat` if given (training).
    pub(crate) fn normalise(&self, x: &[f32], a: &mut [f32], mut xhat: Option<&mut [f32]>) {
        let s = N::USIZE / C;
        for c in 0..C {
            let k = 1.0 / sqrt_f32(self.var[c] + NORM_EPSILON);
            let (g, b, mu) = (self.gamma[c], self.beta[c], self.mean[c]);
            for i in 0..x.len() / N::USIZE {
                let range = i * N::USIZE + c * s..i * N::USIZE + (c + 1) * s;
                for j in range {
                    let h = (x[j] - mu) * k;
                    if let Some(xhat) = xhat.as_deref_mut() {
                        xhat[j] = h;
                    }
                    a[j] = g * h + b;
                }
            }
        }
    }
}

impl<N, const C: usize> Clone for BatchNormRef<'_, N, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N, const C: usize> Copy for BatchNormRef<'_, N, C> {}

impl<N: ArrayLength, const C: usize> fmt::Debug for BatchNormRef<'_, N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchNormRef({} in {C} channels)", N::USIZE)
    }
}

/// Layer normalisation of `N` values a sample over borrowed parameters (`N` values each, as
/// [`LayerNorm`](crate::layer::LayerNorm) and PyTorch's `nn.LayerNorm` over the whole sample):
/// `a = γ ⊙ (x - μ)/√(σ² + ε) + β` with the sample's own mean `μ` and (biased) variance `σ²`,
/// summed in `f64`, and `ε = 1e-5`.
///
/// [`LayerNorm`](crate::layer::LayerNorm)'s forward pass is this view of its own tensors (and
/// its training pass the same moments), so the bits are the same.
///
/// ```
/// use nn_core::baked::LayerNormRef;
/// use nn_core::generic_array::GenericArray;
/// use nn_core::typenum::U2;
///
/// static GAMMA: [f32; 2] = [1.0, 3.0];
/// static BETA: [f32; 2] = [0.5, 0.0];
/// const LAYER: LayerNormRef<'static, U2> = match LayerNormRef::new(&GAMMA, &BETA) {
///     Some(layer) => layer,
///     None => panic!("a tensor of the wrong length"),
/// };
/// let mut out = GenericArray::default();
/// LAYER.forward(&GenericArray::from_array([1.0, 3.0]), &mut out);
/// // x̂ = [-1, 1] (up to ε).
/// assert!((out[0] + 0.5).abs() < 1e-4 && (out[1] - 3.0).abs() < 1e-4);
/// ```
pub struct LayerNormRef<'a, N> {
    /// The scale `γ`, one per value.
    pub(crate) gamma: &'a [f32],
    /// The shift `β`, one per value.
    pub(crate) beta: &'a [f32],
    /// The width, which the slices do not carry.
    pub(crate) width: PhantomData<N>,
}

impl<'a, N: ArrayLength> LayerNormRef<'a, N> {
    /// The view of `weight` (`γ`) and `bias` (`β`), `N` values each; `None` if either has
    /// another length. A `const` fn, as [`DenseRef::new`].
    #[must_use]
    pub const fn new(weight: &'a [f32], bias: &'a [f32]) -> Option<Self> {
        if weight.len() != N::USIZE || bias.len() != N::USIZE {
            return None;
        }
        Some(Self {
            gamma: weight,
            beta: bias,
            width: PhantomData,
        })
    }

    /// The scale `γ`, one per value.
    #[must_use]
    pub const fn weight(&self) -> &'a [f32] {
        self.gamma
    }

    /// The shift `β`, one per value.
    #[must_use]
    pub const fn bias(&self) -> &'a [f32] {
        self.beta
    }

    /// Forward pass of one sample (see the type's docs).
    #[inline]
    pub fn forward(&self, x: &GenericArray<f32, N>, out: &mut GenericArray<f32, N>) {
        self.forward_rows(core::slice::from_ref(x), core::slice::from_mut(out));
    }

    /// Forward pass of a batch, one row a sample, each normalised on its own. Writes the
    /// first `x.len()` rows of `out`.
    #[inline]
    pub fn forward_rows(&self, x: &[GenericArray<f32, N>], out: &mut [GenericArray<f32, N>]) {
        for (x, a) in x.iter().zip(out.iter_mut()) {
            let (mu, k) = Self::moments(x);
            for (((a, &x), &g), &b) in a.iter_mut().zip(x.iter()).zip(self.gamma).zip(self.beta) {
                *a = g * ((x - mu) * k) + b;
            }
        }
    }

    /// One sample's mean and `1/√(σ² + ε)`, summed in f64.
    pub(crate) fn moments(x: &[f32]) -> (f32, f32) {
        let len = N::USIZE as f64;
        let mu = x.iter().map(|&v| f64::from(v)).sum::<f64>() / len;
        let var = x.iter().map(|&v| (f64::from(v) - mu).powi(2)).sum::<f64>() / len;
        (
            mu as f32,
            (1.0 / sqrt_f64(var + f64::from(NORM_EPSILON))) as f32,
        )
    }
}

impl<N> Clone for LayerNormRef<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N> Copy for LayerNormRef<'_, N> {}

impl<N: ArrayLength> fmt::Debug for LayerNormRef<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerNormRef({})", N::USIZE)
    }
}

/// `√x` for the normalisations: the inherent method with `std` (what the layers always ran),
/// `libm`'s without (correctly rounded as well, so the same bits).
#[inline]
fn sqrt_f32(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    return libm::sqrtf(x);
}

/// `√x` in `f64`, as [`sqrt_f32`].
#[inline]
fn sqrt_f64(x: f64) -> f64 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    return libm::sqrt(x);
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

    #[test]
    fn norm_views_compute_what_the_layers_compute_bit_for_bit() {
        use crate::layer::{Aux, BatchNorm, Layer, LayerNorm};
        use typenum::U6;
        let mut bn = BatchNorm::<U6, 3>::new();
        for (t, tensor) in bn.state_mut().into_iter().take(4).enumerate() {
            for (i, v) in tensor.iter_mut().enumerate() {
                *v = 0.5 + 0.37 * (t * 3 + i) as f32 - 0.11 * i as f32;
            }
        }
        let mut ln = LayerNorm::<U6>::new();
        for (t, tensor) in ln.parameters_mut().into_iter().enumerate() {
            for (i, v) in tensor.iter_mut().enumerate() {
                *v = 0.25 - 0.41 * (t + i) as f32;
            }
        }
        let [g, beta, m, v, _] = bn.state();
        let Some(bn_view) = BatchNormRef::<U6, 3>::new(g, beta, m, v) else {
            panic!("the layer's own slices have the right lengths");
        };
        let Some(ln_view) = LayerNormRef::<U6>::new(ln.weight(), ln.bias()) else {
            panic!("the layer's own slices have the right lengths");
        };
        let x = [GenericArray::from_array([0.7, -0.1, 0.33, 4.0, -2.5, 1e-3]); 2];
        let bits = |v: &[GenericArray<f32, U6>]| {
            v.iter()
                .flat_map(|r| r.iter().map(|f| f.to_bits()))
                .collect::<Vec<_>>()
        };
        let (mut a, mut b) = ([GenericArray::default(); 2], [GenericArray::default(); 2]);
        bn.forward_rows(&x, &mut a, &mut Aux::default());
        bn_view.forward_rows(&x, &mut b);
        assert_eq!(bits(&a), bits(&b));
        ln.forward_rows(&x, &mut a, &mut Aux::default());
        ln_view.forward_rows(&x, &mut b);
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(format!("{bn_view:?}"), "BatchNormRef(6 in 3 channels)");
        assert_eq!(format!("{ln_view:?}"), "LayerNormRef(6)");
        // Wrong lengths, and a channel count that does not divide the width.
        assert!(BatchNormRef::<U6, 3>::new(g, beta, m, &v[..2]).is_none());
        assert!(BatchNormRef::<U6, 4>::new(&[0.0; 4], &[0.0; 4], &[0.0; 4], &[1.0; 4]).is_none());
        assert!(LayerNormRef::<U6>::new(ln.weight(), &[0.0; 5]).is_none());
    }
}
