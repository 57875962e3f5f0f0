//! Activation functions: what a neuron does with its weighted sum.
//!
//! A layer computes the weighted sum `z = W·x + b` and then its activation `a = f(z)`. Each
//! activation here is a zero-sized type: the function lives in the type, so a network's struct
//! names its activations and the compiler inlines them.
//!
//! An activation is a pair, as on the seminar's slides: the function ([`Activation::apply`]) and
//! its derivative ([`Differentiable::backward`]), the derivative computed from the cached
//! output where it can be (`sigmoid' = s(1 - s)`, `tanh' = 1 - t²`).
//!
//! | name in `network!` | type | `f(z)` | `f'(z)` |
//! | --- | --- | --- | --- |
//! | `sigmoid` | [`Sigmoid`] | `1 / (1 + e^-z)` | `f(z)(1 - f(z))` |
//! | `tanh` | [`Tanh`] | `tanh z` | `1 - f(z)²` |
//! | `relu` | [`Relu`] | `max(0, z)` | `1` if `z > 0`, else `0` |
//! | `softplus` | [`Softplus`] | `ln(1 + e^z)` | `sigmoid(z)` |
//! | `linear` | [`Linear`] | `z` | `1` |
//! | `softmax` | [`Softmax`] | `e^zᵢ / Σⱼ e^zⱼ` | `∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ - aⱼ)` |
//! | `step` | [`Step`] | `1` if `z > 0`, else `0` | none: forward only |
//! | `leaky_relu`, `leaky_relu S` | [`LeakyRelu`] | `z` if `z > 0`, else `S·z` (`S` = 0.01) | `1` if `z > 0`, else `S` |
//! | `gelu` | [`Gelu`] | `z/2·(1 + tanh u)`, `u = √(2/π)(z + 0.044715z³)` | `(1 + tanh u)/2 + z/2·(1 - tanh²u)·u'` |
//! | `silu`, `swish` | [`Silu`] | `z·sigmoid(z)` | `s(1 + z(1 - s))`, `s = sigmoid(z)` |
//! | a path, `my::Act` | [`Custom<my::Act>`](Custom) | [`CustomActivation::function`] | [`CustomActivation::derivative`] |
//!
//! `gelu` is the tanh form, PyTorch's `nn.GELU(approximate='tanh')`: it differs from the exact
//! `z·Φ(z)` by less than `5e-4` everywhere, and needs no `erf`.
//!
//! An activation of your own is a zero-sized type implementing [`CustomActivation`] (its name,
//! its function and its derivative, one value at a time); `network!` takes a path to it where
//! it takes a built-in name:
//!
//! ```
//! # extern crate nn_core as nn;
//! # use nn_macros::network;
//! use nn_core::CustomActivation;
//!
//! /// `z / (1 + |z|)`, the softsign.
//! #[derive(Debug, Clone, Copy, Default)]
//! pub struct Softsign;
//!
//! impl CustomActivation for Softsign {
//!     const NAME: &'static str = "Softsign";
//!     fn function(z: f32) -> f32 {
//!         z / (1.0 + z.abs())
//!     }
//!     fn derivative(z: f32, _a: f32) -> f32 {
//!         1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))
//!     }
//! }
//!
//! network! {
//!     struct Soft: 2 -> 3 Softsign -> 1 sigmoid;
//! }
//! let out = Soft::new(1).forward(&[0.5, -0.5]);
//! assert!(out[0] > 0.0 && out[0] < 1.0);
//! ```
//!
//! Every function is numerically stable at large `|z|`: no NaN and no infinity where the true
//! value is finite.
//!
//! ```
//! use nn_core::{Activation, Sigmoid, Softmax};
//!
//! let mut v = [-1000.0, 0.0, 1000.0];
//! Sigmoid::apply(&mut v);
//! assert_eq!(v, [0.0, 0.5, 1.0]);
//!
//! let mut p = [1.0, 2.0, 3.0];
//! Softmax::apply(&mut p);
//! assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```

use core::fmt::Debug;
use core::marker::PhantomData;

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use crate::model::{ActivationKind, Real};
use crate::{kernel, math};

