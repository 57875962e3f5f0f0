//! The layout of a network's file: the PyTorch `nn.Sequential` equivalent to the network (its
//! modules numbered as PyTorch numbers them), its tensor names and shapes, and the declaration
//! recorded in the header.

use crate::model::{
    tensor_count, BlockKind, LayerKind, LayerShape, Node, PoolKind, Shape, TensorRole,
};
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

/// The modules of one layer in the equivalent `nn.Sequential`, in order: each one's Python
/// source and whether it holds the layer's tensors (the others are parameter-free, such as an
/// activation):
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
/// network's); [`by_path`](super::by_path) names their modules by path.
pub(super) fn layer_modules(layer: &LayerShape) -> Vec<(String, bool)> {
    let (input, output) = (layer.input, layer.output);
    let mut modules = Vec::with_capacity(3);
    match layer.kind {
        LayerKind::Dense { activation } => {
            if matches!(input, Shape::Image { .. }) {
                modules.push(("nn.Flatten()".to_owned(), false));
            }
            modules.push((
                format!("nn.Linear({}, {})", input.len(), output.len()),
                true,
            ));
            modules.push((activation.pytorch_module().to_string(), false));
        }
        LayerKind::Conv {
            filters,
            kernel: [kh, kw],
            stride,
            pad,
            activation,
        } => {
            modules.push((
                format!(
                    "nn.Conv2d({}, {filters}, kernel_size=({kh}, {kw}), stride={stride}, \
                     padding={pad})",
                    input.channels()
                ),
                true,
            ));
            modules.push((activation.pytorch_module().to_string(), false));
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
            modules.push((
                format!("nn.{module}(kernel_size=({kh}, {kw}), stride={stride})"),
                false,
            ));
        }
        LayerKind::Dropout { rate } => modules.push((format!("nn.Dropout(p={rate})"), false)),
        LayerKind::BatchNorm => {
            let source = match input {
                Shape::Flat(n) => format!("nn.BatchNorm1d({n})"),
                Shape::Image { channels, .. } => format!("nn.BatchNorm2d({channels})"),
            };
            modules.push((source, true));
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
            modules.push((source, true));
        }
        LayerKind::Custom { name, .. } => modules.push((format!("{name}()"), true)),
    }
    modules
}

/// The PyTorch modules of a network's graph that `torch.nn` does not have, as Python source
/// (with `torch` and `nn` being `torch.nn` imported): `Residual` (an `nn.Sequential` `f` whose
/// forward is `x + f(x)`), `Concat` (an `nn.ModuleList` of branches whose outputs are joined by
/// `torch.cat(dim=1)`, channel-wise for images) and `Heads` (an `nn.ModuleDict` of named heads
/// whose forward returns a dict of outputs). Their state-dict names are those of the containers
/// they extend: `2.0.weight` for a residual block's first layer, `2.1.0.weight` for a
/// concatenation's second branch, `3.digit.0.weight` for head `digit`.
pub const PYTORCH_GRAPH_MODULES: &str = "\
class Residual(nn.Sequential):
    \"\"\"nn's `residual { ... }`: x + f(x), f the modules in order.\"\"\"

    def forward(self, x):
        return x + super().forward(x)


class Concat(nn.ModuleList):
    \"\"\"nn's `concat { ... }`: the branches' outputs joined along dim 1 (channels).\"\"\"

    def __init__(self, *branches):
        super().__init__(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self], dim=1)


class Heads(nn.ModuleDict):
    \"\"\"nn's `heads { ... }`: named heads reading one trunk; a dict of outputs.\"\"\"

    def __init__(self, heads):
        super().__init__(heads)

    def forward(self, x):
        return {name: head(x) for name, head in self.items()}
";

