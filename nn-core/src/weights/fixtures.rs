//! The network and files the weights tests share (test builds only).

use std::path::Path;

use generic_array::GenericArray;
use safetensors::tensor::{Dtype, TensorView};
use typenum::{U2, U3};

use crate::activation::{Softmax, Tanh};
use crate::dense::Dense;
use crate::error::Error;
use crate::network::{Network, Workspace};

pub(super) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `3 -> 2 tanh -> out: 2 softmax`, written by hand as `network!` would write it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Tiny {
    pub(super) layer1: Dense<U3, U2, Tanh>,
    pub(super) out: Dense<U2, U2, Softmax>,
}

impl Network for Tiny {
    const INPUT: usize = 3;
    const OUTPUT: usize = 2;
    const WIDTHS: &'static [usize] = &[2, 2];
    const LAYER_NAMES: &'static [&'static str] = &["layer1", "out"];
    const ACTIVATIONS: &'static [&'static str] = &["tanh", "softmax"];
    type Input = [f32; 3];
    type Output = [f32; 2];
    type OutputActivation = Softmax;

    fn zeros() -> Self {
        Self {
            layer1: Dense::zeros(),
            out: Dense::zeros(),
        }
    }

    fn parameters(&self) -> impl Iterator<Item = &[f32]> {
        [self.layer1.parameters(), self.out.parameters()]
            .into_iter()
            .flatten()
    }

    fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        [self.layer1.parameters_mut(), self.out.parameters_mut()]
            .into_iter()
            .flatten()
    }

    fn forward(&self, input: &[f32; 3]) -> [f32; 2] {
        let mut hidden = GenericArray::default();
        self.layer1
            .forward(GenericArray::from_slice(input), &mut hidden);
        let mut out = GenericArray::default();
        self.out.forward(&hidden, &mut out);
        out.into_array()
    }

    fn forward_batch(
        &self,
        inputs: &[[f32; 3]],
        outputs: &mut [[f32; 2]],
        _workspace: &mut Workspace<Self>,
    ) -> Result<(), Error> {
        for (x, y) in inputs.iter().zip(outputs) {
            *y = self.forward(x);
        }
        Ok(())
    }
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
pub(super) fn bits<N: Network>(network: &N) -> Vec<u32> {
    network
        .parameters()
        .flat_map(|p| p.iter().map(|v| v.to_bits()))
        .collect()
}

/// The names of the entries of the folder `dir`, sorted.
pub(super) fn entries(dir: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
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
