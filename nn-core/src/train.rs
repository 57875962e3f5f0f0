//! The training loop: epochs of shuffled mini-batches, for any network `network!` declares.
//!
//! [`Trainer::fit`] runs stochastic mini-batch training:
//!
//! ```text
//! for epoch in 1..=epochs:
//!     shuffle the training samples (a seeded xoshiro256++, so a seed replays a run bit for bit)
//!     for each batch of batch_size samples (the last one may be smaller):
//!         g = ∂(mean loss over the batch)/∂w       backprop, `Train::gradient_batch`
//!         w ← optimizer.step(w, g)
//!     train loss    = mean over the epoch's samples of the loss seen while training on them
//!     test accuracy = share of test samples with argmax(output) = argmax(target)
//! ```
//!
//! A caller watches progress through a hook, `&mut dyn FnMut(&Progress)`, called after every
//! batch and every epoch: a progress bar or a plot lives in the caller, not in this crate.
//!
//! # Divergence
//!
//! A learning rate that is too large, or a NaN in the data, turns the loss or the weights
//! non-finite. [`Trainer::fit`] checks the loss and the gradient of every batch before the
//! optimizer's step and the weights after it, and stops with [`TrainError::NonFinite`], naming
//! the epoch, the batch and the first value that was not finite. The network then holds the
//! weights it had before that batch, all finite: nothing trained so far is lost. (The
//! optimizer's own state, such as momentum's velocity, may hold the failed step; reset it before
//! training on.)
//!
//! # Memory
//!
//! Every buffer (the batch being gathered, the workspace, the gradient, the copy of the weights
//! kept for a rollback, the shuffled order, the history) is allocated once, before the first
//! step. A training step, an evaluation and the hook calls between them allocate nothing.
//!
//! # Example
//!
//! ```ignore
//! nn::network! { struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax; }
//!
//! let mnist = nn::data::Mnist::load("data/mnist")?;
//! let mut net = Digits::new(1);
//! let mut optimizer = nn::Momentum::new(0.1, 0.9);
//! let trainer = nn::Trainer { epochs: 20, batch_size: 32, seed: 1 };
//! let history = trainer.fit(
//!     &mut net,
//!     &mut optimizer,
//!     nn::CrossEntropy,
//!     nn::Samples::new(&mnist.train.inputs, &mnist.train.targets),
//!     Some(nn::Samples::new(&mnist.test.inputs, &mnist.test.targets)),
//!     &mut |progress| {
//!         if let nn::Progress::Epoch(e) = progress {
//!             println!("epoch {}: loss {:.4}, accuracy {:?}", e.epoch, e.train_loss, e.test_accuracy);
//!         }
//!     },
//! )?;
//! ```
//!
//! (`tests/mnist.rs` and `examples/mnist.rs` in the facade crate `nn` run this.)

use core::fmt;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::Error;
use crate::network::{Network, Train, Workspace};
use crate::optim::Optimizer;

/// How to train: the number of epochs, the mini-batch size and the seed of the shuffling.
///
/// The network's initial weights have their own seed (`Net::new(seed)`); this one only decides
/// the order in which samples are visited. The same network, optimizer, data and `Trainer` give
/// the same run, bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trainer {
    /// How many passes over the training set, at least 1.
    pub epochs: usize,
    /// Samples per mini-batch, at least 1. The last batch of an epoch holds the remainder when
    /// the training set does not divide evenly; a size larger than the training set makes one
    /// batch of all of it (full-batch gradient descent).
    pub batch_size: usize,
    /// The seed of the shuffling.
    pub seed: u64,
}

impl Default for Trainer {
    /// 10 epochs of batches of 32, seed 0.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            seed: 0,
        }
    }
}

/// Inputs and their targets, one target per input: a training or test set.
pub struct Samples<'a, N: Network> {
    /// The inputs, one row a sample.
    pub inputs: &'a [N::Input],
    /// The targets, one row a sample, in the order of the inputs.
    pub targets: &'a [N::Output],
}

