//! The two-head fixture pair `tests/fixtures/weights/two-heads{,-io}.safetensors`: the weights
//! file of a two-head network with residual blocks (in the trunk and in a head) and a
//! channel-wise concatenation of images, and a few inputs with each head's outputs as this code
//! computes them. `scripts/check_safetensors.py` (numpy, run by CI) recomputes the forward pass
//! from the tensor names; `scripts/check_pytorch.py` loads the file strictly into the PyTorch
//! module nn prints for it and matches the outputs.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use nn::model::TensorRole;
use nn::{weights, Network};
use nn_test_support::Data;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    /// Two heads reading a convolutional trunk with a residual block and a concatenation.
    pub struct TwoHeads: 1x6x6 -> stem: conv 3 3x3 pad 1 relu
        -> skip: residual { conv 4 3x3 pad 1 tanh -> batchnorm -> conv 3 3x3 pad 1 linear }
        -> concat { conv 2 3x3 relu, maxpool 3x3 stride 1 }
        -> heads {
            digit: 10 softmax,
            even: 8 relu -> residual { 8 tanh -> layernorm -> 8 linear } -> dropout 0.1 -> 1 sigmoid,
        };
}

/// The seed of the network in the fixture files.
const FIXTURE_SEED: u64 = 2026;

/// The samples in the inputs and outputs file.
const SAMPLES: usize = 5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

/// `TwoHeads::new(FIXTURE_SEED)` with every normalisation's scale, shift and running statistics
/// moved away from their start (1, 0, mean 0, variance 1), so that the checks read them.
fn network() -> TwoHeads {
    let mut net = TwoHeads::new(FIXTURE_SEED);
    let mut d = Data(FIXTURE_SEED);
    let tensors: Vec<(bool, TensorRole)> = TwoHeads::LAYERS
        .iter()
        .flat_map(|l| {
            let norm = matches!(
                l.kind,
                nn::model::LayerKind::BatchNorm | nn::model::LayerKind::LayerNorm
            );
            l.tensors().chain(l.buffers()).map(move |t| (norm, t.role))
        })
        .collect();
    assert_eq!(net.state().count(), tensors.len());
    for (slice, (norm, role)) in net.state_mut().zip(tensors) {
        for v in slice {
            match role {
                TensorRole::Weight if norm => *v = 0.5 + d.uniform(),
                TensorRole::Bias if norm => *v = 0.5 * d.signed(),
                TensorRole::RunningMean => *v = 0.5 * d.signed(),
                TensorRole::RunningVar => *v = 0.5 + d.uniform(),
                _ => {}
            }
        }
    }
    net
}

/// Deterministic images in `[0, 1)`.
fn inputs() -> Vec<[f32; 36]> {
    Data(7).rows(SAMPLES, Data::uniform)
}

/// The inputs and outputs file: `inputs` `[n, 36]` (each a 1x6x6 image, row-major), and
/// `outputs.digit` `[n, 10]`, `outputs.even` `[n, 1]`, all `F32`.
fn io_bytes(net: &TwoHeads, xs: &[[f32; 36]]) -> Result<Vec<u8>, Box<dyn Error>> {
    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let outs: Vec<TwoHeadsOutputs> = xs.iter().map(|x| net.forward(x)).collect();
    let digit: Vec<f32> = outs.iter().flat_map(|o| o.digit).collect();
    let even: Vec<f32> = outs.iter().flat_map(|o| o.even).collect();
    let (x, digit, even) = (le(xs.as_flattened()), le(&digit), le(&even));
    let n = xs.len();
    let tensors = [
        ("inputs", TensorView::new(Dtype::F32, vec![n, 36], &x)?),
        (
            "outputs.digit",
            TensorView::new(Dtype::F32, vec![n, 10], &digit)?,
        ),
        (
            "outputs.even",
            TensorView::new(Dtype::F32, vec![n, 1], &even)?,
        ),
    ];
    Ok(safetensors::serialize(tensors, None)?)
}

