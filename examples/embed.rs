//! Deploying a trained network inside another program: train a small digit reader, save it,
//! and bake the file into the binary at compile time.
//!
//! ```text
//! cargo run --release --example embed
//! cargo run --release --example embed -- --bake   # then run again: the new file is baked in
//! ```
//!
//! Trains `784 -> 16 relu -> 10 softmax` on the 8,000 training digits shipped in `data/mnist`
//! (a few seconds), saves it as `out/embed.safetensors`, and prints the declaration a firmware
//! crate writes to compile that file into its binary. This example itself bakes in
//! `examples/embed.safetensors`, the file its default run writes (on the machine that wrote
//! it: another CPU's kernels may round a training step differently), and shows that the baked
//! network reads the test digits exactly as the trained one does: the same accuracy, the same
//! output bits for every digit.

use std::error::Error;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
#[path = "shared/digits.rs"]
#[allow(dead_code)] // The plot and the digit drawings are the mnist example's.
mod shared;
use shared::at_least_one;

use nn::{CrossEntropy, Momentum, Network, Sets, TrainConfig};

nn::network! {
    /// The network trained here: 28×28 pixels in, 16 relu neurons, one softmax output per
    /// digit.
    pub struct Digits: 784 -> 16 relu -> 10 softmax;

    /// The same declaration with its weights compiled in from the file this example's
    /// default run writes: statics in read-only memory, a forward pass that allocates nothing,
    /// no training methods.
    #[weights("examples/embed.safetensors")]
    pub struct Baked: 784 -> 16 relu -> 10 softmax;
}

/// Where `--bake` writes the trained file for the next build to bake in.
const BAKED_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embed.safetensors");

/// The file as this binary was built with it (`--bake` may since have replaced it).
const BAKED_BYTES: &[u8] = include_bytes!("embed.safetensors");

/// Train a small digit network, save it and compare it with the copy baked into this binary.
#[derive(Parser, Debug)]
#[command(name = "embed", version)]
struct Args {
    /// Passes over the training set
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    epochs: usize,

    /// Seed of the initial weights and of the shuffling
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Folder with the four MNIST files (plain or gzipped)
    #[arg(
        long,
        value_name = "DIR",
        env = "NN_MNIST_DIR",
        default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")
    )]
    data: PathBuf,

    /// Folder for the weights file; created if missing
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,

    /// Also write the trained file to examples/embed.safetensors, which the next build of this
    /// example bakes in
    #[arg(long)]
    bake: bool,
}

fn main() -> ExitCode {
    shared::exit_code(run(&Args::parse()))
}

/// The share of `inputs` whose largest output is at their label, and every output's bits.
fn read_digits(
    forward: impl Fn(&[f32; 784]) -> [f32; 10],
    inputs: &[[f32; 784]],
    labels: &[u8],
) -> (f32, Vec<u32>) {
    let mut right = 0usize;
    let mut bits = Vec::with_capacity(10 * inputs.len());
    for (x, &label) in inputs.iter().zip(labels) {
        let y = forward(x);
        right += usize::from(nn::argmax(&y) == usize::from(label));
        bits.extend(y.iter().map(|v| v.to_bits()));
    }
    #[allow(clippy::cast_precision_loss)] // Counts of a few thousand digits.
    let accuracy = right as f32 / inputs.len().max(1) as f32;
    (accuracy, bits)
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mnist = shared::load(&args.data, &args.out)?;
    println!(
        "training {} ({} parameters) on {} digits: cross-entropy, momentum, {} epoch{}",
        Digits::DECLARATION,
        Digits::parameter_count(),
        mnist.train.len(),
        args.epochs,
        if args.epochs == 1 { "" } else { "s" }
    );
    let mut net = Digits::new(args.seed);
    let started = Instant::now();
    TrainConfig::new()
        .epochs(args.epochs)
        .batch_size(32)
        .seed(args.seed)
        .fit(
            &mut net,
            &mut Momentum::new(0.05, 0.9),
            CrossEntropy,
            Sets::new(mnist.train.labelled()),
            &mut nn::callback(|_| std::ops::ControlFlow::Continue(())),
        )?;
    println!("trained in {:.2} s", started.elapsed().as_secs_f64());

    let saved = args.out.join("embed.safetensors");
    nn::weights::save(&net, &saved)?;
    let bytes = fs::read(&saved)?;
    println!("saved {} ({} bytes)", saved.display(), bytes.len());
    if args.bake {
        fs::write(BAKED_FILE, &bytes)?;
        println!("wrote {BAKED_FILE}: build again to bake it in");
    }

    println!(
        "\nto compile these weights into a firmware crate (no file to read at start-up, no \
         heap), put the file in the crate and write:\n"
    );
    println!("    nn::network! {{");
    println!("        #[weights(\"embed.safetensors\")] // relative to the crate's Cargo.toml");
    println!("        pub struct Digits: {};", Digits::DECLARATION);
    println!("    }}");
    println!("    // then: let digit = nn::argmax(&Digits.forward(&pixels));\n");

    let (inputs, labels) = (&mnist.test.inputs, &mnist.test.labels);
    let (trained, trained_bits) = read_digits(|x| net.forward(x), inputs, labels);
    let (baked, baked_bits) = read_digits(|x| Baked.forward(x), inputs, labels);
    println!(
        "test accuracy on {} digits: trained {:.2}%, baked {:.2}%",
        inputs.len(),
        100.0 * trained,
        100.0 * baked
    );
    let weights = 4 * Baked::LAYERS
        .iter()
        .map(nn::LayerShape::parameter_count)
        .sum::<usize>();
    println!(
        "the baked network: {} bytes of weights in read-only memory, {} bytes of its own",
        weights,
        std::mem::size_of::<Baked>()
    );

    if bytes == BAKED_BYTES {
        let same = trained_bits == baked_bits;
        println!(
            "this run's file is the baked one, byte for byte; every output bit for bit the \
             same: {}",
            if same { "yes" } else { "NO" }
        );
        if !same || trained != baked {
            return Err("the baked network reads the test digits differently".into());
        }
    } else {
        // Another seed, other epochs, or another CPU's kernels: compare the baked network with
        // its own file loaded at run time instead.
        let loaded: Digits = nn::weights::from_bytes(BAKED_BYTES)?;
        let (_, loaded_bits) = read_digits(|x| loaded.forward(x), inputs, labels);
        println!(
            "this run's file differs from examples/embed.safetensors (other settings, or this \
             CPU's kernels round training steps differently; --bake bakes this one in); the \
             baked network computes what that file loaded at run time computes, bit for bit: {}",
            if loaded_bits == baked_bits {
                "yes"
            } else {
                "NO"
            }
        );
        if loaded_bits != baked_bits {
            return Err("the baked network differs from its file loaded at run time".into());
        }
    }
    Ok(())
}
