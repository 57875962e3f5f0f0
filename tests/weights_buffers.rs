//! Batch normalisation's buffers in weights files, against a file PyTorch wrote:
//! `tests/fixtures/weights/batchnorm-pytorch.safetensors` is
//! `safetensors.torch.save_file(model.state_dict(), ...)` of a BatchNorm network trained for five
//! steps (`scripts/batchnorm_pytorch_fixture.py`; CI never runs torch), so its
//! `2.num_batches_tracked` is an `I64` scalar; `batchnorm-pytorch-io.safetensors` holds inputs
//! and the evaluation-mode outputs PyTorch computed on them in float64. nn loads the file and
//! matches those outputs to within 1e-6 (float32 arithmetic on probabilities, against float64),
//! and writes `num_batches_tracked` as `I64` itself.

use std::error::Error;

use nn::weights::{self, Dtype, WeightsError};
use nn_test_support::{assert_mentions, error_of};
use safetensors::tensor::Dtype as StDtype;
use safetensors::SafeTensors;

nn::network! {
    struct Norm: 4 -> 3 relu -> batchnorm -> 2 softmax;
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weights");

/// How far nn's `f32` outputs may be from PyTorch's float64 ones.
const TOLERANCE: f64 = 1e-6;

type TestResult = Result<(), Box<dyn Error>>;

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// The float tensor `name` of `file` (F32 or F64), widened to `f64`, flat.
fn floats(file: &SafeTensors<'_>, name: &str) -> Result<Vec<f64>, Box<dyn Error>> {
    let view = file.tensor(name)?;
    Ok(match view.dtype() {
        StDtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        StDtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect(),
        other => return Err(format!("tensor {name} is {other}").into()),
    })
}

#[test]
fn the_fixture_is_the_networks_pytorch_module() {
    assert_eq!(
        weights::pytorch_sequential::<Norm>(),
        "nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 2), \
         nn.Softmax(dim=-1))"
    );
}

#[test]
fn a_batchnorm_file_written_by_pytorch_loads_and_matches_its_outputs() -> TestResult {
    let path = fixture("batchnorm-pytorch.safetensors");
    let bytes = std::fs::read(&path)?;
    let file = SafeTensors::deserialize(&bytes)?;
    assert_eq!(file.tensor("2.num_batches_tracked")?.dtype(), StDtype::I64);
    assert_eq!(file.tensor("2.num_batches_tracked")?.shape(), [0usize; 0]);

    let net: Norm = weights::load(&path)?;
    assert_eq!(net.layer2.batches_tracked(), 5);
    // The running statistics are PyTorch's, bit for bit, and not the initial (0, 1).
    let mean = floats(&file, "2.running_mean")?;
    let var = floats(&file, "2.running_var")?;
    for c in 0..3 {
        assert_eq!(f64::from(net.layer2.running_mean()[c]), mean[c]);
        assert_eq!(f64::from(net.layer2.running_var()[c]), var[c]);
        assert!(mean[c].abs() > 0.01 && (var[c] - 1.0).abs() > 0.1, "{c}");
    }

    let io_bytes = std::fs::read(fixture("batchnorm-pytorch-io.safetensors"))?;
    let io = SafeTensors::deserialize(&io_bytes)?;
    let inputs = floats(&io, "inputs")?;
    let outputs = floats(&io, "outputs")?;
    assert_eq!((inputs.len(), outputs.len()), (24, 12));
    for (row, (x, want)) in inputs
        .chunks_exact(4)
        .zip(outputs.chunks_exact(2))
        .enumerate()
    {
        #[allow(clippy::cast_possible_truncation)] // The inputs are float32, widened exactly.
        let x: [f32; 4] = std::array::from_fn(|i| x[i] as f32);
        let got = net.forward(&x);
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() <= TOLERANCE,
                "row {row}, output {k}: nn {g}, PyTorch {w}"
            );
        }
    }
    Ok(())
}

#[test]
fn nn_writes_num_batches_tracked_as_i64_in_every_dtype() -> TestResult {
    let net: Norm = weights::load(fixture("batchnorm-pytorch.safetensors"))?;
    for dtype in Dtype::ALL {
        let bytes = weights::to_bytes_as(&net, dtype)?;
        let file = SafeTensors::deserialize(&bytes)?;
        let count = file.tensor("2.num_batches_tracked")?;
        assert_eq!((count.dtype(), count.shape()), (StDtype::I64, &[][..]));
        assert_eq!(count.data(), 5i64.to_le_bytes());
        for (name, view) in file.tensors() {
            if name != "2.num_batches_tracked" {
                assert_eq!(view.dtype().to_string(), dtype.to_string(), "{name}");
            }
        }
        let back: Norm = weights::from_bytes(&bytes)?;
        assert_eq!(back.layer2.batches_tracked(), 5);
    }
    // Written as F32, the file is PyTorch's again, byte for byte in every tensor.
    let ours = weights::to_bytes(&net)?;
    let ours = SafeTensors::deserialize(&ours)?;
    let bytes = std::fs::read(fixture("batchnorm-pytorch.safetensors"))?;
    let theirs = SafeTensors::deserialize(&bytes)?;
    for name in weights::tensor_names::<Norm>() {
        let (a, b) = (ours.tensor(&name)?, theirs.tensor(&name)?);
        assert_eq!(
            (a.dtype(), a.shape(), a.data()),
            (b.dtype(), b.shape(), b.data()),
            "{name}"
        );
    }
    Ok(())
}

