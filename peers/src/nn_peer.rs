//! `nn` itself, through its public API only: `forward` for one sample (LeNet:
//! `forward_batch` of one),
//! `forward_batch` for a batch, `gradient_batch` + `Momentum::step` for a
//! training step. One module per network of [`crate::Net`], stamped out by
//! one macro so that every network runs the same code.

use crate::data::Data;
use crate::timing::{Step, StepError};
use crate::{Net, Op};

nn::network! {
    /// The seminar network.
    pub struct Seminar: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

nn::network! {
    /// The 256-wide relu network.
    pub struct Wide256: 784 -> 256 relu -> 256 relu -> 10 softmax;
}

nn::network! {
    /// The 1024-wide relu network.
    pub struct Wide1024: 784 -> 1024 relu -> 1024 relu -> 10 softmax;
}

nn::network! {
    /// The deep tanh network, on the 8 × 8 subsample of each digit.
    pub struct Deep64: 64 -> 64 tanh -> 64 tanh -> 64 tanh -> 64 tanh -> 10 softmax;
}

nn::network! {
    /// LeNet-5, as `examples/cnn.rs` and `benches/lenet.rs` declare it; its input is the digit's
    /// 784 pixels, channel-major (one channel of 28x28).
    pub struct LeNet: 1x28x28
        -> conv 6 5x5 pad 2 relu
        -> maxpool 2x2
        -> conv 16 5x5 relu
        -> maxpool 2x2
        -> dropout 0.25
        -> 120 relu
        -> 84 relu
        -> 10 softmax;
}

/// One module per network (declared above: `network!` must not be expanded inside a
/// `macro_rules!`, whose hygiene hides the names it generates from its own code): its `step`
/// and its `trainer`. `$per_sample`: batch 1 inference through the one-sample `forward` (the
/// dense networks, whose `forward` runs on stack arrays) rather than `forward_batch` with a
/// kept workspace (LeNet, whose `forward` makes a workspace on every call, as `benches/lenet.rs`
/// measures it).
macro_rules! nn_net {
    ($module:ident, $net:ident, $inputs:literal, $which:expr, $per_sample:literal) => {
        mod $module {
            use nn::{CrossEntropy, Momentum, Optimizer, Workspace};

            use crate::data::{Batches, Data};
            use crate::timing::{Step, StepError};
            use crate::{Op, MOMENTUM};

            use super::$net as Net;

            /// One case's step: each call runs one inference or training step on the next
            /// batch.
            pub fn step(data: &Data, op: Op, batch: usize) -> Step<'_> {
                let net = Net::new(1);
                let mut batches = Batches::new(data, batch);
                match (op, batch) {
                    (Op::Infer, 1) if $per_sample => Box::new(move || {
                        let (x, _, _) = batches.next_of::<$inputs>();
                        std::hint::black_box(net.forward(std::hint::black_box(&x[0])));
                        Ok(())
                    }),
                    (Op::Infer, _) => {
                        let mut ws = Workspace::<Net>::with_capacity(batch);
                        let mut out = vec![[0.0f32; 10]; batch];
                        Box::new(move || {
                            let (x, _, _) = batches.next_of::<$inputs>();
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

            /// A training step on the next batch of `batch` digits, each call; returns the
            /// batch's mean loss.
            pub fn trainer(
                data: &Data,
                batch: usize,
            ) -> impl FnMut() -> Result<f32, StepError> + '_ {
                let mut net = Net::new(1);
                let mut batches = Batches::new(data, batch);
                let mut ws = Workspace::<Net>::with_capacity(batch);
                let mut grads = Net::zeros();
                let mut opt = Momentum::new($which.learning_rate(), MOMENTUM);
                move || {
                    let (x, y, _) = batches.next_of::<$inputs>();
                    let loss = net.gradient_batch(CrossEntropy, x, y, &mut grads, &mut ws)?;
                    opt.step(&mut net, &grads);
                    Ok(loss)
                }
            }
        }
    };
}

nn_net!(seminar, Seminar, 784, crate::Net::Seminar, true);
nn_net!(wide256, Wide256, 784, crate::Net::Wide256, true);
nn_net!(wide1024, Wide1024, 784, crate::Net::Wide1024, true);
nn_net!(deep64, Deep64, 64, crate::Net::Deep64, true);
nn_net!(lenet, LeNet, 784, crate::Net::LeNet, false);

/// One case's step on `nn`: each call runs one inference or training step on the next batch.
pub fn step(net: Net, data: &Data, op: Op, batch: usize) -> Step<'_> {
    match net {
        Net::Seminar => seminar::step(data, op, batch),
        Net::Wide256 => wide256::step(data, op, batch),
        Net::Wide1024 => wide1024::step(data, op, batch),
        Net::Deep64 => deep64::step(data, op, batch),
        Net::LeNet => lenet::step(data, op, batch),
    }
}

/// A training step on the next batch of `batch` digits, each call; returns the batch's mean loss.
pub fn trainer(
    net: Net,
    data: &Data,
    batch: usize,
) -> Box<dyn FnMut() -> Result<f32, StepError> + '_> {
    match net {
        Net::Seminar => Box::new(seminar::trainer(data, batch)),
        Net::Wide256 => Box::new(wide256::trainer(data, batch)),
        Net::Wide1024 => Box::new(wide1024::trainer(data, batch)),
        Net::Deep64 => Box::new(deep64::trainer(data, batch)),
        Net::LeNet => Box::new(lenet::trainer(data, batch)),
    }
}
