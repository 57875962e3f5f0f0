//! Least squares in closed form: what a `linear` neuron trained by gradient descent converges to.
//!
//! A linear neuron computes `ŷ = X·W`. Minimising the squared error `J = Σ (X·W - Y)²` has a
//! closed-form answer, so the weights gradient descent finds can be checked against it.
//!
//! - [`simple_regression`]: one input and an intercept, `y ≈ b0 + b1·x`, from sums:
//!
//!   ```text
//!   b1 = (n·Σxy - Σx·Σy) / (n·Σx² - (Σx)²)      b0 = mean(y) - b1·mean(x)
//!   ```
//!
//! - [`normal_equations`]: several inputs, `y ≈ X·β`, where `β` solves the normal equations
//!   `XᵀX·β = XᵀY`, i.e. `β = (XᵀX)⁻¹XᵀY`. An intercept is a column of ones in `X`: the bias as
//!   a dummy input of 1.
//!
//! Both work in `f64`. `normal_equations` never forms an inverse, nor even `XᵀX`: it factors
//! `X = Q·R` by Householder reflections (`Q` orthogonal, `R` upper triangular), so that
//! `XᵀX = RᵀR` and the normal equations become the triangular system `R·β = Qᵀ·Y`. This keeps the
//! condition number of `X`, where forming `XᵀX` would square it.
//!
//! ```
//! use nn_core::least_squares::{normal_equations, simple_regression};
//!
//! // y = 1 + 2x, exactly.
//! let line = simple_regression(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0])?;
//! assert!((line.intercept - 1.0).abs() < 1e-12 && (line.slope - 2.0).abs() < 1e-12);
//!
//! // The same line from the normal equations, with a column of ones for the intercept.
//! let x = [[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]];
//! let beta = normal_equations(&x, &[1.0, 3.0, 5.0, 7.0])?;
//! assert!((beta[0] - 1.0).abs() < 1e-12 && (beta[1] - 2.0).abs() < 1e-12);
//! # Ok::<(), nn_core::least_squares::LeastSquaresError>(())
//! ```

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use alloc::vec::Vec;

/// Below this fraction of its length lying outside the span of the columns before it, a column
/// counts as a combination of them: `X` then has a condition number above about `10¹⁰`, and `XᵀX`
/// above `10²⁰`, beyond what `f64` (16 digits) can solve.
pub const DEPENDENCE_TOLERANCE: f64 = 1e-10;

/// Why a least-squares problem has no (unique) solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LeastSquaresError {
    /// Inputs and targets differ in number.
    #[error("there are {inputs} input rows but {targets} targets: expected one target per row")]
    LengthMismatch {
        /// The number of input rows (or x values).
        inputs: usize,
        /// The number of targets (y values).
        targets: usize,
    },
    /// A row of `X` has another length than the first row.
    #[error("row {row} of X has {found} values, but row 0 has {expected}: every row needs one value per column")]
    RaggedRow {
        /// The row, counting from 0.
        row: usize,
        /// The length of row 0.
        expected: usize,
        /// This row's length.
        found: usize,
    },
    /// Fewer samples than unknowns (or no columns at all).
    #[error("{samples} samples cannot determine {unknowns} coefficients: expected at least {unknowns} samples and at least one column")]
    TooFewSamples {
        /// The number of samples.
        samples: usize,
        /// The number of coefficients to find.
        unknowns: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what} {index} is {value}: expected a finite number")]
    NotFinite {
        /// `"x"`, `"y"` or `"X row"`.
        what: &'static str,
        /// Its position (the row, for `X`).
        index: usize,
        /// The value.
        value: f64,
    },
    /// Simple regression on inputs that are all the same: the slope is undefined.
    #[error("every x is {value}: the slope is undefined (n·Σx² - (Σx)² = 0)")]
    ConstantInput {
        /// The one value of x.
        value: f64,
    },
    /// A column of `X` is (numerically) a linear combination of the columns before it, so
    /// `XᵀX` is singular or too ill-conditioned to solve.
    #[error("the inputs are linearly dependent: column {column} is a combination of the columns before it (only {residual:.1e} of its length lies outside them), so XᵀX is singular")]
    LinearlyDependent {
        /// The column, counting from 0.
        column: usize,
        /// `|r_kk| / ‖x_k‖`: the fraction of the column's length outside the span of the columns
        /// before it (the failed pivot, relative to the column's size); 0 for an exact
        /// combination or a zero column.
        residual: f64,
    },
}

