//! The weight files `tests/baked.rs` and the trybuild cases in `tests/ui/` bake in, written by
//! nn itself (`weights::to_bytes`), kept here, apart from the networks that bake them, so that
//! this file compiles whatever the fixtures hold. Run with `NN_BLESS=1` to rewrite them.
//!
//! The networks with batch and layer normalisation are trained for a few steps first, so that
//! their running statistics (and `num_batches_tracked`) are not a fresh layer's. Training runs
//! the SIMD kernels, whose last bits differ between back ends, so their files are checked byte
//! for byte on the back end that blessed them ([`NORM_BLESSED_ON`]) and to within rounding on
//! the others.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use nn::{weights, CrossEntropy, GradientDescent, Network, Optimizer, Trainable, Workspace};
use nn_test_support::Data;
use safetensors::tensor::{serialize, TensorView};
use safetensors::SafeTensors;

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

    /// Both normalisations, flat (`nn.BatchNorm1d`, `nn.LayerNorm(n)`), at the input and
    /// between dense layers: `nn.Sequential(LayerNorm, Linear, Tanh, BatchNorm1d, Linear,
    /// ReLU, LayerNorm, BatchNorm1d, Linear, Softmax)`.
    pub struct Norms: 6 -> layernorm -> 8 tanh -> batchnorm -> 5 relu -> layernorm -> batchnorm
        -> 3 softmax;

    /// Both normalisations of an image (`nn.BatchNorm2d(4)`, `nn.LayerNorm([4, 4, 4])`)
    /// around a convolution and a pooling.
    pub struct NormConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> batchnorm -> maxpool 2x2
        -> layernorm -> 10 softmax;

    /// `tests/ui/baked-batchnorm-shape.rs`'s declaration: its file holds a `2.running_var` of
    /// two values for the batch normalisation's three channels.
    pub struct ShortVar: 4 -> 3 relu -> batchnorm -> 2 softmax;
}

/// How many training steps the normalising networks take before they are saved.
pub const NORM_STEPS: u64 = 4;

/// `net` perturbed, then trained for [`NORM_STEPS`] steps of gradient descent on a fixed
/// batch of 16 so that its batch normalisations' running statistics move.
fn trained<N, const I: usize, const O: usize>(net: N) -> N
where
    N: Trainable<CrossEntropy, Scalar = f32, Input = [f32; I], Output = [f32; O]>,
{
    let mut net = perturbed(net);
    let mut data = Data(17);
    let (xs, ys): (Vec<[f32; I]>, Vec<[f32; O]>) = (data.rows(16, Data::signed), data.one_hot(16));
    let (mut grads, mut ws, mut opt) = (N::zeros(), Workspace::new(), GradientDescent::new(0.1));
    for _ in 0..NORM_STEPS {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap_or_else(|e| panic!("a training step: {e}"));
        opt.step(&mut net, &grads);
    }
    net
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

/// The kernel back end (`nn::kernel::backend_name`) the trained fixtures were blessed on.
const NORM_BLESSED_ON: &str = "avx512";

/// The file the trained `net` writes must be the fixture: byte for byte on the back end that
/// blessed it, else value for value to within a back end's rounding.
fn check_trained<N: Network<Scalar = f32>>(net: &N, name: &str) -> TestResult {
    if std::env::var_os("NN_BLESS").is_some() || nn::kernel::backend_name() == NORM_BLESSED_ON {
        return check(net, name);
    }
    let stored: N = weights::load(fixture(name))?;
    for (t, (got, want)) in stored.state().zip(net.state()).enumerate() {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "tests/fixtures/baked/{name}: tensor {t} value {i} is {g}, trained here {w}"
            );
        }
    }
    Ok(())
}

/// The bytes `net` writes with the tensor `name` cut to its first `len` values (a shape of
/// `[len]`): a file that does not fit the declaration, for the trybuild cases.
fn cut<N: Network<Scalar = f32>>(
    net: &N,
    name: &str,
    len: usize,
) -> Result<Vec<u8>, Box<dyn Error>> {
    let whole = weights::to_bytes(net)?;
    let file = SafeTensors::deserialize(&whole)?;
    let mut tensors = Vec::new();
    for (key, view) in file.tensors() {
        let view = if key == name {
            let size = view.data().len() / view.shape().iter().product::<usize>();
            TensorView::new(view.dtype(), vec![len], &view.data()[..len * size])?
        } else {
            view
        };
        tensors.push((key, view));
    }
    Ok(serialize(tensors, None)?)
}

/// The bytes `bytes` must be the fixture `name`, byte for byte.
fn check_bytes(bytes: &[u8], name: &str) -> TestResult {
    if std::env::var_os("NN_BLESS").is_some() {
        fs::write(fixture(name), bytes)?;
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
    check(&perturbed(ConvNet::new(5)), "convnet.safetensors")?;
    check_trained(&trained(Norms::new(9)), "norms.safetensors")?;
    check_trained(&trained(NormConvNet::new(4)), "norm-convnet.safetensors")?;
    let short = cut(&perturbed(ShortVar::new(2)), "2.running_var", 2)?;
    check_bytes(&short, "batchnorm-short-var.safetensors")
}
