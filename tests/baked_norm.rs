//! Batch and layer normalisation baked in at compile time (`#[weights("file.safetensors")]`)
//! compute what the trainable network of the same declaration computes with the same file
//! loaded at run time, bit for bit: a flat network with both kinds (`nn.BatchNorm1d`,
//! `nn.LayerNorm(n)`), a convolutional one with `nn.BatchNorm2d` and an image `nn.LayerNorm`
//! (both trained a few steps by `tests/baked_fixtures.rs`, so their running statistics are not
//! a fresh layer's), and the BatchNorm network PyTorch trained and saved (its
//! `num_batches_tracked` an `I64`). The baked forward pass allocates nothing.

use std::error::Error;

use nn_test_support::{allocations, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

type TestResult = Result<(), Box<dyn Error>>;

/// How many training steps `tests/baked_fixtures.rs` takes before saving the norm networks.
const TRAINED_STEPS: u64 = 4;

nn::network! {
    /// `tests/baked_fixtures.rs`'s flat network with both normalisations, trainable.
    pub struct Norms: 6 -> layernorm -> 8 tanh -> batchnorm -> 5 relu -> layernorm -> batchnorm
        -> 3 softmax;

    /// The same, baked.
    #[weights("tests/fixtures/baked/norms.safetensors")]
    pub struct BakedNorms: 6 -> layernorm -> 8 tanh -> batchnorm -> 5 relu -> layernorm
        -> batchnorm -> 3 softmax;

    /// `tests/baked_fixtures.rs`'s image network with both normalisations, trainable.
    pub struct NormConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> batchnorm -> maxpool 2x2
        -> layernorm -> 10 softmax;

    /// The same, baked.
    #[weights("tests/fixtures/baked/norm-convnet.safetensors")]
    pub struct BakedNormConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> batchnorm -> maxpool 2x2
        -> layernorm -> 10 softmax;

    /// `tests/weights_buffers.rs`'s network, whose file PyTorch wrote after five steps.
    pub struct Norm: 4 -> 3 relu -> batchnorm -> 2 softmax;

    /// The same, baked from PyTorch's file.
    #[weights("tests/fixtures/weights/batchnorm-pytorch.safetensors")]
    pub struct BakedPytorchNorm: 4 -> 3 relu -> batchnorm -> 2 softmax;
}

#[path = "baked/common.rs"]
mod common;

use common::{bits, inputs};

/// A fresh batch normalisation's running statistics: mean 0, variance 1.
fn moved(mean: &[f32], var: &[f32]) -> bool {
    mean.iter().all(|&m| m != 0.0) && var.iter().all(|&v| v != 1.0)
}

#[test]
fn flat_batch_and_layer_norms_bake_bit_for_bit() -> TestResult {
    let xs = inputs::<6>(0x2545_f491_4f6c_dd1d, 3000);
    let loaded = same_bits!(
        Norms,
        BakedNorms,
        "tests/fixtures/baked/norms.safetensors",
        xs,
        [layer1, layer2, layer3, layer4, layer5, layer6, layer7]
    )?;
    // Trained: the running statistics are not a fresh layer's.
    assert_eq!(loaded.layer3.batches_tracked(), TRAINED_STEPS);
    assert_eq!(loaded.layer6.batches_tracked(), TRAINED_STEPS);
    assert!(moved(
        loaded.layer3.running_mean(),
        loaded.layer3.running_var()
    ));
    assert!(moved(
        loaded.layer6.running_mean(),
        loaded.layer6.running_var()
    ));
    // The baked statics are the loaded tensors, bit for bit.
    let view = BakedNorms.layer3();
    assert_eq!(bits(view.weight()), bits(loaded.layer3.weight()));
    assert_eq!(bits(view.bias()), bits(loaded.layer3.bias()));
    assert_eq!(
        bits(view.running_mean()),
        bits(loaded.layer3.running_mean())
    );
    assert_eq!(bits(view.running_var()), bits(loaded.layer3.running_var()));
    assert_eq!(
        bits(BakedNorms.layer5().weight()),
        bits(loaded.layer5.weight())
    );
    assert_eq!(bits(BakedNorms.layer1().bias()), bits(loaded.layer1.bias()));
    assert_eq!(format!("{view:?}"), "BatchNormRef(8 in 8 channels)");
    Ok(())
}

#[test]
fn image_batch_and_layer_norms_bake_bit_for_bit() -> TestResult {
    let xs = inputs::<64>(0x2545_f491_4f6c_dd1d, 2000);
    let loaded = same_bits!(
        NormConvNet,
        BakedNormConvNet,
        "tests/fixtures/baked/norm-convnet.safetensors",
        xs,
        [layer1, layer2, layer3, layer4, layer5]
    )?;
    assert_eq!(loaded.layer2.batches_tracked(), TRAINED_STEPS);
    assert!(moved(
        loaded.layer2.running_mean(),
        loaded.layer2.running_var()
    ));
    // BatchNorm2d: one value a channel; the image LayerNorm: one a value.
    let (bn, ln) = (BakedNormConvNet.layer2(), BakedNormConvNet.layer4());
    assert_eq!((bn.running_var().len(), ln.weight().len()), (4, 64));
    assert_eq!(bits(bn.running_var()), bits(loaded.layer2.running_var()));
    assert_eq!(bits(ln.weight()), bits(loaded.layer4.weight()));
    assert_eq!(format!("{bn:?}"), "BatchNormRef(256 in 4 channels)");
    assert_eq!(format!("{ln:?}"), "LayerNormRef(64)");
    assert_eq!(
        BakedNormConvNet::LAYERS,
        <NormConvNet as nn::Network>::LAYERS
    );
    Ok(())
}

#[test]
fn pytorchs_batchnorm_file_with_an_i64_count_bakes_bit_for_bit() -> TestResult {
    let xs = inputs::<4>(0x2545_f491_4f6c_dd1d, 2000);
    let loaded = same_bits!(
        Norm,
        BakedPytorchNorm,
        "tests/fixtures/weights/batchnorm-pytorch.safetensors",
        xs,
        [layer1, layer2, layer3]
    )?;
    assert_eq!(loaded.layer2.batches_tracked(), 5);
    assert_eq!(
        bits(BakedPytorchNorm.layer2().running_mean()),
        bits(loaded.layer2.running_mean())
    );
    Ok(())
}

#[test]
fn a_baked_forward_pass_with_norms_allocates_nothing() {
    let (flat, image) = (
        inputs::<6>(0x2545_f491_4f6c_dd1d, 50),
        inputs::<64>(0x2545_f491_4f6c_dd1d, 50),
    );
    let mut sum = 0.0;
    let before = allocations();
    for (x, y) in flat.iter().zip(&image) {
        sum += BakedNorms.forward(x)[0] + BakedNormConvNet.forward(y)[0];
        sum += BakedNorms.forward_all(x).layer6[0] + BakedPytorchNorm.forward(&[x[0]; 4])[1];
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in baked forward passes"
    );
    assert!(sum.is_finite());
    // The counter does count.
    let grown: Vec<f32> = flat.iter().map(|x| x[0]).collect();
    assert!(allocations() > before && !grown.is_empty());
}