#[test]
fn the_module_and_tensor_names_are_pytorchs() {
    assert_eq!(
        weights::pytorch_sequential::<TwoHeads>(),
        "nn.Sequential(nn.Conv2d(1, 3, kernel_size=(3, 3), stride=1, padding=1), nn.ReLU(), \
         Residual(nn.Conv2d(3, 4, kernel_size=(3, 3), stride=1, padding=1), nn.Tanh(), \
         nn.BatchNorm2d(4), nn.Conv2d(4, 3, kernel_size=(3, 3), stride=1, padding=1), \
         nn.Identity()), \
         Concat(nn.Sequential(nn.Conv2d(3, 2, kernel_size=(3, 3), stride=1, padding=0), \
         nn.ReLU()), nn.Sequential(nn.MaxPool2d(kernel_size=(3, 3), stride=1))), \
         Heads({\"digit\": nn.Sequential(nn.Flatten(), nn.Linear(80, 10), nn.Softmax(dim=-1)), \
         \"even\": nn.Sequential(nn.Flatten(), nn.Linear(80, 8), nn.ReLU(), \
         Residual(nn.Linear(8, 8), nn.Tanh(), nn.LayerNorm(8), nn.Linear(8, 8), nn.Identity()), \
         nn.Dropout(p=0.1), nn.Linear(8, 1), nn.Sigmoid())}))"
    );
    assert_eq!(
        weights::tensor_names::<TwoHeads>(),
        [
            "0.weight",
            "0.bias",
            "2.0.weight",
            "2.0.bias",
            "2.2.weight",
            "2.2.bias",
            "2.2.running_mean",
            "2.2.running_var",
            "2.2.num_batches_tracked",
            "2.3.weight",
            "2.3.bias",
            "3.0.0.weight",
            "3.0.0.bias",
            "4.digit.1.weight",
            "4.digit.1.bias",
            "4.even.1.weight",
            "4.even.1.bias",
            "4.even.3.0.weight",
            "4.even.3.0.bias",
            "4.even.3.2.weight",
            "4.even.3.2.bias",
            "4.even.3.3.weight",
            "4.even.3.3.bias",
            "4.even.5.weight",
            "4.even.5.bias",
        ]
    );
}

/// The fixtures are what this code writes today. Run with `NN_BLESS=1` to rewrite them after a
/// deliberate change, then run `python3 scripts/check_safetensors.py` (and, where torch is
/// installed, `scripts/check_pytorch.py`). The weights must match byte for byte, the outputs to
/// within 1e-6 (a faster kernel may sum in another order).
#[test]
fn two_heads_fixtures_are_current() -> TestResult {
    let net = network();
    let xs = inputs();
    let weights_file = weights::to_bytes(&net)?;
    if std::env::var_os("NN_BLESS").is_some() {
        fs::write(fixture("two-heads.safetensors"), &weights_file)?;
        fs::write(fixture("two-heads-io.safetensors"), io_bytes(&net, &xs)?)?;
    }
    let stale = "is stale: rerun with NN_BLESS=1 and check it with scripts/check_safetensors.py";
    assert!(
        fs::read(fixture("two-heads.safetensors"))? == weights_file,
        "tests/fixtures/weights/two-heads.safetensors {stale}"
    );
    let back: TwoHeads = weights::load(fixture("two-heads.safetensors"))?;
    let bits = |n: &TwoHeads| -> Vec<u32> {
        n.state()
            .flat_map(|s| s.iter().map(|v| v.to_bits()))
            .collect()
    };
    assert_eq!(bits(&back), bits(&net));

    let io = fs::read(fixture("two-heads-io.safetensors"))?;
    let io = SafeTensors::deserialize(&io)?;
    let floats = |name: &str| -> Result<Vec<f32>, Box<dyn Error>> {
        let t = io.tensor(name)?;
        assert_eq!(t.dtype(), Dtype::F32, "{name}");
        Ok(t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    assert!(
        floats("inputs")? == xs.as_flattened(),
        "tests/fixtures/weights/two-heads-io.safetensors {stale}"
    );
    let (digit, even) = (floats("outputs.digit")?, floats("outputs.even")?);
    assert_eq!((digit.len(), even.len()), (SAMPLES * 10, SAMPLES));
    for (i, x) in xs.iter().enumerate() {
        let now = net.forward(x);
        let then = digit[10 * i..10 * i + 10].iter().chain(&even[i..=i]);
        for (now, then) in now.digit.iter().chain(&now.even).zip(then) {
            assert!(
                (now - then).abs() <= 1e-6,
                "output {now} vs stored {then}: two-heads-io.safetensors {stale}"
            );
        }
    }
    Ok(())
}