/// How a layer's weights are drawn when a network is built from a seed.
///
/// Biases always start at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// Xavier/Glorot uniform: `w ~ U(-r, r)` with `r = sqrt(6 / (inputs + outputs))`. Keeps the
    /// variance of activations and gradients steady through layers of `sigmoid` or `tanh`.
    Xavier,
    /// He/Kaiming uniform: `w ~ U(-r, r)` with `r = sqrt(6 / inputs)`. Compensates for `relu`
    /// zeroing half its inputs.
    He,
}

impl Init {
    /// The half-width `r` of the uniform range `U(-r, r)` for a layer of this shape.
    ///
    /// ```
    /// use nn_core::Init;
    /// assert_eq!(Init::He.range(6, 100), 1.0);
    /// assert_eq!(Init::Xavier.range(2, 4), 1.0);
    /// ```
    pub fn range(self, inputs: usize, outputs: usize) -> f32 {
        self.range_f64(inputs, outputs) as f32
    }

    /// [`range`](Self::range) in `f64`, before its rounding to `f32`: what an `f64` layer
    /// draws its weights in.
    pub(crate) fn range_f64(self, inputs: usize, outputs: usize) -> f64 {
        let fan = match self {
            Init::Xavier => inputs + outputs,
            Init::He => inputs,
        };
        (6.0 / fan.max(1) as f64).sqrt()
    }
}

/// An activation function, applied to one sample's weighted sums.
///
/// Implemented by zero-sized types, one per function. Implement it (and [`Differentiable`]) for a
/// type of your own to use a new activation in a hand-written layer stack.
pub trait Activation: Copy + Default + Debug + Send + Sync + 'static {
    /// Which built-in activation this is, as a value: its name, its PyTorch module. The
    /// kernels rely on it: an `f64` layer computes the activation this names, and an `f32`
    /// dense layer whose activation is [`ActivationKind::Tanh`] takes the fused product
    /// ([`kernel::affine_tanh`]) rather than [`apply_rows`](Self::apply_rows). A type of your
    /// own names itself with [`ActivationKind::Custom`].
    const KIND: ActivationKind;
    /// The name `network!` knows the activation by.
    const NAME: &'static str = Self::KIND.name();
    /// The weight initialisation that suits this activation.
    const INIT: Init;
    /// Whether `f` acts on each element alone (everything but softmax). An elementwise
    /// activation may be applied to a whole batch at once.
    const ELEMENTWISE: bool = true;

    /// Applies the function in place to one sample: `v` holds `z` on entry and `f(z)` on return.
    fn apply(v: &mut [f32]);

    /// Applies the function to a batch laid out row after row, `width` values a row.
    #[inline]
    fn apply_rows(v: &mut [f32], width: usize) {
        if Self::ELEMENTWISE {
            Self::apply(v);
        } else {
            for row in v.chunks_exact_mut(width) {
                Self::apply(row);
            }
        }
    }
}

/// An activation with a derivative, so gradients can flow back through it.
///
/// Every activation but [`Step`] has one. The type parameter `L` is the loss being trained with;
/// it lets a network's training methods state "every layer is differentiable" as a bound that is
/// checked where they are called, so a network with a `step` layer still compiles and runs
/// forward, and only an attempt to train it is an error.
#[diagnostic::on_unimplemented(
    message = "the `{Self}` activation has no gradient, so this network cannot be trained",
    label = "this trains through a layer whose activation is `{Self}`",
    note = "`step` is the perceptron's threshold: its derivative is zero everywhere but at 0, so \
            gradient descent cannot move it; use `sigmoid` to train with gradients, or train a \
            single step neuron with the perceptron rule (`nn::perceptron::PerceptronRule`)"
)]
pub trait Differentiable<L = ()>: Activation {
    /// Chain rule through the activation for one sample, in place: `grad` holds `∂L/∂a` on
    /// entry and `∂L/∂z` on return. `z` and `a` are the sample's weighted sums and outputs.
    fn backward(z: &[f32], a: &[f32], grad: &mut [f32]);

