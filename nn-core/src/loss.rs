//! Loss functions: how wrong a prediction is, and which way to move.
//!
//! A loss compares a network's output `a` with the target `y`. For training it also gives the
//! output layer's delta `∂L/∂z`, where `z` is the output layer's weighted sum: the first link of
//! the chain rule. Over a batch, the loss and the gradients are means over the samples.
//!
//! | loss | output layer | per-sample loss | `∂L/∂z` |
//! | --- | --- | --- | --- |
//! | [`MeanSquaredError`] | any with a gradient | `Σ(a - y)² / n` | `2(a - y)/n · f'(z)` |
//! | [`CrossEntropy`] | `softmax` | `-Σ y ln a` | `a - y` |
//! | [`BinaryCrossEntropy`] | `sigmoid` | `-Σ [y ln a + (1-y) ln(1-a)] / n` | `(a - y)/n` |
//! | [`MeanAbsoluteError`] (L1) | any with a gradient | `Σ\|a - y\| / n` | `sign(a - y)/n · f'(z)` |
//! | [`Huber`] | any with a gradient | `Σ h_δ(a - y) / n` | `clamp(a - y, -δ, δ)/n · f'(z)` |
//!
//! (`n` is the number of outputs.) Cross-entropy is computed from `z` with the log-sum-exp
//! trick, `ln Σ e^z`, so a confident wrong answer gives a large finite loss, not infinity.
//! The fused deltas `a - y` are exact: the softmax (or sigmoid) derivative cancels against the
//! loss's `1/a`.
//!
//! ```
//! use nn_core::{CrossEntropy, Loss, MeanSquaredError, Softmax, Linear};
//!
//! let y = [0.0, 1.0];
//! let mse = <MeanSquaredError as Loss<Linear>>::loss(&MeanSquaredError, &[1.0, 1.0], &[1.0, 1.0], &y);
//! assert_eq!(mse, 0.5);
//!
//! // Softmax of z = [0, 0] is [0.5, 0.5]: the loss is ln 2.
//! let ce = <CrossEntropy as Loss<Softmax>>::loss(&CrossEntropy, &[0.0, 0.0], &[0.5, 0.5], &y);
//! assert!((ce - 2f32.ln()).abs() < 1e-6);
//! ```

use generic_array::{ArrayLength, GenericArray};

use crate::activation::{Activation, Differentiable, Sigmoid, Softmax};
use crate::scalar::Scalar;
#[cfg(feature = "std")]
use crate::train::InvalidData;

/// A loss function that can judge an output layer with activation `A`.
#[diagnostic::on_unimplemented(
    message = "the loss `{Self}` does not fit a network whose output layer is `{A}`",
    label = "`{Self}` does not fit an output layer with activation `{A}`",
    note = "`CrossEntropy` needs a `softmax` output layer and `BinaryCrossEntropy` a `sigmoid` \
            one; `MeanSquaredError` fits any output layer"
)]
pub trait Loss<A: Activation, T: Scalar = f32>: Copy {
    /// A short name for messages and plots.
    const NAME: &'static str;

    /// Whether the loss judges a classifier (cross-entropy) rather than a regression: the
    /// trainer's metrics follow it (see [`Task`](crate::train::Task)).
    const CLASSIFIES: bool = false;

    #[cfg(feature = "std")]
    /// Checks one target row before training (once per data set, never per step): every value
    /// finite, and in the range the loss is defined for.
    ///
    /// # Errors
    ///
    /// The first value that is not finite or not in range.
    fn check_target(&self, y: &[T]) -> Result<(), InvalidData> {
        match y.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(InvalidData::TargetNotFinite {
                index,
                value: y[index].to_f32(),
            }),
            None => Ok(()),
        }
    }

    /// The loss of one sample, from the output layer's weighted sums `z`, its outputs `a` and
    /// the target `y`.
    fn loss(&self, z: &[T], a: &[T], y: &[T]) -> T;

    /// The mean loss over a batch of typed rows: the output layer's `z` and `a` from the
    /// training forward pass and the targets `y` (one row each per sample).
    #[inline]
    fn mean_rows<O: ArrayLength>(
        &self,
        z: &[GenericArray<T, O>],
        a: &[GenericArray<T, O>],
        y: &[GenericArray<T, O>],
    ) -> T {
        let n = y.len();
        batch_loss::<Self, A, T>(
            self,
            n,
            O::USIZE,
            GenericArray::slice_from_chunks(&z[..n]),
            GenericArray::slice_from_chunks(&a[..n]),
            GenericArray::slice_from_chunks(y),
        )
    }
}