impl<'a, N: Network> Samples<'a, N> {
    /// Pairs `inputs` with `targets`. Their lengths are checked where they are used.
    pub fn new(inputs: &'a [N::Input], targets: &'a [N::Output]) -> Self {
        Self { inputs, targets }
    }

    /// The number of samples (of inputs).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

impl<N: Network> Clone for Samples<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: Network> Copy for Samples<'_, N> {}

impl<N: Network> fmt::Debug for Samples<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Samples")
            .field("inputs", &self.inputs.len())
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// What [`Trainer::fit`] tells its hook.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// A batch has been trained on (its step taken and checked).
    Batch(BatchStats),
    /// An epoch has ended and the test set (if any) has been evaluated.
    Epoch(EpochStats),
}

/// The state of training after one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStats {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs in the run.
    pub epochs: usize,
    /// The batch within the epoch, counting from 1.
    pub batch: usize,
    /// The number of batches in an epoch.
    pub batches: usize,
    /// The mean loss over this batch, before its step.
    pub loss: f32,
    /// The mean loss over the epoch's samples so far.
    pub epoch_loss: f32,
}

/// The result of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs in the run.
    pub epochs: usize,
    /// The mean training loss over the epoch: each sample's loss as computed for its batch's
    /// gradient, before that batch's step (so the weights move during the epoch, as in most
    /// frameworks' reported training loss).
    pub train_loss: f32,
    /// The share of test samples classified right, in `[0, 1]`, with the weights at the end of
    /// the epoch; `None` without a test set.
    pub test_accuracy: Option<f32>,
}

/// The record of a run: one [`EpochStats`] per epoch, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Each epoch's result.
    pub epochs: Vec<EpochStats>,
}

impl History {
    /// The last epoch's result, `None` for an empty history.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The training loss of each epoch.
    pub fn train_loss(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().map(|e| e.train_loss)
    }

    /// The test accuracy of each epoch that has one.
    pub fn test_accuracy(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs.iter().filter_map(|e| e.test_accuracy)
    }
}

/// A network parameter, located for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// The layer's name ([`Network::LAYER_NAMES`]).
    pub layer: &'static str,
    /// The neuron (row of the weight matrix, or index of the bias).
    pub neuron: usize,
    /// The input (column of the weight matrix), `None` for a bias.
    pub input: Option<usize>,
}

impl Parameter {
    /// Locates value `index` of the `slice`-th slice of [`Network::parameters`].
    fn locate<N: Network>(slice: usize, index: usize) -> Self {
        let layer = slice / 2;
        let name = N::LAYER_NAMES.get(layer).copied().unwrap_or("?");
        if slice % 2 == 1 {
            return Self {
                layer: name,
                neuron: index,
                input: None,
            };
        }
        let inputs = match layer.checked_sub(1) {
            None => N::INPUT,
            Some(previous) => N::WIDTHS.get(previous).copied().unwrap_or(0),
        }
        .max(1);
        Self {
            layer: name,
            neuron: index / inputs,
            input: Some(index % inputs),
        }
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.input {
            Some(input) => write!(
                f,
                "weight [{}][{input}] of layer `{}`",
                self.neuron, self.layer
            ),
            None => write!(f, "bias [{}] of layer `{}`", self.neuron, self.layer),
        }
    }
}

/// Which value of a training step was not finite.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NonFinite {
    /// The batch's mean loss.
    #[error("the loss is {value}")]
    Loss {
        /// The loss (NaN or ±infinity).
        value: f32,
    },
    /// A partial derivative of the loss.
    #[error("the gradient of {at} is {value}")]
    Gradient {
        /// The parameter.
        at: Parameter,
        /// Its partial derivative (NaN or ±infinity).
        value: f32,
    },
    /// A weight or bias after the optimizer's step (gradient and loss were finite).
    #[error("the optimizer's step made {at} {value}")]
    Weight {
        /// The parameter.
        at: Parameter,
        /// Its value after the step (NaN or ±infinity).
        value: f32,
    },
}

