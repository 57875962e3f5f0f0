//! `nn` itself, through its public API only: `forward` for one sample,
//! `forward_batch` for a batch, `gradient_batch` + `Momentum::step` for a
//! training step.

use nn::{CrossEntropy, Momentum, Optimizer, Workspace};

use crate::data::{Batches, Data};
use crate::timing::{Step, StepError};
use crate::{Op, LEARNING_RATE, MOMENTUM};

nn::network! {
    /// The seminar network.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// One case's step on `nn`: each call runs one inference or training step on the next batch.
pub fn step(data: &Data, op: Op, batch: usize) -> Step<'_> {
    let net = Digits::new(1);
    let mut batches = Batches::new(data, batch);
    match (op, batch) {
        (Op::Infer, 1) => Box::new(move || {
            let (x, _, _) = batches.next_batch();
            std::hint::black_box(net.forward(std::hint::black_box(&x[0])));
            Ok(())
        }),
        (Op::Infer, _) => {
            let mut ws = Workspace::<Digits>::with_capacity(batch);
            let mut out = vec![[0.0f32; 10]; batch];
            Box::new(move || {
                let (x, _, _) = batches.next_batch();
                net.forward_batch(std::hint::black_box(x), &mut out, &mut ws)?;
                std::hint::black_box(&out);
                Ok(())
            })
        }
        (Op::Train, _) => {
            let mut step = trainer(data, batch);
            Box::new(move || {
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
