//! The steered trainer (`TrainConfig::fit`): callbacks, schedules, early stopping, validation
//! and metrics, clipping, targets, data checks, divergence and threads, each checked against an
//! independent reference (a hand-written loop, a closed form, a second run).

use std::ops::ControlFlow;

use nn::train::{callback, split, InvalidData, Schedule, Stop};
use nn::{
    CrossEntropy, Divergence, EarlyStopping, GradientDescent, MeanSquaredError, Metrics, Momentum,
    Network, Optimizer, Progress, Samples, Sets, TrainConfig, TrainError, Workspace,
};
use nn_test_support::{assert_mentions, Data};

nn::network! {
    /// A small classifier.
    #[derive(Clone, Debug, PartialEq)]
    struct Small: 4 -> 8 tanh -> 3 softmax;

    /// Another network of the same shape: the same samples feed it.
    #[derive(Clone, Debug, PartialEq)]
    struct Twin: 4 -> 5 relu -> 3 softmax;

    /// A regression.
    #[derive(Clone, Debug, PartialEq)]
    struct Reg: 3 -> 6 tanh -> 1 linear;
}

fn bits<N: Network<Scalar = f32>>(net: &N) -> Vec<u32> {
    net.parameters().flatten().map(|w| w.to_bits()).collect()
}

/// 120 samples of 3 classes: the class is the largest of the first three inputs.
fn classes(seed: u64) -> (Vec<[f32; 4]>, Vec<u8>, Vec<[f32; 3]>) {
    let mut d = Data(seed);
    let xs = d.rows::<4>(120, Data::signed);
    let labels: Vec<u8> = xs.iter().map(|x| nn::argmax(&x[..3]) as u8).collect();
    let one_hot = labels
        .iter()
        .map(|&l| core::array::from_fn(|c| f32::from(u8::from(c == usize::from(l)))))
        .collect();
    (xs, labels, one_hot)
}

/// y = x₀ - 2x₁ + 0.5x₂ + noise-free, 90 samples.
fn regression() -> (Vec<[f32; 3]>, Vec<[f32; 1]>) {
    let mut d = Data(5);
    let xs = d.rows::<3>(90, Data::signed);
    let ys = xs
        .iter()
        .map(|x| [x[0] - 2.0 * x[1] + 0.5 * x[2]])
        .collect();
    (xs, ys)
}

fn quiet() -> impl FnMut(&Progress) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

