//! The finite-difference gradient check: does backprop compute the true derivative?
//!
//! Backprop is the chain rule written out; a slip in it still trains, just badly. The check
//! compares every analytic partial derivative `∂L/∂w` with a numerical one taken from the loss
//! alone, nudging one weight at a time:
//!
//! ```text
//! D(h)     = (L(w + h) - L(w - h)) / 2h          central difference, error O(h²)
//! estimate = (4·D(h/2) - D(h)) / 3               Richardson extrapolation, error O(h⁴)
//! ```
//!
//! The network runs in `f32`, so the loss carries a rounding error of about `6e-8·|L|`; the
//! difference quotient divides it by `h`. The extrapolation lets `h` be large (default `1e-2`,
//! rounding noise about `1e-5·|L|`) while the truncation error stays at `h⁴ ≈ 1e-8`. The default
//! tolerance, `|analytic - numeric| ≤ 1e-4 + 1e-3·|numeric|`, is ten times that noise floor, and
//! a real mistake in a backward pass (a missing factor, a transposed index) is off by far more.
//!
//! Activations with a kink (`relu`) have no derivative at the kink: a nudge that crosses it
//! measures the wrong slope. Check such networks on inputs whose weighted sums stay clear of 0
//! by more than `h` times the input, or with a smaller `step`.

use crate::error::Error;
use crate::model::{tensor_count, Parameter};
use crate::network::{Network, Train, Workspace};

/// How the check nudges weights and when it calls a difference a mismatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// The nudge `h` of the central difference.
    pub step: f32,
    /// Absolute part of the tolerance.
    pub abs_tolerance: f32,
    /// Relative part of the tolerance, times `|numeric|`.
    pub rel_tolerance: f32,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self {
            step: 1e-2,
            abs_tolerance: 1e-4,
            rel_tolerance: 1e-3,
        }
    }
}

/// One parameter whose analytic and numerical derivatives differ by more than the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Which weight or bias: its layer, tensor and coordinates.
    pub parameter: Parameter,
    /// `∂L/∂w` from the network's backward pass.
    pub analytic: f32,
    /// `∂L/∂w` from finite differences of the loss.
    pub numeric: f32,
}

/// What a gradient check found.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// How many parameters were checked (all of them).
    pub checked: usize,
    /// The largest `|analytic - numeric|`.
    pub max_abs_error: f32,
    /// The largest `|analytic - numeric| / max(|numeric|, 1e-3)`.
    pub max_rel_error: f32,
    /// The parameters outside the tolerance, at most the first 20.
    pub mismatches: Vec<Mismatch>,
    /// How many parameters were outside the tolerance in all.
    pub mismatch_count: usize,
}

impl GradCheckReport {
    /// Whether every parameter was within the tolerance.
    pub fn passed(&self) -> bool {
        self.mismatch_count == 0
    }
}

impl core::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} parameters checked, {} mismatched, max abs error {:.3e}, max rel error {:.3e}",
            self.checked, self.mismatch_count, self.max_abs_error, self.max_rel_error
        )?;
        for m in &self.mismatches {
            write!(
                f,
                "\n  {}: analytic {:e}, numeric {:e}",
                m.parameter, m.analytic, m.numeric
            )?;
        }
        Ok(())
    }
}

/// Checks `network`'s analytic gradient of the mean `loss` over a batch against finite
/// differences, parameter by parameter, and returns what it found.
///
/// The network is left exactly as it was (each nudged weight is restored to its saved value).
/// Its cost is four forward passes of the batch per parameter, so use small networks or batches.
///
/// # Errors
///
/// The errors of [`Train::gradient_batch`] for a malformed batch.
pub fn check_gradients<N, L>(
    network: &mut N,
    loss: L,
    inputs: &[N::Input],
    targets: &[N::Output],
    options: GradCheck,
) -> Result<GradCheckReport, Error>
where
    N: Train<L>,
    L: Copy,
{
    let mut ws = Workspace::<N>::with_capacity(inputs.len());
    let mut grads = N::zeros();
    network.gradient_batch(loss, inputs, targets, &mut grads, &mut ws)?;
    let analytic: Vec<f32> = grads.parameters().flatten().copied().collect();

    let h = options.step;
    let mut report = GradCheckReport {
        checked: 0,
        max_abs_error: 0.0,
        max_rel_error: 0.0,
        mismatches: Vec::new(),
        mismatch_count: 0,
    };
    let tensors = tensor_count(N::LAYERS);
    let mut flat = 0;
    for t in 0..tensors {
        let len = network.parameters().nth(t).map_or(0, <[f32]>::len);
        for k in 0..len {
            let mut eval = |delta: f32| -> Result<f64, Error> {
                let saved = set_param(network, t, k, None);
                set_param(network, t, k, Some(saved + delta));
                let l = network.loss_batch(loss, inputs, targets, &mut ws);
                set_param(network, t, k, Some(saved));
                l.map(f64::from)
            };
            let d1 = (eval(h)? - eval(-h)?) / (2.0 * f64::from(h));
            let d2 = (eval(h / 2.0)? - eval(-h / 2.0)?) / f64::from(h);
            let numeric = ((4.0 * d2 - d1) / 3.0) as f32;
            let a = analytic[flat];
            let err = (a - numeric).abs();
            let rel = err / numeric.abs().max(1e-3);
            report.max_abs_error = report.max_abs_error.max(err);
            report.max_rel_error = report.max_rel_error.max(rel);
            let within = err <= options.abs_tolerance + options.rel_tolerance * numeric.abs();
            // A NaN on either side is a mismatch too.
            if !within || err.is_nan() {
                report.mismatch_count += 1;
                if report.mismatches.len() < 20 {
                    if let Some(parameter) = Parameter::locate(N::LAYERS, t, k) {
                        report.mismatches.push(Mismatch {
                            parameter,
                            analytic: a,
                            numeric,
                        });
                    }
                }
            }
            report.checked += 1;
            flat += 1;
        }
    }
    Ok(report)
}

/// Reads parameter `k` of tensor `t`, then sets it to `value` if given; returns the old value.
fn set_param<N: Network>(network: &mut N, t: usize, k: usize, value: Option<f32>) -> f32 {
    match network.parameters_mut().nth(t).and_then(|p| p.get_mut(k)) {
        Some(p) => {
            let old = *p;
            if let Some(v) = value {
                *p = v;
            }
            old
        }
        None => 0.0,
    }
}
