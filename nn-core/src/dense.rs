//! The fully connected layer: `a = f(W·x + b)`.
//!
//! A [`Dense<I, O, A>`] holds `O` neurons, each a row of `I` weights plus a bias, and the
//! activation `A`. `I` and `O` are typenum lengths, so two layers that do not fit together do not
//! compile. The weights are row-major, `[out][in]`, the layout of PyTorch's `nn.Linear.weight`:
//! with nn-core's `alloc` feature (on by default) in one block on the heap, without it inline
//! in the layer, so that a network is a plain value a `no_std` crate builds at compile time
//! ([`Dense::from_arrays`]) and keeps in a `static` (see the private `params` module).
//!
//! A batch is a slice of samples laid out row after row, so each step below is a matrix product:
//!
//! | step | per sample | over a batch `X` (`n × I`) |
//! | --- | --- | --- |
//! | forward | `z = W·x + b`, `a = f(z)` | `Z = X·Wᵀ + 1·bᵀ` |
//! | weight gradient | `∂L/∂W = δ·xᵀ`, `∂L/∂b = δ` | `Δᵀ·X`, column sums of `Δ` |
//! | input gradient | `∂L/∂x = Wᵀ·δ` | `Δ·W` |
//!
//! where `δ = ∂L/∂z` is the layer's delta.

use core::fmt;
use core::marker::PhantomData;

use generic_array::typenum::Const;
use generic_array::{ArrayLength, GenericArray, IntoArrayLength};
use rand::Rng;

use crate::activation::{Activation, Differentiable};
use crate::baked::DenseRef;
use crate::params::Params;
use crate::plain_array::PlainArray;
use crate::scalar::Scalar;

/// A fully connected layer of `O` neurons over `I` inputs with activation `A`, computing in
/// `T` ([`f32`] unless a declaration names `f64`; see [`Scalar`]).
///
/// Its weights are on the heap with the `alloc` feature and inline without (see the
/// [module docs](self)); the methods are the same either way.
///
/// The same type serves as the layer's gradient (and as an optimizer's per-weight state): a
/// gradient is shaped exactly like the weights it belongs to.
///
/// ```
/// use nn_core::{Dense, Sigmoid};
/// use nn_core::typenum::{U2, U3};
/// use nn_core::generic_array::GenericArray;
///
/// let mut layer = Dense::<U3, U2, Sigmoid>::zeros();
/// layer.set_weights(&[[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]);
/// layer.set_bias(&[0.0, 1.0]);
/// assert_eq!(layer.weights()[1][2], -1.0);
/// let x = GenericArray::from_array([2.0, 5.0, 1.0]);
/// let mut out = GenericArray::default();
/// layer.forward(&x, &mut out);
/// assert_eq!(out.as_slice(), &[nn_core::math::logistic(2.0), 0.5]);
/// ```
pub struct Dense<I: ArrayLength, O: ArrayLength, A, T: Scalar = f32> {
    /// The weights (`O × I` values, row-major) and the biases (`O` values).
    params: Params<I, O, T>,
    activation: PhantomData<A>,
}

impl<I: ArrayLength, O: ArrayLength, A: Activation, T: Scalar> Dense<I, O, A, T> {
    /// The number of inputs, `I`.
    pub const INPUTS: usize = I::USIZE;
    /// The number of neurons (outputs), `O`.
    pub const OUTPUTS: usize = O::USIZE;
    /// A layer whose weights and biases are all zero, allocated directly on the heap (with
    /// `alloc`; without it, the value holds every weight: keep a wide one in a `static`).
    pub fn zeros() -> Self {
        Self {
            params: Params::zeros(),
            activation: PhantomData,
        }
    }

