//! Checkpoints: one safetensors file holding everything a run needs to go on exactly where it
//! stopped.
//!
//! [`TrainConfig::checkpoint`](super::TrainConfig::checkpoint) writes one after every epoch;
//! [`TrainConfig::resume`](super::TrainConfig::resume) reads one and trains the remaining
//! epochs. A run stopped after epoch `k` and resumed ends with the same weights, bit for bit,
//! as the run that was never stopped (`tests/trainer_checkpoint.rs`).
//!
//! # The file
//!
//! A safetensors file (written through a temporary file and a rename, like
//! [`weights::save`](crate::weights::save), so an existing checkpoint is never half-written)
//! with these tensors:
//!
//! | tensor | dtype | holds |
//! | --- | --- | --- |
//! | `0.weight`, `0.bias`, ... | F32 | the network's weights, named as in a weights file |
//! | `optimizer.BUFFER.0.weight`, ... | F32 | each optimizer buffer (momentum's `velocity`, Adam's `first_moment` and `second_moment`) |
//! | `best.0.weight`, ... | F32 | with early stopping: the best epoch's weights |
//! | `shuffle.order` | U64 | the order of the training samples after the last shuffle |
//!
//! and in `__metadata__` (all strings; an `f32` as the 8 hex digits of its bits so it comes
//! back exactly): `nn.network` (the declaration), `nn.checkpoint` (format version `1`),
//! `optimizer` (its [name](crate::optim::Optimizer::name)), `optimizer.counter` (Adam's `t`),
//! `epoch` (epochs done), `step` (steps done), `rng` (the shuffling generator's 256-bit state,
//! four hex words), `learning_rate` (the base rate schedules start from), `samples`,
//! `batch_size`, `seed`, and the state of early stopping (`early.best`, `early.best_epoch`,
//! `early.bad_epochs`) and of the divergence rule (`divergence.start`,
//! `divergence.streak`).
//!
//! The weights tensors load with [`weights::load`](crate::weights::load) after removing the
//! others; a resumed run checks the declaration, the optimizer's name, the number of
//! training samples, the batch size and the seed, and refuses a checkpoint of another run.

use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::model::tensor_count;
use crate::network::Network;
use crate::optim::Optimizer;

/// What can go wrong writing or reading a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be written.
    #[error("cannot write the checkpoint {}: {reason}", .path.display())]
    Write {
        /// The checkpoint file.
        path: PathBuf,
        /// What the operating system reported.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read the checkpoint {}: {reason}", .path.display())]
    Read {
        /// The checkpoint file.
        path: PathBuf,
        /// What the operating system reported.
        reason: String,
    },
    /// The file is not a checkpoint this crate wrote, or is damaged.
    #[error("{} is not a usable checkpoint: {reason}", .path.display())]
    Format {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint is of another run: another network, optimizer, data or settings.
    #[error(
        "the checkpoint {} is of another run: its {what} is {found}, this run's is {expected}",
        .path.display()
    )]
    OtherRun {
        /// The checkpoint file.
        path: PathBuf,
        /// What differs, e.g. `batch size`.
        what: &'static str,
        /// This run's value.
        expected: String,
        /// The checkpoint's.
        found: String,
    },
}

/// The state of a run besides the weights and the optimizer's buffers.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RunState {
    pub(super) epoch: usize,
    pub(super) step: u64,
    pub(super) rng: [u64; 4],
    pub(super) learning_rate: f32,
    pub(super) samples: usize,
    pub(super) batch_size: usize,
    pub(super) seed: u64,
    /// Early stopping: best figure, best epoch, epochs without improvement.
    pub(super) early: Option<(f32, usize, usize)>,
    /// The divergence rule: starting loss, out-of-bounds batches in a row.
    pub(super) divergence: (Option<f32>, usize),
}

/// The tensors' names and shapes of a network, in [`Network::state`] order (parameters, then
/// batch normalisation's buffers).
fn specs<N: Network<Scalar = f32>>() -> Vec<(String, Vec<usize>)> {
    let names = crate::weights::tensor_names::<N>();
    let shapes = N::LAYERS
        .iter()
        .flat_map(|l| l.tensors().chain(l.buffers()))
        .map(|t| t.dims().to_vec());
    names.into_iter().zip(shapes).collect()
}

fn hex32(v: f32) -> String {
    format!("{:08x}", v.to_bits())
}

fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes a checkpoint atomically.
pub(super) fn save<N: Network<Scalar = f32>, O: Optimizer<N>>(
    path: &Path,
    network: &N,
    optimizer: &O,
    best: Option<&N>,
    order: &[usize],
    state: &RunState,
) -> Result<(), CheckpointError> {
    let specs = specs::<N>();
    let format = |reason: String| CheckpointError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut named: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    let mut push = |prefix: &str, net: &N| {
        for ((name, shape), values) in specs.iter().zip(net.state()) {
            named.push((
                format!("{prefix}{name}"),
                shape.clone(),
                Dtype::F32,
                le_f32(values),
            ));
        }
    };
    push("", network);
    for (buffer, values) in optimizer.buffers() {
        push(&format!("optimizer.{buffer}."), values);
    }
    if let Some(best) = best {
        push("best.", best);
    }
    let order_bytes: Vec<u8> = order
        .iter()
        .flat_map(|&i| (i as u64).to_le_bytes())
        .collect();
    named.push((
        "shuffle.order".into(),
        vec![order.len()],
        Dtype::U64,
        order_bytes,
    ));

    let mut metadata: Vec<(String, String)> = Vec::new();
    let mut meta = |k: &str, v: String| {
        metadata.push((k.to_owned(), v));
    };
    meta(crate::weights::NETWORK_KEY, N::DECLARATION.to_owned());
    meta("nn.checkpoint", "1".into());
    meta("optimizer", optimizer.name().into());
    meta("optimizer.counter", optimizer.counter().to_string());
    meta("epoch", state.epoch.to_string());
    meta("step", state.step.to_string());
    meta(
        "rng",
        state
            .rng
            .iter()
            .map(|w| format!("{w:016x}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    meta("learning_rate", hex32(state.learning_rate));
    meta("samples", state.samples.to_string());
    meta("batch_size", state.batch_size.to_string());
    meta("seed", state.seed.to_string());
    if let Some((best, epoch, bad)) = state.early {
        meta("early.best", hex32(best));
        meta("early.best_epoch", epoch.to_string());
        meta("early.bad_epochs", bad.to_string());
    }
    if let Some(start) = state.divergence.0 {
        meta("divergence.start", hex32(start));
    }
    meta("divergence.streak", state.divergence.1.to_string());

    let mut views = Vec::with_capacity(named.len());
    for (name, shape, dtype, bytes) in &named {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| format(format!("tensor `{name}` does not fit its shape: {e}")))?;
        views.push((name.as_str(), view));
    }
    let bytes = safetensors::serialize(views, Some(metadata.into_iter().collect()))
        .map_err(|e| format(format!("the encoder failed: {e}")))?;
    crate::atomic_file::write_atomically(path, &[&bytes]).map_err(|e| CheckpointError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a checkpoint into `network`, `optimizer`, `best` and `order`, and returns the rest of
/// the run's state. Checks it against this run (`expected`'s samples, batch size and seed)
/// before anything is changed.
pub(super) fn load<N: Network<Scalar = f32>, O: Optimizer<N>>(
    path: &Path,
    network: &mut N,
    optimizer: &mut O,
    best: Option<&mut N>,
    order: &mut [usize],
    expected: &RunState,
) -> Result<RunState, CheckpointError> {
    let format = |reason: String| CheckpointError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let read_error = |e: std::io::Error| CheckpointError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // No more than this run's checkpoint can hold, with room for a large header.
    let tensors = tensor_count(N::LAYERS) as u64;
    let params = N::parameter_count() as u64;
    let limit = (1u64 << 24)
        + 4 * params * (2 + optimizer.buffers().len() as u64)
        + 8 * order.len() as u64
        + 256 * tensors;
    let file = crate::file_check::open_regular(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(format(format!(
            "it is larger than this run's checkpoint can be ({limit} bytes)"
        )));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format(format!("{e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| format(format!("{e}")))?;
    let meta = header.metadata();
    let has = |k: &str| meta.as_ref().is_some_and(|m| m.contains_key(k));
    let get = |k: &str| {
        meta.as_ref()
            .and_then(|m| m.get(k))
            .map(String::as_str)
            .ok_or_else(|| format(format!("its metadata has no `{k}`")))
    };
    let number = |k: &str| -> Result<u64, CheckpointError> {
        get(k)?
            .parse()
            .map_err(|_| format(format!("its `{k}` is not a whole number")))
    };
    let float = |k: &str| -> Result<f32, CheckpointError> {
        u32::from_str_radix(get(k)?, 16)
            .map(f32::from_bits)
            .map_err(|_| format(format!("its `{k}` is not 8 hex digits")))
    };
    let other = |what, expected: String, found: String| {
        Err(CheckpointError::OtherRun {
            path: path.to_path_buf(),
            what,
            expected,
            found,
        })
    };
    if get("nn.checkpoint")? != "1" {
        return Err(format(format!(
            "its format is `{}`, expected `1`",
            get("nn.checkpoint")?
        )));
    }
    let declaration = get(crate::weights::NETWORK_KEY)?;
    if declaration != N::DECLARATION {
        return other("network", N::DECLARATION.into(), declaration.into());
    }
    if get("optimizer")? != optimizer.name() {
        return other(
            "optimizer",
            optimizer.name().into(),
            get("optimizer")?.into(),
        );
    }
    let as_usize =
        |v: u64, k: &str| usize::try_from(v).map_err(|_| format(format!("its `{k}` is too large")));
    let samples = as_usize(number("samples")?, "samples")?;
    let batch_size = as_usize(number("batch_size")?, "batch_size")?;
    let seed = number("seed")?;
    for (what, want, got) in [
        (
            "number of training samples",
            expected.samples as u64,
            samples as u64,
        ),
        ("batch size", expected.batch_size as u64, batch_size as u64),
        ("seed", expected.seed, seed),
    ] {
        if want != got {
            return other(what, want.to_string(), got.to_string());
        }
    }
    let rng_words: Vec<u64> = get("rng")?
        .split(' ')
        .map(|w| u64::from_str_radix(w, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| format("its `rng` is not four hex words".into()))?;
    let rng: [u64; 4] = rng_words
        .try_into()
        .map_err(|_| format("its `rng` is not four hex words".into()))?;
    let early = match has("early.best") {
        true => Some((
            float("early.best")?,
            as_usize(number("early.best_epoch")?, "early.best_epoch")?,
            as_usize(number("early.bad_epochs")?, "early.bad_epochs")?,
        )),
        false => None,
    };
    let divergence = (
        match has("divergence.start") {
            true => Some(float("divergence.start")?),
            false => None,
        },
        as_usize(number("divergence.streak")?, "divergence.streak")?,
    );
    let state = RunState {
        epoch: as_usize(number("epoch")?, "epoch")?,
        step: number("step")?,
        rng,
        learning_rate: float("learning_rate")?,
        samples,
        batch_size,
        seed,
        early,
        divergence,
    };
    let counter = number("optimizer.counter")?;

    // Every tensor is read and checked before anything is changed.
    let specs = specs::<N>();
    let read = |prefix: &str| -> Result<Vec<Vec<f32>>, CheckpointError> {
        specs
            .iter()
            .map(|(name, shape)| {
                let full = format!("{prefix}{name}");
                let view = st
                    .tensor(&full)
                    .map_err(|_| format(format!("it has no tensor `{full}`")))?;
                if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
                    return Err(format(format!(
                        "tensor `{full}` is {:?} {:?}, expected F32 {shape:?}",
                        view.dtype(),
                        view.shape()
                    )));
                }
                Ok(view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            })
            .collect()
    };
    let weights = read("")?;
    let names: Vec<&'static str> = optimizer.buffers().into_iter().map(|(n, _)| n).collect();
    let buffers = names
        .iter()
        .map(|n| read(&format!("optimizer.{n}.")))
        .collect::<Result<Vec<_>, _>>()?;
    let best_values = match best.is_some() && state.early.is_some() {
        true => Some(read("best.")?),
        false => None,
    };
    let view = st
        .tensor("shuffle.order")
        .map_err(|_| format("it has no tensor `shuffle.order`".into()))?;
    if view.dtype() != Dtype::U64 || view.shape() != [order.len()] {
        return Err(format(format!(
            "tensor `shuffle.order` is {:?} {:?}, expected U64 [{}]",
            view.dtype(),
            view.shape(),
            order.len()
        )));
    }
    let mut new_order = Vec::with_capacity(order.len());
    for b in view.data().chunks_exact(8) {
        let i = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        match usize::try_from(i) {
            Ok(i) if i < samples => new_order.push(i),
            _ => {
                return Err(format(format!(
                    "`shuffle.order` names sample {i} of {samples}"
                )))
            }
        }
    }

    let fill = |net: &mut N, values: &[Vec<f32>]| {
        for (p, v) in net.state_mut().zip(values) {
            p.copy_from_slice(v);
        }
    };
    fill(network, &weights);
    for ((_, buffer), values) in optimizer.buffers_mut().into_iter().zip(&buffers) {
        fill(buffer, values);
    }
    optimizer.set_counter(counter);
    if let (Some(best), Some(values)) = (best, best_values) {
        fill(best, &values);
    }
    order.copy_from_slice(&new_order);
    Ok(state)
}
