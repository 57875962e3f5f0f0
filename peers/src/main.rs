//! The peers harness: runs `nn` and other frameworks on five networks ([`Net`]:
//! the seminar's `784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax`, two wide
//! relu networks, a deep tanh one and the LeNet-5 of `examples/cnn.rs`;
//! softmax + cross-entropy, SGD with momentum lr 0.1 (LeNet 0.01) mu 0.9, f32,
//! one thread) in one process, and prints one line per case:
//!
//! ```text
//! peer=dfdx net=seminar op=train batch=32 samples_per_s=254000 us_per_step=126.000 gflops=13.38 peak_pct=5.4
//! ```
//!
//! `gflops` counts the FLOP of the products and convolutions only ([`Net::flop`]); `peak_pct` is
//! that over the bare AVX-512 (else AVX2) FMA rate measured at the start of the
//! run and printed as `# fma_peak_gflops=...` (`scripts/bench_peers.sh` computes
//! the same two fields for the Python peers from it).
//!
//! `op=infer` is a forward pass with softmax probabilities out; `op=train` is
//! one training step (forward, loss, backward, momentum update) on a batch.
//! Cases run case-major (every peer on one case, then the next case), and the
//! repetitions of one case are interleaved across the peers, so the peers of
//! one case see the same machine state. Lines starting with `#` are
//! comments. A peer that fails prints `error="..."` instead of numbers.
//!
//! Usage: `nn-peers [--seconds S] [--reps N] [--warmup S] [--peers nn,dfdx,candle]
//! [--nets seminar,wide256,wide1024,deep64,lenet] [--ops infer,train] [--batches 1,32,256]
//! [--data DIR] [--check STEPS]`
//!
//! candle runs the seminar network and LeNet; dfdx the four dense networks
//! only: dfdx 0.13's convolution and pooling exist only with its `nightly`
//! feature, which does not build on today's nightly compiler (see `RESULTS.md`,
//! "LeNet").
//!
//! `--check STEPS` times nothing: it runs each peer's timed training step STEPS
//! times at each batch size and prints the mean loss of the first and last ten
//! steps, to show that every peer's step really trains the network.

// Built with some peers left out, the data helpers only they use are unused.
#![cfg_attr(not(all(feature = "dfdx", feature = "candle")), allow(dead_code))]

mod data;
mod nn_peer;
mod peak;
mod timing;

#[cfg(feature = "candle")]
mod candle_peer;
#[cfg(feature = "dfdx")]
mod dfdx_peer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use data::Data;
use timing::{Step, StepError, Timed, Timing};

/// The learning rate every peer uses on the dense networks ([`Net::learning_rate`]).
pub const LEARNING_RATE: f32 = 0.1;
/// The learning rate every peer uses on LeNet, as `benches/lenet.rs` and
/// `scripts/bench_lenet_pytorch.py` do (0.1 with momentum 0.9 diverges there).
pub const LENET_LEARNING_RATE: f32 = 0.01;
/// The momentum every peer uses.
pub const MOMENTUM: f32 = 0.9;

/// What a case measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A forward pass to softmax probabilities.
    Infer,
    /// One training step: forward, loss, backward, momentum update.
    Train,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Infer => "infer",
            Op::Train => "train",
        }
    }
}

/// The networks of the harness, all trained with softmax + cross-entropy and momentum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// `784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax`, the seminar's.
    Seminar,
    /// `784 -> 256 relu -> 256 relu -> 10 softmax`.
    Wide256,
    /// `784 -> 1024 relu -> 1024 relu -> 10 softmax`.
    Wide1024,
    /// `64 -> 64 tanh -> 64 tanh -> 64 tanh -> 64 tanh -> 10 softmax`, on the 8 × 8 subsample.
    Deep64,
    /// LeNet-5 as in `examples/cnn.rs`: `1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 ->
    /// conv 16 5x5 relu -> maxpool 2x2 -> dropout 0.25 -> 120 relu -> 84 relu -> 10 softmax`.
    LeNet,
}

impl Net {
    /// Every network, in the order the harness runs them.
    const ALL: [Net; 5] = [
        Net::Seminar,
        Net::Wide256,
        Net::Wide1024,
        Net::Deep64,
        Net::LeNet,
    ];

