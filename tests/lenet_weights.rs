//! LeNet's weights in the layout of the equivalent `torch.nn.Sequential`: the tensor names count
//! every module as PyTorch does (pooling, dropout and flatten included), a convolution's weights
//! are `[out, in, kh, kw]`, a file round-trips bit for bit, and the fixture pair
//! `tests/fixtures/weights/lenet{,-io}.safetensors` is what this code writes today (checked from
//! numpy by `scripts/check_safetensors.py`, which CI runs).

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use nn::{weights, Network};
use safetensors::{Dtype, SafeTensors};

nn::network! {
    /// The LeNet.
    pub struct LeNet: 1x28x28
        -> conv 6 5x5 pad 2 relu
        -> maxpool 2x2
        -> conv 16 5x5 relu
        -> maxpool 2x2
        -> dropout 0.25
        -> 120 relu
        -> 84 relu
        -> 10 softmax;
}

type TestResult = Result<(), Box<dyn Error>>;

const FIXTURE_SEED: u64 = 2026;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

/// Four images, each pixel a fixed pattern in [0, 1].
fn inputs() -> Vec<[f32; 784]> {
    (0..4)
        .map(|s| core::array::from_fn(|i| ((i * 7 + s * 13 + i * i % 11) % 256) as f32 / 255.0))
        .collect()
}

fn bits<N: Network<Scalar = f32>>(network: &N) -> Vec<u32> {
    network
        .parameters()
        .flat_map(|p| p.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn lenet_is_pytorchs_sequential() -> TestResult {
    assert_eq!(
        weights::pytorch_sequential::<LeNet>(),
        "nn.Sequential(nn.Conv2d(1, 6, kernel_size=(5, 5), stride=1, padding=2), nn.ReLU(), \
         nn.MaxPool2d(kernel_size=(2, 2), stride=2), \
         nn.Conv2d(6, 16, kernel_size=(5, 5), stride=1, padding=0), nn.ReLU(), \
         nn.MaxPool2d(kernel_size=(2, 2), stride=2), nn.Dropout(p=0.25), nn.Flatten(), \
         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10), \
         nn.Softmax(dim=-1))"
    );
    assert_eq!(
        weights::tensor_names::<LeNet>(),
        [
            "0.weight",
            "0.bias",
            "3.weight",
            "3.bias",
            "8.weight",
            "8.bias",
            "10.weight",
            "10.bias",
            "12.weight",
            "12.bias"
        ]
    );
    let net = LeNet::new(3);
    let bytes = weights::to_bytes(&net)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let conv = file.tensor("3.weight")?;
    assert_eq!(
        (conv.dtype(), conv.shape()),
        (Dtype::F32, &[16, 6, 5, 5][..])
    );
    // Element [f][c][ky][kx] of the file is the layer's value at the same row-major index.
    let index = ((7 * 6 + 4) * 5 + 2) * 5 + 1;
    let value = f32::from_le_bytes(conv.data()[4 * index..4 * index + 4].try_into()?);
    assert_eq!(value, net.layer3.weights()[index]);
    let back: LeNet = weights::from_bytes(&bytes)?;
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(back.forward(&inputs()[0]), net.forward(&inputs()[0]));
    Ok(())
}

/// The inputs and outputs file: tensors `inputs` `[n, 784]` and `outputs` `[n, 10]`, `F32`.
fn io_bytes(net: &LeNet, xs: &[[f32; 784]]) -> Result<Vec<u8>, Box<dyn Error>> {
    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let ys: Vec<[f32; 10]> = xs.iter().map(|x| net.forward(x)).collect();
    let (x, y) = (le(xs.as_flattened()), le(ys.as_flattened()));
    let tensors = [
        (
            "inputs",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![xs.len(), 784], &x)?,
        ),
        (
            "outputs",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![ys.len(), 10], &y)?,
        ),
    ];
    Ok(safetensors::serialize(tensors, None)?)
}

/// The LeNet fixtures are what this code writes today. Run with `NN_BLESS=1` to rewrite them
/// after a deliberate change, then run `python3 scripts/check_safetensors.py`. The weights must
/// match byte for byte, the outputs to within 1e-5 (a faster kernel may sum in another order).
#[test]
fn lenet_fixtures_are_current() -> TestResult {
    let net = LeNet::new(FIXTURE_SEED);
    let xs = inputs();
    let weights_file = weights::to_bytes(&net)?;
    if std::env::var_os("NN_BLESS").is_some() {
        fs::write(fixture("lenet.safetensors"), &weights_file)?;
        fs::write(fixture("lenet-io.safetensors"), io_bytes(&net, &xs)?)?;
    }
    let stale = "is stale: rerun with NN_BLESS=1 and check it with scripts/check_safetensors.py";
    assert!(
        fs::read(fixture("lenet.safetensors"))? == weights_file,
        "tests/fixtures/weights/lenet.safetensors {stale}"
    );
    let io = fs::read(fixture("lenet-io.safetensors"))?;
    let io = SafeTensors::deserialize(&io)?;
    let floats = |name: &str| -> Result<Vec<f32>, Box<dyn Error>> {
        Ok(io
            .tensor(name)?
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    assert!(
        floats("inputs")? == xs.as_flattened(),
        "lenet-io.safetensors {stale}"
    );
    let outputs = floats("outputs")?;
    for (x, stored) in xs.iter().zip(outputs.chunks_exact(10)) {
        for (now, then) in net.forward(x).iter().zip(stored) {
            assert!(
                (now - then).abs() <= 1e-5,
                "output {now} vs stored {then}: {stale}"
            );
        }
    }
    Ok(())
}
