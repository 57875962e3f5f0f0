//! dfdx 0.13 on the CPU: each network as a tuple of modules, the tape-based
//! `forward_mut` + `backward`, `cross_entropy_with_logits_loss` and `Sgd` with
//! classic momentum. Inputs are dfdx tensors built before the timing starts,
//! one per batch, so a step measures the framework, not a copy into it. One
//! module per network of [`crate::Net`], stamped out by one macro.
//!
//! dfdx's matmul asks gemm for `rayon::current_num_threads()` threads; the
//! harness builds rayon's global pool with one thread.

use crate::data::Data;
use crate::timing::{Step, StepError};
use crate::{Net, Op};

/// One module per network: its module tuple (logits out; softmax in the loss or after), its
/// `step` and its `trainer`.
macro_rules! dfdx_net {
    ($module:ident, $inputs:literal, $mlp:ty) => {
        mod $module {
            use dfdx::optim::{Momentum, Optimizer, Sgd, SgdConfig};
            use dfdx::prelude::*;

            use crate::data::{Cycle, Data};
            use crate::timing::{Step, StepError};
            use crate::{Op, LEARNING_RATE, MOMENTUM};

            type Mlp = $mlp;

            /// A batch of inputs, batch size known at run time.
            type Batch<const S: usize> = Tensor<(usize, Const<S>), f32, Cpu>;

            /// One case's step: each call runs one inference or training step on the next
            /// batch.
            pub fn step(data: &Data, op: Op, batch: usize) -> Step<'static> {
                let dev = Cpu::seed_from_u64(1);
                let model = dev.build_module::<Mlp, f32>();
                let count = data.batch_count(batch);
                match (op, batch) {
                    (Op::Infer, 1) => {
                        // The per-sample API: a rank-1 input, no batch dimension.
                        let xs: Vec<Tensor<Rank1<$inputs>, f32, Cpu>> = (0..count)
                            .map(|i| {
                                dev.tensor_from_vec(
                                    data.flat_rows::<$inputs>(1, i),
                                    (Const::<$inputs>,),
                                )
                            })
                            .collect();
                        let mut xs = Cycle::new(xs);
                        Box::new(move || {
                            let y = model.forward(xs.next_item().clone()).softmax::<Axis<0>>();
                            std::hint::black_box(y);
                            Ok(())
                        })
                    }
                    (Op::Infer, _) => {
                        let xs: Vec<Batch<$inputs>> = (0..count)
                            .map(|i| {
                                dev.tensor_from_vec(
                                    data.flat_rows::<$inputs>(batch, i),
                                    (batch, Const::<$inputs>),
                                )
                            })
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

            /// A training step on the next batch of `batch` digits, each call; returns the
            /// batch's mean loss (read from the loss tensor before `backward` consumes it).
            pub fn trainer(data: &Data, batch: usize) -> impl FnMut() -> Result<f32, StepError> {
                let dev = Cpu::seed_from_u64(1);
                let mut model = dev.build_module::<Mlp, f32>();
                let xys: Vec<(Batch<$inputs>, Batch<10>)> = (0..data.batch_count(batch))
                    .map(|i| {
                        (
                            dev.tensor_from_vec(
                                data.flat_rows::<$inputs>(batch, i),
                                (batch, Const::<$inputs>),
                            ),
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
        }
    };
}

dfdx_net!(
    seminar,
    784,
    (
        Linear<784, 16>,
        Sigmoid,
        Linear<16, 16>,
        Sigmoid,
        Linear<16, 10>,
    )
);
dfdx_net!(
    wide256,
    784,
    (
        Linear<784, 256>,
        ReLU,
        Linear<256, 256>,
        ReLU,
        Linear<256, 10>,
    )
);
dfdx_net!(
    wide1024,
    784,
    (
        Linear<784, 1024>,
        ReLU,
        Linear<1024, 1024>,
        ReLU,
        Linear<1024, 10>,
    )
);
dfdx_net!(
    deep64,
    64,
    (
        (Linear<64, 64>, Tanh),
        (Linear<64, 64>, Tanh),
        (Linear<64, 64>, Tanh),
        (Linear<64, 64>, Tanh),
        Linear<64, 10>,
    )
);

/// Why dfdx has no LeNet here: its convolution and pooling need its `nightly` feature.
/// `RESULTS.md` ("LeNet") quotes the errors.
pub const NO_LENET: &str = "dfdx 0.13 has conv2d and pool2d only with its nightly feature, \
    which does not build on today's nightly rustc (see peers/RESULTS.md, LeNet)";

/// One case's step on dfdx: each call runs one inference or training step on the next batch.
///
/// # Errors
///
/// [`NO_LENET`] for LeNet.
pub fn step(net: Net, data: &Data, op: Op, batch: usize) -> Result<Step<'static>, StepError> {
    Ok(match net {
        Net::Seminar => seminar::step(data, op, batch),
        Net::Wide256 => wide256::step(data, op, batch),
        Net::Wide1024 => wide1024::step(data, op, batch),
        Net::Deep64 => deep64::step(data, op, batch),
        Net::LeNet => return Err(NO_LENET.into()),
    })
}

/// A training step on the next batch of `batch` digits, each call; returns the batch's mean loss.
///
/// # Errors
///
/// [`NO_LENET`] for LeNet.
pub fn trainer(
    net: Net,
    data: &Data,
    batch: usize,
) -> Result<Box<dyn FnMut() -> Result<f32, StepError>>, StepError> {
    Ok(match net {
        Net::Seminar => Box::new(seminar::trainer(data, batch)),
        Net::Wide256 => Box::new(wide256::trainer(data, batch)),
        Net::Wide1024 => Box::new(wide1024::trainer(data, batch)),
        Net::Deep64 => Box::new(deep64::trainer(data, batch)),
        Net::LeNet => return Err(NO_LENET.into()),
    })
}
