//! Wall-clock timing of one case: warm up, then several repetitions of a fixed
//! wall time each, and the median repetition. The harness interleaves the
//! repetitions of the peers of one case (nn, dfdx, candle, nn, dfdx, ...), so
//! a burst of load from elsewhere on the machine hits them all alike.
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

/// One step of a case: an inference or a training step on the next batch.
pub type Step<'a> = Box<dyn FnMut() -> Result<(), StepError> + 'a>;

/// A case being timed: its step, the chunk size learnt in the warm-up and the
/// rate of each repetition so far.
pub struct Timed<'a> {
    step: Step<'a>,
    batch: usize,
    chunk: u64,
    rates: Vec<f64>,
}

impl<'a> Timed<'a> {
    /// Warms `step` (which processes `batch` samples a call) up for `warmup`
    /// (at least 3 calls) and sizes the chunk between clock reads to about 1 ms.
    ///
    /// # Errors
    ///
    /// The first error `step` returns.
    pub fn warm_up(mut step: Step<'a>, batch: usize, warmup: Duration) -> Result<Self, StepError> {
        let start = Instant::now();
        let mut steps = 0u64;
        while steps < 3 || start.elapsed() < warmup {
            step()?;
            steps += 1;
        }
        let per_step = start.elapsed().as_secs_f64() / steps as f64;
        Ok(Self {
            step,
            batch,
            chunk: ((1e-3 / per_step) as u64).max(1),
            rates: Vec::new(),
        })
    }

    /// Runs whole chunks until `seconds` have passed and records steps a second.
    ///
    /// # Errors
    ///
    /// The first error the step returns.
    pub fn repetition(&mut self, seconds: Duration) -> Result<(), StepError> {
        let start = Instant::now();
        let mut steps = 0u64;
        let elapsed = loop {
            for _ in 0..self.chunk {
                (self.step)()?;
            }
            steps += self.chunk;
            let elapsed = start.elapsed();
            if elapsed >= seconds {
                break elapsed;
            }
        };
        self.rates.push(steps as f64 / elapsed.as_secs_f64());
        Ok(())
    }

    /// The median repetition (the upper one of the middle two for an even
    /// count), or `None` before the first repetition.
    pub fn measurement(&self) -> Option<Measurement> {
        let mut rates = self.rates.clone();
        rates.sort_by(f64::total_cmp);
        let steps_per_s = *rates.get(rates.len() / 2)?;
        Some(Measurement {
            samples_per_s: steps_per_s * self.batch as f64,
            us_per_step: 1e6 / steps_per_s,
        })
    }
}
