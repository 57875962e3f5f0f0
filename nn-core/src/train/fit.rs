//! The training loop: [`Trainer::fit`] and [`TrainConfig::fit`].

use std::ops::ControlFlow;

use rand::seq::SliceRandom;

use super::callback::{Callback, Hook};
use super::checkpoint::{self, RunState};
use super::config::Trainer;
use super::error::{NonFinite, Parameter, TrainError};
use super::metrics::{classifies, Evaluator, Metrics};
use super::report::{BatchStats, EpochStats, History, Progress, Stop};
use super::rng::ShuffleRng;
use super::samples::{check_set, check_values, split, Samples, Target};
use super::schedule::Position;
use super::settings::{Monitor, Sets, TrainConfig};
use crate::loss::Loss;
use crate::network::{Network, Trainable, Workspace};
use crate::optim::Optimizer;
use crate::parallel::DataParallel;

impl Trainer {
    /// Trains `network` with `optimizer` on the mean `loss` over mini-batches of `train`, for
    /// [`epochs`](Trainer::epochs) epochs, evaluating `test` after each epoch and calling
    /// `hook` after every batch and epoch. Returns each epoch's training loss and test figures.
    ///
    /// This is [`TrainConfig::fit`] with the [`TrainConfig`] made from this `Trainer` (see
    /// `From<Trainer>`): one thread, a constant learning rate, no validation, no early
    /// stopping, no check of the data and no divergence rule beyond the NaN guard. Use
    /// [`TrainConfig`] for the rest.
    ///
    /// Each epoch visits the training samples in a new order drawn from [`seed`](Trainer::seed)
    /// (xoshiro256++, Fisher–Yates). Nothing is allocated after the first step begins: see the
    /// [module docs](super).
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
    pub fn fit<N, L, O, T>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        loss: L,
        train: Samples<'_, N::Input, T>,
        test: Option<Samples<'_, N::Input, T>>,
        hook: &mut dyn FnMut(&Progress),
    ) -> Result<History, TrainError>
    where
        N: Trainable<L, Scalar = f32>,
        L: Copy,
        O: Optimizer<N>,
        T: Target<N::Output>,
    {
        let mut sets = Sets::new(train);
        sets.test = test;
        // No loss bound here (generic callers of the old signature keep compiling): the task
        // is chosen from the output layer and the targets, and the data is not checked.
        TrainConfig::from(*self).run(
            network,
            optimizer,
            loss,
            sets,
            &mut Hook(hook),
            &mut OneThread(Workspace::new()),
            false,
            &|_| Ok(()),
        )
    }
}

/// A closure as a [`Callback`], with its argument's type spelled out for the compiler:
/// `&mut callback(|p| ...)` instead of `&mut |p: &Progress| ...`.
///
/// ```
/// use std::ops::ControlFlow;
/// use nn_core::train::{callback, Progress};
/// let mut epochs = 0;
/// let mut count = callback(|p| {
///     if let Progress::Epoch(_) = p {
///         epochs += 1;
///     }
///     ControlFlow::Continue(())
/// });
/// # let _ = &mut count;
/// ```
pub fn callback<F: FnMut(&Progress) -> ControlFlow<()>>(f: F) -> F {
    f
}

/// The state of early stopping during a run.
#[derive(Debug, Clone, Copy)]
struct Early {
    best: f32,
    best_epoch: usize,
    bad_epochs: usize,
}