    fn name(self) -> &'static str {
        match self {
            Net::Seminar => "seminar",
            Net::Wide256 => "wide256",
            Net::Wide1024 => "wide1024",
            Net::Deep64 => "deep64",
            Net::LeNet => "lenet",
        }
    }

    /// The learning rate of every peer's training step.
    pub fn learning_rate(self) -> f32 {
        match self {
            Net::LeNet => LENET_LEARNING_RATE,
            _ => LEARNING_RATE,
        }
    }

    /// The widths of the dense layers, input first (LeNet's: from the flattened 16x5x5).
    fn widths(self) -> &'static [usize] {
        match self {
            Net::Seminar => &[784, 16, 16, 10],
            Net::Wide256 => &[784, 256, 256, 10],
            Net::Wide1024 => &[784, 1024, 1024, 10],
            Net::Deep64 => &[64, 64, 64, 64, 64, 10],
            Net::LeNet => &[400, 120, 84, 10],
        }
    }

    /// FLOP a sample of LeNet's two convolutions: `2 · out_channels · out_h · out_w ·
    /// in_channels · k · k` each (6x28x28 from 1 channel, 16x10x10 from 6, 5x5 kernels),
    /// 715,200 together. Zero for the dense networks.
    fn conv_flop(self) -> [f64; 2] {
        match self {
            Net::LeNet => [
                2.0 * (6 * 28 * 28 * 25) as f64,
                2.0 * (16 * 10 * 10 * 6 * 25) as f64,
            ],
            _ => [0.0; 2],
        }
    }

    /// FLOP a sample of the matrix products (and LeNet's convolutions, [`Net::conv_flop`]): a
    /// forward pass `2·Σ i·o`; a training step that again for the weight gradients, plus
    /// `2·i·o` for the input gradient of every layer but the first (nobody computes the first
    /// layer's). LeNet: 833,040 a forward pass, 2,263,920 a training step, as
    /// `benches/lenet.rs` counts them.
    fn flop(self, op: Op) -> f64 {
        let convs = self.conv_flop();
        let layers: Vec<f64> = convs
            .iter()
            .copied()
            .filter(|&f| f > 0.0)
            .chain(self.widths().windows(2).map(|w| 2.0 * (w[0] * w[1]) as f64))
            .collect();
        let forward: f64 = layers.iter().sum();
        match op {
            Op::Infer => forward,
            Op::Train => 2.0 * forward + layers[1..].iter().sum::<f64>(),
        }
    }

    /// The declaration, for the header line.
    fn declaration(self) -> String {
        if self == Net::LeNet {
            return "lenet 1x28x28-conv6(5x5,pad2)-maxpool-conv16(5x5)-maxpool-dropout-120-84-10 relu"
                .to_owned();
        }
        let act = match self {
            Net::Seminar => "sigmoid",
            Net::Wide256 | Net::Wide1024 | Net::LeNet => "relu",
            Net::Deep64 => "tanh",
        };
        let w = self.widths();
        let hidden: Vec<String> = w[1..w.len() - 1].iter().map(|h| h.to_string()).collect();
        format!("{}-{}-{} {act}", w[0], hidden.join("-"), w[w.len() - 1])
    }
}

/// The peers this harness knows, and whether this build has them.
const PEERS: [(&str, bool); 3] = [
    ("nn", true),
    ("dfdx", cfg!(feature = "dfdx")),
    ("candle", cfg!(feature = "candle")),
];

