//! Wall-clock timing of one case: warm up, then several repetitions of a fixed
//! wall time each, and the median repetition.
//!
//! A repetition runs the step in chunks sized during the warm-up to last about
//! a millisecond, and reads the clock only between chunks, so reading the clock
//! costs well under 1% even for a step of a few hundred nanoseconds.

use std::time::{Duration, Instant};

/// How long to run each case.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Warm-up before the first repetition.
    pub warmup: Duration,
    /// Wall time of one repetition.
    pub seconds: Duration,
    /// Number of repetitions; the median is reported.
    pub reps: usize,
}

/// The result of one case.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Samples a second: steps a second times the batch size (median repetition).
    pub samples_per_s: f64,
    /// Microseconds a step (a forward call or a training step), of the median repetition.
    pub us_per_step: f64,
}

/// The error a step may return (a framework's own error, boxed).
pub type StepError = Box<dyn std::error::Error>;

/// Times `step`, which processes `batch` samples a call.
///
/// # Errors
///
/// The first error `step` returns.
pub fn measure(
    timing: &Timing,
    batch: usize,
    mut step: impl FnMut() -> Result<(), StepError>,
) -> Result<Measurement, StepError> {
    // Warm-up: run for `warmup` and learn how many steps make about 1 ms.
    let start = Instant::now();
    let mut steps = 0u64;
    loop {
        step()?;
        steps += 1;
        let elapsed = start.elapsed();
        if elapsed >= timing.warmup && steps >= 3 {
            break;
        }
    }
    let per_step = start.elapsed().as_secs_f64() / steps as f64;
    let chunk = ((1e-3 / per_step) as u64).max(1);

    let mut rates = Vec::with_capacity(timing.reps);
    for _ in 0..timing.reps.max(1) {
        let start = Instant::now();
        let mut steps = 0u64;
        let elapsed = loop {
            for _ in 0..chunk {
                step()?;
            }
            steps += chunk;
            let elapsed = start.elapsed();
            if elapsed >= timing.seconds {
                break elapsed;
            }
        };
        rates.push(steps as f64 / elapsed.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let steps_per_s = rates[rates.len() / 2];
    Ok(Measurement {
        samples_per_s: steps_per_s * batch as f64,
        us_per_step: 1e6 / steps_per_s,
    })
}