/// What can stop [`Trainer::fit`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// [`Trainer::epochs`] is 0.
    #[error("the number of epochs is 0: expected at least 1")]
    ZeroEpochs,
    /// [`Trainer::batch_size`] is 0.
    #[error("the batch size is 0: expected at least 1")]
    ZeroBatchSize,
    /// The training set has no samples.
    #[error("the training set is empty: expected at least one sample")]
    EmptyTrainingSet,
    /// The test set was given but has no samples.
    #[error("the test set is empty: expected at least one sample, or no test set")]
    EmptyTestSet,
    /// A set's inputs and targets differ in number.
    #[error(
        "the {set} set has {inputs} inputs but {targets} targets: expected one target per input"
    )]
    Mismatch {
        /// `"training"` or `"test"`.
        set: &'static str,
        /// The number of inputs.
        inputs: usize,
        /// The number of targets.
        targets: usize,
    },
    /// The history of this many epochs does not fit in memory.
    #[error("cannot reserve memory for the history of {epochs} epochs")]
    TooManyEpochs {
        /// The number of epochs asked for.
        epochs: usize,
    },
    /// Training diverged: a loss, gradient or weight became NaN or infinite. The network holds
    /// the weights it had before this batch.
    #[error(
        "training diverged in epoch {epoch}, batch {batch}: {what}; the network keeps its \
         weights from before this batch"
    )]
    NonFinite {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The batch within the epoch, counting from 1.
        batch: usize,
        /// What was not finite (already part of this error's message).
        what: NonFinite,
    },
    /// A call on the network failed (a batch it was handed did not fit it).
    #[error(transparent)]
    Network(#[from] Error),
}

