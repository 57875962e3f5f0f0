//! Checkpoints: a run stopped after epoch k and resumed from its checkpoint ends with the same
//! weights, bit for bit, as the run that was never stopped.

use std::ops::ControlFlow;

use nn::train::{callback, CheckpointError, Schedule, Stop};
use nn::{
    Adam, CrossEntropy, EarlyStopping, Momentum, Network, Progress, Samples, TrainConfig,
    TrainError,
};
use nn_test_support::{assert_mentions, file_names, Data};

nn::network! {
    #[derive(Clone, Debug, PartialEq)]
    struct Small: 4 -> 8 tanh -> 3 softmax;
}

fn bits<N: Network<Scalar = f32>>(net: &N) -> Vec<u32> {
    net.parameters().flatten().map(|w| w.to_bits()).collect()
}

fn data() -> (Vec<[f32; 4]>, Vec<u8>) {
    let mut d = Data(21);
    let xs = d.rows::<4>(150, Data::signed);
    let labels = xs.iter().map(|x| nn::argmax(&x[..3]) as u8).collect();
    (xs, labels)
}

/// Every state a checkpoint must carry: Adam's moments and step count, a schedule's position,
/// the shuffling generator, a validation split and early stopping's best weights.
fn config() -> TrainConfig {
    TrainConfig::new()
        .epochs(7)
        .batch_size(16)
        .seed(3)
        .validation_split(0.2)
        .schedule(Schedule::cosine(5, 1e-4))
        .early_stopping(EarlyStopping::new(100))
        .clip_norm(5.0)
}

#[test]
fn stop_after_epoch_k_and_resume_gives_the_same_bits() -> Result<(), Box<dyn std::error::Error>> {
    let (xs, labels) = data();
    let dir = tempfile::tempdir()?;

    let mut whole = Small::new(1);
    let history = config().fit(
        &mut whole,
        &mut Adam::new(0.01).with_weight_decay(0.01),
        CrossEntropy,
        Samples::new(&xs, &labels),
        &mut (),
    )?;
    assert_eq!(history.stop, Stop::Completed);

    for k in [1, 3, 6] {
        let path = dir.path().join(format!("run-{k}.safetensors"));
        let mut first = Small::new(1);
        let history = config().checkpoint(&path).fit(
            &mut first,
            &mut Adam::new(0.01).with_weight_decay(0.01),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut callback(|p| match p {
                Progress::Epoch(e) if e.epoch == k => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }),
        )?;
        assert_eq!(
            history.stop,
            Stop::Callback {
                epoch: k,
                batch: None
            }
        );

        // A fresh network and optimizer, nothing in common with the first run but the file.
        let mut resumed = Small::new(77);
        let mut adam = Adam::new(0.5).with_weight_decay(0.01);
        let history = config().resume(&path).fit(
            &mut resumed,
            &mut adam,
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )?;
        assert_eq!(history.epochs.first().map(|e| e.epoch), Some(k + 1));
        assert_eq!(bits(&resumed), bits(&whole), "stopped after epoch {k}");
    }
    // Written atomically: no temporary file is left beside the checkpoints.
    assert_eq!(
        file_names(dir.path())?,
        [
            "run-1.safetensors",
            "run-3.safetensors",
            "run-6.safetensors"
        ]
    );
    Ok(())
}

#[test]
fn a_checkpoint_of_another_run_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let (xs, labels) = data();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("run.safetensors");
    let mut net = Small::new(1);
    config().epochs(2).checkpoint(&path).fit(
        &mut net,
        &mut Adam::new(0.01),
        CrossEntropy,
        Samples::new(&xs, &labels),
        &mut (),
    )?;
    let start = Small::new(2);
    let mut other = start.clone();
    let err = config()
        .batch_size(8)
        .resume(&path)
        .fit(
            &mut other,
            &mut Adam::new(0.01),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::Checkpoint(CheckpointError::OtherRun {
                what: "batch size",
                ..
            })
        ),
        "{err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["run.safetensors", "batch size is 16", "this run's is 8"],
    );
    let err = config()
        .resume(&path)
        .fit(
            &mut other,
            &mut Momentum::new(0.1, 0.9),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap_err();
    assert_mentions(&err.to_string(), &["optimizer is adam", "momentum"]);
    let err = config()
        .resume(dir.path().join("missing.safetensors"))
        .fit(
            &mut other,
            &mut Adam::new(0.01),
            CrossEntropy,
            Samples::new(&xs, &labels),
            &mut (),
        )
        .unwrap_err();
    assert!(
        matches!(err, TrainError::Checkpoint(CheckpointError::Read { .. })),
        "{err:?}"
    );
    assert_eq!(other, start);
    Ok(())
}