/// A loss that can also train an output layer with activation `A`: it gives the layer's delta
/// `∂L/∂z`, the first link of the chain rule.
#[diagnostic::on_unimplemented(
    message = "the loss `{Self}` cannot train a network whose output layer is `{A}`",
    label = "`{Self}` cannot train an output layer with activation `{A}`",
    note = "`CrossEntropy` trains a `softmax` output layer and `BinaryCrossEntropy` a `sigmoid` \
            one; `MeanSquaredError` trains any output layer that has a gradient (every \
            activation but `step`)"
)]
pub trait LossGradient<A: Activation, T: Scalar = f32>: Loss<A, T> {
    /// Writes `∂L/∂z` of one sample into `delta`.
    fn delta(&self, z: &[T], a: &[T], y: &[T], delta: &mut [T]);

    /// The mean loss over a batch of typed rows, writing each row's `∂(mean L)/∂z` into `delta`:
    /// the output layer's delta, the first link of the chain rule, as the loss decides it.
    #[inline]
    fn delta_rows<O: ArrayLength>(
        &self,
        z: &[GenericArray<T, O>],
        a: &[GenericArray<T, O>],
        y: &[GenericArray<T, O>],
        delta: &mut [GenericArray<T, O>],
    ) -> T {
        let n = y.len();
        batch_delta::<Self, A, T>(
            self,
            n,
            O::USIZE,
            GenericArray::slice_from_chunks(&z[..n]),
            GenericArray::slice_from_chunks(&a[..n]),
            GenericArray::slice_from_chunks(y),
            GenericArray::slice_from_chunks_mut(&mut delta[..n]),
        )
    }
}

/// Mean squared error, as on the seminar's slide: `L = Σᵢ (aᵢ - yᵢ)² / n` over the `n` outputs.
///
/// `∂L/∂a = 2(a - y)/n`, then the chain rule through the output activation.
///
/// Because of the `1/n`, its gradients are smaller than cross-entropy's on the same network:
/// on a 10-output classifier a step at the same learning rate moves the weights about `2/10` as
/// far (and the sigmoid or softmax derivative shrinks them further), so MSE wants a larger
/// learning rate. The `losses` example shows both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanSquaredError;

impl<A: Activation, T: Scalar> Loss<A, T> for MeanSquaredError {
    const NAME: &'static str = "mean squared error";

    #[inline]
    fn loss(&self, _z: &[T], a: &[T], y: &[T]) -> T {
        let sum: T = a.iter().zip(y).map(|(&a, &y)| (a - y) * (a - y)).sum();
        sum / count::<T>(a.len())
    }
}

impl<A: Differentiable<MeanSquaredError>, T: Scalar> LossGradient<A, T> for MeanSquaredError {
    #[inline]
    fn delta(&self, z: &[T], a: &[T], y: &[T], delta: &mut [T]) {
        let scale = T::from_f32(2.0) / count::<T>(a.len());
        for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
            *d = scale * (a - y);
        }
        T::activate_backward::<A, MeanSquaredError>(z, a, delta, z.len().max(1));
    }
}

/// Cross-entropy on a softmax output: `L = -Σᵢ yᵢ ln softmax(z)ᵢ`.
///
/// Computed stably as `(Σᵢ yᵢ)·lse(z) - Σᵢ yᵢ zᵢ` with `lse(z) = m + ln Σ e^(z - m)`,
/// `m = max z`. The output delta is `∂L/∂z = (Σᵢ yᵢ)·a - y`, which is the familiar `a - y`
/// for a one-hot or probability target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl<T: Scalar> Loss<Softmax, T> for CrossEntropy {
    const NAME: &'static str = "cross-entropy";
    const CLASSIFIES: bool = true;

    #[cfg(feature = "std")]
    /// A target is a distribution over the classes up to scale: every value finite and at
    /// least 0 (a one-hot row, or probabilities).
    fn check_target(&self, y: &[T]) -> Result<(), InvalidData> {
        in_range(
            y,
            0.0,
            f64::INFINITY,
            <Self as Loss<Softmax, T>>::NAME,
            "values of at least 0",
        )
    }

    #[inline]
    fn loss(&self, z: &[T], _a: &[T], y: &[T]) -> T {
        let lse = T::log_sum_exp(z);
        let total: T = y.iter().copied().sum();
        let dot: T = y.iter().zip(z).map(|(&y, &z)| y * z).sum();
        total * lse - dot
    }
}

