//! The weight files `tests/baked.rs` and the trybuild cases in `tests/ui/` bake in, written by
//! nn itself (`weights::to_bytes`), kept here, apart from the networks that bake them, so that
//! this file compiles whatever the fixtures hold. Run with `NN_BLESS=1` to rewrite them.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use nn::{weights, Network};

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    /// The seminar's XOR network: the trybuild cases' file.
    pub struct Xor: 2 -> 3 tanh -> 1 sigmoid;

    /// An image network with a named layer, dropout and a slope: the numbering of
    /// `nn.Sequential(Flatten, Linear, ReLU, Dropout, Linear, LeakyReLU, Linear, Softmax)`.
    pub struct Image: 1x8x8 -> hidden: 12 relu -> dropout 0.25 -> 16 leaky_relu 0.2 -> 10 softmax;

    /// Convolutions (stride 1 with padding, and stride 2: the kernel's two paths) and both
    /// poolings: `nn.Sequential(Conv2d, ReLU, MaxPool2d, Conv2d, Tanh, AvgPool2d, Flatten,
    /// Linear, Softmax)`.
    pub struct ConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> maxpool 2x2 -> conv 6 2x2 stride 2 tanh
        -> avgpool 2x2 -> 10 softmax;
}

/// `tests/fixtures/baked/NAME`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/baked")
        .join(name)
}

/// `net` seeded, every parameter then moved by a small, fixed, uneven amount so that no bias is
/// zero.
fn perturbed<N: Network<Scalar = f32>>(mut net: N) -> N {
    for (t, tensor) in net.parameters_mut().enumerate() {
        for (i, p) in tensor.iter_mut().enumerate() {
            #[allow(clippy::cast_precision_loss)] // Small integers.
            let step = ((i * 37 + t * 11) % 23) as f32 - 11.0;
            *p += step * 0.013;
        }
    }
    net
}

/// The file `net` writes must be the fixture, byte for byte.
fn check<N: Network<Scalar = f32>>(net: &N, name: &str) -> TestResult {
    let bytes = weights::to_bytes(net)?;
    if std::env::var_os("NN_BLESS").is_some() {
        fs::create_dir_all(fixture(""))?;
        fs::write(fixture(name), &bytes)?;
    }
    assert!(
        fs::read(fixture(name))? == bytes,
        "tests/fixtures/baked/{name} is stale: rerun with NN_BLESS=1"
    );
    Ok(())
}

#[test]
fn fixtures_are_current() -> TestResult {
    check(&perturbed(Xor::new(7)), "xor.safetensors")?;
    check(&perturbed(Image::new(3)), "image.safetensors")?;
    check(&perturbed(ConvNet::new(5)), "convnet.safetensors")
}