/// A fitted line `y = intercept + slope·x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// `b0`, the value at `x = 0`.
    pub intercept: f64,
    /// `b1`, the change of `y` per unit of `x`.
    pub slope: f64,
}

impl Line {
    /// The line's value at `x`: `b0 + b1·x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Simple linear regression, `y ≈ b0 + b1·x`, by least squares:
///
/// ```text
/// b1 = (n·Σxy - Σx·Σy) / (n·Σx² - (Σx)²)      b0 = mean(y) - b1·mean(x)
/// ```
///
/// computed in the equivalent centred form `b1 = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)²`, which does not
/// lose digits when the sums are large and nearly cancel.
///
/// ```
/// use nn_core::least_squares::simple_regression;
/// // Points (1, 2), (2, 3), (3, 5): Σx = 6, Σy = 10, Σxy = 23, Σx² = 14, n = 3.
/// // b1 = (3·23 - 6·10) / (3·14 - 36) = 9/6 = 1.5; b0 = 10/3 - 1.5·2 = 1/3.
/// let line = simple_regression(&[1.0, 2.0, 3.0], &[2.0, 3.0, 5.0])?;
/// assert!((line.slope - 1.5).abs() < 1e-12);
/// assert!((line.intercept - 1.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), nn_core::least_squares::LeastSquaresError>(())
/// ```
///
/// # Errors
///
/// [`LengthMismatch`](LeastSquaresError::LengthMismatch) if `x` and `y` differ in length,
/// [`TooFewSamples`](LeastSquaresError::TooFewSamples) for fewer than two points,
/// [`NotFinite`](LeastSquaresError::NotFinite) for a NaN or infinity,
/// [`ConstantInput`](LeastSquaresError::ConstantInput) if every `x` is the same.
pub fn simple_regression(x: &[f64], y: &[f64]) -> Result<Line, LeastSquaresError> {
    if x.len() != y.len() {
        return Err(LeastSquaresError::LengthMismatch {
            inputs: x.len(),
            targets: y.len(),
        });
    }
    let n = x.len();
    if n < 2 {
        return Err(LeastSquaresError::TooFewSamples {
            samples: n,
            unknowns: 2,
        });
    }
    check_finite("x", x)?;
    check_finite("y", y)?;
    let mean_x = x.iter().sum::<f64>() / n as f64;
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (&xi, &yi) in x.iter().zip(y) {
        let dx = xi - mean_x;
        sxy += dx * (yi - mean_y);
        sxx += dx * dx;
    }
    if sxx == 0.0 {
        return Err(LeastSquaresError::ConstantInput { value: x[0] });
    }
    let slope = sxy / sxx;
    Ok(Line {
        intercept: mean_y - slope * mean_x,
        slope,
    })
}

/// Least squares with several inputs: the `β` that minimises `Σ (X·β - Y)²`, the solution of
/// the normal equations `XᵀX·β = XᵀY`, i.e. `β = (XᵀX)⁻¹XᵀY`.
///
/// `x` holds one row per sample, every row the same length `p` (the number of coefficients);
/// put a `1.0` in every row for an intercept. Solved by a Householder QR factorisation
/// `X = Q·R` and back substitution in `R·β = Qᵀ·Y`, never by an inverse.
///
/// ```
/// use nn_core::least_squares::normal_equations;
/// // XᵀX = [[2, 1], [1, 2]], XᵀY = [5, 6], so β = [[2, -1], [-1, 2]]·[5, 6] / 3 = [4/3, 7/3].
/// let beta = normal_equations(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], &[1.0, 2.0, 4.0])?;
/// assert!((beta[0] - 4.0 / 3.0).abs() < 1e-12);
/// assert!((beta[1] - 7.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), nn_core::least_squares::LeastSquaresError>(())
/// ```
///
/// # Errors
///
/// [`LengthMismatch`](LeastSquaresError::LengthMismatch) if `x` and `y` differ in length,
/// [`RaggedRow`](LeastSquaresError::RaggedRow) if the rows differ in length,
/// [`TooFewSamples`](LeastSquaresError::TooFewSamples) for fewer rows than columns (or no
/// columns), [`NotFinite`](LeastSquaresError::NotFinite) for a NaN or infinity, and
/// [`LinearlyDependent`](LeastSquaresError::LinearlyDependent) when a column is (within
/// [`DEPENDENCE_TOLERANCE`]) a combination of the columns before it, so `XᵀX` is singular.
pub fn normal_equations<R: AsRef<[f64]>>(
    x: &[R],
    y: &[f64],
) -> Result<Vec<f64>, LeastSquaresError> {
    if x.len() != y.len() {
        return Err(LeastSquaresError::LengthMismatch {
            inputs: x.len(),
            targets: y.len(),
        });
    }
    let n = x.len();
    let p = x.first().map_or(0, |r| r.as_ref().len());
    for (row, r) in x.iter().enumerate() {
        let r = r.as_ref();
        if r.len() != p {
            return Err(LeastSquaresError::RaggedRow {
                row,
                expected: p,
                found: r.len(),
            });
        }
        if let Some(&value) = r.iter().find(|v| !v.is_finite()) {
            return Err(LeastSquaresError::NotFinite {
                what: "X row",
                index: row,
                value,
            });
        }
    }
    check_finite("y", y)?;
    if p == 0 || n < p {
        return Err(LeastSquaresError::TooFewSamples {
            samples: n,
            unknowns: p,
        });
    }

    // Column-major copy of X, so that each Householder step works on contiguous columns.
    let mut a: Vec<f64> = (0..p)
        .flat_map(|j| x.iter().map(move |r| r.as_ref()[j]))
        .collect();
    let mut b = y.to_vec();
    let norms: Vec<f64> = a.chunks_exact(n).map(norm).collect();
    let mut diag = vec![0.0; p];

    for k in 0..p {
        let (done, rest) = a.split_at_mut((k + 1) * n);
        let col = &mut done[k * n + k..(k + 1) * n];
        // What is left of column k after the reflections that zeroed the columns before it:
        // its component outside their span.
        let rest_norm = norm(col);
        let residual = if norms[k] == 0.0 {
            0.0
        } else {
            rest_norm / norms[k]
        };
        if residual <= DEPENDENCE_TOLERANCE {
            return Err(LeastSquaresError::LinearlyDependent {
                column: k,
                residual,
            });
        }
        // Reflect col onto alpha·e1, with alpha's sign opposite to col[0] so v does not cancel.
        let alpha = if col[0] > 0.0 { -rest_norm } else { rest_norm };
        col[0] -= alpha;
        let v = &*col;
        let vv = v.iter().map(|v| v * v).sum::<f64>();
        for other in rest.chunks_exact_mut(n) {
            reflect(v, vv, &mut other[k..]);
        }
        reflect(v, vv, &mut b[k..]);
        diag[k] = alpha;
    }

    // Back substitution in R·β = (Qᵀy)[..p]; R's strict upper triangle is in a above the
    // diagonal, its diagonal in diag.
    let mut beta = vec![0.0; p];
    for k in (0..p).rev() {
        let mut s = b[k];
        for j in k + 1..p {
            s -= a[j * n + k] * beta[j];
        }
        beta[k] = s / diag[k];
    }
    Ok(beta)
}

/// Applies the Householder reflection `H = I - 2·v·vᵀ / (vᵀv)` to `u` in place.
fn reflect(v: &[f64], vv: f64, u: &mut [f64]) {
    let dot: f64 = v.iter().zip(u.iter()).map(|(v, u)| v * u).sum();
    let s = 2.0 * dot / vv;
    for (u, v) in u.iter_mut().zip(v) {
        *u -= s * v;
    }
}

/// The Euclidean norm, scaled so that squaring cannot overflow.
fn norm(v: &[f64]) -> f64 {
    let scale = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    scale * v.iter().map(|x| (x / scale).powi(2)).sum::<f64>().sqrt()
}

fn check_finite(what: &'static str, v: &[f64]) -> Result<(), LeastSquaresError> {
    match v.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(LeastSquaresError::NotFinite {
            what,
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    /// Anscombe's quartet, data set I (Anscombe 1973): the published fit is
    /// y = 3.00 + 0.500·x. From the sums Σx = 99, Σy = 82.51, Σxy = 797.6, Σx² = 1001, n = 11:
    /// b1 = (11·797.6 - 99·82.51) / (11·1001 - 99²) = 605.11 / 1210 = 0.50009...
    const ANSCOMBE_X: [f64; 11] = [10.0, 8.0, 13.0, 9.0, 11.0, 14.0, 6.0, 4.0, 12.0, 7.0, 5.0];
    const ANSCOMBE_Y: [f64; 11] = [
        8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
    ];

    #[test]
    fn textbook_example_anscombe() {
        // Sums by hand: Σx = 99, Σy = 82.51, Σxy = 797.6, Σx² = 1001.
        let (n, sx, sy, sxy, sxx) = (11.0, 99.0, 82.51, 797.6, 1001.0);
        let b1 = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        let b0 = sy / n - b1 * sx / n;
        let line = simple_regression(&ANSCOMBE_X, &ANSCOMBE_Y).unwrap();
        assert!(close(line.slope, b1, 1e-12), "{line:?} vs {b1}");
        assert!(close(line.intercept, b0, 1e-12), "{line:?} vs {b0}");
        // The published rounding.
        assert!((line.slope - 0.500).abs() < 5e-4);
        assert!((line.intercept - 3.00).abs() < 5e-3);

        // The normal equations with an intercept column give the same line.
        let rows: Vec<[f64; 2]> = ANSCOMBE_X.iter().map(|&x| [1.0, x]).collect();
        let beta = normal_equations(&rows, &ANSCOMBE_Y).unwrap();
        assert!(
            close(beta[0], b0, 1e-12) && close(beta[1], b1, 1e-12),
            "{beta:?}"
        );
    }

    #[test]
    fn exact_fit_is_recovered() {
        // y = 1 + 2·x1 - 3·x2 + 0.5·x3 on a grid: the residual is zero.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..4 {
            for j in 0..3 {
                for k in 0..2 {
                    let (x1, x2, x3) = (f64::from(i), f64::from(j) * 0.5, f64::from(k) - 3.0);
                    rows.push(vec![1.0, x1, x2, x3]);
                    y.push(1.0 + 2.0 * x1 - 3.0 * x2 + 0.5 * x3);
                }
            }
        }
        let beta = normal_equations(&rows, &y).unwrap();
        for (got, want) in beta.iter().zip([1.0, 2.0, -3.0, 0.5]) {
            assert!(close(*got, want, 1e-12), "{beta:?}");
        }
    }

    #[test]
    fn hand_solvable_three_by_three() {
        // Square X: the least-squares solution is the solution of X·β = y.
        let x = [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]];
        let beta = normal_equations(&x, &[5.0, 7.0, 9.0]).unwrap();
        // 2a + b = 5, a + 3b + c = 7, b + 4c = 9: a = 2, b = 1, c = 2.
        for (got, want) in beta.iter().zip([2.0, 1.0, 2.0]) {
            assert!(close(*got, want, 1e-12), "{beta:?}");
        }
    }

    #[test]
    fn overdetermined_matches_normal_equations_by_hand() {
        // XᵀX = [[2, 1], [1, 2]], XᵀY = [5, 6]: β = [4/3, 7/3], residual non-zero.
        let beta =
            normal_equations(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], &[1.0, 2.0, 4.0]).unwrap();
        assert!(close(beta[0], 4.0 / 3.0, 1e-14) && close(beta[1], 7.0 / 3.0, 1e-14));
    }

