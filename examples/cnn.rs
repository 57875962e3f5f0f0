//! A convolutional network, LeNet, learns to read handwritten digits: the issue's declaration
//! of two convolutions with max pooling, dropout, and three dense layers.
//!
//! ```text
//! cargo run --release --example cnn
//! cargo run --release --example cnn -- --epochs 5 --learning-rate 0.002 --batch-size 64
//! NN_MNIST_DIR=~/mnist cargo run --release --example cnn   # the full 60,000 / 10,000 files
//! ```
//!
//! Trains with cross-entropy and Adam (its rate on a cosine schedule) on the 8,000 training digits shipped in `data/mnist`,
//! reports the accuracy on the 1,000 test digits after every epoch, writes the loss and
//! accuracy curves to `out/cnn-curves.svg` and the trained weights to `out/cnn.safetensors`
//! (in the layout of the equivalent `torch.nn.Sequential`), and shows a few test digits with
//! what the network read. The images go in as IDX stores them, 784 values row by row: one
//! channel of 28×28, channel-major, as `forward(&[f32; 784])` takes them.

use std::error::Error;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
#[path = "shared/digits.rs"]
mod shared;
use indicatif::{ProgressBar, ProgressStyle};
use nn::{Adam, CrossEntropy, Progress, Samples, Schedule, Sets, TrainConfig};
use shared::{at_least_one, number, plot_curves, positive, show_digits};

nn::network! {
    /// LeNet-style digit classifier on 28x28 greyscale images.
    pub struct Digits: 1x28x28
        -> conv 6 5x5 pad 2 relu       // 6 filters of 5x5, stride 1: 6x28x28
        -> maxpool 2x2                 // 6x14x14 (stride defaults to the window)
        -> conv 16 5x5 relu            // 16x10x10
        -> maxpool 2x2                 // 16x5x5
        -> dropout 0.25
        -> 120 relu                    // a dense layer flattens channel-major, as torch.flatten
        -> 84 relu
        -> 10 softmax;
}

/// Train LeNet on MNIST and report its test accuracy.
#[derive(Parser, Debug)]
#[command(name = "cnn", version)]
struct Args {
    /// Passes over the training set
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    epochs: usize,

    /// Step size α of Adam at the start; a cosine schedule takes it to 0 by the last step
    #[arg(long, default_value_t = 0.001, value_parser = positive, allow_negative_numbers = true)]
    learning_rate: f32,

    /// Samples per mini-batch
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    batch_size: usize,

    /// Seed of the initial weights and of the shuffling: the same seed gives the same run
    #[arg(long, default_value_t = 1)]
    seed: u64,

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
        "training {} ({} parameters): cross-entropy, Adam from learning rate {} on a cosine \
         schedule, batches of {}, {} epoch{}, seed {}",
        <Digits as nn::Network>::DECLARATION,
        <Digits as nn::Network>::parameter_count(),
        number(args.learning_rate),
        args.batch_size,
        args.epochs,
        if args.epochs == 1 { "" } else { "s" },
        args.seed
    );

    let mut net = Digits::new(args.seed);
    let mut optimizer = Adam::new(args.learning_rate);
    // The rate falls along half a cosine to 0 by the last step, so the last epochs settle
    // instead of jumping around a minimum.
    let config = TrainConfig::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .schedule(Schedule::cosine(0, 0.0));
    let train = Samples::new(&mnist.train.inputs, &mnist.train.targets);
    let test = Samples::new(&mnist.test.inputs, &mnist.test.targets);

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
                            "epoch {:>3}/{}  loss {:.4}  test accuracy {last_accuracy}  rate {:.2e}",
                            e.epoch,
                            e.epochs,
                            e.train_loss,
                            e.learning_rate
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

    let plot = args.out.join("cnn-curves.svg");
    plot_curves(&history, &plot)?;
    println!("loss and accuracy curves: {}", plot.display());
    let weights = args.out.join("cnn.safetensors");
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
