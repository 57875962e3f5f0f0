//! The layout of a network's file: PyTorch's `nn.Sequential` of `nn.Linear` layers, its tensor
//! names and shapes, and the declaration recorded in the header.

use crate::network::Network;

/// The `__metadata__` key under which a file records the network's declaration.
pub const NETWORK_KEY: &str = "nn.network";

/// The bytes of one `F32` value.
pub(super) const F32_LEN: usize = 4;

/// One tensor of a network: its name and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spec {
    /// The tensor's name, e.g. `2.weight`.
    pub(super) name: String,
    /// The tensor's shape: `[out, in]` for weights, `[out]` for biases.
    pub(super) shape: Vec<usize>,
}

impl Spec {
    /// The number of bytes of the tensor's `F32` data, or `None` on overflow.
    pub(super) fn byte_len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(F32_LEN, |n, &d| n.checked_mul(d))
    }
}

/// The network's tensors in [`Network::parameters`] order: each layer's weights, then biases.
pub(super) fn specs<N: Network>() -> Vec<Spec> {
    let mut inputs = N::INPUT;
    let mut specs = Vec::with_capacity(2 * N::WIDTHS.len());
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        specs.push(Spec {
            name: format!("{}.weight", 2 * k),
            shape: vec![width, inputs],
        });
        specs.push(Spec {
            name: format!("{}.bias", 2 * k),
            shape: vec![width],
        });
        inputs = width;
    }
    specs
}

/// The names of a network's tensors in a file, in parameter order: `0.weight`, `0.bias`,
/// `2.weight`, `2.bias`, ... (layer `k` counting from 0 is module `2k` of PyTorch's
/// `nn.Sequential(Linear, Activation, Linear, ...)`).
pub fn tensor_names<N: Network>() -> Vec<String> {
    specs::<N>().into_iter().map(|s| s.name).collect()
}

/// The network's declaration as `network!` reads it, e.g. `784 -> 16 sigmoid -> 10 softmax`,
/// with layer names where they are not the default `layerN`. Saved in the file's metadata
/// under [`NETWORK_KEY`].
pub fn declaration<N: Network>() -> String {
    let mut text = N::INPUT.to_string();
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        text.push_str(" -> ");
        let name = N::LAYER_NAMES.get(k).copied().unwrap_or_default();
        if !name.is_empty() && name != format!("layer{}", k + 1) {
            text.push_str(name);
            text.push_str(": ");
        }
        text.push_str(&width.to_string());
        text.push(' ');
        text.push_str(N::ACTIVATIONS.get(k).copied().unwrap_or("?"));
    }
    text
}

/// The PyTorch module that loads a network's file with `load_state_dict`, as Python source:
/// `nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), ..., nn.Softmax(dim=-1))`, with `nn` being
/// `torch.nn`.
///
/// `linear` becomes `nn.Identity()`, which keeps the module numbering; `step` becomes `Step()`,
/// a module you define (see the [module docs](super)).
pub fn pytorch_sequential<N: Network>() -> String {
    let mut modules = Vec::with_capacity(2 * N::WIDTHS.len());
    let mut inputs = N::INPUT;
    for (k, &width) in N::WIDTHS.iter().enumerate() {
        modules.push(format!("nn.Linear({inputs}, {width})"));
        let activation = N::ACTIVATIONS.get(k).copied().unwrap_or_default();
        modules.push(
            match activation {
                "sigmoid" => "nn.Sigmoid()",
                "tanh" => "nn.Tanh()",
                "relu" => "nn.ReLU()",
                "softplus" => "nn.Softplus()",
                "linear" => "nn.Identity()",
                "softmax" => "nn.Softmax(dim=-1)",
                "step" => "Step()",
                _ => "nn.Identity()",
            }
            .to_owned(),
        );
        inputs = width;
    }
    format!("nn.Sequential({})", modules.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::fixtures::Tiny;

    #[test]
    fn declaration_and_pytorch_module() {
        assert_eq!(declaration::<Tiny>(), "3 -> 2 tanh -> out: 2 softmax");
        assert_eq!(
            pytorch_sequential::<Tiny>(),
            "nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 2), nn.Softmax(dim=-1))"
        );
        assert_eq!(
            tensor_names::<Tiny>(),
            ["0.weight", "0.bias", "2.weight", "2.bias"]
        );
    }
}
