//! `nn` itself, through its public API only: `forward` for one sample,
//! `forward_batch` for a batch, `gradient_batch` + `Momentum::step` for a
//! training step.

use nn::{CrossEntropy, Momentum, Optimizer, Workspace};

use crate::data::{Batches, Data};
use crate::timing::{measure, Measurement, StepError, Timing};
use crate::{Op, LEARNING_RATE, MOMENTUM};

nn::network! {
    /// The seminar network.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// Runs one case on `nn`.
///
/// # Errors
///
/// An error of `forward_batch` or `gradient_batch` (none is expected: the
/// batches are well-formed).
pub fn run(data: &Data, op: Op, batch: usize, timing: &Timing) -> Result<Measurement, StepError> {
    let net = Digits::new(1);
    let mut batches = Batches::new(data, batch);
    match (op, batch) {
        (Op::Infer, 1) => measure(timing, batch, || {
            let (x, _, _) = batches.next_batch();
            std::hint::black_box(net.forward(std::hint::black_box(&x[0])));
            Ok(())
        }),
        (Op::Infer, _) => {
            let mut ws = Workspace::<Digits>::with_capacity(batch);
            let mut out = vec![[0.0f32; 10]; batch];
            measure(timing, batch, || {
                let (x, _, _) = batches.next_batch();
                net.forward_batch(std::hint::black_box(x), &mut out, &mut ws)?;
                std::hint::black_box(&out);
                Ok(())
            })
        }
        (Op::Train, _) => {
            let mut step = trainer(data, batch);
            measure(timing, batch, || {
                std::hint::black_box(step()?);
                Ok(())
            })
        }
    }
}

/// A training step on the next batch of `batch` digits, each call; returns the batch's mean loss.
pub fn trainer(data: &Data, batch: usize) -> impl FnMut() -> Result<f32, StepError> + '_ {
    let mut net = Digits::new(1);
    let mut batches = Batches::new(data, batch);
    let mut ws = Workspace::<Digits>::with_capacity(batch);
    let mut grads = Digits::zeros();
    let mut opt = Momentum::new(LEARNING_RATE, MOMENTUM);
    move || {
        let (x, y, _) = batches.next_batch();
        let loss = net.gradient_batch(CrossEntropy, x, y, &mut grads, &mut ws)?;
        opt.step(&mut net, &grads);
        Ok(loss)
    }
}
