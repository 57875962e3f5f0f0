//! The number type a tape computes in: `f32`, as the networks do, or `f64`, to check gradients
//! against finite differences with rounding far below the tolerance.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type a [`Tape`](super::Tape) records values in: `f32` or `f64` (sealed).
///
/// A network's `f32` parameters are widened when recorded on an `f64` tape, so the same network
/// can run in double precision:
///
/// ```
/// use nn_core::tape::{Scalar, Tape};
///
/// let mut tape = Tape::<f64>::default();
/// let x = tape.leaf(&[0.1, 0.2]);
/// let s = tape.sum(x)?;
/// assert_eq!(tape.value(s)?, &[0.1 + 0.2]);
/// assert_eq!(f64::from_f32(0.5), 0.5);
/// # Ok::<(), nn_core::tape::TapeError>(())
/// ```
pub trait Scalar:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + Send
    + Sync
    + 'static
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The value nearest `v` (exact for both types).
    fn from_f32(v: f32) -> Self;
    /// The value nearest `v`.
    fn from_f64(v: f64) -> Self;
    /// The value nearest `n`.
    fn from_usize(n: usize) -> Self;
    /// The nearest `f32` (what a custom activation, written in `f32`, is called with).
    fn to_f32(self) -> f32;
    /// The value as an `f64` (exact for both types).
    fn to_f64(self) -> f64;
    /// `eˣ`.
    fn exp(self) -> Self;
    /// `ln x`.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// `tanh x`.
    fn tanh(self) -> Self;
    /// `√x`.
    fn sqrt(self) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// The larger of the two (the other one if one is NaN).
    fn max(self, other: Self) -> Self;
}

macro_rules! scalar {
    ($t:ty) => {
        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
        }
    };
}

scalar!(f32);
scalar!(f64);

/// `1 / (1 + e^-x)`, without overflow for large `|x|`.
pub(super) fn logistic<T: Scalar>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// `ln(1 + eˣ)`, as `max(x, 0) + ln(1 + e^-|x|)` so that it neither overflows nor loses the
/// small values.
pub(super) fn softplus<T: Scalar>(x: T) -> T {
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}
