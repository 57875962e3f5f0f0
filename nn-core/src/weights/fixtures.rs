//! The network and files the weights tests share (test builds only).

use safetensors::tensor::{Dtype, TensorView};

use crate::network::Network;

pub(super) type TestResult = Result<(), Box<dyn std::error::Error>>;

nn_macros::network! {
    /// `3 -> 2 tanh -> out: 2 softmax`: two layers, one named.
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) struct Tiny: 3 -> 2 tanh -> out: 2 softmax;
}

/// A `Tiny` whose every parameter is distinct, including values that a lossy round trip
/// would change: a negative zero, a subnormal, the extremes of `f32`.
pub(super) fn tiny() -> Tiny {
    let mut t = Tiny::zeros();
    t.layer1
        .set_weights(&[[0.5, -1.25, 3.0], [-0.0, 1e-40, f32::MAX]]);
    t.layer1.set_bias(&[0.1, -f32::MIN_POSITIVE]);
    t.out.set_weights(&[[1.0, -2.0], [f32::MIN, 0.3]]);
    t.out.set_bias(&[0.25, -0.75]);
    t
}

/// Every parameter's bits, in order.
pub(super) fn bits<N: Network<Scalar = f32>>(network: &N) -> Vec<u32> {
    network
        .parameters()
        .flat_map(|p| p.iter().map(|v| v.to_bits()))
        .collect()
}

/// A safetensors file of the given `(name, dtype, shape, data)` tensors, written by the
/// safetensors crate's own serializer.
pub(super) fn file_of(
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut views = Vec::new();
    for (name, dtype, shape, data) in tensors {
        views.push((*name, TensorView::new(*dtype, shape.clone(), data)?));
    }
    Ok(safetensors::serialize(views, None)?)
}

/// Little-endian bytes of `F32` values.
pub(super) fn le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The tensors of `tiny()` as `(name, dtype, shape, data)`, for building variants of its
/// file.
pub(super) fn tiny_tensors() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    let t = tiny();
    vec![
        (
            "0.weight",
            Dtype::F32,
            vec![2, 3],
            le(t.layer1.weights_flat()),
        ),
        ("0.bias", Dtype::F32, vec![2], le(t.layer1.bias())),
        ("2.weight", Dtype::F32, vec![2, 2], le(t.out.weights_flat())),
        ("2.bias", Dtype::F32, vec![2], le(t.out.bias())),
    ]
}