    /// [`backward`](Differentiable::backward) over a batch laid out row after row.
    #[inline]
    fn backward_rows(z: &[f32], a: &[f32], grad: &mut [f32], width: usize) {
        if Self::ELEMENTWISE {
            Self::backward(z, a, grad);
        } else {
            for ((z, a), g) in z
                .chunks_exact(width)
                .zip(a.chunks_exact(width))
                .zip(grad.chunks_exact_mut(width))
            {
                Self::backward(z, a, g);
            }
        }
    }
}

/// The logistic sigmoid: `f(z) = 1 / (1 + e^-z)`, written `e^z / (1 + e^z)` for `z < 0` so that
/// neither form overflows. Derivative `f'(z) = f(z)(1 - f(z))`.
///
/// ```
/// use nn_core::{Activation, Sigmoid};
/// let mut v = [0.0, 2.0];
/// Sigmoid::apply(&mut v);
/// assert_eq!(v[0], 0.5);
/// assert!((v[1] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sigmoid;

/// The stable logistic function `1 / (1 + e^-z)` of one value.
#[deprecated(note = "use nn::math::logistic")]
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    math::logistic(z)
}

impl Activation for Sigmoid {
    const KIND: ActivationKind = ActivationKind::Sigmoid;
    const INIT: Init = Init::Xavier;
    /// See [`kernel::logistic_in_place`]: SIMD in groups of eight where the CPU has AVX2 and
    /// FMA, [`math::logistic`] for the rest.
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::logistic_in_place(v);
    }
}

impl<L> Differentiable<L> for Sigmoid {
    #[inline]
    fn backward(_z: &[f32], a: &[f32], grad: &mut [f32]) {
        kernel::logistic_backward(a, grad);
    }
}

/// The hyperbolic tangent: `f(z) = (e^z - e^-z) / (e^z + e^-z)`. Derivative `1 - f(z)²`.
///
/// ```
/// use nn_core::{Activation, Tanh};
/// let mut v = [0.0, 1000.0, -1000.0];
/// Tanh::apply(&mut v);
/// assert_eq!(v, [0.0, 1.0, -1.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tanh;

impl Activation for Tanh {
    const KIND: ActivationKind = ActivationKind::Tanh;
    const INIT: Init = Init::Xavier;
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::tanh_in_place(v);
    }
}

impl<L> Differentiable<L> for Tanh {
    #[inline]
    fn backward(_z: &[f32], a: &[f32], grad: &mut [f32]) {
        kernel::tanh_backward(a, grad);
    }
}

/// The rectified linear unit: `f(z) = max(0, z)`. Derivative `1` for `z > 0`, else `0`.
///
/// ```
/// use nn_core::{Activation, Relu};
/// let mut v = [-3.0, 0.0, 2.5];
/// Relu::apply(&mut v);
/// assert_eq!(v, [0.0, 0.0, 2.5]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Relu;

impl Activation for Relu {
    const KIND: ActivationKind = ActivationKind::Relu;
    const INIT: Init = Init::He;
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::relu_in_place(v);
    }
}

impl<L> Differentiable<L> for Relu {
    #[inline]
    fn backward(z: &[f32], _a: &[f32], grad: &mut [f32]) {
        kernel::relu_backward(z, grad);
    }
}

/// Softplus, a smooth relu: `f(z) = ln(1 + e^z)`, computed as `max(z, 0) + ln(1 + e^-|z|)`.
/// Derivative `f'(z) = sigmoid(z)`.
///
/// ```
/// use nn_core::{Activation, Softplus};
/// let mut v = [0.0, 1000.0, -1000.0];
/// Softplus::apply(&mut v);
/// assert!((v[0] - 2f32.ln()).abs() < 1e-7);
/// assert_eq!(v[1], 1000.0);
/// assert_eq!(v[2], 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Softplus;

/// The stable softplus `ln(1 + e^z)` of one value.
#[deprecated(note = "use nn::math::softplus")]
#[inline]
pub fn softplus(z: f32) -> f32 {
    math::softplus(z)
}

impl Activation for Softplus {
    const KIND: ActivationKind = ActivationKind::Softplus;
    const INIT: Init = Init::He;
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::softplus_in_place(v);
    }
}

impl<L> Differentiable<L> for Softplus {
    #[inline]
    fn backward(z: &[f32], _a: &[f32], grad: &mut [f32]) {
        kernel::softplus_backward(z, grad);
    }
}