    /// A layer with weights drawn from `rng` by the activation's [`Init`](crate::activation::Init) and
    /// zero biases.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        let r = A::INIT.range_f64(I::USIZE, O::USIZE);
        if r > 0.0 {
            for w in layer.weights_flat_mut() {
                *w = T::uniform(rng, r);
            }
        }
        layer
    }

    /// The weights, indexed `[neuron][input]`.
    ///
    /// # Panics
    ///
    /// For a layer of neurons over no inputs (`I` = 0, `O` > 0), which has no rows to show.
    pub fn weights(&self) -> &GenericArray<GenericArray<T, I>, O> {
        GenericArray::from_slice(GenericArray::chunks_from_slice(self.weights_flat()).0)
    }

    /// The weights, mutable, indexed `[neuron][input]`.
    ///
    /// # Panics
    ///
    /// As [`weights`](Self::weights).
    pub fn weights_mut(&mut self) -> &mut GenericArray<GenericArray<T, I>, O> {
        GenericArray::from_mut_slice(GenericArray::chunks_from_slice_mut(self.weights_flat_mut()).0)
    }

    /// The biases, one per neuron.
    pub fn bias(&self) -> &GenericArray<T, O> {
        GenericArray::from_slice(self.params.split().1)
    }

    /// The biases, mutable.
    pub fn bias_mut(&mut self) -> &mut GenericArray<T, O> {
        GenericArray::from_mut_slice(self.params.split_mut().1)
    }

    /// All weights as one row-major slice of `O × I` values.
    pub fn weights_flat(&self) -> &[T] {
        self.params.split().0
    }

    /// All weights as one mutable row-major slice of `O × I` values.
    pub fn weights_flat_mut(&mut self) -> &mut [T] {
        self.params.split_mut().0
    }

    /// Sets every weight from a plain array, `weights[neuron][input]`.
    ///
    /// The parameter's type is the layer's own `&[[T; INPUTS]; NEURONS]` (through
    /// [`PlainArray`]), so an array of another shape is an ordinary type error in numbers:
    /// ``expected `&[[f32; 3]; 2]`, found `&[[f32; 4]; 2]` ``. Layers more than 1024 wide on
    /// either side are set through [`weights_flat_mut`](Self::weights_flat_mut).
    pub fn set_weights(&mut self, weights: &<O as PlainArray>::Of<<I as PlainArray>::Of<T>>)
    where
        I: PlainArray,
        O: PlainArray,
    {
        let rows = self.weights_flat_mut().chunks_exact_mut(I::USIZE.max(1));
        for (row, values) in rows.zip(O::as_slice(weights)) {
            row.copy_from_slice(I::as_slice(values));
        }
    }

    /// Sets every bias from a plain array, the layer's own `&[T; NEURONS]` (see
    /// [`set_weights`](Self::set_weights)).
    pub fn set_bias(&mut self, bias: &<O as PlainArray>::Of<T>)
    where
        O: PlainArray,
    {
        self.bias_mut().copy_from_slice(O::as_slice(bias));
    }

    /// A layer from plain arrays, `weights[neuron][input]` and `bias[neuron]`: a `const fn`
    /// without the `alloc` feature, so that a `no_std` crate builds its network at compile time
    /// and keeps it in a `static` (in read-only memory); with `alloc`, an ordinary function
    /// that fills a layer on the heap. The array lengths must be the layer's widths (each at
    /// most 1024, or a power of two or ten, the lengths typenum names).
    ///
    /// ```
    /// use nn_core::{Dense, Relu};
    /// use nn_core::typenum::{U2, U3};
    ///
    /// let layer = Dense::<U3, U2, Relu>::from_arrays(&[[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]], &[0.5, 1.0]);
    /// assert_eq!(layer.weights()[1][2], -1.0);
    /// assert_eq!(layer.bias().as_slice(), &[0.5, 1.0]);
    /// ```
    #[cfg(not(feature = "alloc"))]
    pub const fn from_arrays<const IN: usize, const OUT: usize>(
        weights: &[[T; IN]; OUT],
        bias: &[T; OUT],
    ) -> Self
    where
        Const<IN>: IntoArrayLength<ArrayLength = I>,
        Const<OUT>: IntoArrayLength<ArrayLength = O>,
    {
        Self {
            params: Params::from_arrays(weights, bias),
            activation: PhantomData,
        }
    }

    /// A layer from plain arrays, `weights[neuron][input]` and `bias[neuron]` (a `const fn`
    /// without the `alloc` feature, where the weights are inline).
    ///
    /// ```
    /// use nn_core::{Dense, Relu};
    /// use nn_core::typenum::{U2, U3};
    ///
    /// let layer = Dense::<U3, U2, Relu>::from_arrays(&[[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]], &[0.5, 1.0]);
    /// assert_eq!(layer.weights()[1][2], -1.0);
    /// assert_eq!(layer.bias().as_slice(), &[0.5, 1.0]);
    /// ```
    #[cfg(feature = "alloc")]
    pub fn from_arrays<const IN: usize, const OUT: usize>(
        weights: &[[T; IN]; OUT],
        bias: &[T; OUT],
    ) -> Self
    where
        Const<IN>: IntoArrayLength<ArrayLength = I>,
        Const<OUT>: IntoArrayLength<ArrayLength = O>,
    {
        let mut layer = Self::zeros();
        let rows = layer.weights_flat_mut().chunks_exact_mut(IN.max(1));
        for (row, values) in rows.zip(weights) {
            row.copy_from_slice(values);
        }
        layer.bias_mut().copy_from_slice(bias);
        layer
    }

    /// Sets every weight and bias to zero.
    pub fn fill_zero(&mut self) {
        let (weights, bias) = self.params.split_mut();
        weights.fill(T::ZERO);
        bias.fill(T::ZERO);
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
        self.view().forward_rows(x, out);
    }

    /// The layer as a [`DenseRef`], a view of its weights: the inference pass it shares with
    /// networks baked in at compile time (see [`baked`](crate::baked)).
    #[inline]
    pub fn view(&self) -> DenseRef<'_, I, O, A, T> {
        // One split, not `weights_flat` and `bias` (whose length check made every inlined
        // forward pass larger): `Params` holds `O × I` weights and `O` biases, and the kernel
        // checks both lengths on entry.
        let (weights, bias) = self.params.split();
        DenseRef {
            weights,
            bias,
            shape: PhantomData,
        }
    }

    /// Forward pass for training: keeps the weighted sums `z` as well as the outputs `a`, since
    /// the backward pass needs both. Writes the first `x.len()` rows of `z` and `a`.
    #[inline]
    pub fn forward_train(
        &self,
        x: &[GenericArray<T, I>],
        z: &mut [GenericArray<T, O>],
        a: &mut [GenericArray<T, O>],
    ) {
        let n = x.len();
        let z = GenericArray::slice_from_chunks_mut(&mut z[..n]);
        let a = GenericArray::slice_from_chunks_mut(&mut a[..n]);
        T::affine_activate::<A>(
            n,
            I::USIZE,
            O::USIZE,
            GenericArray::slice_from_chunks(x),
            self.weights_flat(),
            self.bias(),
            Some(z),
            a,
        );
    }

    /// The chain rule through this layer's activation, over a batch: `delta` holds `∂L/∂a` on
    /// entry and `∂L/∂z` on return, from the `z` and `a` of [`forward_train`](Self::forward_train).
    #[inline]
    pub fn activation_backward<L>(
        &self,
        z: &[GenericArray<T, O>],
        a: &[GenericArray<T, O>],
        delta: &mut [GenericArray<T, O>],
    ) where
        A: Differentiable<L>,
    {
        let n = delta.len();
        T::activate_backward::<A, L>(
            GenericArray::slice_from_chunks(&z[..n]),
            GenericArray::slice_from_chunks(&a[..n]),
            GenericArray::slice_from_chunks_mut(delta),
            O::USIZE,
        );
    }

    /// Backward pass of a batch: from the layer's inputs `x` and deltas `delta = ∂L/∂z`,
    /// writes the weight and bias gradients into `grad` (overwriting it) and, if asked, the
    /// input gradient `∂L/∂x = Δ·W` into `input_grad`.
    ///
    /// The first layer of a network passes `None`: nothing consumes its input gradient, so it is
    /// never computed.
    #[inline]
    pub fn backward_rows(
        &self,
        x: &[GenericArray<T, I>],
        delta: &[GenericArray<T, O>],
        grad: &mut Self,
        input_grad: Option<&mut [GenericArray<T, I>]>,
    ) {
        let n = x.len();
        let delta = GenericArray::slice_from_chunks(&delta[..n]);
        let (grad_weights, grad_bias) = grad.params.split_mut();
        T::weight_grad(
            n,
            I::USIZE,
            O::USIZE,
            GenericArray::slice_from_chunks(x),
            delta,
            grad_weights,
            grad_bias,
        );
        if let Some(dx) = input_grad {
            T::input_grad(
                n,
                I::USIZE,
                O::USIZE,
                delta,
                self.weights_flat(),
                GenericArray::slice_from_chunks_mut(&mut dx[..n]),
            );
        }
    }

    /// The bias half of [`backward_rows`](Self::backward_rows): `∂L/∂b = Σ_rows δ` into
    /// `grad`'s biases (the sum the kernels take, row by row from zero), its weights left as
    /// they were. A network's `train_step` calls it for its first layer, whose weight gradient
    /// the optimizer computes as it updates ([`FusedStep`](crate::optim::FusedStep)).
    #[inline]
    pub fn backward_bias_rows(&self, delta: &[GenericArray<T, O>], grad: &mut Self) {
        let (_, grad_bias) = grad.params.split_mut();
        grad_bias.fill(T::ZERO);
        for row in delta {
            for (b, &d) in grad_bias.iter_mut().zip(row) {
                *b += d;
            }
        }
    }

    /// The layer's parameters as two slices: weights (row-major) and biases.
    pub fn parameters(&self) -> [&[T]; 2] {
        let (weights, bias) = self.params.split();
        [weights, bias]
    }

    /// The layer's parameters as two mutable slices: weights (row-major) and biases.
    pub fn parameters_mut(&mut self) -> [&mut [T]; 2] {
        let (weights, bias) = self.params.split_mut();
        [weights, bias]
    }
}