impl<T: Scalar> LossGradient<Softmax, T> for CrossEntropy {
    #[inline]
    fn delta(&self, _z: &[T], a: &[T], y: &[T], delta: &mut [T]) {
        let total: T = y.iter().copied().sum();
        for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
            *d = total * a - y;
        }
    }
}

/// Binary cross-entropy on a sigmoid output, averaged over the `n` outputs:
/// `L = -Σᵢ [yᵢ ln aᵢ + (1 - yᵢ) ln(1 - aᵢ)] / n`.
///
/// Computed from `z` as `Σᵢ [softplus(zᵢ) - yᵢ zᵢ] / n`, which is the same and never takes the
/// log of zero. The output delta is `∂L/∂z = (a - y)/n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

impl<T: Scalar> Loss<Sigmoid, T> for BinaryCrossEntropy {
    const NAME: &'static str = "binary cross-entropy";
    const CLASSIFIES: bool = true;

    #[cfg(feature = "std")]
    /// A target is a probability: every value in `[0, 1]`.
    fn check_target(&self, y: &[T]) -> Result<(), InvalidData> {
        in_range(
            y,
            0.0,
            1.0,
            <Self as Loss<Sigmoid, T>>::NAME,
            "values in [0, 1]",
        )
    }

    #[inline]
    fn loss(&self, z: &[T], _a: &[T], y: &[T]) -> T {
        let sum: T = z.iter().zip(y).map(|(&z, &y)| z.softplus() - y * z).sum();
        sum / count::<T>(z.len())
    }
}

impl<T: Scalar> LossGradient<Sigmoid, T> for BinaryCrossEntropy {
    #[inline]
    fn delta(&self, _z: &[T], a: &[T], y: &[T], delta: &mut [T]) {
        let scale = T::ONE / count::<T>(a.len());
        for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
            *d = scale * (a - y);
        }
    }
}

/// Mean absolute error (L1): `L = Σᵢ |aᵢ - yᵢ| / n` over the `n` outputs.
///
/// `∂L/∂a = sign(a - y)/n` (0 where `a = y`), then the chain rule through the output
/// activation. Less swayed by outliers than [`MeanSquaredError`]: every residual pulls with the
/// same force, whatever its size.
///
/// ```
/// use nn_core::{Linear, Loss, MeanAbsoluteError};
/// let l1 = <MeanAbsoluteError as Loss<Linear>>::loss(&MeanAbsoluteError, &[], &[1.0, -2.0], &[0.0, 0.0]);
/// assert_eq!(l1, 1.5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanAbsoluteError;

impl<A: Activation, T: Scalar> Loss<A, T> for MeanAbsoluteError {
    const NAME: &'static str = "mean absolute error";

    #[inline]
    fn loss(&self, _z: &[T], a: &[T], y: &[T]) -> T {
        let sum: T = a.iter().zip(y).map(|(&a, &y)| (a - y).abs()).sum();
        sum / count::<T>(a.len())
    }
}

impl<A: Differentiable<MeanAbsoluteError>, T: Scalar> LossGradient<A, T> for MeanAbsoluteError {
    #[inline]
    fn delta(&self, z: &[T], a: &[T], y: &[T], delta: &mut [T]) {
        let scale = T::ONE / count::<T>(a.len());
        for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
            let r = a - y;
            *d = if r > T::ZERO {
                scale
            } else if r < T::ZERO {
                -scale
            } else {
                T::ZERO
            };
        }
        T::activate_backward::<A, MeanAbsoluteError>(z, a, delta, z.len().max(1));
    }
}

/// The Huber loss with threshold `δ`, averaged over the `n` outputs: `L = Σᵢ h_δ(aᵢ - yᵢ) / n`
/// with
///
/// ```text
/// h_δ(r) = r²/2              for |r| ≤ δ
///        = δ·(|r| - δ/2)     for |r| > δ
/// ```
///
/// Quadratic near the target, linear far from it: the gradient `∂h/∂r = clamp(r, -δ, δ)` is
/// the residual, capped at `δ`. (PyTorch's `nn.HuberLoss(delta=δ)`.)
///
/// ```
/// use nn_core::{Huber, Linear, Loss};
/// let h = Huber::new(1.0);
/// // Residuals 0.5 (quadratic: 0.125) and 3 (linear: 1·(3 - 0.5) = 2.5).
/// assert_eq!(<Huber as Loss<Linear>>::loss(&h, &[], &[0.5, 3.0], &[0.0, 0.0]), 1.3125);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Huber {
    /// The threshold `δ` between the quadratic and the linear part, above 0.
    pub delta: f32,
}

