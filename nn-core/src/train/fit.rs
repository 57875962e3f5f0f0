//! The training loop: [`Trainer::fit`].

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::config::Trainer;
use super::error::{NonFinite, Parameter, TrainError};
use super::metrics::accuracy_into;
use super::report::{BatchStats, EpochStats, History, Progress};
use super::samples::{check_set, Samples};
use crate::network::{Network, Train, Workspace};
use crate::optim::Optimizer;

impl Trainer {
    /// Trains `network` with `optimizer` on the mean `loss` over mini-batches of `train`, for
    /// [`epochs`](Trainer::epochs) epochs, evaluating the accuracy on `test` after each epoch
    /// and calling `hook` after every batch and epoch. Returns each epoch's training loss and
    /// test accuracy.
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

/// The first parameter of `network` that is NaN or infinite, and its value.
fn first_non_finite<N: Network>(network: &N) -> Option<(Parameter, f32)> {
    network
        .parameters()
        .enumerate()
        .find_map(|(slice, values)| {
            let index = values.iter().position(|v| !v.is_finite())?;
            Some((Parameter::locate(N::LAYERS, slice, index)?, values[index]))
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
    use crate::loss::MeanSquaredError;
    use crate::optim::GradientDescent;
    use crate::test_network::Line;

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