/// The command line.
struct Options {
    timing: Timing,
    peers: Vec<String>,
    nets: Vec<Net>,
    ops: Vec<Op>,
    batches: Vec<usize>,
    data: PathBuf,
    /// Training steps of the loss check (`--check N`), instead of timing.
    check: Option<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        timing: Timing {
            warmup: Duration::from_millis(300),
            seconds: Duration::from_secs(1),
            reps: 5,
        },
        peers: PEERS.iter().map(|(p, _)| (*p).to_owned()).collect(),
        nets: Net::ALL.to_vec(),
        ops: vec![Op::Infer, Op::Train],
        batches: vec![1, 32, 256],
        data: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist")),
        check: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} expects a value, found the end of the arguments"))?;
        let seconds = |v: &str| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("{flag} expects seconds (like 1.5), found `{v}`"))
        };
        match flag.as_str() {
            "--seconds" => opts.timing.seconds = seconds(&value)?,
            "--warmup" => opts.timing.warmup = seconds(&value)?,
            "--reps" => {
                opts.timing.reps = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--reps expects a count >= 1, found `{value}`"))?;
            }
            "--peers" => {
                opts.peers = value.split(',').map(str::to_owned).collect();
                for p in &opts.peers {
                    if !PEERS.iter().any(|(known, _)| known == p) {
                        return Err(format!(
                            "--peers: unknown peer `{p}`, expected some of nn, dfdx, candle"
                        ));
                    }
                }
            }
            "--nets" => {
                opts.nets = value
                    .split(',')
                    .map(|n| {
                        Net::ALL
                            .into_iter()
                            .find(|net| net.name() == n)
                            .ok_or_else(|| {
                                format!(
                                    "--nets: expected some of seminar, wide256, wide1024, \
                                     deep64, lenet, found `{n}`"
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--ops" => {
                opts.ops = value
                    .split(',')
                    .map(|o| match o {
                        "infer" => Ok(Op::Infer),
                        "train" => Ok(Op::Train),
                        _ => Err(format!("--ops: expected infer or train, found `{o}`")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--batches" => {
                opts.batches = value
                    .split(',')
                    .map(|b| {
                        b.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| {
                            format!("--batches: expected batch sizes >= 1, found `{b}`")
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--data" => opts.data = PathBuf::from(value),
            "--check" => {
                opts.check = Some(value.parse().ok().filter(|&n| n >= 20).ok_or_else(|| {
                    format!("--check expects a step count >= 20, found `{value}`")
                })?);
            }
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    Ok(opts)
}

/// A peer's training step at batch size `batch`, returning the batch's mean loss.
fn trainer<'a>(
    peer: &str,
    net: Net,
    data: &'a Data,
    batch: usize,
) -> Result<Box<dyn FnMut() -> Result<f32, StepError> + 'a>, StepError> {
    match peer {
        "nn" => Ok(nn_peer::trainer(net, data, batch)),
        #[cfg(feature = "dfdx")]
        "dfdx" => dfdx_peer::trainer(net, data, batch),
        #[cfg(feature = "candle")]
        "candle" if matches!(net, Net::Seminar | Net::LeNet) => {
            let mut step = candle_peer::trainer(net, data, batch)?;
            Ok(Box::new(move || Ok(step()?.to_scalar::<f32>()?)))
        }
        _ => Err(format!("peer `{peer}` is not built in").into()),
    }
}

/// Checks that a peer's timed training step really trains: runs `steps` steps
/// of `batch` digits and returns the mean loss of the first 10 and of the last 10.
fn check(
    peer: &str,
    net: Net,
    data: &Data,
    batch: usize,
    steps: usize,
) -> Result<(f32, f32), StepError> {
    let mut step = trainer(peer, net, data, batch)?;
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        losses.push(step()?);
    }
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    Ok((mean(&losses[..10]), mean(&losses[steps - 10..])))
}

/// One peer's step for one case.
fn step<'a>(
    peer: &str,
    net: Net,
    data: &'a Data,
    op: Op,
    batch: usize,
) -> Result<Step<'a>, StepError> {
    match peer {
        "nn" => Ok(nn_peer::step(net, data, op, batch)),
        #[cfg(feature = "dfdx")]
        "dfdx" => dfdx_peer::step(net, data, op, batch),
        #[cfg(feature = "candle")]
        "candle" if matches!(net, Net::Seminar | Net::LeNet) => {
            candle_peer::step(net, data, op, batch)
        }
        _ => Err(format!("peer `{peer}` is not built in").into()),
    }
}

/// Times one case on every selected peer, repetitions interleaved across the
/// peers, and prints one line per peer.
fn run_case(
    peers: &[&str],
    net: Net,
    data: &Data,
    op: Op,
    batch: usize,
    timing: &Timing,
    peak: f64,
) -> bool {
    let mut ok = true;
    // Warm every peer up, then take turns: a repetition of each peer, again.
    let mut timed: Vec<(&str, Result<Timed<'_>, StepError>)> = peers
        .iter()
        .map(|&peer| {
            let t = step(peer, net, data, op, batch)
                .and_then(|s| Timed::warm_up(s, batch, timing.warmup));
            (peer, t)
        })
        .collect();
    for _ in 0..timing.reps {
        for (_, t) in &mut timed {
            if let Ok(inner) = t {
                if let Err(e) = inner.repetition(timing.seconds) {
                    *t = Err(e);
                }
            }
        }
    }
    for (peer, t) in timed {
        let prefix = format!(
            "peer={peer} net={} op={} batch={batch}",
            net.name(),
            op.name()
        );
        match t.map(|t| t.measurement()) {
            Ok(Some(m)) => {
                let gflops = m.samples_per_s * net.flop(op) / 1e9;
                println!(
                    "{prefix} samples_per_s={:.0} us_per_step={:.3} gflops={gflops:.2} \
                     peak_pct={:.1}",
                    m.samples_per_s,
                    m.us_per_step,
                    100.0 * gflops / peak
                );
            }
            Ok(None) => {
                ok = false;
                println!("{prefix} error=\"no repetition ran\"");
            }
            Err(e) => {
                ok = false;
                println!("{prefix} error=\"{}\"", e.to_string().replace('"', "'"));
            }
        }
    }
    ok
}

/// Whether `peer` runs `net`: candle runs the seminar network and LeNet, dfdx every network but
/// LeNet.
fn runs(peer: &str, net: Net) -> bool {
    match peer {
        "candle" => matches!(net, Net::Seminar | Net::LeNet),
        "dfdx" => net != Net::LeNet,
        _ => true,
    }
}

fn main() -> ExitCode {
    // candle sizes its matmul thread count from this variable (and dfdx and
    // candle use rayon's global pool): one thread for every peer. Nothing else
    // runs yet, so setting the environment here races with no thread.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
    {
        eprintln!("error: could not make rayon's pool single-threaded: {e}");
        return ExitCode::FAILURE;
    }

    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("error: {msg}");
            }
            eprintln!(
                "usage: nn-peers [--seconds S] [--reps N] [--warmup S] [--peers nn,dfdx,candle] \
                 [--nets seminar,wide256,wide1024,deep64,lenet] [--ops infer,train] [--batches 1,32,256] [--data DIR] [--check STEPS]"
            );
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    let data = match Data::load(&opts.data) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("error: loading the MNIST digits: {e}");
            return ExitCode::FAILURE;
        }
    };
    let largest = opts.batches.iter().copied().max().unwrap_or(1);
    if data.inputs.len() < largest {
        eprintln!(
            "error: the largest batch is {largest} digits but {} holds only {}",
            opts.data.display(),
            data.inputs.len()
        );
        return ExitCode::FAILURE;
    }

    let nets: Vec<String> = opts.nets.iter().map(|n| n.declaration()).collect();
    println!(
        "# nn peers harness: {}; softmax + cross-entropy, SGD momentum \
         (lr {LEARNING_RATE}, LeNet {LENET_LEARNING_RATE}; mu {MOMENTUM}), f32, 1 thread; {} MNIST digits; \
         warmup {:.2} s, {} reps of {:.2} s, median",
        nets.join(", "),
        data.inputs.len(),
        opts.timing.warmup.as_secs_f64(),
        opts.timing.reps,
        opts.timing.seconds.as_secs_f64()
    );
    for (peer, built) in PEERS {
        if !built && opts.peers.iter().any(|p| p == peer) {
            println!("peer={peer} status=unavailable reason=\"built without feature {peer}\"");
        }
    }

    #[cfg(feature = "dfdx")]
    if opts.nets.contains(&Net::LeNet) && opts.peers.iter().any(|p| p == "dfdx") {
        println!(
            "peer=dfdx net=lenet status=unavailable reason=\"{}\"",
            dfdx_peer::NO_LENET
        );
    }

    let mut failed = false;
    if let Some(steps) = opts.check {
        for &net in &opts.nets {
            for &batch in &opts.batches {
                for (peer, built) in PEERS {
                    if !built || !opts.peers.iter().any(|p| p == peer) || !runs(peer, net) {
                        continue;
                    }
                    let prefix = format!(
                        "check peer={peer} net={} batch={batch} steps={steps}",
                        net.name()
                    );
                    match check(peer, net, &data, batch, steps) {
                        Ok((first, last)) => {
                            println!("{prefix} loss_first10={first:.4} loss_last10={last:.4}");
                        }
                        Err(e) => {
                            failed = true;
                            println!("{prefix} error=\"{}\"", e.to_string().replace('"', "'"));
                        }
                    }
                }
            }
        }
        return if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let selected: Vec<&str> = PEERS
        .iter()
        .filter(|(peer, built)| *built && opts.peers.iter().any(|p| p == peer))
        .map(|(peer, _)| *peer)
        .collect();
    let peak = peak::fma_peak_gflops();
    println!("# fma_peak_gflops={peak:.1} ({})", peak::ISA);
    for &net in &opts.nets {
        let peers: Vec<&str> = selected.iter().copied().filter(|p| runs(p, net)).collect();
        for &op in &opts.ops {
            for &batch in &opts.batches {
                failed |= !run_case(&peers, net, &data, op, batch, &opts.timing, peak);
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