    #[test]
    fn badly_scaled_but_independent_columns_solve() {
        // Columns of very different sizes are not dependent: QR is scale-invariant per column.
        let rows: Vec<[f64; 3]> = (0..10)
            .map(|i| {
                let t = f64::from(i);
                [1.0, 1e6 * t, 1e-6 * t * t]
            })
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| 2.0 + 3e-6 * r[1] + 4e6 * r[2])
            .collect();
        let beta = normal_equations(&rows, &y).unwrap();
        for (got, want) in beta.iter().zip([2.0, 3e-6, 4e6]) {
            assert!(close(*got, want, 1e-9), "{beta:?}");
        }
    }

    #[test]
    fn dependent_columns_are_named() {
        // Column 2 = 2·column 1.
        let rows: Vec<[f64; 3]> = (0..5)
            .map(|i| [1.0, f64::from(i), 2.0 * f64::from(i)])
            .collect();
        let err = normal_equations(&rows, &[1.0; 5]).unwrap_err();
        assert!(
            matches!(err, LeastSquaresError::LinearlyDependent { column: 2, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("linearly dependent") && msg.contains("column 2"),
            "{msg}"
        );

        // Column 3 = column 1 + column 2, and a zero column 1.
        let rows: Vec<[f64; 4]> = (0..6)
            .map(|i| {
                let (a, b) = (f64::from(i), f64::from(i * i % 5));
                [1.0, a, b, a + b]
            })
            .collect();
        let err = normal_equations(&rows, &[0.0; 6]).unwrap_err();
        assert!(
            matches!(err, LeastSquaresError::LinearlyDependent { column: 3, .. }),
            "{err:?}"
        );
        let rows = [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]];
        let err = normal_equations(&rows, &[0.0; 3]).unwrap_err();
        assert_eq!(
            err,
            LeastSquaresError::LinearlyDependent {
                column: 1,
                residual: 0.0
            }
        );
    }

    #[test]
    fn nearly_dependent_columns_are_an_error() {
        // Column 1 differs from column 0 by 1e-13 of its length: XᵀX has condition ~1e26.
        let rows: Vec<[f64; 2]> = (1..6)
            .map(|i| {
                let t = f64::from(i);
                [t, t * (1.0 + if i == 3 { 1e-13 } else { 0.0 })]
            })
            .collect();
        let err = normal_equations(&rows, &[1.0; 5]).unwrap_err();
        match err {
            LeastSquaresError::LinearlyDependent { column, residual } => {
                assert_eq!(column, 1);
                assert!(residual > 0.0 && residual < 1e-12, "{residual}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            simple_regression(&[1.0, 2.0], &[1.0]),
            Err(LeastSquaresError::LengthMismatch {
                inputs: 2,
                targets: 1
            })
        );
        assert_eq!(
            simple_regression(&[1.0], &[1.0]),
            Err(LeastSquaresError::TooFewSamples {
                samples: 1,
                unknowns: 2
            })
        );
        assert_eq!(
            simple_regression(&[3.0, 3.0, 3.0], &[1.0, 2.0, 3.0]),
            Err(LeastSquaresError::ConstantInput { value: 3.0 })
        );
        assert!(matches!(
            simple_regression(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(LeastSquaresError::NotFinite {
                what: "x",
                index: 1,
                ..
            })
        ));
        let ragged: [&[f64]; 2] = [&[1.0, 2.0], &[1.0]];
        assert_eq!(
            normal_equations(&ragged, &[1.0, 2.0]),
            Err(LeastSquaresError::RaggedRow {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            normal_equations(&[[1.0, 2.0, 3.0]], &[1.0]),
            Err(LeastSquaresError::TooFewSamples {
                samples: 1,
                unknowns: 3
            })
        );
        assert_eq!(
            normal_equations(&[[1.0], [2.0]], &[1.0]),
            Err(LeastSquaresError::LengthMismatch {
                inputs: 2,
                targets: 1
            })
        );
        assert!(matches!(
            normal_equations(&[[1.0], [f64::INFINITY]], &[1.0, 2.0]),
            Err(LeastSquaresError::NotFinite {
                what: "X row",
                index: 1,
                ..
            })
        ));
        let none: [[f64; 0]; 0] = [];
        assert!(matches!(
            normal_equations(&none, &[]),
            Err(LeastSquaresError::TooFewSamples { .. })
        ));
    }
}