impl Trainer {
    /// Trains `network` with `optimizer` on the mean `loss` over mini-batches of `train`, for
    /// [`epochs`](Trainer::epochs) epochs, evaluating the accuracy on `test` after each epoch
    /// and calling `hook` after every batch and epoch. Returns each epoch's training loss and
    /// test accuracy.
    ///
    /// Each epoch visits the training samples in a new order drawn from [`seed`](Trainer::seed)
    /// (xoshiro256++, Fisher–Yates). Nothing is allocated after the first step begins: see the
    /// [module docs](self).
    ///
    /// # Errors
    ///
    /// Before training: [`TrainError::ZeroEpochs`], [`TrainError::ZeroBatchSize`],
    /// [`TrainError::EmptyTrainingSet`], [`TrainError::EmptyTestSet`], or
    /// [`TrainError::Mismatch`] if a set's inputs and targets differ in number; the network and
    /// optimizer are then untouched.
    ///
    /// During training: [`TrainError::NonFinite`] if a batch's loss, a gradient, or a weight
    /// after the step is NaN or infinite; the network keeps the weights it had before that
    /// batch.
    pub fn fit<N, L, O>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        loss: L,
        train: Samples<'_, N>,
        test: Option<Samples<'_, N>>,
        hook: &mut dyn FnMut(&Progress),
    ) -> Result<History, TrainError>
    where
        N: Train<L>,
        L: Copy,
        O: Optimizer<N>,
    {
        self.check(train, test)?;
        let n = train.len();
        let batch = self.batch_size.min(n);
        let batches = n.div_ceil(batch);

        // Every buffer, allocated once. `check` saw at least one training sample, whose input
        // and target rows serve as the fill value of the gather buffers.
        let mut history = History::default();
        history
            .epochs
            .try_reserve_exact(self.epochs)
            .map_err(|_| TrainError::TooManyEpochs {
                epochs: self.epochs,
            })?;
        let mut batch_inputs = vec![train.inputs[0]; batch];
        let mut batch_targets = vec![train.targets[0]; batch];
        let mut outputs = match test {
            Some(test) => vec![train.targets[0]; batch.min(test.len())],
            None => Vec::new(),
        };
        let mut order: Vec<usize> = (0..n).collect();
        let mut workspace = Workspace::<N>::with_capacity(batch);
        let mut grads = N::zeros();
        let mut before_step = N::zeros();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(self.seed);

        for epoch in 1..=self.epochs {
            order.shuffle(&mut rng);
            let mut loss_sum = 0.0f64;
            let mut seen = 0usize;
            for (b, indices) in order.chunks(batch).enumerate() {
                let len = indices.len();
                for ((x, y), &i) in batch_inputs
                    .iter_mut()
                    .zip(batch_targets.iter_mut())
                    .zip(indices)
                {
                    *x = train.inputs[i];
                    *y = train.targets[i];
                }
                let diverged = |what| TrainError::NonFinite {
                    epoch,
                    batch: b + 1,
                    what,
                };

                let batch_loss = network.gradient_batch(
                    loss,
                    &batch_inputs[..len],
                    &batch_targets[..len],
                    &mut grads,
                    &mut workspace,
                )?;
                if !batch_loss.is_finite() {
                    return Err(diverged(NonFinite::Loss { value: batch_loss }));
                }
                if let Some((at, value)) = first_non_finite(&grads) {
                    return Err(diverged(NonFinite::Gradient { at, value }));
                }
                copy_parameters(network, &mut before_step);
                optimizer.step(network, &grads);
                if let Some((at, value)) = first_non_finite(network) {
                    copy_parameters(&before_step, network);
                    return Err(diverged(NonFinite::Weight { at, value }));
                }

                loss_sum += f64::from(batch_loss) * len as f64;
                seen += len;
                hook(&Progress::Batch(BatchStats {
                    epoch,
                    epochs: self.epochs,
                    batch: b + 1,
                    batches,
                    loss: batch_loss,
                    epoch_loss: (loss_sum / seen as f64) as f32,
                }));
            }

            let test_accuracy = match test {
                Some(test) => Some(accuracy_into(network, test, &mut outputs, &mut workspace)?),
                None => None,
            };
            let stats = EpochStats {
                epoch,
                epochs: self.epochs,
                train_loss: (loss_sum / n as f64) as f32,
                test_accuracy,
            };
            history.epochs.push(stats);
            hook(&Progress::Epoch(stats));
        }
        Ok(history)
    }

    /// The configuration and the sets, checked before anything is allocated or trained.
    fn check<N: Network>(
        &self,
        train: Samples<'_, N>,
        test: Option<Samples<'_, N>>,
    ) -> Result<(), TrainError> {
        if self.epochs == 0 {
            return Err(TrainError::ZeroEpochs);
        }
        if self.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        check_set(train, "training")?;
        if train.is_empty() {
            return Err(TrainError::EmptyTrainingSet);
        }
        if let Some(test) = test {
            check_set(test, "test")?;
            if test.is_empty() {
                return Err(TrainError::EmptyTestSet);
            }
        }
        Ok(())
    }
}

/// The share of `samples` that `network` classifies right: whose output's largest value is at
/// the index of the target's largest value (the class of a one-hot target). In `[0, 1]`.
///
/// Runs the samples through [`Network::forward_batch`] in batches of 256 and allocates the
/// buffers for that on each call; [`Trainer::fit`] reports the same measure without
/// allocating.
///
/// # Errors
///
/// [`TrainError::EmptyTestSet`] for no samples, [`TrainError::Mismatch`] if inputs and targets
/// differ in number.
pub fn accuracy<N: Network>(network: &N, samples: Samples<'_, N>) -> Result<f32, TrainError> {
    check_set(samples, "test")?;
    let Some(&first) = samples.targets.first() else {
        return Err(TrainError::EmptyTestSet);
    };
    let batch = samples.len().min(256);
    let mut outputs = vec![first; batch];
    let mut workspace = Workspace::with_capacity(batch);
    accuracy_into(network, samples, &mut outputs, &mut workspace)
}

