//! Learning-rate schedules: the step size of every batch as a function of where the run is.

use std::fmt;
use std::sync::Arc;

/// Where a run is when a batch's learning rate is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Position {
    /// The number of steps (batches) taken before this one in the whole run, from 0.
    pub step: u64,
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of steps in an epoch.
    pub steps_per_epoch: usize,
    /// The number of steps in the whole run (`epochs · steps_per_epoch`).
    pub total_steps: u64,
}

/// How the learning rate changes over a run, from the optimizer's learning rate `α₀` at the
/// start of [`TrainConfig::fit`](super::TrainConfig::fit). The trainer sets the rate of each
/// batch with [`Optimizer::set_learning_rate`](crate::optim::Optimizer::set_learning_rate) before its
/// step; the rate is computed in `f64` from the position alone, so a resumed run gets the same
/// rates as an uninterrupted one.
///
/// | schedule | rate of a batch in epoch `e` (from 1), at step `t` (from 0) of `T` |
/// | --- | --- |
/// | [`Constant`](Schedule::Constant) | `α₀` |
/// | [`Step`](Schedule::Step) | `α₀·γ^⌊(e - 1)/k⌋` (times `γ` every `k` epochs) |
/// | [`Exponential`](Schedule::Exponential) | `α₀·γ^(e - 1)` |
/// | [`Cosine`](Schedule::Cosine) | `α₀·(t + 1)/W` for `t < W`, then `α_min + (α₀ - α_min)·(1 + cos(π·(t - W)/(T - W)))/2` |
/// | [`Custom`](Schedule::Custom) | the closure's value at the [`Position`] |
///
/// ```
/// use nn_core::train::{Position, Schedule};
/// let at = |step, epoch| Position::new(step, epoch, 10, 100);
/// assert_eq!(Schedule::step(2, 0.5).rate(0.1, at(35, 4)), 0.05);
/// let cosine = Schedule::cosine(10, 0.0);
/// assert_eq!(cosine.rate(1.0, at(4, 1)), 0.5); // warm-up: 5/10 of the way
/// assert!((cosine.rate(1.0, at(55, 6)) - 0.5).abs() < 1e-6); // half-way down
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Schedule {
    /// The optimizer's learning rate throughout.
    #[default]
    Constant,
    /// Multiplied by `gamma` every `every` epochs.
    Step {
        /// Epochs between two decays, at least 1.
        every: usize,
        /// The factor, usually in `(0, 1)`.
        gamma: f32,
    },
    /// Multiplied by `gamma` every epoch.
    Exponential {
        /// The factor per epoch.
        gamma: f32,
    },
    /// A linear warm-up over the first `warmup` steps, then half a cosine from the base rate
    /// down to `min` at the end of the run (Loshchilov & Hutter's SGDR without restarts).
    Cosine {
        /// Steps of linear warm-up (0 for none).
        warmup: u64,
        /// The rate at the end of the run.
        min: f32,
    },
    /// The user's rule: the rate of each batch from the base rate and the position.
    Custom(Arc<dyn Fn(f32, Position) -> f32 + Send + Sync>),
}

impl Position {
    /// A position: `step` (from 0) within `total_steps`, in `epoch` (from 1) of
    /// `steps_per_epoch` steps.
    pub fn new(step: u64, epoch: usize, steps_per_epoch: usize, total_steps: u64) -> Self {
        Self {
            step,
            epoch,
            steps_per_epoch,
            total_steps,
        }
    }
}

impl Schedule {
    /// [`Schedule::Step`]: times `gamma` every `every` epochs.
    pub fn step(every: usize, gamma: f32) -> Self {
        Self::Step { every, gamma }
    }

    /// [`Schedule::Exponential`]: times `gamma` every epoch.
    pub fn exponential(gamma: f32) -> Self {
        Self::Exponential { gamma }
    }

    /// [`Schedule::Cosine`]: `warmup` steps of linear warm-up, then a cosine down to `min`.
    pub fn cosine(warmup: u64, min: f32) -> Self {
        Self::Cosine { warmup, min }
    }

