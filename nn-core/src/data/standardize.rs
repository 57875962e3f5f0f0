//! Feature standardisation: each column to mean 0 and standard deviation 1, fit on the training
//! set and applied unchanged to the others.

/// The mean and standard deviation of each of `N` columns, fit on one set of rows and applied
/// to any: `x ← (x - mean) / std`.
///
/// Fit on the training set only and apply the same values to the validation and test sets, so
/// that nothing about them leaks into training. The standard deviation is the population one
/// (`√(Σ (x - mean)² / n)`, scikit-learn's `StandardScaler`); a column that does not vary keeps
/// scale 1 (it becomes all zeros). Sums are taken in `f64`.
///
/// ```
/// use nn_core::data::Standardizer;
/// let train = [[1.0, 10.0], [3.0, 10.0]];
/// let s = Standardizer::fit(&train).unwrap();
/// assert_eq!((s.mean, s.std), ([2.0, 10.0], [1.0, 1.0]));
/// assert_eq!(s.transform(&[4.0, 12.0]), [2.0, 2.0]);
/// assert_eq!(s.inverse(&[2.0, 2.0]), [4.0, 12.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardizer<const N: usize> {
    /// Each column's mean on the rows it was fit on.
    pub mean: [f32; N],
    /// Each column's standard deviation there (1 for a column that does not vary).
    pub std: [f32; N],
}

/// What stops [`Standardizer::fit`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StandardizeError {
    /// There are no rows to fit on.
    #[error("cannot fit a standardisation on no rows")]
    Empty,
    /// A value is NaN or infinite.
    #[error("value {column} of row {row} is {value}: expected a finite number")]
    NotFinite {
        /// The row.
        row: usize,
        /// The column.
        column: usize,
        /// The value.
        value: f32,
    },
}

impl<const N: usize> Standardizer<N> {
    /// The means and standard deviations of `rows`' columns.
    ///
    /// # Errors
    ///
    /// [`StandardizeError::Empty`] for no rows, [`StandardizeError::NotFinite`] for a NaN or
    /// infinite value.
    pub fn fit(rows: &[[f32; N]]) -> Result<Self, StandardizeError> {
        if rows.is_empty() {
            return Err(StandardizeError::Empty);
        }
        let mut sum = [0.0f64; N];
        for (r, row) in rows.iter().enumerate() {
            for (column, (&v, s)) in row.iter().zip(&mut sum).enumerate() {
                if !v.is_finite() {
                    return Err(StandardizeError::NotFinite {
                        row: r,
                        column,
                        value: v,
                    });
                }
                *s += f64::from(v);
            }
        }
        let n = rows.len() as f64;
        let mean = sum.map(|s| s / n);
        let mut squares = [0.0f64; N];
        for row in rows {
            for ((&v, m), q) in row.iter().zip(&mean).zip(&mut squares) {
                *q += (f64::from(v) - m) * (f64::from(v) - m);
            }
        }
        let std = squares.map(|q| {
            let s = (q / n).sqrt();
            if s > 0.0 && s.is_finite() {
                s as f32
            } else {
                1.0
            }
        });
        Ok(Self {
            mean: mean.map(|m| m as f32),
            std,
        })
    }

    /// One row standardised: `(x - mean) / std` per column.
    pub fn transform(&self, row: &[f32; N]) -> [f32; N] {
        core::array::from_fn(|j| (row[j] - self.mean[j]) / self.std[j])
    }

    /// Every row standardised, in place.
    pub fn apply(&self, rows: &mut [[f32; N]]) {
        for row in rows {
            *row = self.transform(row);
        }
    }

    /// A standardised row back in the original units: `x·std + mean`.
    pub fn inverse(&self, row: &[f32; N]) -> [f32; N] {
        core::array::from_fn(|j| row[j] * self.std[j] + self.mean[j])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_on_train_gives_mean_0_and_std_1_there_and_is_applied_unchanged_elsewhere() {
        let train = [
            [1.0f32, 5.0, 7.0],
            [2.0, 3.0, 7.0],
            [6.0, -2.0, 7.0],
            [3.0, 2.0, 7.0],
        ];
        let s = Standardizer::fit(&train).unwrap();
        // Column 0: mean 3, deviations -2, -1, 3, 0: variance 14/4.
        assert_eq!(s.mean[0], 3.0);
        assert!((f64::from(s.std[0]) - (14.0f64 / 4.0).sqrt()).abs() < 1e-6);
        // The constant column keeps scale 1.
        assert_eq!((s.mean[2], s.std[2]), (7.0, 1.0));
        let mut t = train;
        s.apply(&mut t);
        for j in 0..3 {
            let mean: f64 = t.iter().map(|r| f64::from(r[j])).sum::<f64>() / 4.0;
            let var: f64 = t
                .iter()
                .map(|r| (f64::from(r[j]) - mean).powi(2))
                .sum::<f64>()
                / 4.0;
            assert!(mean.abs() < 1e-6, "column {j} mean {mean}");
            assert!(
                j == 2 || (var - 1.0).abs() < 1e-5,
                "column {j} variance {var}"
            );
        }
        // A test row uses the training figures, not its own.
        let test = [[3.0f32, 2.0, 8.0]];
        assert_eq!(s.transform(&test[0])[0], 0.0);
        assert_eq!(s.transform(&test[0])[2], 1.0);
        assert!((s.inverse(&s.transform(&test[0]))[1] - 2.0).abs() < 1e-6);
        assert_eq!(Standardizer::<3>::fit(&[]), Err(StandardizeError::Empty));
        assert!(matches!(
            Standardizer::fit(&[[0.0f32, f32::NAN]]),
            Err(StandardizeError::NotFinite {
                row: 0,
                column: 1,
                ..
            })
        ));
    }
}