impl TrainConfig {
    /// Trains `network` with `optimizer` on the mean `loss` over mini-batches of the training
    /// set of `sets`, as these settings say, calling `callback` after every batch and epoch.
    ///
    /// Each epoch:
    ///
    /// ```text
    /// shuffle the training samples (a seeded xoshiro256++, so a seed replays a run bit for bit)
    /// for each batch of batch_size samples (the last one may be smaller):
    ///     α ← schedule(position)                       if a schedule is set
    ///     g = ∂(mean loss over the batch)/∂w           on `threads` threads
    ///     stop if the loss or g is not finite, or the divergence rule fires
    ///     g ← g · min(1, c/‖g‖₂)                       if clipping at c is set
    ///     w ← optimizer.step(w, g)                     (and its decoupled weight decay)
    ///     stop if a weight is not finite (the weights from before the step are restored)
    ///     callback.on_batch
    /// evaluate the validation set (loss and metrics) and the test set (metrics)
    /// early stopping: remember the best epoch's weights, stop after `patience` bad epochs
    /// write the checkpoint, if one is set
    /// callback.on_epoch
    /// ```
    ///
    /// At the end, with early stopping that restores, the network gets the best epoch's
    /// weights (not when the callback stopped the run). Every buffer is made before the first
    /// step: a run allocates nothing after it, except to write a checkpoint and, with more
    /// than one thread, for each batch handed to another thread.
    ///
    /// # Errors
    ///
    /// Before training, leaving network and optimizer untouched: a setting out of range
    /// ([`TrainError::ZeroEpochs`], [`TrainError::ZeroBatchSize`], [`TrainError::Setting`]);
    /// an empty or mismatched set; [`TrainError::NoValidationSet`] for early stopping without
    /// validation data; [`TrainError::InvalidData`] for a non-finite input or an invalid target
    /// (with [`check_data`](Self::check_data)); [`TrainError::Checkpoint`] if the checkpoint to
    /// resume from cannot be read or is of another run; [`TrainError::Network`] if the threads
    /// cannot be had.
    ///
    /// During training: [`TrainError::NonFinite`] (the weights from before the batch are kept),
    /// [`TrainError::Diverged`] (the weights from before the loss left its bound are kept), or
    /// [`TrainError::Checkpoint`] if a checkpoint cannot be written.
    pub fn fit<'a, N, L, O, T>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        loss: L,
        sets: impl Into<Sets<'a, N::Input, T>>,
        callback: &mut dyn Callback,
    ) -> Result<History, TrainError>
    where
        N: Trainable<L, Scalar = f32> + Send + Sync,
        N::Input: Sync,
        N::Output: Sync,
        L: Loss<N::OutputActivation> + Send,
        O: Optimizer<N>,
        T: Target<N::Output>,
    {
        let by_loss = |y: &[f32]| loss.check_target(y);
        match self.threads {
            0 | 1 => self.run(
                network,
                optimizer,
                loss,
                sets.into(),
                callback,
                &mut OneThread(Workspace::new()),
                L::CLASSIFIES,
                &by_loss,
            ),
            threads => {
                // Checked before the threads start, so a bad setting costs nothing.
                let sets = sets.into();
                self.check(&sets)?;
                let mut parallel = Threads(DataParallel::<N>::new(threads)?);
                self.run(
                    network,
                    optimizer,
                    loss,
                    sets,
                    callback,
                    &mut parallel,
                    L::CLASSIFIES,
                    &by_loss,
                )
            }
        }
    }

    /// The loop of both `fit`s, with the gradient computed by `gradient`.
    #[allow(clippy::too_many_arguments)]
    fn run<N, L, O, T, G>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        loss: L,
        sets: Sets<'_, N::Input, T>,
        callback: &mut dyn Callback,
        gradient: &mut G,
        loss_classifies: bool,
        by_loss: &dyn Fn(&[f32]) -> Result<(), super::error::InvalidData>,
    ) -> Result<History, TrainError>
    where
        N: Trainable<L, Scalar = f32>,
        L: Copy,
        O: Optimizer<N>,
        T: Target<N::Output>,
        G: BatchGradient<N, L>,
    {
        let train = sets.train;
        self.check(&sets)?;
        if self.check_data {
            let width = N::OUTPUT;
            check_values::<_, _, N::Output>(train, "training", width, by_loss)?;
            if let Some(v) = sets.validation {
                check_values::<_, _, N::Output>(v, "validation", width, by_loss)?;
            }
            if let Some(t) = sets.test {
                check_values::<_, _, N::Output>(t, "test", width, by_loss)?;
            }
        }

        // The training indices and the validation set: given, split off, or none.
        let split = match (sets.validation, self.validation_split) {
            (None, Some(fraction)) => Some(split(train.len(), fraction, self.seed)),
            _ => None,
        };
        let (held_inputs, held_targets): (Vec<N::Input>, Vec<T>) = match &split {
            Some(s) => s
                .validation
                .iter()
                .map(|&i| (train.inputs[i], train.targets[i]))
                .unzip(),
            None => (Vec::new(), Vec::new()),
        };
        let validation = match &split {
            Some(_) => Some(Samples::new(&held_inputs[..], &held_targets[..])),
            None => sets.validation,
        };
        if self.early_stopping.is_some() && validation.is_none() {
            return Err(TrainError::NoValidationSet);
        }
        let mut order: Vec<usize> = match split {
            Some(s) => s.train,
            None => (0..train.len()).collect(),
        };
        let n = order.len();
        let batch = self.batch_size.min(n);
        let batches = n.div_ceil(batch);
        let classification = classifies::<N, T>(self.task, loss_classifies);

        // Every buffer, allocated once. `check` saw at least one training sample, whose output
        // row serves as the fill value of the row buffers.
        let row = network.forward(&train.inputs[0]);
        let mut history = History::default();
        history
            .epochs
            .try_reserve_exact(self.epochs)
            .map_err(|_| TrainError::TooManyEpochs {
                epochs: self.epochs,
            })?;
        let mut batch_inputs = vec![train.inputs[0]; batch];
        let mut batch_targets = vec![row; batch];
        let mut workspace = Workspace::<N>::with_capacity(batch);
        let mut grads = N::zeros();
        // The weights before the current step (`kept[held]`, for the NaN guard to restore) and
        // the buffer the weights after it are copied into while they are checked.
        let mut kept = [N::zeros(), N::zeros()];
        let mut held = 0;
        let mut last_good = self.divergence.map(|_| N::zeros());
        let mut best = self.early_stopping.map(|_| N::zeros());
        let evaluator = |set: Option<Samples<'_, N::Input, T>>| {
            set.map(|s| Evaluator::<N>::new(batch.min(s.len()), row))
        };
        let mut validation_eval = evaluator(validation);
        let mut test_eval = evaluator(sets.test);

        let mut rng = ShuffleRng::seed_from_u64(self.seed);
        let mut base_rate = optimizer.learning_rate();
        let mut first_epoch = 1;
        let mut step = 0u64;
        let mut early: Option<Early> = None;
        let (mut start_loss, mut streak): (Option<f32>, usize) = (None, 0);
        let run_state =
            |epoch, step, rng: &ShuffleRng, base_rate, early: Option<Early>, start_loss, streak| {
                RunState {
                    epoch,
                    step,
                    rng: rng.state(),
                    learning_rate: base_rate,
                    samples: train.len(),
                    batch_size: self.batch_size,
                    seed: self.seed,
                    early: early.map(|e| (e.best, e.best_epoch, e.bad_epochs)),
                    divergence: (start_loss, streak),
                }
            };
        if let Some(path) = &self.resume {
            let expected = run_state(0, 0, &rng, base_rate, None, None, 0);
            let state = checkpoint::load(
                path,
                network,
                optimizer,
                best.as_mut(),
                &mut order,
                &expected,
            )?;
            rng = ShuffleRng::from_state(state.rng);
            base_rate = state.learning_rate;
            first_epoch = state.epoch + 1;
            step = state.step;
            early = state.early.map(|(best, best_epoch, bad_epochs)| Early {
                best,
                best_epoch,
                bad_epochs,
            });
            (start_loss, streak) = state.divergence;
            history.best_epoch = early.map(|e| e.best_epoch);
        }
        let total_steps = (self.epochs as u64).saturating_mul(batches as u64);
        let mut rate = optimizer.learning_rate();
        copy_parameters(network, &mut kept[held]);

        'epochs: for epoch in first_epoch..=self.epochs {
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
                    train.targets[i].write_row(y);
                }
                let diverged = |what| TrainError::NonFinite {
                    epoch,
                    batch: b + 1,
                    what,
                };
                if !self.schedule.is_constant() {
                    rate = self
                        .schedule
                        .rate(base_rate, Position::new(step, epoch, batches, total_steps));
                    optimizer.set_learning_rate(rate);
                }

                let (xs, ys) = (&batch_inputs[..len], &batch_targets[..len]);
                let batch_loss = gradient.gradient(network, loss, xs, ys, &mut grads)?;
                if !batch_loss.is_finite() {
                    return Err(diverged(NonFinite::Loss { value: batch_loss }));
                }
                if let Some((at, value)) = first_non_finite(&grads) {
                    return Err(diverged(NonFinite::Gradient { at, value }));
                }
                if let (Some(rule), Some(last_good)) = (self.divergence, last_good.as_mut()) {
                    let start = *start_loss.get_or_insert(batch_loss);
                    if batch_loss > rule.factor * start.max(rule.floor) {
                        if streak == 0 {
                            copy_parameters(network, last_good);
                        }
                        streak += 1;
                        if streak >= rule.batches {
                            copy_parameters(last_good, network);
                            return Err(TrainError::Diverged {
                                epoch,
                                batch: b + 1,
                                loss: batch_loss,
                                start,
                                factor: rule.factor,
                                batches: streak,
                            });
                        }
                    } else {
                        streak = 0;
                    }
                }
                let gradient_norm = self.clip_norm.map(|c| clip(&mut grads, c));
                optimizer.step(network, &grads);
                // One pass checks the new weights and keeps them for the next step's guard; the
                // network changes only in steps, so `kept[held]` holds the weights before this
                // one.
                let [first, second] = &mut kept;
                let (before, after) = if held == 0 {
                    (first, second)
                } else {
                    (second, first)
                };
                if !copy_finite(network, after) {
                    if let Some((at, value)) = first_non_finite(network) {
                        copy_parameters(before, network);
                        return Err(diverged(NonFinite::Weight { at, value }));
                    }
                }
                held = 1 - held;
                step += 1;

                loss_sum += f64::from(batch_loss) * len as f64;
                seen += len;
                let stats = BatchStats {
                    epoch,
                    epochs: self.epochs,
                    batch: b + 1,
                    batches,
                    loss: batch_loss,
                    epoch_loss: (loss_sum / seen as f64) as f32,
                    learning_rate: rate,
                    gradient_norm,
                };
                if callback.on_batch(&stats).is_break() {
                    history.stop = Stop::Callback {
                        epoch,
                        batch: Some(b + 1),
                    };
                    break 'epochs;
                }
            }

            let mut loss_of = |net: &N, x: &[N::Input], y: &[N::Output], ws: &mut Workspace<N>| {
                net.loss_batch(loss, x, y, ws).map_err(TrainError::from)
            };
            let (validation_metrics, validation_loss) = match (validation, validation_eval.as_mut())
            {
                (Some(v), Some(e)) => {
                    let (m, l) = e.evaluate(
                        network,
                        v,
                        classification,
                        &mut workspace,
                        Some(&mut loss_of),
                    )?;
                    (Some(m), l)
                }
                _ => (None, None),
            };
            let test_metrics = match (sets.test, test_eval.as_mut()) {
                (Some(t), Some(e)) => Some(
                    e.evaluate(network, t, classification, &mut workspace, None)?
                        .0,
                ),
                _ => None,
            };

            let mut is_best = false;
            if let (Some(rule), Some(best)) = (self.early_stopping, best.as_mut()) {
                let figure = match (rule.monitor, validation_metrics) {
                    (Monitor::ValidationMetric, Some(Metrics::Classification { accuracy })) => {
                        accuracy
                    }
                    (Monitor::ValidationMetric, Some(Metrics::Regression { r2, .. })) => r2,
                    _ => validation_loss.unwrap_or(f32::NAN),
                };
                let lower_is_better = rule.monitor == Monitor::ValidationLoss;
                is_best = match early {
                    None => true,
                    Some(e) if lower_is_better => figure < e.best - rule.min_delta,
                    Some(e) => figure > e.best + rule.min_delta,
                };
                if is_best {
                    copy_parameters(network, best);
                    early = Some(Early {
                        best: figure,
                        best_epoch: epoch,
                        bad_epochs: 0,
                    });
                } else if let Some(e) = early.as_mut() {
                    e.bad_epochs += 1;
                }
                history.best_epoch = early.map(|e| e.best_epoch);
            }

            let stats = EpochStats {
                epoch,
                epochs: self.epochs,
                train_loss: (loss_sum / n as f64) as f32,
                learning_rate: rate,
                validation_loss,
                validation: validation_metrics,
                test: test_metrics,
                test_accuracy: test_metrics.and_then(|m| m.accuracy()),
                best: is_best,
            };
            history.epochs.push(stats);
            if let Some(path) = &self.checkpoint {
                let state = run_state(epoch, step, &rng, base_rate, early, start_loss, streak);
                checkpoint::save(path, network, optimizer, best.as_ref(), &order, &state)?;
            }
            if callback.on_epoch(&stats).is_break() {
                history.stop = Stop::Callback { epoch, batch: None };
                break;
            }
            if let (Some(rule), Some(e)) = (self.early_stopping, early) {
                if e.bad_epochs >= rule.patience {
                    history.stop = Stop::EarlyStopped {
                        best_epoch: e.best_epoch,
                    };
                    break;
                }
            }
        }

        let restore = self.early_stopping.is_some_and(|r| r.restore_best)
            && !matches!(history.stop, Stop::Callback { .. });
        if let (true, Some(best), Some(_)) = (restore, best.as_ref(), early) {
            copy_parameters(best, network);
        }
        Ok(history)
    }

    /// The settings and the sets, checked before anything is allocated or trained.
    fn check<X, T>(&self, sets: &Sets<'_, X, T>) -> Result<(), TrainError> {
        if self.epochs == 0 {
            return Err(TrainError::ZeroEpochs);
        }
        if self.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        let setting = |name, value: String, expected| {
            Err(TrainError::Setting {
                name,
                value,
                expected,
            })
        };
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return setting("clip_norm", c.to_string(), "a finite number above 0");
            }
        }
        if let Some(f) = self.validation_split {
            if !(f > 0.0 && f < 1.0) {
                return setting("validation_split", f.to_string(), "a share between 0 and 1");
            }
        }
        if let Some(e) = self.early_stopping {
            if e.patience == 0 {
                return setting("early_stopping.patience", "0".into(), "at least 1");
            }
            if !(e.min_delta.is_finite() && e.min_delta >= 0.0) {
                return setting(
                    "early_stopping.min_delta",
                    e.min_delta.to_string(),
                    "a finite number of at least 0",
                );
            }
        }
        if let Some(d) = self.divergence {
            if !(d.factor.is_finite() && d.factor > 1.0) {
                return setting(
                    "divergence.factor",
                    d.factor.to_string(),
                    "a finite number above 1",
                );
            }
            if d.batches == 0 {
                return setting("divergence.batches", "0".into(), "at least 1");
            }
            if !(d.floor.is_finite() && d.floor > 0.0) {
                return setting(
                    "divergence.floor",
                    d.floor.to_string(),
                    "a finite number above 0",
                );
            }
        }
        self.schedule.check()?;
        check_set(sets.train, "training")?;
        if sets.train.is_empty() {
            return Err(TrainError::EmptyTrainingSet);
        }
        if self.validation_split.is_some() && sets.validation.is_none() && sets.train.len() < 2 {
            return setting(
                "validation_split",
                format!("{:?} of 1 sample", self.validation_split),
                "a training set of at least 2 samples to split",
            );
        }
        if let Some(v) = sets.validation {
            check_set(v, "validation")?;
            if v.is_empty() {
                return Err(TrainError::EmptyValidationSet);
            }
        }
        if let Some(test) = sets.test {
            check_set(test, "test")?;
            if test.is_empty() {
                return Err(TrainError::EmptyTestSet);
            }
        }
        Ok(())
    }
}

