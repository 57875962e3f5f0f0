//! The losses, as the textbooks write them: of probabilities, not fused with the output
//! activation (so that comparing with `network!`'s fused deltas checks the fusion).

use super::{Op, Scalar, Shape, Tape, TapeError, Var};

impl<T: Scalar> Tape<T> {
    fn loss(
        &mut self,
        op: &'static str,
        a: Var,
        y: Var,
        f: impl Fn(&[T], &[T]) -> T,
        make: fn(Var, Var) -> Op<T>,
    ) -> Result<Var, TapeError> {
        self.same_shape(op, a, y)?;
        let l = f(&self.values[a.0], &self.values[y.0]);
        Ok(self.push(vec![l], Shape::SCALAR, make(a, y)))
    }

    /// Mean squared error `Σ (a - y)² / n` of an output `a` against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `y` have the same shape.
    pub fn mse(&mut self, a: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "mse",
            a,
            y,
            |a, y| {
                let s: T = a.iter().zip(y).map(|(&a, &y)| (a - y) * (a - y)).sum();
                s / T::from_usize(a.len())
            },
            Op::Mse,
        )
    }

    /// Cross-entropy `-Σ y ln p` of probabilities `p` (a softmax output) against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `p` and `y` have the same shape.
    pub fn cross_entropy(&mut self, p: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "cross_entropy",
            p,
            y,
            |p, y| {
                -p.iter()
                    .zip(y)
                    .filter(|(_, &y)| y != T::ZERO)
                    .map(|(&p, &y)| y * p.ln())
                    .sum::<T>()
            },
            Op::CrossEntropy,
        )
    }

    /// Binary cross-entropy `-Σ [y ln p + (1-y) ln(1-p)] / n` of probabilities `p` (a sigmoid
    /// output) against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `p` and `y` have the same shape.
    pub fn binary_cross_entropy(&mut self, p: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "binary_cross_entropy",
            p,
            y,
            |p, y| {
                let one = T::ONE;
                let s: T = p
                    .iter()
                    .zip(y)
                    .map(|(&p, &y)| bce_term(y, p.ln()) + bce_term(one - y, (one - p).ln()))
                    .sum();
                -s / T::from_usize(p.len())
            },
            Op::BinaryCrossEntropy,
        )
    }
}

/// `c · ln_x`, or 0 where the coefficient is 0 (so that `0 · ln 0` is 0, not NaN).
fn bce_term<T: Scalar>(c: T, ln_x: T) -> T {
    if c == T::ZERO {
        T::ZERO
    } else {
        c * ln_x
    }
}

/// The local derivative of [`mse`](Tape::mse): `∂a += g · 2(a - y) / n`.
pub(super) fn mse_backward<T: Scalar>(
    a: Var,
    y: Var,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let scale = T::from_f32(2.0) * g[0] / T::from_usize(values[a.0].len());
    for ((d, &a), &y) in grads[a.0].iter_mut().zip(&values[a.0]).zip(&values[y.0]) {
        *d += scale * (a - y);
    }
}

/// The local derivative of [`cross_entropy`](Tape::cross_entropy): `∂p += -g · y / p`.
pub(super) fn cross_entropy_backward<T: Scalar>(
    p: Var,
    y: Var,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    for ((d, &p), &y) in grads[p.0].iter_mut().zip(&values[p.0]).zip(&values[y.0]) {
        if y != T::ZERO {
            *d -= g[0] * y / p;
        }
    }
}

/// The local derivative of [`binary_cross_entropy`](Tape::binary_cross_entropy):
/// `∂p += -g · (y/p - (1-y)/(1-p)) / n`, each term left out where its coefficient is 0.
pub(super) fn binary_cross_entropy_backward<T: Scalar>(
    p: Var,
    y: Var,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let one = T::ONE;
    let scale = g[0] / T::from_usize(values[p.0].len());
    for ((d, &p), &y) in grads[p.0].iter_mut().zip(&values[p.0]).zip(&values[y.0]) {
        let mut local = T::ZERO;
        if y != T::ZERO {
            local += y / p;
        }
        if y != one {
            local -= (one - y) / (one - p);
        }
        *d -= scale * local;
    }
}
