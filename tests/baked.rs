//! Networks baked in at compile time (`#[weights("file.safetensors")]`) compute what the
//! trainable network of the same declaration computes with the same file loaded at run time,
//! bit for bit: for files nn wrote (F32) and files PyTorch wrote in F16, BF16 and F64, for
//! dense-only networks, one with an image input, a named layer and dropout, and one with
//! convolutions and poolings.

use std::error::Error;

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    /// The seminar's digit classifier, trainable: what the files load into at run time.
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// The same, baked from the file nn wrote.
    #[weights("tests/fixtures/weights/digits.safetensors")]
    pub struct BakedF32: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// Baked from PyTorch's float16 file.
    #[weights("tests/fixtures/weights/digits-f16.safetensors")]
    pub struct BakedF16: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// Baked from PyTorch's bfloat16 file.
    #[weights("tests/fixtures/weights/digits-bf16.safetensors")]
    pub struct BakedBf16: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// Baked from PyTorch's float64 file (rounded to nearest, as the loader rounds).
    #[weights("tests/fixtures/weights/digits-f64.safetensors")]
    pub struct BakedF64: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// The image network of `tests/baked_fixtures.rs`, trainable.
    pub struct Image: 1x8x8 -> hidden: 12 relu -> dropout 0.25 -> 16 leaky_relu 0.2 -> 10 softmax;

    /// The same, baked.
    #[weights("tests/fixtures/baked/image.safetensors")]
    pub struct BakedImage: 1x8x8 -> hidden: 12 relu -> dropout 0.25 -> 16 leaky_relu 0.2 -> 10 softmax;

    /// The convolutional network of `tests/baked_fixtures.rs`, trainable.
    pub struct ConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> maxpool 2x2 -> conv 6 2x2 stride 2 tanh
        -> avgpool 2x2 -> 10 softmax;

    /// The same, baked.
    #[weights("tests/fixtures/baked/convnet.safetensors")]
    pub struct BakedConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> maxpool 2x2
        -> conv 6 2x2 stride 2 tanh -> avgpool 2x2 -> 10 softmax;
}

#[path = "baked/common.rs"]
mod common;

use common::{bits, inputs};

#[test]
fn baked_digits_compute_what_the_loaded_file_computes_bit_for_bit() -> TestResult {
    let xs = inputs::<784>(0x9e37_79b9_7f4a_7c15, 1000);
    let loaded = same_bits!(
        Digits,
        BakedF32,
        "tests/fixtures/weights/digits.safetensors",
        xs,
        [layer1, layer2, layer3]
    )?;
    same_bits!(
        Digits,
        BakedF16,
        "tests/fixtures/weights/digits-f16.safetensors",
        xs,
        [layer1, layer2, layer3]
    )?;
    same_bits!(
        Digits,
        BakedBf16,
        "tests/fixtures/weights/digits-bf16.safetensors",
        xs,
        [layer1, layer2, layer3]
    )?;
    same_bits!(
        Digits,
        BakedF64,
        "tests/fixtures/weights/digits-f64.safetensors",
        xs,
        [layer1, layer2, layer3]
    )?;
    // The baked statics are the loaded weights, bit for bit.
    assert_eq!(
        bits(BakedF32.layer1().weights_flat()),
        bits(loaded.layer1.weights_flat())
    );
    assert_eq!(bits(BakedF32.layer3().bias()), bits(loaded.layer3.bias()));
    Ok(())
}

#[test]
fn an_image_network_with_dropout_bakes_bit_for_bit() -> TestResult {
    let xs = inputs::<64>(0x9e37_79b9_7f4a_7c15, 2000);
    let loaded = same_bits!(
        Image,
        BakedImage,
        "tests/fixtures/baked/image.safetensors",
        xs,
        [hidden, layer2, layer3, layer4]
    )?;
    assert_eq!(
        bits(BakedImage.hidden().weights_flat()),
        bits(loaded.hidden.weights_flat())
    );
    Ok(())
}

#[test]
fn a_convolutional_network_bakes_bit_for_bit() -> TestResult {
    let xs = inputs::<64>(0x9e37_79b9_7f4a_7c15, 2000);
    let loaded = same_bits!(
        ConvNet,
        BakedConvNet,
        "tests/fixtures/baked/convnet.safetensors",
        xs,
        [layer1, layer2, layer3, layer4, layer5]
    )?;
    assert_eq!(
        bits(BakedConvNet.layer3().weights_flat()),
        bits(loaded.layer3.weights())
    );
    assert_eq!(BakedConvNet::LAYERS, <ConvNet as nn::Network>::LAYERS);
    Ok(())
}

#[test]
fn a_baked_network_describes_itself_as_the_trainable_one_does() {
    use nn::Network;
    assert_eq!(BakedImage::LAYERS, Image::LAYERS);
    assert_eq!(BakedImage::DECLARATION, Image::DECLARATION);
    assert_eq!((BakedF16::INPUT, BakedF16::OUTPUT), (784, 10));
    assert_eq!(
        BakedF16::WEIGHTS_FILE,
        "tests/fixtures/weights/digits-f16.safetensors"
    );
    // Zero-sized: the weights are statics, not in the value.
    assert_eq!(std::mem::size_of::<BakedF32>(), 0);
}
