//! The layout of a network's file: the PyTorch `nn.Sequential` equivalent to the network (its
//! modules numbered as PyTorch numbers them), its tensor names and shapes, and the declaration
//! recorded in the header.

use crate::model::{tensor_count, LayerKind, LayerShape, PoolKind, Shape, TensorRole};
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
    /// What it is: a parameter (`weight`, `bias`) or a buffer (`running_mean`, ...).
    pub(super) role: TensorRole,
}

impl Spec {
    /// The number of bytes of the tensor's `F32` data, or `None` on overflow.
    pub(super) fn byte_len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(F32_LEN, |n, &d| n.checked_mul(d))
    }
}

/// One module of the equivalent `nn.Sequential`, in order: its Python source and the layer
/// whose parameters it holds (`None` for a parameter-free module such as an activation).
pub(super) struct Module {
    pub(super) source: String,
    pub(super) layer: Option<&'static LayerShape>,
}

/// The modules of the `nn.Sequential` equivalent to `layers`, numbered as PyTorch numbers them
/// (parameter-free modules included):
///
/// | layer | modules |
/// | --- | --- |
/// | dense | `nn.Flatten()` if it reads an image, `nn.Linear(in, out)`, its activation |
/// | conv | `nn.Conv2d(in, filters, kernel_size=(kh, kw), stride=s, padding=p)`, its activation |
/// | maxpool, avgpool | `nn.MaxPool2d(kernel_size=(kh, kw), stride=s)`, `nn.AvgPool2d(...)` |
/// | dropout | `nn.Dropout(p=rate)` |
/// | batchnorm | `nn.BatchNorm1d(features)`, or `nn.BatchNorm2d(channels)` after an image |
/// | layernorm | `nn.LayerNorm(n)`, or `nn.LayerNorm([c, h, w])` after an image |
/// | custom (`nn::Layer`) | `Name()`, a module the user defines with the same attributes |
///
/// A network used as a layer contributes its own layers (its `LAYERS` are part of the outer
/// network's), so the nesting flattens into one `nn.Sequential`, which computes the same.
pub(super) fn modules(layers: &'static [LayerShape]) -> Vec<Module> {
    let mut modules = Vec::with_capacity(2 * layers.len());
    let mut push = |source: String, layer: Option<&'static LayerShape>| {
        modules.push(Module { source, layer });
    };
    for layer in layers {
        let (input, output) = (layer.input, layer.output);
        match layer.kind {
            LayerKind::Dense { activation } => {
                if matches!(input, Shape::Image { .. }) {
                    push("nn.Flatten()".to_owned(), None);
                }
                push(
                    format!("nn.Linear({}, {})", input.len(), output.len()),
                    Some(layer),
                );
                push(activation.pytorch_module().to_string(), None);
            }
            LayerKind::Conv {
                filters,
                kernel: [kh, kw],
                stride,
                pad,
                activation,
            } => {
                push(
                    format!(
                        "nn.Conv2d({}, {filters}, kernel_size=({kh}, {kw}), stride={stride}, \
                         padding={pad})",
                        input.channels()
                    ),
                    Some(layer),
                );
                push(activation.pytorch_module().to_string(), None);
            }
            LayerKind::Pool {
                kind,
                window: [kh, kw],
                stride,
            } => {
                let module = match kind {
                    PoolKind::Max => "MaxPool2d",
                    PoolKind::Average => "AvgPool2d",
                };
                push(
                    format!("nn.{module}(kernel_size=({kh}, {kw}), stride={stride})"),
                    None,
                );
            }
            LayerKind::Dropout { rate } => push(format!("nn.Dropout(p={rate})"), None),
            LayerKind::BatchNorm => {
                let source = match input {
                    Shape::Flat(n) => format!("nn.BatchNorm1d({n})"),
                    Shape::Image { channels, .. } => format!("nn.BatchNorm2d({channels})"),
                };
                push(source, Some(layer));
            }
            LayerKind::LayerNorm => {
                let source = match input {
                    Shape::Flat(n) => format!("nn.LayerNorm({n})"),
                    Shape::Image {
                        channels,
                        height,
                        width,
                    } => format!("nn.LayerNorm([{channels}, {height}, {width}])"),
                };
                push(source, Some(layer));
            }
            LayerKind::Custom { name, .. } => push(format!("{name}()"), Some(layer)),
        }
    }
    modules
}

/// The network's tensors in [`Network::state`] order (each layer's parameters, then its buffers,
/// as PyTorch's `state_dict`), named `MODULE.ROLE` after the module of the equivalent
/// `nn.Sequential` that holds them.
pub(super) fn specs<N: Network>() -> Vec<Spec> {
    if super::by_path::applies(N::LAYERS) {
        return super::by_path::specs(N::LAYERS);
    }
    let mut specs = Vec::with_capacity(tensor_count(N::LAYERS));
    for (index, module) in modules(N::LAYERS).iter().enumerate() {
        let buffers = module.layer.iter().flat_map(|l| l.buffers());
        for tensor in module.layer.iter().flat_map(|l| l.tensors()).chain(buffers) {
            specs.push(Spec {
                name: format!("{index}.{}", tensor.role.name()),
                shape: tensor.dims().to_vec(),
                role: tensor.role,
            });
        }
    }
    specs
}

/// The names of a network's tensors in a file, in parameter order: `0.weight`, `0.bias`,
/// `2.weight`, `2.bias`, ... (layer `k` counting from 0 is module `2k` of PyTorch's
/// `nn.Sequential(Linear, Activation, Linear, ...)`). A network with a layer written as a path
/// (a nested network, a custom layer) names them by path instead: `encoder.layer1.weight`,
/// `layer2.scale`, the keys of the `nn.Sequential(OrderedDict(...))` that
/// [`pytorch_sequential`] prints.
pub fn tensor_names<N: Network>() -> Vec<String> {
    specs::<N>().into_iter().map(|s| s.name).collect()
}

/// The network's declaration as `network!` reads it ([`Network::DECLARATION`]), e.g.
/// `784 -> 16 sigmoid -> 10 softmax`, with layer names where they are not the default
/// `layerN`. Saved in the file's metadata under [`NETWORK_KEY`].
pub fn declaration<N: Network>() -> String {
    N::DECLARATION.to_owned()
}

/// The PyTorch module that loads a network's file with `load_state_dict`, as Python source:
/// `nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), ..., nn.Softmax(dim=-1))`, with `nn` being
/// `torch.nn`.
///
/// `linear` becomes `nn.Identity()`, which keeps the module numbering; `step` becomes `Step()`,
/// a module you define (see the [module docs](super)). A network with a layer written as a
/// path is an `nn.Sequential` of named modules instead (see [`tensor_names`]).
pub fn pytorch_sequential<N: Network>() -> String {
    if super::by_path::applies(N::LAYERS) {
        return super::by_path::pytorch_module(N::LAYERS);
    }
    let sources: Vec<String> = modules(N::LAYERS).into_iter().map(|m| m.source).collect();
    format!("nn.Sequential({})", sources.join(", "))
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