/// How a batch's gradient is computed: on the calling thread, or split across threads.
trait BatchGradient<N: Trainable<L, Scalar = f32>, L> {
    fn gradient(
        &mut self,
        network: &N,
        loss: L,
        inputs: &[N::Input],
        targets: &[N::Output],
        grads: &mut N,
    ) -> Result<f32, crate::error::Error>;
}

/// The calling thread alone, with its workspace.
struct OneThread<N: Network<Scalar = f32>>(Workspace<N>);

impl<N: Trainable<L, Scalar = f32>, L> BatchGradient<N, L> for OneThread<N> {
    fn gradient(
        &mut self,
        network: &N,
        loss: L,
        inputs: &[N::Input],
        targets: &[N::Output],
        grads: &mut N,
    ) -> Result<f32, crate::error::Error> {
        network.gradient_batch(loss, inputs, targets, grads, &mut self.0)
    }
}

/// [`DataParallel`]'s threads.
struct Threads<N: Network<Scalar = f32>>(DataParallel<N>);

impl<N, L> BatchGradient<N, L> for Threads<N>
where
    N: Trainable<L, Scalar = f32> + Send + Sync,
    N::Input: Sync,
    N::Output: Sync,
    L: Copy + Send,
{
    fn gradient(
        &mut self,
        network: &N,
        loss: L,
        inputs: &[N::Input],
        targets: &[N::Output],
        grads: &mut N,
    ) -> Result<f32, crate::error::Error> {
        self.0.gradient_batch(network, loss, inputs, targets, grads)
    }
}