/// Checks that a set has one target per input.
fn check_set<N: Network>(samples: Samples<'_, N>, set: &'static str) -> Result<(), TrainError> {
    if samples.inputs.len() != samples.targets.len() {
        return Err(TrainError::Mismatch {
            set,
            inputs: samples.inputs.len(),
            targets: samples.targets.len(),
        });
    }
    Ok(())
}

/// [`accuracy`] over a non-empty, checked set, in batches of `outputs.len()` (at least 1).
fn accuracy_into<N: Network>(
    network: &N,
    samples: Samples<'_, N>,
    outputs: &mut [N::Output],
    workspace: &mut Workspace<N>,
) -> Result<f32, TrainError> {
    let batch = outputs.len().max(1);
    let mut correct = 0usize;
    for (inputs, targets) in samples
        .inputs
        .chunks(batch)
        .zip(samples.targets.chunks(batch))
    {
        let outputs = &mut outputs[..inputs.len()];
        network.forward_batch(inputs, outputs, workspace)?;
        correct += outputs
            .iter()
            .zip(targets)
            .filter(|(out, target)| crate::argmax(out.as_ref()) == crate::argmax(target.as_ref()))
            .count();
    }
    Ok((correct as f64 / samples.len() as f64) as f32)
}

/// The first parameter of `network` that is NaN or infinite, and its value.
fn first_non_finite<N: Network>(network: &N) -> Option<(Parameter, f32)> {
    network
        .parameters()
        .enumerate()
        .find_map(|(slice, values)| {
            let index = values.iter().position(|v| !v.is_finite())?;
            Some((Parameter::locate::<N>(slice, index), values[index]))
        })
}

