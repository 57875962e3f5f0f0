//! candle (candle-core + candle-nn, CPU, default features off): three
//! `candle_nn::Linear` layers built from a `VarMap`, `candle_nn::ops::sigmoid`,
//! `candle_nn::loss::cross_entropy` on the logits, `backward`, and SGD with
//! classic momentum written the way candle's own `SGD` is (candle-nn has no
//! momentum optimizer): `v <- mu*v + g; w <- w - lr*v`, with `Var::set`.
//! Inputs are candle tensors built before the timing starts, one per batch.
//!
//! candle's CPU matmul asks gemm for `RAYON_NUM_THREADS` threads (or every
//! core when it is unset); the harness sets it to 1 before anything runs.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

use crate::data::{Cycle, Data};
use crate::timing::{Step, StepError};
use crate::{Op, LEARNING_RATE, MOMENTUM};

/// The network: three linear layers, sigmoid between them; logits out.
struct Mlp {
    layers: [Linear; 3],
}

impl Mlp {
    fn new(vb: &VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            layers: [
                candle_nn::linear(784, 16, vb.pp("l1"))?,
                candle_nn::linear(16, 16, vb.pp("l2"))?,
                candle_nn::linear(16, 10, vb.pp("l3"))?,
            ],
        })
    }

    /// Logits of a `(batch, 784)` input.
    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let [l1, l2, l3] = &self.layers;
        let h = candle_nn::ops::sigmoid(&l1.forward(x)?)?;
        let h = candle_nn::ops::sigmoid(&l2.forward(&h)?)?;
        l3.forward(&h)
    }
}

/// One case's step on candle: each call runs one inference or training step on the next batch.
///
/// # Errors
///
/// Any candle error while building the model or the batches.
pub fn step(data: &Data, op: Op, batch: usize) -> Result<Step<'static>, StepError> {
    match op {
        Op::Infer => {
            let dev = Device::Cpu;
            let varmap = VarMap::new();
            let model = Mlp::new(&VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
            let xs = (0..data.batch_count(batch))
                .map(|i| Tensor::from_vec(data.flat_inputs(batch, i), (batch, 784), &dev))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let mut xs = Cycle::new(xs);
            Ok(Box::new(move || {
                let y = candle_nn::ops::softmax_last_dim(&model.logits(xs.next_item())?)?;
                std::hint::black_box(y);
                Ok(())
            }))
        }
        Op::Train => {
            let mut step = trainer(data, batch)?;
            Ok(Box::new(move || {
                std::hint::black_box(step()?);
                Ok(())
            }))
        }
    }
}

/// A training step on the next batch of `batch` digits, each call; returns the batch's mean loss
/// as candle's 0-d tensor (converted to a number only by whoever wants it).
///
/// # Errors
///
/// Any candle error while building the model or the batches.
pub fn trainer(
    data: &Data,
    batch: usize,
) -> Result<impl FnMut() -> Result<Tensor, StepError>, StepError> {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = Mlp::new(&vb)?;
    let xys = (0..data.batch_count(batch))
        .map(|i| {
            Ok((
                Tensor::from_vec(data.flat_inputs(batch, i), (batch, 784), &dev)?,
                Tensor::from_vec(data.batch_labels(batch, i), batch, &dev)?,
            ))
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mut xys = Cycle::new(xys);
    let mut state: Vec<(Var, Tensor)> = varmap
        .all_vars()
        .into_iter()
        .map(|v| {
            let zero = v.as_tensor().zeros_like()?;
            Ok((v, zero))
        })
        .collect::<candle_core::Result<_>>()?;
    let (lr, mu) = (f64::from(LEARNING_RATE), f64::from(MOMENTUM));
    Ok(move || {
        let (x, y) = xys.next_item();
        let loss = candle_nn::loss::cross_entropy(&model.logits(x)?, y)?;
        let grads = loss.backward()?;
        for (var, velocity) in &mut state {
            let g = grads.get(var).ok_or("candle: no gradient for a variable")?;
            *velocity = ((&*velocity * mu)? + g)?;
            var.set(&var.as_tensor().sub(&(&*velocity * lr)?)?)?;
        }
        Ok(loss)
    })
}