/// The modules of a chain of `nodes` in the equivalent `nn.Sequential`, as Python sources
/// numbered as PyTorch numbers them (parameter-free modules included); each layer holding
/// tensors is pushed onto `owners` with its module's path (`2`, `2.0`, `3.digit.0`), in
/// `LAYERS` order. `prefix` is the chain's own path with its dot (`""` for the network).
fn chain_modules(
    layers: &'static [LayerShape],
    nodes: &[Node],
    prefix: &str,
    owners: &mut Vec<(String, &'static LayerShape)>,
) -> Vec<String> {
    let mut sources: Vec<String> = Vec::with_capacity(2 * nodes.len());
    for node in nodes {
        let path = format!("{prefix}{}.", sources.len());
        match node {
            Node::Layer(i) => {
                let Some(layer) = layers.get(*i) else {
                    continue;
                };
                for (source, holds) in layer_modules(layer) {
                    if holds {
                        owners.push((format!("{prefix}{}", sources.len()), layer));
                    }
                    sources.push(source);
                }
            }
            Node::Block(block) => match block.kind {
                BlockKind::Residual => {
                    let inner: Vec<String> = block
                        .branches
                        .iter()
                        .flat_map(|b| chain_modules(layers, b, &path, owners))
                        .collect();
                    sources.push(format!("Residual({})", inner.join(", ")));
                }
                BlockKind::Concat => {
                    let branches: Vec<String> = block
                        .branches
                        .iter()
                        .enumerate()
                        .map(|(k, b)| {
                            let inner = chain_modules(layers, b, &format!("{path}{k}."), owners);
                            format!("nn.Sequential({})", inner.join(", "))
                        })
                        .collect();
                    sources.push(format!("Concat({})", branches.join(", ")));
                }
            },
            Node::Heads(heads) => {
                let heads: Vec<String> = heads
                    .heads
                    .iter()
                    .map(|head| {
                        let inner = chain_modules(
                            layers,
                            head.nodes,
                            &format!("{path}{}.", head.name),
                            owners,
                        );
                        format!("\"{}\": nn.Sequential({})", head.name, inner.join(", "))
                    })
                    .collect();
                sources.push(format!("Heads({{{}}})", heads.join(", ")));
            }
        }
    }
    sources
}

/// The trunk of a network: its `GRAPH`, or for a chain one node per layer.
fn trunk<N: Network>() -> Vec<Node> {
    if N::GRAPH.is_empty() {
        (0..N::LAYERS.len()).map(Node::Layer).collect()
    } else {
        N::GRAPH.to_vec()
    }
}

/// The network's tensors in [`Network::state`] order (each layer's parameters, then its buffers,
/// as PyTorch's `state_dict`), named `PATH.ROLE` after the module of the equivalent
/// `nn.Sequential` that holds them (`2.weight`; `2.0.weight` inside a block).
pub(super) fn specs<N: Network>() -> Vec<Spec> {
    if super::by_path::applies::<N>() {
        return super::by_path::specs(N::LAYERS);
    }
    let mut specs = Vec::with_capacity(tensor_count(N::LAYERS));
    let mut owners = Vec::with_capacity(N::LAYERS.len());
    chain_modules(N::LAYERS, &trunk::<N>(), "", &mut owners);
    for (path, layer) in owners {
        for tensor in layer.tensors().chain(layer.buffers()) {
            specs.push(Spec {
                name: format!("{path}.{}", tensor.role.name()),
                shape: tensor.dims().to_vec(),
                role: tensor.role,
            });
        }
    }
    specs
}

/// The names of a network's tensors in a file, in parameter order: `0.weight`, `0.bias`,
/// `2.weight`, `2.bias`, ... (layer `k` counting from 0 is module `2k` of PyTorch's
/// `nn.Sequential(Linear, Activation, Linear, ...)`). A chain with a layer written as a path
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
/// `torch.nn`. A graph network's holds `Residual(...)`, `Concat(...)` and `Heads(...)` modules,
/// defined by [`PYTORCH_GRAPH_MODULES`] ([`pytorch_module`] writes both).
///
/// `linear` becomes `nn.Identity()`, which keeps the module numbering; `step` becomes `Step()`,
/// a module you define (see the [module docs](super)). A chain with a layer written as a path
/// is an `nn.Sequential` of named modules instead (see [`tensor_names`]).
pub fn pytorch_sequential<N: Network>() -> String {
    if super::by_path::applies::<N>() {
        return super::by_path::pytorch_module(N::LAYERS);
    }
    let sources = chain_modules(N::LAYERS, &trunk::<N>(), "", &mut Vec::new());
    format!("nn.Sequential({})", sources.join(", "))
}

/// A Python program's worth of the PyTorch module: for a chain, `model = nn.Sequential(...)`
/// ([`pytorch_sequential`], with `OrderedDict` imported for a chain with a layer written as a
/// path, whose custom layers' modules you define); for a graph network, the class definitions of
/// [`PYTORCH_GRAPH_MODULES`] first. Run after `import torch` and `from torch import nn`, it
/// defines `model`, whose `state_dict` has the names and shapes of the network's file.
pub fn pytorch_module<N: Network>() -> String {
    let model = format!("model = {}\n", pytorch_sequential::<N>());
    if super::by_path::applies::<N>() {
        format!("from collections import OrderedDict\n\n{model}")
    } else if N::GRAPH.is_empty() {
        model
    } else {
        format!("{PYTORCH_GRAPH_MODULES}\n\n{model}")
    }
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
