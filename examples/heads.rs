//! Two heads, two losses: one trunk reads the digit, a `digit` head names it (softmax,
//! cross-entropy) and an `even` head says whether it is even (sigmoid, binary cross-entropy).
//! The seminar's slide on why frameworks exist asks for "parallel branches with independent
//! losses"; here they are a declaration, checked and written out at compile time.
//!
//! ```text
//! cargo run --release --example heads
//! cargo run --release --example heads -- --epochs 5 --even-weight 1.0
//! NN_MNIST_DIR=~/mnist cargo run --release --example heads   # the full 60,000 / 10,000 files
//! ```
//!
//! Trains on the 8,000 training digits shipped in `data/mnist` with Adam, the loss being
//! `1·CE(digit) + w·BCE(even)`, and prints after every epoch each head's training loss and
//! test accuracy.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
#[path = "shared/digits.rs"]
#[allow(dead_code)]
mod shared;
use shared::{at_least_one, number, positive};

use nn::train::ShuffleRng;
use nn::{Adam, BinaryCrossEntropy, CrossEntropy, Optimizer, Workspace};

nn::network! {
    /// One trunk, two heads, two losses (the slide's parallel branches).
    pub struct Reader: 784 -> trunk: 64 relu -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };
}

/// Train a two-head network on MNIST: which digit, and whether it is even.
#[derive(Parser, Debug)]
#[command(name = "heads", version)]
struct Args {
    /// Passes over the training set
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    epochs: usize,

    /// Adam's step size
    #[arg(long, default_value_t = 2e-3, value_parser = positive, allow_negative_numbers = true)]
    learning_rate: f32,

    /// The weight of the `even` head's loss (the `digit` head's is 1)
    #[arg(long, default_value_t = 0.5, value_parser = positive, allow_negative_numbers = true)]
    even_weight: f32,

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

    /// Folder for the weights; created if missing
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
}

fn main() -> ExitCode {
    shared::exit_code(run(&Args::parse()))
}

/// What each head should say about a digit with label `label`.
fn targets(label: u8) -> ReaderOutputs {
    let mut digit = [0.0; 10];
    digit[usize::from(label)] = 1.0;
    ReaderOutputs {
        digit,
        even: [f32::from(u8::from(label.is_multiple_of(2)))],
    }
}

/// Each head's test accuracy: the digit head's argmax, the even head's output above 0.5.
fn accuracies(
    net: &Reader,
    inputs: &[[f32; 784]],
    labels: &[u8],
    outputs: &mut [ReaderOutputs],
    workspace: &mut Workspace<Reader>,
) -> Result<(f32, f32), nn::Error> {
    let (mut digit, mut even) = (0usize, 0usize);
    let batch = outputs.len();
    for (xs, ys) in inputs.chunks(batch).zip(labels.chunks(batch)) {
        let out = &mut outputs[..xs.len()];
        net.forward_batch(xs, out, workspace)?;
        for (o, &label) in out.iter().zip(ys) {
            digit += usize::from(nn::argmax(&o.digit) == usize::from(label));
            even += usize::from((o.even[0] > 0.5) == (label.is_multiple_of(2)));
        }
    }
    let n = labels.len().max(1) as f32;
    Ok((digit as f32 / n, even as f32 / n))
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
        "training {} ({} parameters): 1·cross-entropy(digit) + {}·binary cross-entropy(even), \
         Adam at learning rate {}, batches of {}, {} epochs, seed {}",
        <Reader as nn::Network>::DECLARATION,
        <Reader as nn::Network>::parameter_count(),
        args.even_weight,
        number(args.learning_rate),
        args.batch_size,
        args.epochs,
        args.seed
    );

    let train_targets: Vec<ReaderOutputs> =
        mnist.train.labels.iter().map(|&l| targets(l)).collect();
    let losses = ReaderLosses {
        digit: (CrossEntropy, 1.0),
        even: (BinaryCrossEntropy, args.even_weight),
    };
    let mut net = Reader::new(args.seed);
    let mut grads = Reader::zeros();
    let mut optimizer = Adam::new(args.learning_rate);
    let mut workspace = Workspace::with_capacity(args.batch_size);
    let mut order: Vec<usize> = (0..mnist.train.len()).collect();
    let mut rng = ShuffleRng::seed_from_u64(args.seed);
    // The batch's rows, gathered in the shuffled order into buffers kept across steps.
    let mut xs = Vec::with_capacity(args.batch_size);
    let mut ys = Vec::with_capacity(args.batch_size);
    let mut outputs = vec![ReaderOutputs::zeros(); 256];
    let started = Instant::now();
    let (mut digit_accuracy, mut even_accuracy) = (0.0, 0.0);
    for epoch in 1..=args.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut digit_loss, mut even_loss, mut seen) = (0.0f64, 0.0f64, 0usize);
        for batch in order.chunks(args.batch_size) {
            xs.clear();
            ys.clear();
            xs.extend(batch.iter().map(|&i| mnist.train.inputs[i]));
            ys.extend(batch.iter().map(|&i| train_targets[i]));
            let step = net.gradient_batch(losses, &xs, &ys, &mut grads, &mut workspace)?;
            optimizer.step(&mut net, &grads);
            digit_loss += f64::from(step.digit) * batch.len() as f64;
            even_loss += f64::from(step.even) * batch.len() as f64;
            seen += batch.len();
        }
        (digit_accuracy, even_accuracy) = accuracies(
            &net,
            &mnist.test.inputs,
            &mnist.test.labels,
            &mut outputs,
            &mut workspace,
        )?;
        println!(
            "epoch {epoch:>2}/{}  loss: digit {:.4}  even {:.4}  test accuracy: digit {:.2}%  \
             even {:.2}%",
            args.epochs,
            digit_loss / seen as f64,
            even_loss / seen as f64,
            100.0 * digit_accuracy,
            100.0 * even_accuracy
        );
    }
    println!("training took {:.2} s", started.elapsed().as_secs_f64());
    let weights = args.out.join("heads.safetensors");
    nn::weights::save(&net, &weights)?;
    let reloaded: Reader = nn::weights::load(&weights)?;
    let again = accuracies(
        &reloaded,
        &mnist.test.inputs,
        &mnist.test.labels,
        &mut outputs,
        &mut workspace,
    )?;
    println!(
        "weights: {} (tensors {}; reloaded: digit {:.2}%, even {:.2}%)",
        weights.display(),
        nn::weights::tensor_names::<Reader>().join(", "),
        100.0 * again.0,
        100.0 * again.1
    );
    println!("digit head: test accuracy {:.2}%", 100.0 * digit_accuracy);
    println!("even head: test accuracy {:.2}%", 100.0 * even_accuracy);
    Ok(())
}