impl Huber {
    /// The Huber loss with threshold `δ` (1 is PyTorch's default).
    pub fn new(delta: f32) -> Self {
        Self { delta }
    }
}

impl Default for Huber {
    /// `δ = 1`.
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl<A: Activation, T: Scalar> Loss<A, T> for Huber {
    const NAME: &'static str = "Huber loss";

    #[inline]
    fn loss(&self, _z: &[T], a: &[T], y: &[T]) -> T {
        let d = T::from_f32(self.delta);
        let half = T::from_f32(0.5);
        let sum: T = a
            .iter()
            .zip(y)
            .map(|(&a, &y)| {
                let r = (a - y).abs();
                if r <= d {
                    half * r * r
                } else {
                    d * (r - half * d)
                }
            })
            .sum();
        sum / count::<T>(a.len())
    }
}

impl<A: Differentiable<Huber>, T: Scalar> LossGradient<A, T> for Huber {
    #[inline]
    fn delta(&self, z: &[T], a: &[T], y: &[T], delta: &mut [T]) {
        let scale = T::ONE / count::<T>(a.len());
        let d = T::from_f32(self.delta);
        for ((g, &a), &y) in delta.iter_mut().zip(a).zip(y) {
            let r = a - y;
            // `clamp(-d, d)`, which `Scalar` leaves to its comparisons.
            let r = if r < -d {
                -d
            } else if r > d {
                d
            } else {
                r
            };
            *g = scale * r;
        }
        T::activate_backward::<A, Huber>(z, a, delta, z.len().max(1));
    }
}

#[cfg(feature = "std")]
/// Checks that every value of `y` is finite and in `[low, high]`.
fn in_range<T: Scalar>(
    y: &[T],
    low: f64,
    high: f64,
    loss: &'static str,
    expected: &'static str,
) -> Result<(), InvalidData> {
    for (index, &value) in y.iter().enumerate() {
        if !value.is_finite() {
            return Err(InvalidData::TargetNotFinite {
                index,
                value: value.to_f32(),
            });
        }
        if value.to_f64() < low || value.to_f64() > high {
            return Err(InvalidData::TargetOutOfRange {
                index,
                value: value.to_f32(),
                loss,
                expected,
            });
        }
    }
    Ok(())
}

/// The mean loss of a batch laid out row after row (`width` values a row), writing each row's
/// `∂(mean L)/∂z` (the per-sample delta divided by the batch size) into `delta`.
///
/// Used by the code `network!` writes; `z`, `a`, `y` and `delta` hold at least `n * width`
/// values.
#[inline]
pub fn batch_delta<L: LossGradient<A, T>, A: Activation, T: Scalar>(
    loss: &L,
    n: usize,
    width: usize,
    z: &[T],
    a: &[T],
    y: &[T],
    delta: &mut [T],
) -> T {
    let len = n * width;
    let mut total = 0.0f64;
    for (((z, a), y), d) in z[..len]
        .chunks_exact(width)
        .zip(a[..len].chunks_exact(width))
        .zip(y[..len].chunks_exact(width))
        .zip(delta[..len].chunks_exact_mut(width))
    {
        total += loss.loss(z, a, y).to_f64();
        loss.delta(z, a, y, d);
    }
    if n > 1 {
        let inv = T::ONE / T::from_usize(n);
        for d in &mut delta[..len] {
            *d *= inv;
        }
    }
    T::from_f64(total / n as f64)
}

/// The mean loss of a batch laid out row after row, without gradients.
#[inline]
pub fn batch_loss<L: Loss<A, T>, A: Activation, T: Scalar>(
    loss: &L,
    n: usize,
    width: usize,
    z: &[T],
    a: &[T],
    y: &[T],
) -> T {
    let len = n * width;
    let total: f64 = z[..len]
        .chunks_exact(width)
        .zip(a[..len].chunks_exact(width))
        .zip(y[..len].chunks_exact(width))
        .map(|((z, a), y)| loss.loss(z, a, y).to_f64())
        .sum();
    T::from_f64(total / n as f64)
}

/// `n` as a scalar: the number of outputs a per-sample loss averages over.
#[inline]
fn count<T: Scalar>(n: usize) -> T {
    T::from_usize(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Linear, Tanh};

    /// Checks `delta` against central differences of `loss` with respect to `z`, in f64.
    fn check_delta<A: Differentiable<L>, L: LossGradient<A>>(loss: L, z: &[f32], y: &[f32]) {
        let act = |z: &[f32]| {
            let mut a = z.to_vec();
            A::apply(&mut a);
            a
        };
        let a = act(z);
        let mut delta = vec![0.0; z.len()];
        loss.delta(z, &a, y, &mut delta);
        for i in 0..z.len() {
            let h = 1e-2f32;
            let eval = |s: f32| {
                let mut zz = z.to_vec();
                zz[i] += s;
                let aa = act(&zz);
                f64::from(loss.loss(&zz, &aa, y))
            };
            let d1 = (eval(h) - eval(-h)) / f64::from(2.0 * h);
            let d2 = (eval(h / 2.0) - eval(-h / 2.0)) / f64::from(h);
            let numeric = (4.0 * d2 - d1) / 3.0;
            assert!(
                (f64::from(delta[i]) - numeric).abs() < 1e-4,
                "{} on {}: delta[{i}] = {}, finite difference {numeric}",
                L::NAME,
                A::NAME,
                delta[i]
            );
        }
    }

    #[test]
    fn deltas_match_finite_differences() {
        let z = [0.3f32, -1.2, 0.8];
        check_delta::<Softmax, _>(CrossEntropy, &z, &[0.0, 1.0, 0.0]);
        check_delta::<Softmax, _>(CrossEntropy, &z, &[0.2, 0.5, 0.3]);
        check_delta::<Sigmoid, _>(BinaryCrossEntropy, &z, &[1.0, 0.0, 1.0]);
        check_delta::<Sigmoid, _>(MeanSquaredError, &z, &[1.0, 0.0, 0.5]);
        check_delta::<Tanh, _>(MeanSquaredError, &z, &[0.5, -0.5, 0.0]);
        check_delta::<Linear, _>(MeanSquaredError, &z, &[2.0, -1.0, 0.0]);
        check_delta::<Softmax, _>(MeanSquaredError, &z, &[0.0, 0.0, 1.0]);
        // L1 and Huber away from their kinks (|a - y| = 0 for L1, |a - y| = δ for Huber):
        // residuals on both sides of δ.
        check_delta::<Linear, _>(MeanAbsoluteError, &z, &[2.0, -1.0, 0.0]);
        check_delta::<Tanh, _>(MeanAbsoluteError, &z, &[0.5, -0.5, 0.0]);
        check_delta::<Linear, _>(Huber::new(1.0), &z, &[2.0, -1.0, 0.5]);
        check_delta::<Sigmoid, _>(Huber::new(0.3), &z, &[1.0, 0.0, 0.5]);
        check_delta::<Tanh, _>(Huber::new(0.5), &z, &[0.5, -0.5, 0.0]);
    }

    #[test]
    fn targets_are_checked_against_the_losses_range() {
        let ce = <CrossEntropy as Loss<Softmax>>::check_target;
        assert_eq!(ce(&CrossEntropy, &[0.0, 1.0]), Ok(()));
        assert!(matches!(
            ce(&CrossEntropy, &[-5.0, 1.0]),
            Err(InvalidData::TargetOutOfRange { index: 0, .. })
        ));
        let bce = <BinaryCrossEntropy as Loss<Sigmoid>>::check_target;
        assert!(bce(&BinaryCrossEntropy, &[1.5]).is_err());
        let mse = <MeanSquaredError as Loss<Linear>>::check_target;
        assert_eq!(mse(&MeanSquaredError, &[-5.0, 1e30]), Ok(()));
        assert!(matches!(
            mse(&MeanSquaredError, &[0.0, f32::NAN]),
            Err(InvalidData::TargetNotFinite { index: 1, .. })
        ));
    }

    #[test]
    fn confident_wrong_answers_are_finite() {
        let z = [1000.0f32, -1000.0];
        let mut a = z;
        Softmax::apply(&mut a);
        let ce = CrossEntropy.loss(&z, &a, &[0.0, 1.0]);
        assert_eq!(ce, 2000.0);
        let mut s = z;
        Sigmoid::apply(&mut s);
        let bce = BinaryCrossEntropy.loss(&z, &s, &[0.0, 1.0]);
        assert_eq!(bce, 1000.0);
    }

    #[test]
    fn batch_means() {
        // Two samples of one linear output: losses 1 and 4, mean 2.5; deltas halved.
        let z = [1.0f32, 2.0];
        let y = [0.0f32, 0.0];
        let mut d = [0.0f32; 2];
        let l = batch_delta::<_, Linear, f32>(&MeanSquaredError, 2, 1, &z, &z, &y, &mut d);
        assert_eq!(l, 2.5);
        assert_eq!(d, [1.0, 2.0]);
        assert_eq!(
            batch_loss::<_, Linear, f32>(&MeanSquaredError, 2, 1, &z, &z, &y),
            2.5
        );
    }
}
