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
//! ## Kinks
//!
//! `relu` (and `step`) have a kink at `z = 0`, where the loss has no derivative: a nudge that
//! carries some sample's weighted sum across 0 measures a mix of two slopes, and in a deep
//! network (where one weight moves every later layer's sums) that happens for a good share of
//! the parameters. So the check watches the kinks themselves: at every probe it compares the
//! sign of each `relu`/`step` unit's weighted sum, for every sample, with its sign at the
//! unnudged weights. If any sign differs, the probes straddle a kink and the estimate is thrown
//! away; the check probes again with a step four times smaller, up to [`REFINEMENTS`] times,
//! with the absolute tolerance scaled up by as much as the step went down (the rounding noise
//! of the difference quotient grows as `1/h`). A parameter whose probes straddle a kink even at
//! the smallest step sits on the kink to within `f32` resolution: it is counted in
//! [`GradCheckReport::skipped`] and not compared, since backprop's value there (relu' = 0 at
//! 0) is a convention, not a derivative.
//!
//! What the check cannot see: kinks it is not told about. It knows the activations' kinks from
//! [`Network::LAYERS`] and reads the weighted sums that a `network!` network's loss pass leaves
//! in the [`Workspace`]; a hand-written [`Trainable`] that leaves none there is checked without
//! the watch, and a kink inside a loss or a layer kind of another sort (a max-pool switching
//! its maximum) is not watched either: there a nudge across it still reads as a mismatch; use a
//! smaller `step` or inputs away from the switch. A skipped parameter is not
//! verified, so a report with many skipped parameters proves less than it seems (see
//! [`GradCheckReport::skipped`]).

use crate::error::Error;
use crate::model::{tensor_count, ActivationKind, Parameter};
use crate::network::{Network, Trainable, Workspace};
use crate::scalar::Scalar;
use alloc::vec::Vec;

/// How many times the check shrinks the step (by 4 each time) for a parameter whose probes
/// straddle a kink, before it skips that parameter.
pub const REFINEMENTS: u32 = 3;

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

