//! MNIST: the seminar's `784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax` network learns to read
//! handwritten digits.
//!
//! ```text
//! cargo run --release --example mnist
//! cargo run --release --example mnist -- --epochs 5 --learning-rate 0.05 --batch-size 64
//! cargo run --release --example mnist -- --threads 2 --batch-size 256   # both cores
//! NN_MNIST_DIR=~/mnist cargo run --release --example mnist   # the full 60,000 / 10,000 files
//! ```
//!
//! Trains with cross-entropy and momentum on the 8,000 training digits shipped in `data/mnist`,
//! reports the accuracy on the 1,000 test digits after every epoch, writes the loss and
//! accuracy curves to `out/mnist-curves.svg` and the trained weights to `out/mnist.safetensors`,
//! and shows a few test digits with what the network read.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
#[path = "shared/digits.rs"]
mod shared;
use indicatif::{ProgressBar, ProgressStyle};
use shared::{at_least_one, number, plot_curves, positive, show_digits};
use std::ops::ControlFlow;

use nn::{CrossEntropy, Momentum, Progress, Samples, Sets, TrainConfig};

nn::network! {
    /// The seminar's digit classifier: 28×28 pixels in, two hidden layers of 16 sigmoid
    /// neurons, one softmax output per digit.
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// Train the seminar's 784-16-16-10 network on MNIST and report its test accuracy.
#[derive(Parser, Debug)]
#[command(name = "mnist", version)]
struct Args {
    /// Passes over the training set
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    epochs: usize,

    /// Step size α of momentum: v <- α·g + μ·v, w <- w - v
    #[arg(long, default_value_t = 0.1, value_parser = positive, allow_negative_numbers = true)]
    learning_rate: f32,

    /// Momentum μ, in [0, 1)
    #[arg(long, default_value_t = 0.9, value_parser = momentum, allow_negative_numbers = true)]
    momentum: f32,

    /// Samples per mini-batch
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    batch_size: usize,

    /// Seed of the initial weights and of the shuffling: the same seed gives the same run
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Threads to compute each batch's gradient on; batches of fewer than 128 samples stay on
    /// one (in this run two threads gain from batch 256 on, see BENCHMARKS.md)
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    threads: usize,

    /// Folder with train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz),
    /// t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)
    #[arg(
        long,
        value_name = "DIR",
        env = "NN_MNIST_DIR",
        default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")
    )]
    data: PathBuf,

    /// Folder for the plot and the weights; created if missing
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,

    /// How many test digits to draw, besides the first two the network gets wrong
    #[arg(long, value_name = "N", default_value_t = 4)]
    show: usize,
}

/// Momentum's μ: at least 0 and below 1 (clap value parser).
fn momentum(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("expected a number in [0, 1), found {v}")),
        Err(e) => Err(format!("expected a number: {e}")),
    }
}

fn main() -> ExitCode {
    shared::exit_code(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mnist = shared::load(&args.data, &args.out)?;

    println!(
        "MNIST: {} training and {} test digits from {}",
        mnist.train.len(),
        mnist.test.len(),
        args.data.display()
    );
    println!(
        "training 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax ({} parameters): cross-entropy, \
         momentum {} at learning rate {}, batches of {}, {} epoch{}, seed {}, {} thread{}",
        <Digits as nn::Network>::parameter_count(),
        args.momentum,
        number(args.learning_rate),
        args.batch_size,
        args.epochs,
        if args.epochs == 1 { "" } else { "s" },
        args.seed,
        args.threads,
        if args.threads == 1 { "" } else { "s" }
    );

    let mut net = Digits::new(args.seed);
    let mut optimizer = Momentum::new(args.learning_rate, args.momentum);
    let config = TrainConfig::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .threads(args.threads);
    // Integer labels: no one-hot rows needed.
    let train = mnist.train.labelled();
    let test = Samples::new(&mnist.test.inputs, &mnist.test.labels);

    let batches = mnist.train.len().div_ceil(args.batch_size.max(1));
    let bar = ProgressBar::new((args.epochs.saturating_mul(batches)) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {msg} [{elapsed_precise}]")?.progress_chars("=> "),
    );
    let mut last_accuracy = String::from("-");
    let started = Instant::now();
    let history = config.fit(
        &mut net,
        &mut optimizer,
        CrossEntropy,
        Sets::new(train).test(test),
        &mut nn::callback(|progress| {
            match progress {
                Progress::Batch(b) => {
                    bar.inc(1);
                    if b.batch % 10 == 0 || b.batch == b.batches {
                        bar.set_message(format!(
                            "epoch {}/{}  loss {:.4}  accuracy {last_accuracy}",
                            b.epoch, b.epochs, b.epoch_loss
                        ));
                    }
                }
                Progress::Epoch(e) => {
                    if let Some(acc) = e.test_accuracy {
                        last_accuracy = format!("{:.2}%", 100.0 * acc);
                    }
                    bar.suspend(|| {
                        println!(
                            "epoch {:>3}/{}  loss {:.4}  test accuracy {last_accuracy}",
                            e.epoch, e.epochs, e.train_loss
                        );
                    });
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }),
    );
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let history = history?;

    let accuracy = history.last().and_then(|e| e.test_accuracy).unwrap_or(0.0);
    println!(
        "test accuracy {:.2}% ({} of {} digits) after {} epoch{}; training took {:.2} s",
        100.0 * accuracy,
        (accuracy * mnist.test.len() as f32).round(),
        mnist.test.len(),
        args.epochs,
        if args.epochs == 1 { "" } else { "s" },
        elapsed.as_secs_f64()
    );

    let plot = args.out.join("mnist-curves.svg");
    plot_curves(&history, &plot)?;
    println!("loss and accuracy curves: {}", plot.display());
    let weights = args.out.join("mnist.safetensors");
    nn::weights::save(&net, &weights)?;
    // Read them back as a check: the same weights classify the same digits.
    let reloaded: Digits = nn::weights::load(&weights)?;
    let reloaded_accuracy = nn::accuracy(&reloaded, test)?;
    println!(
        "weights: {} (safetensors in PyTorch's nn.Sequential layout; reloaded: {:.2}%)",
        weights.display(),
        100.0 * reloaded_accuracy
    );

    show_digits(&net, &mnist, args.show);
    Ok(())
}