/// No activation: `f(z) = z`, derivative `1`. A `linear` neuron is linear regression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Linear;

impl Activation for Linear {
    const KIND: ActivationKind = ActivationKind::Linear;
    const INIT: Init = Init::Xavier;
    #[inline]
    fn apply(_v: &mut [f32]) {}
}

impl<L> Differentiable<L> for Linear {
    #[inline]
    fn backward(_z: &[f32], _a: &[f32], _grad: &mut [f32]) {}
}

/// Softmax, turning scores into probabilities: `f(z)ᵢ = e^(zᵢ - m) / Σⱼ e^(zⱼ - m)` with
/// `m = max z` (the shift changes nothing mathematically and keeps `e^x` from overflowing).
///
/// Its Jacobian is `∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ - aⱼ)`, so the chain rule gives
/// `∂L/∂zᵢ = aᵢ (∂L/∂aᵢ - Σⱼ aⱼ ∂L/∂aⱼ)`. With cross-entropy the two fuse into `a - y`
/// (see [`CrossEntropy`](crate::loss::CrossEntropy)). Only an output layer may use softmax.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Softmax;

impl Activation for Softmax {
    const KIND: ActivationKind = ActivationKind::Softmax;
    const INIT: Init = Init::Xavier;
    const ELEMENTWISE: bool = false;
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::softmax_in_place(v);
    }
    #[inline]
    fn apply_rows(v: &mut [f32], width: usize) {
        kernel::softmax_rows(v, width);
    }
}

impl<L> Differentiable<L> for Softmax {
    #[inline]
    fn backward(_z: &[f32], a: &[f32], grad: &mut [f32]) {
        kernel::softmax_backward(a, grad);
    }
    #[inline]
    fn backward_rows(_z: &[f32], a: &[f32], grad: &mut [f32], width: usize) {
        kernel::softmax_backward_rows(a, grad, width);
    }
}

/// The perceptron's threshold: `f(z) = 1` if `z > 0`, else `0`.
///
/// It has no useful derivative (zero everywhere, undefined at 0), so it implements
/// [`Activation`] but not [`Differentiable`]: a network with a `step` layer runs forward, and
/// trying to train it with gradients is a compile error. Train a single step neuron with
/// the perceptron rule ([`PerceptronRule`](crate::perceptron::PerceptronRule)) instead.
///
/// ```
/// use nn_core::{Activation, Step};
/// let mut v = [-0.5, 0.0, 0.5];
/// Step::apply(&mut v);
/// assert_eq!(v, [0.0, 0.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Step;

impl Activation for Step {
    const KIND: ActivationKind = ActivationKind::Step;
    const INIT: Init = Init::Xavier;
    #[inline]
    fn apply(v: &mut [f32]) {
        for x in v {
            *x = if *x > 0.0 { 1.0 } else { 0.0 };
        }
    }
}

/// The leaky rectified linear unit: `f(z) = z` for `z > 0`, else `slope·z`, with the slope's
/// `f32` bits as the const parameter (`0.01`, PyTorch's default, unless `network!` reads
/// `leaky_relu 0.2`). Derivative `1` for `z > 0`, else `slope`, as PyTorch takes it at 0.
///
/// ```
/// use nn_core::{Activation, LeakyRelu};
/// let mut v = [-2.0, 0.0, 3.0];
/// LeakyRelu::<{ 0.5f32.to_bits() }>::apply(&mut v);
/// assert_eq!(v, [-1.0, 0.0, 3.0]);
/// assert_eq!(<LeakyRelu>::SLOPE, 0.01);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LeakyRelu<const SLOPE_BITS: u32 = 0x3C23_D70A>;

impl<const SLOPE_BITS: u32> LeakyRelu<SLOPE_BITS> {
    /// The slope for `z ≤ 0`.
    pub const SLOPE: f32 = f32::from_bits(SLOPE_BITS);
}

impl<const SLOPE_BITS: u32> Activation for LeakyRelu<SLOPE_BITS> {
    const KIND: ActivationKind = ActivationKind::LeakyRelu {
        slope: Real::new(f32::from_bits(SLOPE_BITS)),
    };
    const INIT: Init = Init::He;
    /// See [`kernel::leaky_relu_in_place`]: one loop compiled into every back end.
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::leaky_relu_in_place(v, Self::SLOPE);
    }
}