    /// [`Schedule::Custom`]: the rate from the base rate and the position.
    pub fn custom(rule: impl Fn(f32, Position) -> f32 + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(rule))
    }

    /// The learning rate of the batch at `at`, from the base rate `base`.
    pub fn rate(&self, base: f32, at: Position) -> f32 {
        let base64 = f64::from(base);
        let epochs_done = at.epoch.saturating_sub(1);
        let rate = match self {
            Self::Constant => return base,
            Self::Step { every, gamma } => {
                let k = epochs_done / (*every).max(1);
                base64 * f64::from(*gamma).powi(i32::try_from(k).unwrap_or(i32::MAX))
            }
            Self::Exponential { gamma } => {
                base64 * f64::from(*gamma).powi(i32::try_from(epochs_done).unwrap_or(i32::MAX))
            }
            Self::Cosine { warmup, min } => {
                if at.step < *warmup {
                    base64 * (at.step + 1) as f64 / *warmup as f64
                } else {
                    let span = at.total_steps.saturating_sub(*warmup).max(1) as f64;
                    let done = ((at.step - warmup) as f64 / span).min(1.0);
                    let min = f64::from(*min);
                    min + (base64 - min) * 0.5 * (1.0 + (core::f64::consts::PI * done).cos())
                }
            }
            Self::Custom(rule) => return rule(base, at),
        };
        rate as f32
    }

    /// Whether this is [`Schedule::Constant`] (the trainer then never sets the rate).
    pub fn is_constant(&self) -> bool {
        matches!(self, Self::Constant)
    }

    /// Checks the schedule's own settings.
    pub(super) fn check(&self) -> Result<(), super::TrainError> {
        let bad = |name, value: String, expected| {
            Err(super::TrainError::Setting {
                name,
                value,
                expected,
            })
        };
        match self {
            Self::Step { every: 0, .. } => bad("Schedule::Step::every", "0".into(), "at least 1"),
            Self::Step { gamma, .. } | Self::Exponential { gamma }
                if !(gamma.is_finite() && *gamma > 0.0) =>
            {
                bad("gamma", gamma.to_string(), "a finite number above 0")
            }
            Self::Cosine { min, .. } if !(min.is_finite() && *min >= 0.0) => bad(
                "Schedule::Cosine::min",
                min.to_string(),
                "a finite number of at least 0",
            ),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant => f.write_str("Constant"),
            Self::Step { every, gamma } => f
                .debug_struct("Step")
                .field("every", every)
                .field("gamma", gamma)
                .finish(),
            Self::Exponential { gamma } => {
                f.debug_struct("Exponential").field("gamma", gamma).finish()
            }
            Self::Cosine { warmup, min } => f
                .debug_struct("Cosine")
                .field("warmup", warmup)
                .field("min", min)
                .finish(),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(step: u64, epoch: usize) -> Position {
        Position::new(step, epoch, 10, 50)
    }

    #[test]
    fn each_schedule_follows_its_closed_form() {
        assert_eq!(Schedule::Constant.rate(0.3, at(17, 2)), 0.3);
        // Step: epochs 1-3 at α₀, 4-6 at α₀/10, 7 at α₀/100.
        let s = Schedule::step(3, 0.1);
        let rates: Vec<f32> = (1..=7).map(|e| s.rate(1.0, at(0, e))).collect();
        assert_eq!(
            rates,
            [
                1.0,
                1.0,
                1.0,
                0.1,
                0.1,
                0.1,
                f64::from(0.1f32).powi(2) as f32
            ]
        );
        // Exponential: α₀·γ^(e-1).
        let s = Schedule::exponential(0.5);
        assert_eq!(s.rate(2.0, at(0, 4)), 0.25);
        // Cosine with 5 warm-up steps of 50, to 0.1.
        let s = Schedule::cosine(5, 0.1);
        assert_eq!(s.rate(1.0, at(0, 1)), 0.2);
        assert_eq!(s.rate(1.0, at(4, 1)), 1.0);
        assert_eq!(s.rate(1.0, at(5, 1)), 1.0);
        for t in 5..50u64 {
            let want =
                0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * (t - 5) as f64 / 45.0).cos());
            assert!((f64::from(s.rate(1.0, at(t, 1))) - want).abs() < 1e-6);
        }
        // Custom: the closure sees the base rate and the position.
        let s = Schedule::custom(|base, p| base / (1.0 + p.step as f32));
        assert_eq!(s.rate(1.0, at(3, 1)), 0.25);
        assert_eq!(format!("{s:?}"), "Custom(..)");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Schedule::step(0, 0.5).check().is_err());
        assert!(Schedule::exponential(f32::NAN).check().is_err());
        assert!(Schedule::cosine(3, -1.0).check().is_err());
        assert!(Schedule::cosine(3, 0.0).check().is_ok());
    }
}