/// Copies every weight and bias of `from` into `to`, a network of the same type.
fn copy_parameters<N: Network>(from: &N, to: &mut N) {
    for (to, from) in to.parameters_mut().zip(from.parameters()) {
        to.copy_from_slice(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_network::{Line, Pair};
    use crate::{CrossEntropy, GradientDescent, MeanSquaredError};

    fn params<N: Network>(net: &N) -> Vec<u32> {
        net.parameters().flatten().map(|w| w.to_bits()).collect()
    }

    fn trainer(epochs: usize, batch_size: usize) -> Trainer {
        Trainer {
            epochs,
            batch_size,
            seed: 7,
        }
    }

    /// `y = 2x - 1` on 8 points of `[-1, 1]`.
    fn line_data() -> (Vec<[f32; 1]>, Vec<[f32; 1]>) {
        let xs: Vec<[f32; 1]> = (0..8).map(|i| [i as f32 / 3.5 - 1.0]).collect();
        let ys = xs.iter().map(|x| [2.0 * x[0] - 1.0]).collect();
        (xs, ys)
    }

    #[test]
    fn invalid_configurations_are_errors_and_touch_nothing() {
        let (xs, ys) = line_data();
        let mut net = Line::zeros();
        let mut sgd = GradientDescent::new(0.1);
        let mut calls = 0;
        let mut run = |t: Trainer, train: Samples<'_, Line>, test: Option<Samples<'_, Line>>| {
            t.fit(
                &mut net,
                &mut sgd,
                MeanSquaredError,
                train,
                test,
                &mut |_| calls += 1,
            )
        };
        let all = Samples::new(&xs, &ys);
        assert_eq!(run(trainer(0, 4), all, None), Err(TrainError::ZeroEpochs));
        assert_eq!(
            run(trainer(1, 0), all, None),
            Err(TrainError::ZeroBatchSize)
        );
        assert_eq!(
            run(trainer(1, 4), Samples::new(&[], &[]), None),
            Err(TrainError::EmptyTrainingSet)
        );
        assert_eq!(
            run(trainer(1, 4), Samples::new(&xs, &ys[..7]), None),
            Err(TrainError::Mismatch {
                set: "training",
                inputs: 8,
                targets: 7
            })
        );
        assert_eq!(
            run(trainer(1, 4), all, Some(Samples::new(&xs[..2], &ys))),
            Err(TrainError::Mismatch {
                set: "test",
                inputs: 2,
                targets: 8
            })
        );
        assert_eq!(
            run(trainer(1, 4), all, Some(Samples::new(&[], &[]))),
            Err(TrainError::EmptyTestSet)
        );
        assert_eq!(
            run(trainer(usize::MAX, 4), all, None),
            Err(TrainError::TooManyEpochs { epochs: usize::MAX })
        );
        assert_eq!(calls, 0);
        assert_eq!(net, Line::zeros());
    }

    #[test]
    fn messages_say_what_was_expected_and_found() {
        let e = TrainError::Mismatch {
            set: "training",
            inputs: 8,
            targets: 7,
        };
        assert_eq!(
            e.to_string(),
            "the training set has 8 inputs but 7 targets: expected one target per input"
        );
        let e = TrainError::NonFinite {
            epoch: 3,
            batch: 17,
            what: NonFinite::Gradient {
                at: Parameter {
                    layer: "hidden",
                    neuron: 2,
                    input: Some(5),
                },
                value: f32::NAN,
            },
        };
        assert_eq!(
            e.to_string(),
            "training diverged in epoch 3, batch 17: the gradient of weight [2][5] of layer \
             `hidden` is NaN; the network keeps its weights from before this batch"
        );
        // The cause is in the message, so it is not repeated as a source.
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn full_batch_gradient_descent_is_the_plain_loop() {
        // One batch holding the whole set: `fit` must take exactly the steps of a hand-written
        // loop of gradient_batch and step, whatever the order of the samples (the mean is
        // over all of them; summation order may differ, so compare closely, not bitwise).
        let (xs, ys) = line_data();
        let mut net = Line::zeros();
        let mut sgd = GradientDescent::new(0.2);
        let history = trainer(25, 100)
            .fit(
                &mut net,
                &mut sgd,
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |_| {},
            )
            .unwrap();

        let mut reference = Line::zeros();
        let mut grads = Line::zeros();
        let mut ws = Workspace::new();
        let mut losses = Vec::new();
        for _ in 0..25 {
            losses.push(
                reference
                    .gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
                    .unwrap(),
            );
            sgd.step(&mut reference, &grads);
        }
        for (a, b) in net
            .parameters()
            .flatten()
            .zip(reference.parameters().flatten())
        {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(history.epochs.len(), 25);
        for (got, want) in history.train_loss().zip(&losses) {
            assert!(
                (got - want).abs() <= 1e-5 * want.max(1.0),
                "{got} vs {want}"
            );
        }
        assert!(history.test_accuracy().next().is_none());
        // And it learns the line.
        assert!(history.last().unwrap().train_loss < 0.02);
    }

    #[test]
    fn the_hook_sees_every_batch_and_epoch_in_order() {
        let (xs, ys) = line_data();
        let mut net = Line::zeros();
        let mut seen = Vec::new();
        let history = trainer(2, 3)
            .fit(
                &mut net,
                &mut GradientDescent::new(0.1),
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |p| seen.push(*p),
            )
            .unwrap();
        // 8 samples in batches of 3: 3, 3, 2.
        let mut expected = Vec::new();
        for epoch in 1..=2 {
            for batch in 1..=3 {
                expected.push((Some((epoch, batch, 3)), None));
            }
            expected.push((None, Some(epoch)));
        }
        let shape: Vec<_> = seen
            .iter()
            .map(|p| match p {
                Progress::Batch(b) => (Some((b.epoch, b.batch, b.batches)), None),
                Progress::Epoch(e) => (None, Some(e.epoch)),
            })
            .collect();
        assert_eq!(shape, expected);
        // The epoch loss is the sample-weighted mean of its batch losses.
        let batch_losses: Vec<f32> = seen[..3]
            .iter()
            .filter_map(|p| match p {
                Progress::Batch(b) => Some(b.loss),
                Progress::Epoch(_) => None,
            })
            .collect();
        let mean = (3.0 * batch_losses[0] + 3.0 * batch_losses[1] + 2.0 * batch_losses[2]) / 8.0;
        assert!((history.epochs[0].train_loss - mean).abs() < 1e-6);
        assert_eq!(seen[3], Progress::Epoch(history.epochs[0]));
        assert!(matches!(
            seen[2],
            Progress::Batch(b) if b.epoch_loss == history.epochs[0].train_loss
        ));
    }

    #[test]
    fn the_seed_decides_the_order_and_replays_it() {
        let (xs, ys) = line_data();
        let run = |seed| {
            let mut net = Line::zeros();
            let history = Trainer {
                epochs: 3,
                batch_size: 2,
                seed,
            }
            .fit(
                &mut net,
                &mut GradientDescent::new(0.1),
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |_| {},
            )
            .unwrap();
            let losses: Vec<u32> = history.train_loss().map(f32::to_bits).collect();
            (params(&net), losses)
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn accuracy_counts_argmax_matches() {
        // Weights [[1, 0], [0, 1]]: the output's argmax is the input's argmax.
        let mut net = Pair::zeros();
        net.layer.set_weights(&[[1.0, 0.0], [0.0, 1.0]]);
        let xs = [[1.0, 0.0], [0.0, 1.0], [0.2, 0.9], [0.7, 0.1], [0.4, 0.6]];
        let ys = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        // Right on 0, 1 and 3: 3 of 5.
        assert_eq!(accuracy(&net, Samples::new(&xs, &ys)), Ok(0.6));
        assert_eq!(
            accuracy(&net, Samples::new(&[], &[])),
            Err(TrainError::EmptyTestSet)
        );

        // And `fit` reports the same measure, in test batches smaller than the set.
        let mut frozen = GradientDescent::new(0.0);
        let history = trainer(1, 2)
            .fit(
                &mut net,
                &mut frozen,
                CrossEntropy,
                Samples::new(&xs, &ys),
                Some(Samples::new(&xs, &ys)),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(history.epochs[0].test_accuracy, Some(0.6));
    }

    #[test]
    fn a_nan_input_stops_training_at_its_batch_with_the_weights_before_it() {
        let (mut xs, ys) = line_data();
        xs[5][0] = f32::NAN;
        let mut net = Line::zeros();
        // Batches of one: the NaN sample's batch must fail, and the network must hold the
        // weights of the steps before it.
        let mut good_batches = 0;
        let result = trainer(1, 1).fit(
            &mut net,
            &mut GradientDescent::new(0.1),
            MeanSquaredError,
            Samples::new(&xs, &ys),
            None,
            &mut |p| {
                if let Progress::Batch(b) = p {
                    good_batches = b.batch;
                }
            },
        );
        let Err(TrainError::NonFinite { epoch, batch, what }) = result else {
            panic!("expected a divergence, got {result:?}");
        };
        assert_eq!((epoch, batch), (1, good_batches + 1));
        assert!(matches!(what, NonFinite::Loss { value } if value.is_nan()));
        // Replay the same order by hand up to the NaN sample: the last finite weights.
        let mut replay = Line::zeros();
        let mut order: Vec<usize> = (0..8).collect();
        order.shuffle(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7));
        assert_eq!(order[batch - 1], 5, "the failing batch is the NaN sample's");
        let (mut grads, mut ws) = (Line::zeros(), Workspace::new());
        for &i in &order[..batch - 1] {
            replay
                .gradient_batch(
                    MeanSquaredError,
                    &xs[i..=i],
                    &ys[i..=i],
                    &mut grads,
                    &mut ws,
                )
                .unwrap();
            GradientDescent::new(0.1).step(&mut replay, &grads);
        }
        assert_eq!(params(&net), params(&replay));
        assert!(net.parameters().flatten().all(|w| w.is_finite()));
    }

    #[test]
    fn a_huge_learning_rate_stops_with_the_last_finite_weights() {
        // x = 1, y = 1 from w = b = 0: gradient ∂L/∂w = ∂L/∂b = 2(0 - 1) = -2, so a step of
        // 1e30 makes w = b = 2e30 (finite). The next loss is (4e30 - 1)² = inf.
        let xs = [[1.0f32]; 4];
        let ys = [[1.0f32]; 4];
        let mut net = Line::zeros();
        let err = trainer(3, 1)
            .fit(
                &mut net,
                &mut GradientDescent::new(1e30),
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |_| {},
            )
            .unwrap_err();
        assert_eq!(
            err,
            TrainError::NonFinite {
                epoch: 1,
                batch: 2,
                what: NonFinite::Loss {
                    value: f32::INFINITY
                }
            }
        );
        assert_eq!(net.layer.weights()[0][0], 2e30);
        assert_eq!(net.layer.bias()[0], 2e30);
    }

    #[test]
    fn a_step_to_infinity_is_rolled_back() {
        // Loss and gradient finite (gradient -2 on both), but f32::MAX · 2 overflows: the
        // weights after the step are infinite and the network must be back at its start.
        let xs = [[1.0f32]; 4];
        let ys = [[1.0f32]; 4];
        let mut net = Line::zeros();
        let start = net.clone();
        let mut calls = 0;
        let err = trainer(1, 4)
            .fit(
                &mut net,
                &mut GradientDescent::new(f32::MAX),
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |_| calls += 1,
            )
            .unwrap_err();
        assert_eq!(
            err,
            TrainError::NonFinite {
                epoch: 1,
                batch: 1,
                what: NonFinite::Weight {
                    at: Parameter {
                        layer: "layer",
                        neuron: 0,
                        input: Some(0)
                    },
                    value: f32::INFINITY
                }
            }
        );
        assert_eq!(net, start);
        assert_eq!(calls, 0);
    }

    #[test]
    fn a_non_finite_gradient_is_caught_before_the_step() {
        // Target 1e20 from output 0: the loss 1e40 overflows f32 first; with target 1e19 the
        // loss (1e38) is finite but the gradient 2·(0 - 1e19)·x with x = 1e20 is -inf.
        let xs = [[1e20f32]];
        let ys = [[1e19f32]];
        let mut net = Line::zeros();
        let err = trainer(1, 1)
            .fit(
                &mut net,
                &mut GradientDescent::new(0.1),
                MeanSquaredError,
                Samples::new(&xs, &ys),
                None,
                &mut |_| {},
            )
            .unwrap_err();
        assert_eq!(
            err,
            TrainError::NonFinite {
                epoch: 1,
                batch: 1,
                what: NonFinite::Gradient {
                    at: Parameter {
                        layer: "layer",
                        neuron: 0,
                        input: Some(0)
                    },
                    value: f32::NEG_INFINITY
                }
            }
        );
        assert_eq!(net, Line::zeros());
    }

    #[test]
    fn parameters_are_located_by_layer_row_and_column() {
        // Pair: weights 2×2 (slice 0), bias 2 (slice 1).
        assert_eq!(
            Parameter::locate::<Pair>(0, 3),
            Parameter {
                layer: "layer",
                neuron: 1,
                input: Some(1)
            }
        );
        assert_eq!(
            Parameter::locate::<Pair>(1, 1),
            Parameter {
                layer: "layer",
                neuron: 1,
                input: None
            }
        );
        assert_eq!(
            Parameter::locate::<Pair>(1, 1).to_string(),
            "bias [1] of layer `layer`"
        );
    }
}