impl<L, const SLOPE_BITS: u32> Differentiable<L> for LeakyRelu<SLOPE_BITS> {
    #[inline]
    fn backward(z: &[f32], _a: &[f32], grad: &mut [f32]) {
        kernel::leaky_relu_backward(z, grad, Self::SLOPE);
    }
}

/// `√(2/π)`, in the tanh form of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh form of GELU.
const GELU_CUBIC: f32 = 0.044_715;

/// The Gaussian error linear unit, tanh form (PyTorch's `nn.GELU(approximate='tanh')`):
/// `f(z) = z/2 · (1 + tanh u)` with `u = √(2/π)·(z + 0.044715·z³)`. Derivative
/// `f'(z) = (1 + tanh u)/2 + z/2 · (1 - tanh²u) · √(2/π)·(1 + 3·0.044715·z²)`, from `z`.
///
/// ```
/// use nn_core::{Activation, Gelu};
/// let mut v = [0.0, 10.0, -10.0];
/// Gelu::apply(&mut v);
/// assert_eq!(v[..2], [0.0, 10.0]);
/// // The true value, -1.2e-37, or (from the tanh form's `1 + tanh u`) -0.
/// assert!(v[2] <= 0.0 && v[2] > -1e-30);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Gelu;

impl Gelu {
    /// `f(z)` of one value.
    #[inline]
    pub fn function(z: f32) -> f32 {
        let u = SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z);
        0.5 * z * (1.0 + crate::math::tanh(u))
    }

    /// `f'(z)` of one value.
    #[inline]
    pub fn derivative(z: f32) -> f32 {
        let u = SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z);
        let t = crate::math::tanh(u);
        let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * z * z);
        0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du
    }
}

impl Activation for Gelu {
    const KIND: ActivationKind = ActivationKind::Gelu;
    const INIT: Init = Init::He;
    /// See [`kernel::gelu_in_place`]: SIMD on the x86 back ends, [`Gelu::function`] on the
    /// portable one.
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::gelu_in_place(v);
    }
}

impl<L> Differentiable<L> for Gelu {
    #[inline]
    fn backward(z: &[f32], _a: &[f32], grad: &mut [f32]) {
        kernel::gelu_backward(z, grad);
    }
}

/// The sigmoid-weighted linear unit, also called swish: `f(z) = z·s` with `s = sigmoid(z)`.
/// Derivative `f'(z) = s·(1 + z·(1 - s))`, from `z`.
///
/// ```
/// use nn_core::{Activation, Silu};
/// let mut v = [0.0, 100.0, -100.0];
/// Silu::apply(&mut v);
/// assert_eq!(v[..2], [0.0, 100.0]);
/// assert!(v[2] <= 0.0 && v[2] > -1e-30);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Silu;

impl Activation for Silu {
    const KIND: ActivationKind = ActivationKind::Silu;
    const INIT: Init = Init::He;
    /// See [`kernel::silu_in_place`]: SIMD on the x86 back ends, [`math::logistic`] on the
    /// portable one.
    #[inline]
    fn apply(v: &mut [f32]) {
        kernel::silu_in_place(v);
    }
}

impl<L> Differentiable<L> for Silu {
    #[inline]
    fn backward(z: &[f32], _a: &[f32], grad: &mut [f32]) {
        kernel::silu_backward(z, grad);
    }
}

/// An activation of your own, one value at a time: its name, its function and its derivative.
///
/// Implement it for a zero-sized type and write a path to the type where `network!` takes an
/// activation (`-> 16 my::Softsign`); the network's field is then a
/// `Dense<In, Out, Custom<my::Softsign>>`. See the [module docs](self) for an example.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is used as an activation, but it does not implement `nn::CustomActivation`",
    label = "not an activation",
    note = "an activation of your own is a type implementing `nn::CustomActivation`: its `NAME`, \
            its `function(z)` and its `derivative(z, a)`; or write one of the built-in names \
            (`sigmoid`, `tanh`, `relu`, `gelu`, ...)"
)]
pub trait CustomActivation: Copy + Default + Debug + Send + Sync + 'static {
    /// The name messages and the PyTorch module text use (`Softsign` becomes `Softsign()`).
    const NAME: &'static str;
    /// The weight initialisation that suits it: Xavier unless you say otherwise.
    const INIT: Init = Init::Xavier;

    /// `f(z)`.
    fn function(z: f32) -> f32;

    /// `f'(z)`, given `z` and `a = f(z)` (use whichever is cheaper).
    fn derivative(z: f32, a: f32) -> f32;
}