/// The bytes of `net`'s file with `2.num_batches_tracked` (or `tensor`) replaced by `I64`
/// `values` of `shape`, written by the safetensors crate.
fn with_i64(
    net: &Norm,
    tensor: &str,
    shape: &[usize],
    values: &[i64],
) -> Result<Vec<u8>, Box<dyn Error>> {
    let bytes = weights::to_bytes(net)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let longs: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut views = Vec::new();
    for (name, view) in file.tensors() {
        if name == tensor {
            views.push((
                name,
                safetensors::tensor::TensorView::new(StDtype::I64, shape.to_vec(), &longs)?,
            ));
        } else {
            views.push((name, view));
        }
    }
    Ok(safetensors::serialize(views, None)?)
}

#[test]
fn i64_counts_beyond_two_to_the_24_are_refused_with_the_tensor_and_index() -> TestResult {
    let net: Norm = weights::load(fixture("batchnorm-pytorch.safetensors"))?;
    // 2^24 is the last count f32 holds exactly with all below it.
    let edge: Norm =
        weights::from_bytes(&with_i64(&net, "2.num_batches_tracked", &[], &[1 << 24])?)?;
    assert_eq!(edge.layer2.batches_tracked(), 1 << 24);

    let mut target: Norm = weights::load(fixture("batchnorm-pytorch.safetensors"))?;
    let bytes = with_i64(&net, "2.num_batches_tracked", &[], &[(1 << 24) + 1])?;
    let e = error_of(weights::from_bytes_into(&mut target, &bytes))?;
    assert!(
        matches!(&e, WeightsError::OutOfRange { name, index: 0, integer: true, target: Dtype::F32, .. }
            if name == "2.num_batches_tracked"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "tensor `2.num_batches_tracked` holds 1.6777217e7 at index 0, beyond the integers F32 \
         holds exactly (magnitude at most 2^24 = 16777216)"
    );
    assert_eq!(target.layer2.batches_tracked(), 5, "nothing written");

    // A running mean stored as integers loads too (a buffer), index named when out of range.
    let bytes = with_i64(&net, "2.running_mean", &[3], &[1, -2, 3])?;
    let loaded: Norm = weights::from_bytes(&bytes)?;
    assert_eq!(loaded.layer2.running_mean(), &[1.0, -2.0, 3.0]);
    let bytes = with_i64(&net, "2.running_mean", &[3], &[1, i64::MIN, 3])?;
    let e = error_of(weights::from_bytes::<Norm>(&bytes).map(|_| ()))?;
    assert!(
        matches!(&e, WeightsError::OutOfRange { name, index: 1, integer: true, .. }
            if name == "2.running_mean"),
        "{e:?}"
    );
    Ok(())
}

#[test]
fn i64_parameters_are_refused() -> TestResult {
    let net: Norm = weights::load(fixture("batchnorm-pytorch.safetensors"))?;
    let bytes = with_i64(&net, "2.weight", &[3], &[1, 1, 1])?;
    let e = error_of(weights::from_bytes::<Norm>(&bytes).map(|_| ()))?;
    assert!(
        matches!(&e, WeightsError::Dtype { name, found, buffer: false, .. }
            if name == "2.weight" && found == "I64"),
        "{e:?}"
    );
    assert_mentions(
        &e.to_string(),
        &[
            "tensor `2.weight` has dtype I64, expected F32, F16, BF16 or F64",
            "I64 only for a buffer such as num_batches_tracked",
        ],
    );
    Ok(())
}

#[test]
fn an_older_nn_file_with_an_f32_count_still_loads() -> TestResult {
    let net: Norm = weights::load(fixture("batchnorm-pytorch.safetensors"))?;
    let bytes = weights::to_bytes(&net)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let five = 5.0f32.to_le_bytes();
    let views: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            if name == "2.num_batches_tracked" {
                safetensors::tensor::TensorView::new(StDtype::F32, vec![], &five).map(|v| (name, v))
            } else {
                Ok((name, view))
            }
        })
        .collect::<Result<_, _>>()?;
    let old = safetensors::serialize(views, None)?;
    let back: Norm = weights::from_bytes(&old)?;
    assert_eq!(back.layer2.batches_tracked(), 5);
    assert_eq!(back.layer2.running_var(), net.layer2.running_var());
    Ok(())
}
