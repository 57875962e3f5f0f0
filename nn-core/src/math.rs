//! Scalar functions shared by the activations, the losses, the tape and the kernels.
//!
//! A leaf module: it uses nothing of the crate, so [`activation`](crate::activation),
//! [`loss`](crate::loss), [`tape`](crate::tape) and [`kernel`](crate::kernel) can all import
//! from it without a circle between them. Each function is written in its numerically stable
//! form: no NaN and no infinity where the true value is finite.

#[cfg(not(feature = "std"))]
#[allow(unused_imports)]
use Float as _;

/// The logistic function `σ(z) = 1 / (1 + e^-z)`, what [`Sigmoid`](crate::activation::Sigmoid) applies to
/// every weighted sum. Derivative `σ'(z) = σ(z)(1 - σ(z))`.
///
/// Two-sided so that neither form overflows: `1 / (1 + e^-z)` for `z ≥ 0` and
/// `e^z / (1 + e^z)` below, so `σ(-100) ≈ 3.7e-44` comes out as the positive subnormal it is
/// and `σ(±1000)` is exactly `0` or `1`. A NaN stays NaN.
///
/// ```
/// use nn_core::math::logistic;
/// assert_eq!(logistic(0.0), 0.5);
/// assert_eq!((logistic(-1000.0), logistic(1000.0)), (0.0, 1.0));
/// assert!(logistic(-100.0) > 0.0);
/// assert!((logistic(2.0) - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-7);
/// ```
#[inline]
pub fn logistic(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + exp(-z))
    } else {
        let e = exp(z);
        e / (1.0 + e)
    }
}

/// Softplus `ln(1 + e^z)`, a smooth relu, what [`Softplus`](crate::activation::Softplus) applies to every
/// weighted sum. Derivative [`logistic`]`(z)`.
///
/// Computed as `max(z, 0) + ln(1 + e^-|z|)`, which never overflows: `softplus(1000) = 1000`,
/// `softplus(-100) = e^-100`, a positive subnormal.
///
/// ```
/// use nn_core::math::softplus;
/// assert!((softplus(0.0) - 2f32.ln()).abs() < 1e-7);
/// assert_eq!((softplus(1000.0), softplus(-1000.0)), (1000.0, 0.0));
/// assert!(softplus(-100.0) > 0.0);
/// ```
#[inline]
pub fn softplus(z: f32) -> f32 {
    z.max(0.0) + ln_1p(exp(-z.abs()))
}

/// The index of the largest value: the predicted class of a classifier's output.
///
/// Returns 0 for an empty slice; a NaN never wins.
///
/// ```
/// assert_eq!(nn_core::argmax(&[0.1, 0.7, 0.2]), 1);
/// ```
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

/// `e^x` for the activations and the portable kernels, by the `libm` crate (a port of musl's)
/// in every build, with `std` or without: the C libraries' `expf` differ from each other (and
/// from libm) in the last bit for about one argument in ten, so this is what makes a network's
/// portable forward pass give the same bits on every platform, a firmware's included.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// `ln(1 + x)`, accurate near 0; by `libm` in every build, as [`exp`].
#[inline]
pub(crate) fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// The natural logarithm; by `libm` in every build, as [`exp`].
#[inline]
pub(crate) fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// The hyperbolic tangent; by `libm` in every build, as [`exp`].
#[inline]
pub(crate) fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// The float methods `core` lacks (`f32::exp` and the rest live in `std`, since they call the
/// platform's C library), for a `no_std` build: the same names, computed by the `libm` crate
/// (a port of musl's). With `std` this trait is never imported and the inherent methods run.
#[cfg(not(feature = "std"))]
// Which methods a build calls depends on its features (the tape, with `std`, is the only user
// of some with `alloc` alone).
#[allow(dead_code)]
pub(crate) trait Float: Sized {
    /// `e^self`.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// `self · a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self^n`.
    fn powi(self, n: i32) -> Self;
}

#[cfg(not(feature = "std"))]
impl Float for f32 {
    #[inline]
    fn exp(self) -> Self {
        libm::expf(self)
    }
    #[inline]
    fn ln(self) -> Self {
        libm::logf(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        libm::tanhf(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        libm::sqrtf(self)
    }
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        libm::fmaf(self, a, b)
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        libm::powf(self, n as f32)
    }
}

#[cfg(not(feature = "std"))]
impl Float for f64 {
    #[inline]
    fn exp(self) -> Self {
        libm::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        libm::log(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        libm::tanh(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        libm::sqrt(self)
    }
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        libm::fma(self, a, b)
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        libm::pow(self, f64::from(n))
    }
}
