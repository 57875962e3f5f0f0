//! The number type a tape computes in: `f32`, as the networks do, or `f64`, to check gradients
//! against finite differences with rounding far below the tolerance.

/// A floating-point type a [`Tape`](super::Tape) records values in: `f32` or `f64` (sealed),
/// the crate's [`Scalar`](crate::scalar::Scalar), the number type of networks too.
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
pub use crate::scalar::Scalar;

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