impl GradCheck {
    /// Tolerances for an `f64` network: step `1e-3`, `|analytic - numeric| ≤ 1e-9 +
    /// 1e-7·|numeric|`. The loss then carries a rounding error of about `1e-16·|L|`, which the
    /// difference quotient turns into about `1e-13`, and the extrapolation's truncation error is
    /// about `h⁴ = 1e-12`: the tolerance is still a thousand times the noise floor, and a
    /// hundred thousand times tighter than the `f32` default.
    pub const F64: GradCheck = GradCheck {
        step: 1e-3,
        abs_tolerance: 1e-9,
        rel_tolerance: 1e-7,
    };
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
    /// How many parameters were probed again with a smaller step because the first probes
    /// straddled a `relu` or `step` kink (and then compared as any other).
    pub refined: usize,
    /// How many parameters were not compared because their probes straddled a kink even at the
    /// smallest step: the loss has no derivative there to within `f32` resolution. They count
    /// in `checked` but are neither verified nor mismatched.
    pub skipped: usize,
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
        if self.refined > 0 || self.skipped > 0 {
            write!(
                f,
                "; near a kink: {} probed again with a smaller step, {} skipped",
                self.refined, self.skipped
            )?;
        }
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
/// Its cost is four forward passes of the batch per parameter (up to four more per refinement
/// near a kink), so use small networks or batches. See the [module docs](self) for how kinks
/// are handled and what the check cannot see.
///
/// # Errors
///
/// The errors of [`Trainable::gradient_batch`] for a malformed batch.
pub fn check_gradients<N, L>(
    network: &mut N,
    loss: L,
    inputs: &[N::Input],
    targets: &[N::Output],
    options: GradCheck,
) -> Result<GradCheckReport, Error>
where
    N: Trainable<L>,
    L: Copy,
{
    let mut ws = Workspace::<N>::with_capacity(inputs.len());
    let mut grads = N::zeros();
    network.gradient_batch(loss, inputs, targets, &mut grads, &mut ws)?;
    let analytic: Vec<N::Scalar> = grads.parameters().flatten().copied().collect();
    // The side of every kink each sample is on at the unnudged weights.
    let n = inputs.len();
    network.loss_batch(loss, inputs, targets, &mut ws)?;
    let mut base = Vec::new();
    kink_sides::<N>(&ws, n, &mut base);
    let mut probe = Vec::with_capacity(base.len());

    let mut report = GradCheckReport {
        checked: 0,
        max_abs_error: 0.0,
        max_rel_error: 0.0,
        mismatches: Vec::new(),
        mismatch_count: 0,
        refined: 0,
        skipped: 0,
    };
    let tensors = tensor_count(N::LAYERS);
    let mut flat = 0;
    for t in 0..tensors {
        let len = network.parameters().nth(t).map_or(0, <[N::Scalar]>::len);
        for k in 0..len {
            // The loss with parameter k of tensor t moved by `delta`, and whether that move
            // carried any sample across a kink.
            let mut eval = |delta: N::Scalar| -> Result<(f64, bool), Error> {
                let saved = set_param(network, t, k, None);
                set_param(network, t, k, Some(saved + delta));
                let l = network.loss_batch(loss, inputs, targets, &mut ws);
                set_param(network, t, k, Some(saved));
                kink_sides::<N>(&ws, n, &mut probe);
                Ok((l?.to_f64(), probe != base))
            };
            let scalar = N::Scalar::from_f32;
            let (two, four) = (scalar(2.0), scalar(4.0));
            let mut h = scalar(options.step);
            let mut estimate = None;
            for refinement in 0..=REFINEMENTS {
                let ((up, c1), (down, c2)) = (eval(h)?, eval(-h)?);
                let ((up2, c3), (down2, c4)) = (eval(h / two)?, eval(-h / two)?);
                if !(c1 || c2 || c3 || c4) {
                    let d1 = (up - down) / (2.0 * h.to_f64());
                    let d2 = (up2 - down2) / h.to_f64();
                    estimate = Some(N::Scalar::from_f64((4.0 * d2 - d1) / 3.0));
                    if refinement > 0 {
                        report.refined += 1;
                    }
                    break;
                }
                h /= four;
            }
            report.checked += 1;
            let a = analytic[flat];
            flat += 1;
            let Some(numeric) = estimate else {
                report.skipped += 1;
                continue;
            };
            let err = (a - numeric).abs();
            let rel = err / numeric.abs().max(scalar(1e-3));
            report.max_abs_error = report.max_abs_error.max(err.to_f32());
            report.max_rel_error = report.max_rel_error.max(rel.to_f32());
            // The rounding noise of the difference quotient grows as 1/h.
            let abs_tolerance = scalar(options.abs_tolerance) * (scalar(options.step) / h);
            let within = err <= abs_tolerance + scalar(options.rel_tolerance) * numeric.abs();
            // A NaN on either side is a mismatch too.
            if !within || err.is_nan() {
                report.mismatch_count += 1;
                if report.mismatches.len() < 20 {
                    if let Some(parameter) = Parameter::locate(N::LAYERS, t, k) {
                        report.mismatches.push(Mismatch {
                            parameter,
                            analytic: a.to_f32(),
                            numeric: numeric.to_f32(),
                        });
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Whether an activation has a kink (a point without a derivative) at `z = 0`.
fn has_kink(activation: Option<ActivationKind>) -> bool {
    matches!(
        activation,
        Some(ActivationKind::Relu | ActivationKind::Step | ActivationKind::LeakyRelu { .. })
    )
}

/// Writes into `sides`, for every unit of every layer with a kink and every one of the `n`
/// samples of the last pass, whether its weighted sum is above the kink (`z > 0`).
fn kink_sides<N: Network>(ws: &Workspace<N>, n: usize, sides: &mut Vec<bool>) {
    sides.clear();
    for (i, layer) in N::LAYERS.iter().enumerate() {
        if has_kink(layer.activation()) {
            sides.extend(ws.weighted_sums(i, n).iter().map(|z| *z > N::Scalar::ZERO));
        }
    }
}

/// Reads parameter `k` of tensor `t`, then sets it to `value` if given; returns the old value.
fn set_param<N: Network>(
    network: &mut N,
    t: usize,
    k: usize,
    value: Option<N::Scalar>,
) -> N::Scalar {
    match network.parameters_mut().nth(t).and_then(|p| p.get_mut(k)) {
        Some(p) => {
            let old = *p;
            if let Some(v) = value {
                *p = v;
            }
            old
        }
        None => N::Scalar::ZERO,
    }
}
