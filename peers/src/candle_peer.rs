//! candle (candle-core + candle-nn, CPU, default features off) on two networks: the seminar's
//! three `candle_nn::Linear` layers with `candle_nn::ops::sigmoid` between them, and LeNet-5
//! (`candle_nn::conv2d` with `Conv2dConfig { padding: 2 }` for the first, `Tensor::relu`,
//! `Tensor::max_pool2d`, `candle_nn::ops::dropout` in training only, `flatten_from(1)`, three
//! linear layers), both built from a `VarMap`; `candle_nn::loss::cross_entropy` on the logits,
//! `backward`, and SGD with classic momentum written the way candle's own `SGD` is (candle-nn
//! has no momentum optimizer): `v <- mu*v + g; w <- w - lr*v`, with `Var::set`. Inputs are
//! candle tensors built before the timing starts, one per batch (`(batch, 784)` for the
//! seminar network, `(batch, 1, 28, 28)` for LeNet).
//!
//! candle's CPU matmul asks gemm for `RAYON_NUM_THREADS` threads (or every
//! core when it is unset); the harness sets it to 1 before anything runs.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Conv2d, Conv2dConfig, Linear, Module, VarBuilder, VarMap};

use crate::data::{Cycle, Data};
use crate::timing::{Step, StepError};
use crate::{Net, Op, MOMENTUM};

/// The seminar network: three linear layers, sigmoid between them; logits out.
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

/// LeNet-5 of `examples/cnn.rs`: two biased convolutions with relu and 2x2 max pooling, dropout
/// 0.25 (training only), three linear layers with relu between them; logits out.
struct LeNet {
    convs: [Conv2d; 2],
    dense: [Linear; 3],
}

impl LeNet {
    fn new(vb: &VarBuilder) -> candle_core::Result<Self> {
        let pad2 = Conv2dConfig {
            padding: 2,
            ..Conv2dConfig::default()
        };
        Ok(Self {
            convs: [
                candle_nn::conv2d(1, 6, 5, pad2, vb.pp("c1"))?,
                candle_nn::conv2d(6, 16, 5, Conv2dConfig::default(), vb.pp("c2"))?,
            ],
            dense: [
                candle_nn::linear(400, 120, vb.pp("l1"))?,
                candle_nn::linear(120, 84, vb.pp("l2"))?,
                candle_nn::linear(84, 10, vb.pp("l3"))?,
            ],
        })
    }

    /// Logits of a `(batch, 1, 28, 28)` input; `train` draws the dropout mask.
    fn logits(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let [c1, c2] = &self.convs;
        let [l1, l2, l3] = &self.dense;
        let h = c1.forward(x)?.relu()?.max_pool2d(2)?;
        let mut h = c2.forward(&h)?.relu()?.max_pool2d(2)?;
        if train {
            h = candle_nn::ops::dropout(&h, 0.25)?;
        }
        let h = l1.forward(&h.flatten_from(1)?)?.relu()?;
        let h = l2.forward(&h)?.relu()?;
        l3.forward(&h)
    }
}

/// One of the two networks candle runs.
enum Model {
    Mlp(Mlp),
    LeNet(LeNet),
}

impl Model {
    /// The network `net`, its variables in `vb`.
    ///
    /// # Errors
    ///
    /// A network candle does not run here, or candle's error while building it.
    fn new(net: Net, vb: &VarBuilder) -> Result<Self, StepError> {
        match net {
            Net::Seminar => Ok(Self::Mlp(Mlp::new(vb)?)),
            Net::LeNet => Ok(Self::LeNet(LeNet::new(vb)?)),
            _ => Err(format!("candle runs the seminar network and LeNet, not {net:?}").into()),
        }
    }

    /// The input batch's shape: `(batch, 784)` flat, `(batch, 1, 28, 28)` for LeNet.
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        match self {
            Self::Mlp(_) => vec![batch, 784],
            Self::LeNet(_) => vec![batch, 1, 28, 28],
        }
    }

    /// Logits of a batch; `train` (dropout on) for a training step.
    fn logits(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        match self {
            Self::Mlp(m) => m.logits(x),
            Self::LeNet(m) => m.logits(x, train),
        }
    }
}

/// One case's step on candle: each call runs one inference or training step on the next batch.
///
/// # Errors
///
/// A network candle does not run here, or any candle error while building the model or the
/// batches.
pub fn step(net: Net, data: &Data, op: Op, batch: usize) -> Result<Step<'static>, StepError> {
    match op {
        Op::Infer => {
            let dev = Device::Cpu;
            let varmap = VarMap::new();
            let model = Model::new(net, &VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
            let xs = (0..data.batch_count(batch))
                .map(|i| {
                    Tensor::from_vec(data.flat_inputs(batch, i), model.input_shape(batch), &dev)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            let mut xs = Cycle::new(xs);
            Ok(Box::new(move || {
                let y = candle_nn::ops::softmax_last_dim(&model.logits(xs.next_item(), false)?)?;
                std::hint::black_box(y);
                Ok(())
            }))
        }
        Op::Train => {
            let mut step = trainer(net, data, batch)?;
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
/// A network candle does not run here, or any candle error while building the model or the
/// batches.
pub fn trainer(
    net: Net,
    data: &Data,
    batch: usize,
) -> Result<impl FnMut() -> Result<Tensor, StepError>, StepError> {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = Model::new(net, &vb)?;
    let xys = (0..data.batch_count(batch))
        .map(|i| {
            Ok((
                Tensor::from_vec(data.flat_inputs(batch, i), model.input_shape(batch), &dev)?,
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
    let (lr, mu) = (f64::from(net.learning_rate()), f64::from(MOMENTUM));
    Ok(move || {
        let (x, y) = xys.next_item();
        let loss = candle_nn::loss::cross_entropy(&model.logits(x, true)?, y)?;
        let grads = loss.backward()?;
        for (var, velocity) in &mut state {
            let g = grads.get(var).ok_or("candle: no gradient for a variable")?;
            *velocity = ((&*velocity * mu)? + g)?;
            var.set(&var.as_tensor().sub(&(&*velocity * lr)?)?)?;
        }
        Ok(loss)
    })
}