/// Scales `grads` to global norm at most `max`; returns the norm before: `‖g‖₂ = √(Σ g²)`
/// over every parameter (summed in `f64`), and `g ← g · (max/‖g‖₂)` if `‖g‖₂ > max`.
pub(super) fn clip<N: Network<Scalar = f32>>(grads: &mut N, max: f32) -> f32 {
    let squares: f64 = grads
        .parameters()
        .flatten()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum();
    let norm = squares.sqrt();
    if norm > f64::from(max) {
        let scale = (f64::from(max) / norm) as f32;
        for p in grads.parameters_mut() {
            for g in p.iter_mut() {
                *g *= scale;
            }
        }
    }
    norm as f32
}

/// The first parameter of `network` that is NaN or infinite, and its value.
///
/// Each slice is first tested by [`all_finite`] (a pass without early exit that the compiler
/// vectorises); only a slice that fails it is searched value by value for the first one.
fn first_non_finite<N: Network<Scalar = f32>>(network: &N) -> Option<(Parameter, f32)> {
    network
        .parameters()
        .enumerate()
        .find_map(|(slice, values)| {
            if all_finite(values) {
                return None;
            }
            let index = values.iter().position(|v| !v.is_finite())?;
            Some((Parameter::locate(N::LAYERS, slice, index)?, values[index]))
        })
}

