//! Baked networks of every layer kind a baked network has (convolution, both poolings,
//! dropout, dense), compiled here without `alloc`: the layer types `Conv`, `MaxPool`,
//! `AvgPool` need the heap, the baked code does not. The weights are the main workspace's
//! fixtures, which its `tests/baked.rs` checks against PyTorch; `../tests/convnet.rs` compares
//! the outputs with the bits `tests/embedded.rs` computes with `std` and the files loaded at
//! run time.

nn::network! {
    /// `tests/baked.rs`'s image network: dense layers and dropout over an image.
    #[weights("../../../tests/fixtures/baked/image.safetensors")]
    pub struct BakedImage: 1x8x8 -> hidden: 12 relu -> dropout 0.25 -> 16 leaky_relu 0.2 -> 10 softmax;

    /// `tests/baked.rs`'s convolutional network.
    #[weights("../../../tests/fixtures/baked/convnet.safetensors")]
    pub struct BakedConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> maxpool 2x2
        -> conv 6 2x2 stride 2 tanh -> avgpool 2x2 -> 10 softmax;
}

#[path = "convnet_input.rs"]
pub mod input;