#[test]
fn the_callback_can_stop_a_run_mid_epoch() {
    let (xs, _, ys) = classes(1);
    let mut net = Small::new(1);
    let mut batches = 0;
    let history = TrainConfig::new()
        .epochs(5)
        .batch_size(10)
        .fit(
            &mut net,
            &mut Momentum::new(0.1, 0.9),
            CrossEntropy,
            Samples::new(&xs, &ys),
            &mut callback(|p| match p {
                Progress::Batch(b) if b.epoch == 2 && b.batch == 3 => ControlFlow::Break(()),
                Progress::Batch(_) => {
                    batches += 1;
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Continue(()),
            }),
        )
        .unwrap();
    assert_eq!(batches, 12 + 2);
    assert_eq!(history.epochs.len(), 1);
    assert_eq!(
        history.stop,
        Stop::Callback {
            epoch: 2,
            batch: Some(3)
        }
    );
}

#[test]
fn labels_train_exactly_as_one_hot_rows() {
    let (xs, labels, one_hot) = classes(2);
    let run = |f: &mut dyn FnMut(&mut Small)| {
        let mut net = Small::new(3);
        f(&mut net);
        bits(&net)
    };
    let config = TrainConfig::new().epochs(3).batch_size(16).seed(4);
    let with_rows = run(&mut |net| {
        config
            .fit(
                net,
                &mut GradientDescent::new(0.2),
                CrossEntropy,
                Samples::new(&xs, &one_hot),
                &mut (),
            )
            .map(drop)
            .unwrap()
    });
    let with_labels = run(&mut |net| {
        config
            .fit(
                net,
                &mut GradientDescent::new(0.2),
                CrossEntropy,
                Samples::new(&xs, &labels),
                &mut (),
            )
            .map(drop)
            .unwrap()
    });
    assert_eq!(with_rows, with_labels);
    // The same samples feed another network of the same shapes.
    let mut twin = Twin::new(1);
    let history = config
        .fit(
            &mut twin,
            &mut GradientDescent::new(0.2),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap();
    assert_eq!(history.epochs.len(), 3);
}

#[test]
fn a_schedule_sets_every_batchs_rate_by_its_closed_form() {
    let (xs, ys) = regression();
    // 90 samples in batches of 30: 3 steps an epoch, 4 epochs.
    for (schedule, want) in [
        (
            Schedule::step(2, 0.5),
            Box::new(|_t: u64, e: usize| 0.1 * 0.5f64.powi(((e - 1) / 2) as i32))
                as Box<dyn Fn(u64, usize) -> f64>,
        ),
        (
            Schedule::exponential(0.9),
            Box::new(|_t, e| 0.1 * f64::from(0.9f32).powi(e as i32 - 1)),
        ),
        (
            Schedule::cosine(3, 0.01),
            Box::new(|t, _| {
                if t < 3 {
                    f64::from(0.1f32) * (t + 1) as f64 / 3.0
                } else {
                    let done = (t - 3) as f64 / 9.0;
                    0.01f32 as f64
                        + (f64::from(0.1f32) - f64::from(0.01f32))
                            * 0.5
                            * (1.0 + (std::f64::consts::PI * done).cos())
                }
            }),
        ),
        (
            Schedule::custom(|base, p| base / (1 + p.step) as f32),
            Box::new(|t, _| f64::from(0.1f32 / (1 + t) as f32)),
        ),
    ] {
        let mut net = Reg::new(1);
        let mut sgd = GradientDescent::new(0.1);
        let mut seen = Vec::new();
        TrainConfig::new()
            .epochs(4)
            .batch_size(30)
            .schedule(schedule.clone())
            .fit(
                &mut net,
                &mut sgd,
                MeanSquaredError,
                Samples::new(&xs, &ys),
                &mut callback(|p| {
                    if let Progress::Batch(b) = p {
                        seen.push((b.epoch, b.learning_rate));
                    }
                    ControlFlow::Continue(())
                }),
            )
            .unwrap();
        assert_eq!(seen.len(), 12);
        for (t, &(epoch, rate)) in seen.iter().enumerate() {
            let w = want(t as u64, epoch);
            assert!(
                (f64::from(rate) - w).abs() <= 1e-6 * w.abs().max(1e-3),
                "{schedule:?} step {t}: {rate} vs {w}"
            );
        }
        // The optimizer holds the last rate.
        assert_eq!(Optimizer::<Reg>::learning_rate(&sgd), seen[11].1);
    }
}

#[test]
fn clipping_scales_the_gradient_to_the_global_norm() {
    // One full batch, plain descent, clip at c: the step is -α·g·min(1, c/‖g‖) with g from a
    // hand-written gradient_batch.
    let (xs, ys) = regression();
    let start = Reg::new(2);
    let mut grads = Reg::zeros();
    let mut ws = Workspace::new();
    start
        .gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    let norm: f64 = grads
        .parameters()
        .flatten()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    let c = (norm / 4.0) as f32;
    let mut net = start.clone();
    let mut reported = None;
    TrainConfig::new()
        .epochs(1)
        .batch_size(90)
        .clip_norm(c)
        .fit(
            &mut net,
            &mut GradientDescent::new(0.5),
            MeanSquaredError,
            Samples::new(&xs, &ys),
            &mut callback(|p| {
                if let Progress::Batch(b) = p {
                    reported = b.gradient_norm;
                }
                ControlFlow::Continue(())
            }),
        )
        .unwrap();
    let reported = f64::from(reported.unwrap());
    assert!(
        (reported - norm).abs() < 1e-5 * norm,
        "{reported} vs {norm}"
    );
    let scale = f64::from(c) / norm;
    for ((w, w0), g) in net
        .parameters()
        .flatten()
        .zip(start.parameters().flatten())
        .zip(grads.parameters().flatten())
    {
        let want = f64::from(*w0) - 0.5 * f64::from(*g) * scale;
        assert!((f64::from(*w) - want).abs() < 1e-5, "{w} vs {want}");
    }
}

#[test]
fn a_split_is_seeded_and_disjoint() {
    let a = split(100, 0.25, 9);
    assert_eq!(a, split(100, 0.25, 9));
    assert_ne!(a, split(100, 0.25, 10));
    assert_eq!((a.train.len(), a.validation.len()), (75, 25));
    let mut all: Vec<usize> = a.train.iter().chain(&a.validation).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    // At least one sample each side.
    let b = split(2, 0.01, 1);
    assert_eq!((b.train.len(), b.validation.len()), (1, 1));
}

#[test]
fn early_stopping_restores_the_best_epochs_weights() {
    // A large learning rate makes the validation loss wander; whichever epoch was best, the
    // network must end with exactly the weights of a run of that many epochs.
    let (xs, _, ys) = classes(3);
    let (vx, _, vy) = classes(4);
    let config = TrainConfig::new().epochs(30).batch_size(8).seed(2);
    let mut net = Small::new(5);
    let mut validation_losses = Vec::new();
    let history = config
        .clone()
        .early_stopping(EarlyStopping::new(3))
        .fit(
            &mut net,
            &mut Momentum::new(0.5, 0.9),
            CrossEntropy,
            Sets::new(Samples::new(&xs, &ys)).validation(Samples::new(&vx, &vy)),
            &mut callback(|p| {
                if let Progress::Epoch(e) = p {
                    validation_losses.push(e.validation_loss.unwrap());
                }
                ControlFlow::Continue(())
            }),
        )
        .unwrap();
    let best_epoch = history.best_epoch.unwrap();
    // The best epoch has the lowest validation loss, and the run stopped 3 epochs after it.
    let lowest = validation_losses
        .iter()
        .copied()
        .fold(f32::INFINITY, f32::min);
    assert_eq!(validation_losses[best_epoch - 1], lowest);
    assert_eq!(history.stop, Stop::EarlyStopped { best_epoch });
    assert_eq!(
        history.epochs.len(),
        best_epoch + 3,
        "{validation_losses:?}"
    );
    assert!(history.epochs[best_epoch - 1].best);

    let mut reference = Small::new(5);
    config
        .epochs(best_epoch)
        .fit(
            &mut reference,
            &mut Momentum::new(0.5, 0.9),
            CrossEntropy,
            Samples::new(&xs, &ys),
            &mut (),
        )
        .unwrap();
    assert_eq!(bits(&net), bits(&reference));
}

#[test]
fn validation_and_test_metrics_fit_the_task() {
    // A 1-output regression reports MSE/MAE/R², never an accuracy.
    let (xs, ys) = regression();
    let mut net = Reg::new(1);
    let history = TrainConfig::new()
        .epochs(40)
        .batch_size(10)
        .validation_split(0.2)
        .fit(
            &mut net,
            &mut Momentum::new(0.05, 0.9),
            MeanSquaredError,
            Sets::new(Samples::new(&xs, &ys)).test(Samples::new(&xs[..20], &ys[..20])),
            &mut quiet(),
        )
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.test_accuracy, None);
    let Some(Metrics::Regression { mse, mae, r2 }) = last.test else {
        panic!("a regression's metrics: {last:?}");
    };
    // The same figures from `nn::evaluate` and by hand.
    assert_eq!(
        nn::evaluate(&net, Samples::new(&xs[..20], &ys[..20]), nn::Task::Auto),
        Ok(last.test.unwrap())
    );
    let by_hand: f64 = xs[..20]
        .iter()
        .zip(&ys[..20])
        .map(|(x, y)| f64::from(net.forward(x)[0] - y[0]).powi(2))
        .sum::<f64>()
        / 20.0;
    assert!((f64::from(mse) - by_hand).abs() < 1e-6);
    assert!(mae > 0.0 && r2 > 0.9, "R² {r2}");
    // The validation split gave a validation loss each epoch: the mean squared error there.
    assert_eq!(history.validation_loss().count(), 40);
    assert!(matches!(last.validation, Some(Metrics::Regression { .. })));

    // A classifier reports accuracy, and a confusion matrix on demand.
    let (cx, labels, _) = classes(6);
    let mut clf = Small::new(2);
    let history = TrainConfig::new()
        .epochs(30)
        .fit(
            &mut clf,
            &mut Momentum::new(0.1, 0.9),
            CrossEntropy,
            Sets::new(Samples::new(&cx, &labels)).test(Samples::new(&cx, &labels)),
            &mut (),
        )
        .unwrap();
    let accuracy = history.last().unwrap().test_accuracy.unwrap();
    let matrix = nn::confusion_matrix(&clf, Samples::new(&cx, &labels)).unwrap();
    assert_eq!(matrix.accuracy(), accuracy);
    assert_eq!(
        (0..3)
            .map(|t| matrix.row(t).iter().sum::<u64>())
            .sum::<u64>(),
        120
    );
    assert!(accuracy > 0.8, "{accuracy}");
}

#[test]
fn data_is_checked_once_before_training() {
    let (mut xs, mut labels, mut ys) = classes(7);
    let mut net = Small::new(1);
    let start = net.clone();
    let mut fit = |xs: &[[f32; 4]], ys: &[[f32; 3]]| {
        TrainConfig::new().fit(
            &mut net,
            &mut GradientDescent::new(0.1),
            CrossEntropy,
            Samples::new(xs, ys),
            &mut (),
        )
    };
    // Cross-entropy targets of -5 are refused, naming the sample.
    ys[17][1] = -5.0;
    let err = fit(&xs, &ys).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::InvalidData {
                set: "training",
                sample: 17,
                what: InvalidData::TargetOutOfRange { index: 1, .. }
            }
        ),
        "{err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["sample 17 of the training set", "-5", "cross-entropy"],
    );
    ys[17][1] = 0.0;
    xs[3][2] = f32::NAN;
    let err = fit(&xs, &ys).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::InvalidData {
                sample: 3,
                what: InvalidData::InputNotFinite { index: 2, .. },
                ..
            }
        ),
        "{err:?}"
    );
    xs[3][2] = 0.0;
    assert_eq!(net, start);
    // A NaN in the test set, and a label out of range.
    let mut tx = xs.clone();
    tx[0][0] = f32::INFINITY;
    let err = TrainConfig::new()
        .fit(
            &mut net,
            &mut GradientDescent::new(0.1),
            CrossEntropy,
            Sets::new(Samples::new(&xs, &ys)).test(Samples::new(&tx, &ys)),
            &mut (),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::InvalidData {
                set: "test",
                sample: 0,
                ..
            }
        ),
        "{err:?}"
    );
    labels[9] = 3;
    let err = TrainConfig::new()
        .fit(
            &mut net,
            &mut GradientDescent::new(0.1),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap_err();
    assert_mentions(&err.to_string(), &["sample 9", "label is 3", "3 outputs"]);
    assert_eq!(net, start);
}