/// Whether every value is finite: its exponent bits are not all ones (IEEE 754 binary32).
///
/// The test of `f32::is_finite` folded with `|` over chunks of 64 values, with no early exit,
/// so that the compiler turns it into vector compares (a training step scans every gradient
/// and every weight with it; `position(|v| !v.is_finite())` made that scan one value at a
/// time, a tenth of the step at the seminar's size).
fn all_finite(values: &[f32]) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    let flag = |f: u32, v: &f32| f | u32::from(v.to_bits() & EXPONENT == EXPONENT);
    let mut chunks = values.chunks_exact(64);
    let mut flags = 0u32;
    for chunk in &mut chunks {
        flags |= chunk.iter().fold(0, flag);
    }
    chunks.remainder().iter().fold(flags, flag) == 0
}

/// [`copy_parameters`] and [`all_finite`] over every tensor of the state in one pass: copies
/// `from` into `to` and returns whether every value copied is finite.
fn copy_finite<N: Network<Scalar = f32>>(from: &N, to: &mut N) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    let mut flags = 0u32;
    for (to, from) in to.state_mut().zip(from.state()) {
        let (mut to_chunks, mut from_chunks) = (to.chunks_exact_mut(64), from.chunks_exact(64));
        for (t, f) in (&mut to_chunks).zip(&mut from_chunks) {
            let mut chunk = 0u32;
            for (t, &f) in t.iter_mut().zip(f) {
                *t = f;
                chunk |= u32::from(f.to_bits() & EXPONENT == EXPONENT);
            }
            flags |= chunk;
        }
        for (t, &f) in to_chunks
            .into_remainder()
            .iter_mut()
            .zip(from_chunks.remainder())
        {
            *t = f;
            flags |= u32::from(f.to_bits() & EXPONENT == EXPONENT);
        }
    }
    flags == 0
}

