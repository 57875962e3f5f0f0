//! Why skips: a deep MLP of eight residual blocks, `y = x + f(x)`, trained beside the same
//! eighteen layers without the skips, all with the seminar's sigmoid. Through a plain stack the
//! gradient shrinks at every layer (σ' ≤ 1/4), so the first layers of eighteen barely learn and
//! the plain network stays near chance; through a block it also passes the skip unchanged
//! (`∂y/∂x = 1 + ∂f/∂x`), so the residual network of the same depth trains.
//!
//! ```text
//! cargo run --release --example residual
//! cargo run --release --example residual -- --epochs 5 --learning-rate 0.01
//! ```
//!
//! Both networks start from the same seed, see the same shuffled batches of the 8,000 shipped
//! training digits, and train with the same momentum; after every epoch the example prints
//! both training losses and test accuracies.

use std::error::Error;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
#[path = "shared/digits.rs"]
#[allow(dead_code)]
mod shared;
use shared::{at_least_one, number, positive};

use nn::{
    CrossEntropy, Momentum, Network, Progress, Samples, Sets, Softmax, TrainConfig, Trainable,
};

nn::network! {
    /// Eight residual blocks of two layers each between a 784 -> 32 stem and the softmax.
    pub struct Residual: 784 -> 32 sigmoid
        -> residual { 32 sigmoid -> 32 linear } -> residual { 32 sigmoid -> 32 linear }
        -> residual { 32 sigmoid -> 32 linear } -> residual { 32 sigmoid -> 32 linear }
        -> residual { 32 sigmoid -> 32 linear } -> residual { 32 sigmoid -> 32 linear }
        -> residual { 32 sigmoid -> 32 linear } -> residual { 32 sigmoid -> 32 linear }
        -> 10 softmax;

    /// The same eighteen layers, without the skips.
    pub struct Plain: 784 -> 32 sigmoid
        -> 32 sigmoid -> 32 linear -> 32 sigmoid -> 32 linear
        -> 32 sigmoid -> 32 linear -> 32 sigmoid -> 32 linear
        -> 32 sigmoid -> 32 linear -> 32 sigmoid -> 32 linear
        -> 32 sigmoid -> 32 linear -> 32 sigmoid -> 32 linear
        -> 10 softmax;
}

/// Train a deep residual MLP and the same depth without skips on MNIST, side by side.
#[derive(Parser, Debug)]
#[command(name = "residual", version)]
struct Args {
    /// Passes over the training set
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    epochs: usize,

    /// Step size α of momentum: v <- α·g + μ·v, w <- w - v
    #[arg(long, default_value_t = 0.03, value_parser = positive, allow_negative_numbers = true)]
    learning_rate: f32,

    /// Samples per mini-batch
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    batch_size: usize,

    /// Seed of the initial weights and of the shuffling
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Folder with the four MNIST files
    #[arg(
        long,
        value_name = "DIR",
        env = "NN_MNIST_DIR",
        default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")
    )]
    data: PathBuf,

    /// Folder for the weights; created if missing
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
}

fn main() -> ExitCode {
    shared::exit_code(run(&Args::parse()))
}

/// Each epoch's training loss and test accuracy of one network.
fn train<N>(
    args: &Args,
    net: &mut N,
    mnist: &nn::data::Mnist,
) -> Result<Vec<(f32, f32)>, Box<dyn Error>>
where
    N: Trainable<
            CrossEntropy,
            Scalar = f32,
            Input = [f32; 784],
            Output = [f32; 10],
            OutputActivation = Softmax,
        > + Send
        + Sync,
{
    let mut optimizer = Momentum::new(args.learning_rate, 0.9);
    let config = TrainConfig::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    let test = Samples::new(&mnist.test.inputs, &mnist.test.labels);
    let mut curve = Vec::with_capacity(args.epochs);
    config.fit(
        net,
        &mut optimizer,
        CrossEntropy,
        Sets::new(mnist.train.labelled()).test(test),
        &mut nn::callback(|progress| {
            if let Progress::Epoch(e) = progress {
                curve.push((e.train_loss, e.test_accuracy.unwrap_or(0.0)));
            }
            ControlFlow::Continue(())
        }),
    )?;
    Ok(curve)
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mnist = shared::load(&args.data, &args.out)?;
    println!(
        "MNIST: {} training and {} test digits; 18 sigmoid layers of 32 with and without 8 skips \
         ({} and {} parameters), cross-entropy, momentum 0.9 at learning rate {}, batches of {}, \
         seed {}",
        mnist.train.len(),
        mnist.test.len(),
        Residual::parameter_count(),
        Plain::parameter_count(),
        number(args.learning_rate),
        args.batch_size,
        args.seed
    );
    let mut residual = Residual::new(args.seed);
    let mut plain = Plain::new(args.seed);
    let with = train(args, &mut residual, &mnist)?;
    let without = train(args, &mut plain, &mnist)?;
    for (epoch, ((rl, ra), (pl, pa))) in with.iter().zip(&without).enumerate() {
        println!(
            "epoch {:>2}/{}  residual: loss {rl:.4}  test accuracy {:.2}%   plain: loss {pl:.4}  \
             test accuracy {:.2}%",
            epoch + 1,
            args.epochs,
            100.0 * ra,
            100.0 * pa
        );
    }
    let last = |c: &[(f32, f32)]| c.last().map_or(0.0, |e| e.1);
    nn::weights::save(&residual, args.out.join("residual.safetensors"))?;
    println!(
        "residual (8 blocks): test accuracy {:.2}%",
        100.0 * last(&with)
    );
    println!(
        "plain (no skips): test accuracy {:.2}%",
        100.0 * last(&without)
    );
    Ok(())
}
