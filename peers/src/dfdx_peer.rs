//! dfdx 0.13 on the CPU: the network as a tuple of modules, the tape-based
//! `forward_mut` + `backward`, `cross_entropy_with_logits_loss` and `Sgd` with
//! classic momentum. Inputs are dfdx tensors built before the timing starts,
//! one per batch, so a step measures the framework, not a copy into it.
//!
//! dfdx's matmul asks gemm for `rayon::current_num_threads()` threads; the
//! harness builds rayon's global pool with one thread.

use dfdx::optim::{Momentum, Optimizer, Sgd, SgdConfig};
use dfdx::prelude::*;

use crate::data::{Cycle, Data};
use crate::timing::{Step, StepError};
use crate::{Op, LEARNING_RATE, MOMENTUM};

/// 784 -> 16 sigmoid -> 16 sigmoid -> 10 (logits; softmax in the loss or after).
type Mlp = (
    Linear<784, 16>,
    Sigmoid,
    Linear<16, 16>,
    Sigmoid,
    Linear<16, 10>,
);

/// A batch of inputs, batch size known at run time.
type Batch<const S: usize> = Tensor<(usize, Const<S>), f32, Cpu>;

/// One case's step on dfdx: each call runs one inference or training step on the next batch.
pub fn step(data: &Data, op: Op, batch: usize) -> Step<'static> {
    let dev = Cpu::seed_from_u64(1);
    let model = dev.build_module::<Mlp, f32>();
    let count = data.batch_count(batch);
    match (op, batch) {
        (Op::Infer, 1) => {
            // The per-sample API: a rank-1 input, no batch dimension.
            let xs: Vec<Tensor<Rank1<784>, f32, Cpu>> = (0..count)
                .map(|i| dev.tensor_from_vec(data.flat_inputs(1, i), (Const::<784>,)))
                .collect();
            let mut xs = Cycle::new(xs);
            Box::new(move || {
                let y = model.forward(xs.next_item().clone()).softmax::<Axis<0>>();
                std::hint::black_box(y);
                Ok(())
            })
        }
        (Op::Infer, _) => {
            let xs: Vec<Batch<784>> = (0..count)
                .map(|i| dev.tensor_from_vec(data.flat_inputs(batch, i), (batch, Const::<784>)))
                .collect();
            let mut xs = Cycle::new(xs);
            Box::new(move || {
                let y = model.forward(xs.next_item().clone()).softmax::<Axis<1>>();
                std::hint::black_box(y);
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

/// A training step on the next batch of `batch` digits, each call; returns the batch's mean loss
/// (read from the loss tensor before `backward` consumes it: one scalar copy).
pub fn trainer(data: &Data, batch: usize) -> impl FnMut() -> Result<f32, StepError> {
    let dev = Cpu::seed_from_u64(1);
    let mut model = dev.build_module::<Mlp, f32>();
    let xys: Vec<(Batch<784>, Batch<10>)> = (0..data.batch_count(batch))
        .map(|i| {
            (
                dev.tensor_from_vec(data.flat_inputs(batch, i), (batch, Const::<784>)),
                dev.tensor_from_vec(data.flat_targets(batch, i), (batch, Const::<10>)),
            )
        })
        .collect();
    let mut xys = Cycle::new(xys);
    let mut grads = Some(model.alloc_grads());
    let mut opt = Sgd::new(
        &model,
        SgdConfig {
            lr: f64::from(LEARNING_RATE),
            momentum: Some(Momentum::Classic(f64::from(MOMENTUM))),
            weight_decay: None,
        },
    );
    move || {
        let (x, y) = xys.next_item();
        let tape = grads.take().ok_or("dfdx gradients were not put back")?;
        let logits = model.forward_mut(x.clone().traced(tape));
        let loss = cross_entropy_with_logits_loss(logits, y.clone());
        let value = loss.array();
        let mut g = loss.backward();
        opt.update(&mut model, &g).map_err(|e| format!("{e:?}"))?;
        model.zero_grads(&mut g);
        grads = Some(g);
        Ok(value)
    }
}