/// Copies every weight and bias of `from` into `to`, a network of the same type (batch
/// normalisation's running statistics too).
pub(super) fn copy_parameters<N: Network<Scalar = f32>>(from: &N, to: &mut N) {
    for (to, from) in to.state_mut().zip(from.state()) {
        to.copy_from_slice(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::MeanSquaredError;
    use crate::optim::GradientDescent;
    use crate::test_network::Line;
    use rand::SeedableRng;

    /// The first weight of the first tensor, checked to be where the test says it is.
    fn located(
        layers: &[crate::model::LayerShape],
        layer: &str,
        neuron: usize,
        input: Option<usize>,
    ) -> Parameter {
        let p = Parameter::locate(layers, 0, 0).expect("the network has a first weight");
        assert_eq!((p.layer, p.neuron(), p.input()), (layer, neuron, input));
        p
    }

    fn params<N: Network<Scalar = f32>>(net: &N) -> Vec<u32> {
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
    fn all_finite_is_is_finite_on_every_class_of_value() {
        // Each special value at each position of slices shorter and longer than a chunk of 64, and
        // in the tail: the test must agree with `f32::is_finite` everywhere.
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xffc0_1234),
        ];
        let finite = [
            0.0,
            -0.0,
            1.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::from_bits(0x7f7f_ffff),
        ];
        for len in [0, 1, 17, 63, 64, 65, 150] {
            let mut values: Vec<f32> = (0..len).map(|i| finite[i % finite.len()]).collect();
            assert!(all_finite(&values));
            for at in 0..len {
                for &s in &specials {
                    let keep = values[at];
                    values[at] = s;
                    assert!(!all_finite(&values), "{s} at {at} of {len}");
                    values[at] = keep;
                }
            }
        }
    }

    #[test]
    fn copy_finite_copies_every_value_and_flags_a_non_finite_one() {
        let mut from = Line::zeros();
        for (i, w) in from.parameters_mut().flatten().enumerate() {
            *w = i as f32 + 0.5;
        }
        let mut to = Line::zeros();
        assert!(copy_finite(&from, &mut to));
        assert_eq!(to, from);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut from = from.clone();
            *from.parameters_mut().last().unwrap().last_mut().unwrap() = bad;
            let mut to = Line::zeros();
            assert!(!copy_finite(&from, &mut to));
            assert_eq!(params(&to), params(&from));
        }
    }

    #[test]
    fn invalid_configurations_are_errors_and_touch_nothing() {
        let (xs, ys) = line_data();
        let mut net = Line::zeros();
        let mut sgd = GradientDescent::new(0.1);
        let mut calls = 0;
        type Set<'a> = Samples<'a, [f32; 1], [f32; 1]>;
        let mut run = |t: Trainer, train: Set<'_>, test: Option<Set<'_>>| {
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
                    at: located(Line::LAYERS, "layer", 0, Some(0)),
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
                    at: located(Line::LAYERS, "layer", 0, Some(0)),
                    value: f32::NEG_INFINITY
                }
            }
        );
        assert_eq!(net, Line::zeros());
    }
}