/// The [`Activation`] of a [`CustomActivation`] type `T`: what `network!` writes for a path.
///
/// `CHECKED` is always `true` (write `Custom<T>`). `network!` spells it as a constant that
/// requires `T: CustomActivation`, so a type that does not implement the trait is one error at
/// the user's path: the failed constant makes the rest of the generated code for that layer
/// ask nothing more of `T`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Custom<T, const CHECKED: bool = true>(PhantomData<T>);

impl<T: CustomActivation, const CHECKED: bool> Activation for Custom<T, CHECKED> {
    const KIND: ActivationKind = ActivationKind::Custom { name: T::NAME };
    const INIT: Init = T::INIT;
    #[inline]
    fn apply(v: &mut [f32]) {
        for x in v {
            *x = T::function(*x);
        }
    }
}

impl<T: CustomActivation, L, const CHECKED: bool> Differentiable<L> for Custom<T, CHECKED> {
    #[inline]
    fn backward(z: &[f32], a: &[f32], grad: &mut [f32]) {
        for ((g, &z), &a) in grad.iter_mut().zip(z).zip(a) {
            *g *= T::derivative(z, a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central difference of an elementwise activation at `z`, in f64 from the f32 function.
    fn numeric_derivative<A: Activation>(z: f32) -> f64 {
        let h = 1e-3f32;
        let mut hi = [z + h];
        let mut lo = [z - h];
        A::apply(&mut hi);
        A::apply(&mut lo);
        (f64::from(hi[0]) - f64::from(lo[0])) / f64::from(2.0 * h)
    }

    fn analytic_derivative<A: Differentiable>(z: f32) -> f32 {
        let mut a = [z];
        A::apply(&mut a);
        let mut g = [1.0];
        A::backward(&[z], &a, &mut g);
        g[0]
    }

    fn check_derivative<A: Differentiable>() {
        for &z in &[-3.0f32, -1.2, -0.3, 0.4, 1.1, 2.7] {
            let n = numeric_derivative::<A>(z);
            let a = analytic_derivative::<A>(z);
            assert!(
                (f64::from(a) - n).abs() < 2e-3,
                "{}: f'({z}) = {a}, finite difference {n}",
                A::NAME
            );
        }
    }

    /// `z / (1 + |z|)`, a custom activation for the tests.
    #[derive(Debug, Clone, Copy, Default)]
    struct Softsign;

    impl CustomActivation for Softsign {
        const NAME: &'static str = "Softsign";
        fn function(z: f32) -> f32 {
            z / (1.0 + z.abs())
        }
        fn derivative(z: f32, _a: f32) -> f32 {
            1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))
        }
    }

    /// The new activations against f64 finite differences of their definitions (computed in
    /// f64 here, independently of the f32 code), on points away from the kinks.
    #[test]
    fn new_derivatives_match_f64_finite_differences() {
        fn f64_check<A: Differentiable>(f: impl Fn(f64) -> f64) {
            for &z in &[-4.0f32, -2.5, -1.2, -0.3, 0.2, 0.7, 1.1, 2.7, 5.0] {
                let h = 1e-5;
                let z64 = f64::from(z);
                let numeric = (f(z64 + h) - f(z64 - h)) / (2.0 * h);
                let analytic = analytic_derivative::<A>(z);
                assert!(
                    (f64::from(analytic) - numeric).abs() < 1e-5 * (1.0 + numeric.abs()),
                    "{}: f'({z}) = {analytic}, finite difference {numeric}",
                    A::NAME
                );
                let value = apply_one::<A>(z);
                assert!(
                    (f64::from(value) - f(z64)).abs() < 1e-6 * (1.0 + f(z64).abs()),
                    "{}: f({z}) = {value}, want {}",
                    A::NAME,
                    f(z64)
                );
            }
        }
        let leaky = |s: f64| move |z: f64| if z > 0.0 { z } else { s * z };
        f64_check::<LeakyRelu>(leaky(0.01));
        f64_check::<LeakyRelu<{ 0.2f32.to_bits() }>>(leaky(f64::from(0.2f32)));
        let gelu = |z: f64| {
            let u = (2.0 / core::f64::consts::PI).sqrt() * (z + 0.044715 * z * z * z);
            0.5 * z * (1.0 + u.tanh())
        };
        f64_check::<Gelu>(gelu);
        f64_check::<Silu>(|z| z / (1.0 + (-z).exp()));
        f64_check::<Custom<Softsign>>(|z| z / (1.0 + z.abs()));
        // The tanh form stays within 5e-4 of the exact z·Φ(z) (Φ by its series, in f64).
        let phi = |z: f64| {
            let (mut term, mut sum, mut k) = (z, z, 0.0);
            while term.abs() > 1e-17 {
                k += 1.0;
                term *= -z * z / 2.0 / k;
                sum += term / (2.0 * k + 1.0);
            }
            0.5 + sum / (2.0 * core::f64::consts::PI).sqrt()
        };
        for i in -60..=60 {
            let z = f64::from(i) / 10.0;
            assert!((gelu(z) - z * phi(z)).abs() < 5e-4, "gelu({z})");
        }
    }

    #[test]
    fn new_kinds_and_defaults() {
        assert_eq!(<LeakyRelu>::SLOPE, ActivationKind::DEFAULT_LEAKY_SLOPE);
        assert_eq!(
            <LeakyRelu>::KIND,
            ActivationKind::from_name("leaky_relu").unwrap()
        );
        assert_eq!(
            <LeakyRelu<{ 0.2f32.to_bits() }>>::KIND.to_string(),
            "leaky_relu 0.2"
        );
        assert_eq!(Custom::<Softsign>::KIND.name(), "Softsign");
        assert_eq!(Custom::<Softsign>::INIT, Init::Xavier);
        assert_eq!(Gelu::NAME, "gelu");
        assert_eq!(Silu::NAME, "silu");
        // A slope at exactly zero takes PyTorch's side: the negative branch.
        assert_eq!(analytic_derivative::<LeakyRelu>(0.0), 0.01);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        check_derivative::<Sigmoid>();
        check_derivative::<Tanh>();
        check_derivative::<Relu>();
        check_derivative::<Softplus>();
        check_derivative::<Linear>();
    }

    fn finite_everywhere<A: Activation>() {
        for &z in &[-1000.0f32, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0] {
            let mut v = [z];
            A::apply(&mut v);
            assert!(v[0].is_finite(), "{}({z}) = {}", A::NAME, v[0]);
        }
    }

    #[test]
    fn stable_at_large_inputs() {
        finite_everywhere::<Sigmoid>();
        finite_everywhere::<Tanh>();
        finite_everywhere::<Relu>();
        finite_everywhere::<Softplus>();
        finite_everywhere::<Linear>();
        finite_everywhere::<Step>();
        finite_everywhere::<LeakyRelu>();
        finite_everywhere::<Gelu>();
        finite_everywhere::<Silu>();
        let mut v = [1000.0, -1000.0, 0.0];
        Softmax::apply(&mut v);
        assert_eq!(v, [1.0, 0.0, 0.0]);
        let mut sp = [100.0f32, -100.0];
        Softplus::apply(&mut sp);
        assert_eq!(sp[0], 100.0);
        assert!(sp[1] > 0.0 && (sp[1] - (-100.0f32).exp()).abs() < 1e-45);
        // sigmoid(-100) is tiny but positive, as it truly is.
        assert!(math::logistic(-100.0) > 0.0);
    }

    /// `f(z)` and `f'(z)` of an elementwise activation, through `apply` and `backward`.
    fn value_and_slope<A: Differentiable>(z: f32) -> (f32, f32) {
        (apply_one::<A>(z), analytic_derivative::<A>(z))
    }

    fn apply_one<A: Activation>(z: f32) -> f32 {
        let mut v = [z];
        A::apply(&mut v);
        v[0]
    }

    /// Values at ±100 and ±1000 against the exact ones, worked out in f64 from the definitions
    /// (for z = ±100 the true values are finite: e^-100 ≈ 3.7e-44 is an f32 subnormal, so the
    /// tiny ones must come out positive, not flushed to 0 or turned into NaN).
    #[test]
    fn correct_at_large_inputs() {
        let e100 = (-100.0f64).exp(); // e^-100, exact to f64 precision
        let close =
            |got: f32, want: f64| (f64::from(got) - want).abs() <= 1.5e-45 + 1e-7 * want.abs();

        // sigmoid(z) = 1/(1 + e^-z): sigmoid(100) = 1 - e^-100 rounds to 1; sigmoid(-100) =
        // e^-100/(1 + e^-100) = e^-100 to 44 digits; sigmoid'(z) = s(1-s).
        for (z, s, ds) in [
            (100.0, 1.0, 0.0),
            (-100.0, e100, e100),
            (1000.0, 1.0, 0.0),
            (-1000.0, 0.0, 0.0),
        ] {
            let (got, slope) = value_and_slope::<Sigmoid>(z);
            assert!(close(got, s), "sigmoid({z}) = {got}, want {s}");
            assert!(close(slope, ds), "sigmoid'({z}) = {slope}, want {ds}");
            assert_eq!(math::logistic(z), got);
        }
        // The mirrored sigmoid 1/(1 + e^a) is sigmoid(-a).
        assert!(close(math::logistic(-(100.0f32)), e100) && math::logistic(-(-100.0f32)) == 1.0);

        // tanh(±100) = ±(1 - 2e^-200) = ±1 in f32; tanh' = 1 - t² = 0.
        for (z, t) in [(100.0, 1.0), (-100.0, -1.0), (1000.0, 1.0), (-1000.0, -1.0)] {
            assert_eq!(value_and_slope::<Tanh>(z), (t, 0.0), "tanh at {z}");
        }

        // softplus(z) = ln(1 + e^z): softplus(100) = 100 + ln(1 + e^-100) = 100 in f32,
        // softplus(-100) = ln(1 + e^-100) = e^-100; softplus' = sigmoid.
        for (z, sp, ds) in [
            (100.0, 100.0, 1.0),
            (-100.0, e100, e100),
            (1000.0, 1000.0, 1.0),
            (-1000.0, 0.0, 0.0),
        ] {
            let (got, slope) = value_and_slope::<Softplus>(z);
            assert!(close(got, sp), "softplus({z}) = {got}, want {sp}");
            assert!(close(slope, ds), "softplus'({z}) = {slope}, want {ds}");
            assert_eq!(math::softplus(z), got);
        }

        for z in [100.0f32, -100.0, 1000.0, -1000.0] {
            let positive = if z > 0.0 { 1.0 } else { 0.0 };
            assert_eq!(
                value_and_slope::<Relu>(z),
                (z.max(0.0), positive),
                "relu at {z}"
            );
            assert_eq!(value_and_slope::<Linear>(z), (z, 1.0), "linear at {z}");
            assert_eq!(apply_one::<Step>(z), positive, "step at {z}");
        }

        // Softmax of scores 100 apart: e^-100 / (1 + e^-100) for the smaller, finite and > 0.
        let mut p = [100.0f32, 0.0];
        Softmax::apply(&mut p);
        assert!(p[0] == 1.0 && close(p[1], e100), "{p:?}");
        let mut p = [-1000.0f32, 1000.0, -1000.0];
        Softmax::apply(&mut p);
        assert_eq!(p, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn softmax_backward_matches_jacobian() {
        let z = [0.3f32, -1.0, 2.0];
        let mut a = z;
        Softmax::apply(&mut a);
        let g = [0.5f32, -0.25, 1.0];
        let mut got = g;
        <Softmax as Differentiable>::backward(&z, &a, &mut got);
        for i in 0..3 {
            let want: f32 = (0..3)
                .map(|j| {
                    let delta = if i == j { 1.0 } else { 0.0 };
                    g[j] * a[j] * (delta - a[i])
                })
                .sum();
            assert!((got[i] - want).abs() < 1e-6);
        }
    }
}
