//! Tabular data: a network reads the Breast Cancer Wisconsin (Diagnostic) data set from CSV and
//! tells malignant from benign masses, beside two baselines.
//!
//! ```text
//! cargo run --release --example tabular
//! cargo run --release --example tabular -- --epochs 300 --patience 30 --seed 2
//! ```
//!
//! The 569 samples of `data/breast-cancer/wdbc.csv` (30 features, a 0/1 target; see
//! `data/README.md`) are split once into 80% for training and 20% for the test, by a seeded
//! split. The features are standardised with the training part's means and deviations (the test
//! part never shapes them). The network `30 -> 16 relu -> 2 softmax` trains on integer labels
//! with cross-entropy and AdamW, holding out a fifth of the training part for validation, with a
//! cosine learning-rate schedule after one epoch of warm-up and early stopping on the
//! validation loss. The test accuracy and confusion matrix are printed next to the majority
//! class and a closed-form least-squares linear classifier (`nn::least_squares`).

use std::error::Error;
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Parser;
use nn::data::{Standardizer, Table};
use nn::train::{split, Stop};
use nn::{Adam, CrossEntropy, EarlyStopping, Progress, Samples, Schedule, Sets, TrainConfig};

nn::network! {
    /// 30 standardised measurements in, malignant (0) or benign (1) out.
    pub struct Diagnosis: 30 -> 16 relu -> 2 softmax;
}

/// Train a classifier on the breast-cancer data set and compare it with two baselines.
#[derive(Parser, Debug)]
#[command(name = "tabular", version)]
struct Args {
    /// The most passes over the training set (early stopping usually ends sooner)
    #[arg(long, default_value_t = 300)]
    epochs: usize,

    /// Epochs without a lower validation loss before training stops
    #[arg(long, default_value_t = 25)]
    patience: usize,

    /// AdamW's learning rate before the schedule
    #[arg(long, default_value_t = 3e-3)]
    learning_rate: f32,

    /// AdamW's decoupled weight decay λ
    #[arg(long, default_value_t = 1e-2)]
    weight_decay: f32,

    /// Seed of the weights, the splits and the shuffling
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// The CSV file
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/breast-cancer/wdbc.csv"))]
    data: PathBuf,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let table = Table::<30, 1>::read(&args.data, &["target"])?;
    let labels = table.labels(2)?;
    println!(
        "{}: {} samples, {} features, {} malignant, {} benign",
        args.data.display(),
        table.len(),
        table.features.len(),
        labels.iter().filter(|&&l| l == 0).count(),
        labels.iter().filter(|&&l| l == 1).count()
    );

    // The test part is set aside once; everything below learns from the training part only.
    let parts = split(table.len(), 0.2, args.seed);
    let gather = |idx: &[usize]| -> (Vec<[f32; 30]>, Vec<u8>) {
        idx.iter().map(|&i| (table.inputs[i], labels[i])).unzip()
    };
    let (mut train_x, train_y) = gather(&parts.train);
    let (mut test_x, test_y) = gather(&parts.validation);
    let scale = Standardizer::fit(&train_x)?;
    scale.apply(&mut train_x);
    scale.apply(&mut test_x);

    let batch_size = 32;
    let steps_per_epoch =
        (train_x.len() - (train_x.len() as f32 * 0.2).round() as usize).div_ceil(batch_size) as u64;
    let config = TrainConfig::new()
        .epochs(args.epochs)
        .batch_size(batch_size)
        .seed(args.seed)
        .validation_split(0.2)
        .schedule(Schedule::cosine(steps_per_epoch, 0.0))
        .early_stopping(EarlyStopping::new(args.patience));
    println!(
        "training 30 -> 16 relu -> 2 softmax on {} samples ({} of them held out for validation), \
         testing on {}: cross-entropy, AdamW (α {}, λ {}), cosine schedule after {} warm-up \
         steps, early stopping after {} epochs without improvement",
        train_x.len(),
        (train_x.len() as f32 * 0.2).round(),
        test_x.len(),
        args.learning_rate,
        args.weight_decay,
        steps_per_epoch,
        args.patience
    );

    let mut net = Diagnosis::new(args.seed);
    let mut optimizer = Adam::new(args.learning_rate).with_weight_decay(args.weight_decay);
    let history = config.fit(
        &mut net,
        &mut optimizer,
        CrossEntropy,
        Sets::new(Samples::new(&train_x, &train_y)).test(Samples::new(&test_x, &test_y)),
        &mut nn::callback(|p| {
            if let Progress::Epoch(e) = p {
                if e.epoch == 1 || e.epoch % 10 == 0 {
                    println!(
                        "epoch {:>3}  loss {:.4}  validation loss {:.4}  validation {}  rate {:.2e}{}",
                        e.epoch,
                        e.train_loss,
                        e.validation_loss.unwrap_or(f32::NAN),
                        e.validation.map(|m| m.to_string()).unwrap_or_default(),
                        e.learning_rate,
                        if e.best { "  (best so far)" } else { "" }
                    );
                }
            }
            ControlFlow::Continue(())
        }),
    )?;
    match history.stop {
        Stop::EarlyStopped { best_epoch } => println!(
            "early stopping after epoch {}: the network keeps epoch {best_epoch}'s weights",
            history.epochs.len()
        ),
        _ => println!(
            "trained all {} epochs; the network keeps epoch {}'s weights",
            history.epochs.len(),
            history.best_epoch.unwrap_or(history.epochs.len())
        ),
    }

    let test = Samples::new(&test_x[..], &test_y[..]);
    let network = nn::accuracy(&net, test)?;
    let matrix = nn::confusion_matrix(&net, test)?;

    // Baseline 1: always the training part's most common class.
    let benign = train_y.iter().filter(|&&l| l == 1).count();
    let majority = u8::from(2 * benign >= train_y.len());
    let majority_accuracy =
        test_y.iter().filter(|&&l| l == majority).count() as f64 / test_y.len() as f64;

    // Baseline 2: least squares on ±1 targets (a linear classifier in closed form), sign as the
    // class.
    let rows: Vec<Vec<f64>> = train_x
        .iter()
        .map(|x| {
            std::iter::once(1.0)
                .chain(x.iter().map(|&v| f64::from(v)))
                .collect()
        })
        .collect();
    let targets: Vec<f64> = train_y
        .iter()
        .map(|&l| if l == 1 { 1.0 } else { -1.0 })
        .collect();
    let linear = nn::least_squares::normal_equations(&rows, &targets).map(|beta| {
        let right = test_x
            .iter()
            .zip(&test_y)
            .filter(|(x, &l)| {
                let score: f64 = beta[0]
                    + beta[1..]
                        .iter()
                        .zip(x.iter())
                        .map(|(b, &v)| b * f64::from(v))
                        .sum::<f64>();
                u8::from(score > 0.0) == l
            })
            .count();
        right as f64 / test_y.len() as f64
    });

    println!();
    println!("test accuracy on {} held-out samples:", test_y.len());
    println!(
        "  network (30 -> 16 relu -> 2 softmax)   {:>6.2}%",
        100.0 * network
    );
    match linear {
        Ok(acc) => println!(
            "  least squares, linear classifier      {:>6.2}%",
            100.0 * acc
        ),
        Err(e) => println!("  least squares, linear classifier      not available: {e}"),
    }
    println!(
        "  majority class ({})                {:>6.2}%",
        if majority == 1 { "benign" } else { "malignant" },
        100.0 * majority_accuracy
    );
    println!();
    println!("confusion matrix of the network (0 = malignant, 1 = benign):");
    println!("{matrix}");
    Ok(())
}