impl<I: ArrayLength, O: ArrayLength, A, T: Scalar> Clone for Dense<I, O, A, T> {
    fn clone(&self) -> Self {
        Self {
            params: self.params.clone(),
            activation: PhantomData,
        }
    }
}

impl<I: ArrayLength, O: ArrayLength, A, T: Scalar> PartialEq for Dense<I, O, A, T> {
    fn eq(&self, other: &Self) -> bool {
        self.params.split() == other.params.split()
    }
}

impl<I: ArrayLength, O: ArrayLength, A: Activation, T: Scalar> fmt::Debug for Dense<I, O, A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dense({} -> {} {})", I::USIZE, O::USIZE, A::NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Linear, Sigmoid};
    use typenum::{U2, U3};

    #[test]
    fn forward_is_w_x_plus_b() {
        let mut l = Dense::<U3, U2, Linear>::zeros();
        l.set_weights(&[[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]);
        l.set_bias(&[0.5, -0.5]);
        let x = [1.0, 1.0, 1.0, 2.0, 0.0, -1.0];
        let mut out = [GenericArray::default(); 2];
        l.forward_rows(GenericArray::chunks_from_slice(&x).0, &mut out);
        assert_eq!(
            GenericArray::slice_from_chunks(&out),
            &[6.5, -1.0, -0.5, -2.5]
        );
    }

    #[test]
    fn backward_is_the_outer_product() {
        let mut l = Dense::<U3, U2, Sigmoid>::zeros();
        l.set_weights(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let mut g = Dense::<U3, U2, Sigmoid>::zeros();
        let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
        let d = [1.0, 0.5, 2.0, -1.0];
        let mut dx = [GenericArray::default(); 2];
        l.backward_rows(
            GenericArray::chunks_from_slice(&x).0,
            GenericArray::chunks_from_slice(&d).0,
            &mut g,
            Some(&mut dx),
        );
        let dx = GenericArray::slice_from_chunks(&dx);
        // dW = Δᵀ X, db = column sums of Δ, dX = Δ W.
        assert_eq!(g.weights_flat(), &[-1.0, 2.0, 5.0, 1.5, 1.0, 0.5]);
        assert_eq!(g.bias().as_slice(), &[3.0, -0.5]);
        assert_eq!(dx, [3.0, 4.5, 6.0, -2.0, -1.0, 0.0]);
    }

    #[test]
    fn from_arrays_sets_what_set_weights_and_set_bias_set() {
        let (w, b) = ([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]], [0.5, -0.5]);
        let built = Dense::<U3, U2, Sigmoid>::from_arrays(&w, &b);
        let mut set = Dense::<U3, U2, Sigmoid>::zeros();
        set.set_weights(&w);
        set.set_bias(&b);
        assert!(built == set);
        assert_eq!(built.weights_flat(), &[1.0, 2.0, 3.0, -1.0, 0.5, 0.25]);
        assert_eq!(built.parameters()[1], &[0.5, -0.5]);
    }

    #[test]
    fn random_is_seeded_and_in_range() {
        use rand::SeedableRng;
        let mut r1 = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut r2 = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        let a = Dense::<U3, U2, Sigmoid>::random(&mut r1);
        let b = Dense::<U3, U2, Sigmoid>::random(&mut r2);
        assert!(a == b);
        let r = (6.0f32 / 5.0).sqrt();
        assert!(a.weights_flat().iter().all(|w| w.abs() <= r));
        assert!(a.weights_flat().iter().any(|w| *w != 0.0));
    }
}