#[test]
fn a_finite_blow_up_is_stopped_with_the_last_good_weights() {
    // Learning rate 1e6 with cross-entropy: the loss explodes but stays finite.
    let (xs, labels, _) = classes(8);
    let mut net = Small::new(1);
    let mut good = Vec::new();
    let err = TrainConfig::new()
        .epochs(20)
        .batch_size(8)
        .fit(
            &mut net,
            &mut GradientDescent::new(1e6),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut callback(|p| {
                if let Progress::Batch(b) = p {
                    good.push(b.loss);
                }
                ControlFlow::Continue(())
            }),
        )
        .unwrap_err();
    let TrainError::Diverged {
        start,
        factor,
        batches,
        loss,
        ..
    } = err
    else {
        panic!("expected a divergence: {err:?}");
    };
    assert_eq!((factor, batches), (1000.0, 10));
    assert!(loss > 1000.0 * start);
    assert!(net.parameters().flatten().all(|w| w.is_finite()));
    // Opting out: the run goes on (and ends Ok or at a NaN guard, not at the rule).
    let mut net = Small::new(1);
    let result = TrainConfig::new()
        .epochs(2)
        .batch_size(8)
        .divergence(None)
        .fit(
            &mut net,
            &mut GradientDescent::new(1e6),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        );
    assert!(
        !matches!(result, Err(TrainError::Diverged { .. })),
        "{result:?}"
    );
    // A stricter rule fires sooner.
    let mut net = Small::new(1);
    let err = TrainConfig::new()
        .epochs(20)
        .batch_size(8)
        .divergence(Some(Divergence::new(10.0, 2)))
        .fit(
            &mut net,
            &mut GradientDescent::new(1e6),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap_err();
    assert!(
        matches!(err, TrainError::Diverged { batches: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn settings_out_of_range_are_errors() {
    let (xs, labels, _) = classes(9);
    let mut net = Small::new(1);
    let mut fit = |config: TrainConfig| {
        config.fit(
            &mut net,
            &mut GradientDescent::new(0.1),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
    };
    assert!(matches!(
        fit(TrainConfig::new().clip_norm(0.0)),
        Err(TrainError::Setting {
            name: "clip_norm",
            ..
        })
    ));
    assert!(matches!(
        fit(TrainConfig::new().validation_split(1.0)),
        Err(TrainError::Setting { .. })
    ));
    assert_eq!(
        fit(TrainConfig::new().early_stopping(EarlyStopping::new(2))),
        Err(TrainError::NoValidationSet)
    );
    assert!(matches!(
        fit(TrainConfig::new().schedule(Schedule::step(0, 0.5))),
        Err(TrainError::Setting { .. })
    ));
    assert!(matches!(
        fit(TrainConfig::new().threads(1 << 20)),
        Err(TrainError::Network(nn::Error::TooManyThreads { .. }))
    ));
    assert_eq!(net, Small::new(1));
}

#[test]
fn two_threads_train_and_replay_their_bits() {
    // Batches of 256 are split across both threads (two chunks of 128 ≥ min_chunk 64).
    let mut d = Data(11);
    let xs = d.rows::<4>(1024, Data::signed);
    let labels: Vec<u8> = xs.iter().map(|x| nn::argmax(&x[..3]) as u8).collect();
    let run = |threads| {
        let mut net = Small::new(1);
        let history = TrainConfig::new()
            .epochs(5)
            .batch_size(256)
            .threads(threads)
            .fit(
                &mut net,
                &mut Momentum::new(0.1, 0.9),
                CrossEntropy,
                Samples::new(&xs, &labels),
                &mut (),
            )
            .unwrap();
        (bits(&net), history.last().unwrap().train_loss)
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(two, run(2));
    // The same training, rounded differently: close, not equal bits.
    assert!((one.1 - two.1).abs() < 1e-4, "{} vs {}", one.1, two.1);
}

#[test]
fn a_dataset_converts_to_samples() {
    let mnist = nn::data::Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    let s: Samples<'_, [f32; 784], [f32; 10]> = (&mnist.test).into();
    assert_eq!(s.len(), 1000);
    let labelled = mnist.test.labelled();
    assert_eq!(labelled.targets[7], mnist.test.labels[7]);
    nn::network! { struct Digits: 784 -> 10 softmax; }
    let net = Digits::new(1);
    assert_eq!(nn::accuracy(&net, s), nn::accuracy(&net, labelled));
}

#[test]
fn the_shipped_table_reads_as_documented() {
    // data/README.md: 569 samples, 30 features, 212 malignant (0) and 357 benign (1).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/breast-cancer/wdbc.csv");
    let table = nn::data::Table::<30, 1>::read(path, &["target"]).unwrap();
    let labels = table.labels(2).unwrap();
    assert_eq!(table.len(), 569);
    assert_eq!(table.features[0], "mean_radius");
    assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 212);
    assert_eq!(table.inputs[0][0], 17.99);
}

#[test]
fn the_tabular_pipeline_beats_the_majority_class() {
    // What `examples/tabular.rs` does, with its defaults: a seeded test split, standardisation
    // fit on the training part, labels, a validation split, a cosine schedule, early stopping.
    nn::network! { struct Diagnosis: 30 -> 16 relu -> 2 softmax; }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/breast-cancer/wdbc.csv");
    let table = nn::data::Table::<30, 1>::read(path, &["target"]).unwrap();
    let labels = table.labels(2).unwrap();
    let parts = split(table.len(), 0.2, 1);
    let gather = |idx: &[usize]| -> (Vec<[f32; 30]>, Vec<u8>) {
        idx.iter().map(|&i| (table.inputs[i], labels[i])).unzip()
    };
    let (mut train_x, train_y) = gather(&parts.train);
    let (mut test_x, test_y) = gather(&parts.validation);
    let scale = nn::data::Standardizer::fit(&train_x).unwrap();
    scale.apply(&mut train_x);
    scale.apply(&mut test_x);
    let mut net = Diagnosis::new(1);
    let history = TrainConfig::new()
        .epochs(300)
        .seed(1)
        .validation_split(0.2)
        .schedule(Schedule::cosine(12, 0.0))
        .early_stopping(EarlyStopping::new(25))
        .fit(
            &mut net,
            &mut nn::Adam::new(3e-3).with_weight_decay(1e-2),
            CrossEntropy,
            Sets::new(Samples::new(&train_x, &train_y)).test(Samples::new(&test_x, &test_y)),
            &mut (),
        )
        .unwrap();
    assert!(
        matches!(history.stop, Stop::EarlyStopped { .. }),
        "{:?}",
        history.stop
    );
    let accuracy = nn::accuracy(&net, Samples::new(&test_x, &test_y)).unwrap();
    let majority = test_y.iter().filter(|&&l| l == 1).count() as f32 / test_y.len() as f32;
    // 97.4% against 61.4% with these seeds; a broken pipeline (no standardisation, a wrong
    // split) stays far below 90%.
    assert!(
        accuracy > 0.9 && accuracy > majority + 0.25,
        "{accuracy} vs majority {majority}"
    );
}
