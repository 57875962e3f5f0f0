//! The layout of a network with a layer written as a path (a nested network, a custom layer):
//! tensors named by path, `encoder.layer1.weight`, `layer2.scale`, as the `state_dict` of an
//! `nn.Sequential` of named modules (an `OrderedDict`), nested where the declaration nests.
//!
//! Each layer (an entry of `Network::LAYERS`, named `encoder.layer1` when it belongs to the
//! path layer `encoder`) is the module holding its tensors under its own name; the
//! parameter-free modules around it are named after it: `layer1_flatten` before a dense layer
//! that reads an image (`head_flatten` before a path layer `head` that reads one, and
//! `features_unflatten` before a network `features` that reads an image after flat values),
//! `layer1_act` for its activation. For
//! `12 -> encoder: Encoder -> MyNormalize -> 3 softmax` with `Encoder: 12 -> 8 relu -> 6 tanh`:
//!
//! ```python
//! nn.Sequential(OrderedDict([
//!     ("encoder", nn.Sequential(OrderedDict([
//!         ("layer1", nn.Linear(12, 8)), ("layer1_act", nn.ReLU()),
//!         ("layer2", nn.Linear(8, 6)), ("layer2_act", nn.Tanh())]))),
//!     ("layer2", MyNormalize()),
//!     ("layer3", nn.Linear(6, 3)), ("layer3_act", nn.Softmax(dim=-1))]))
//! ```
//!
//! with `OrderedDict` from `collections` and `MyNormalize` a module the user defines with the
//! attributes its `nn::Layer::LAYERS` lists. The module reads what the first layer reads: a
//! network whose first layer is a nested image network takes images.

use crate::model::{LayerKind, LayerShape, Shape};
use crate::network::Network;

use super::layout::{layer_modules, Spec};

/// Whether a network's tensors are named by path: it is a chain (a graph network is named by
/// module path, and `network!` refuses a path layer in one) and one of its layers was written
/// as a path (a nested network's layers are named `field.layer`; a custom layer has its own
/// kind).
pub(super) fn applies<N: Network>() -> bool {
    N::GRAPH.is_empty()
        && N::LAYERS
            .iter()
            .any(|l| l.name.contains('.') || matches!(l.kind, LayerKind::Custom { .. }))
}

/// The tensors in `Network::state` order, named `PATH.ROLE`.
pub(super) fn specs(layers: &[LayerShape]) -> Vec<Spec> {
    layers
        .iter()
        .flat_map(|layer| {
            layer
                .tensors()
                .chain(layer.buffers())
                .map(move |tensor| Spec {
                    name: format!("{}.{}", layer.name, tensor.role.name()),
                    shape: tensor.dims().to_vec(),
                    role: tensor.role,
                })
        })
        .collect()
}

/// One named module: its path below the enclosing ones and its Python source.
struct Named {
    path: Vec<String>,
    source: String,
}

/// Every module of every layer, named by path.
fn named(layers: &'static [LayerShape]) -> Vec<Named> {
    let mut out = Vec::new();
    let mut before: Option<&LayerShape> = None;
    for layer in layers {
        // Where an image meets a layer that reads flat values (a path layer's first), PyTorch
        // needs an `nn.Flatten()`; where flat values meet a nested network that reads an image,
        // an `nn.Unflatten`. It sits beside the path layer, named after it (a dense layer's own
        // reading of an image is among its modules already).
        let reshape = match (before.map(|p| p.output), layer.input) {
            (Some(Shape::Image { .. }), Shape::Flat(_)) => {
                Some(("flatten", "nn.Flatten()".to_owned()))
            }
            (
                Some(Shape::Flat(_)),
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => Some((
                "unflatten",
                format!("nn.Unflatten(1, ({channels}, {height}, {width}))"),
            )),
            _ => None,
        };
        if let (Some(prev), Some((what, source))) = (before, reshape) {
            let here: Vec<&str> = layer.name.split('.').collect();
            let common = prev
                .name
                .split('.')
                .zip(&here)
                .take_while(|(a, b)| a == *b)
                .count();
            let mut path: Vec<String> = here[..common].iter().map(|s| (*s).to_owned()).collect();
            path.push(format!(
                "{}_{what}",
                here.get(common).copied().unwrap_or_default()
            ));
            out.push(Named { path, source });
        }
        before = Some(layer);
        let mut path: Vec<String> = layer.name.split('.').map(str::to_owned).collect();
        let leaf = path.pop().unwrap_or_default();
        let mods = layer_modules(layer);
        let held = mods.iter().position(|(_, holds)| *holds).unwrap_or(0);
        for (i, (source, _)) in mods.into_iter().enumerate() {
            let name = match i.cmp(&held) {
                core::cmp::Ordering::Less => format!("{leaf}_flatten"),
                core::cmp::Ordering::Equal => leaf.clone(),
                core::cmp::Ordering::Greater => format!("{leaf}_act"),
            };
            let mut full = path.clone();
            full.push(name);
            out.push(Named { path: full, source });
        }
    }
    out
}

/// `nn.Sequential(OrderedDict([...]))` of `modules`, all below the same `depth` path segments:
/// consecutive modules sharing their next segment become one nested `nn.Sequential`.
fn sequential(modules: &[Named], depth: usize) -> String {
    let mut entries = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        let head = &modules[i].path[depth];
        if modules[i].path.len() == depth + 1 {
            entries.push(format!("(\"{head}\", {})", modules[i].source));
            i += 1;
            continue;
        }
        let end = modules[i..]
            .iter()
            .position(|m| m.path.len() == depth + 1 || &m.path[depth] != head)
            .map_or(modules.len(), |k| i + k);
        entries.push(format!(
            "(\"{head}\", {})",
            sequential(&modules[i..end], depth + 1)
        ));
        i = end;
    }
    format!("nn.Sequential(OrderedDict([{}]))", entries.join(", "))
}

/// The PyTorch module whose `state_dict` keys are [`specs`]' names, as Python source.
pub(super) fn pytorch_module(layers: &'static [LayerShape]) -> String {
    sequential(&named(layers), 0)
}
