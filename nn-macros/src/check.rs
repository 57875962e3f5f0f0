//! Turns the syntax tree into the checked [model](crate::model), collecting every problem.
//!
//! Each rule is a function below whose doc comment states it. All problems of an invocation are
//! reported together, each spanned at the user's offending token.

use std::cell::RefCell;
use std::fmt::Display;

use nn_model::{ActivationKind, PoolKind, Real, Shape};
use proc_macro2::Span;
use quote::ToTokens;
use syn::{Ident, Lit, LitInt};

use crate::ast::{HeadDecl, Invocation, LayerBody, LayerDecl, NetworkDecl};
use crate::model::{
    path_text, Act, Block, BlockKind, Conv, Dense, Head, Layer, LayerKind, Network, Node, Pool,
    Source, Width,
};

/// Collects errors; must be [`check`](Ctxt::check)ed before it is dropped (as serde_derive's).
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// An empty context.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned at `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    /// Records an error at `span`.
    pub fn error_at<M: Display>(&self, span: Span, msg: M) {
        self.syn_error(syn::Error::new(span, msg));
    }

    /// Records an error.
    pub fn syn_error(&self, err: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(err);
        }
    }

    /// Consumes the context: all recorded errors combined into one, if any.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut iter = errors.into_iter();
        let Some(mut combined) = iter.next() else {
            return Ok(());
        };
        for e in iter {
            combined.combine(e);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}

/// Checks every network of an invocation: returns the networks that passed, and every problem
/// found in the others (so that a mistake in one network does not take its siblings down).
pub fn check(inv: Invocation) -> (Vec<Network>, syn::Result<()>) {
    let cx = Ctxt::new();
    check_not_empty(&cx, &inv);
    for e in inv.errors {
        cx.syn_error(e);
    }
    let first_of_name = check_unique_network_names(&cx, &inv.networks);
    let networks: Vec<Network> = inv
        .networks
        .into_iter()
        .zip(first_of_name)
        .filter_map(|(decl, first)| {
            // A second network of the same name is still checked, but never expanded: its
            // code would only repeat the first one's items.
            let net = check_network(&cx, decl)?;
            first.then_some(net)
        })
        .collect();
    (networks, cx.check())
}

/// An invocation declares at least one network: `network! {}` is a mistake, not a no-op.
fn check_not_empty(cx: &Ctxt, inv: &Invocation) {
    if inv.networks.is_empty() && inv.errors.is_empty() {
        // An empty invocation has no token of its own; the macro call is the only place.
        cx.error_at(
            Span::call_site(),
            "declare at least one network in `network!`, as in \
             `nn::network! { struct Digits: 784 -> 16 sigmoid -> 10 softmax; }`",
        );
    }
}

/// No two networks of one invocation share a name: the second is reported at its name, with
/// where the first one is. Returns, for each network, whether it is the first of its name.
fn check_unique_network_names(cx: &Ctxt, decls: &[NetworkDecl]) -> Vec<bool> {
    decls
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            let Some(first) = decls[..i].iter().position(|d| d.name == decl.name) else {
                return true;
            };
            let name = &decl.name;
            cx.error_spanned_by(
                name,
                format!(
                    "`{name}` is declared twice in this `network!`: the first `{name}` \
                     (network {}, `{}`) is the one built; give this network another name",
                    first + 1,
                    declaration_text(&decls[first])
                ),
            );
            false
        })
        .collect()
}

/// `struct Net: 2 -> h: 3 relu -> 1 sigmoid`, as written (with no activation where none is).
fn declaration_text(decl: &NetworkDecl) -> String {
    let mut text = format!("struct {}: {}", decl.name, decl.input);
    for layer in &decl.layers {
        text.push_str(" -> ");
        if let Some(name) = &layer.name {
            text.push_str(&format!("{name}: "));
        }
        text.push_str(&declared(&layer.body));
        if let Some(act) = layer.body.activation() {
            let act = act.to_token_stream().to_string().replace(" :: ", "::");
            text.push_str(&format!(" {act}"));
        }
    }
    text
}

/// Checks one network, recording its problems in `cx`; `None` if it had any.
fn check_network(cx: &Ctxt, decl: NetworkDecl) -> Option<Network> {
    let before = count(cx);
    let input = input_shape(cx, &decl.input);
    if let Some((width, shape)) = &input {
        check_input_width(cx, &decl.name, width, *shape);
    }
    check_input_has_no_activation(cx, &decl);
    // Each layer reads the shape the one before it gives; after a layer whose shape is unknown
    // (it had an error), the shape checks stop, the other checks go on.
    let shape = input.as_ref().map(|(_, s)| *s).filter(|s| !s.is_empty());
    let mut graph = Graph::default();
    let (nodes, _, _) = check_chain(
        cx,
        &decl.name,
        &decl.layers,
        Reading {
            shape,
            source: Source::Input,
        },
        Place::Trunk,
        &mut graph,
    );
    check_unique_names(cx, &decl.name, &graph.names);
    check_no_path_in_graph(cx, &decl.name, &graph);
    if let Some(scalar) = decl.scalar.as_ref().filter(|s| *s == "f64") {
        check_f64(cx, &decl.name, scalar, &graph);
    }
    if count(cx) > before {
        return None;
    }
    let (input, input_shape) = input?;
    Some(Network {
        attrs: decl.attrs,
        vis: decl.vis,
        name: decl.name,
        scalar: decl.scalar,
        input,
        input_shape,
        layers: graph.layers,
        blocks: graph.blocks.into_iter().collect::<Option<Vec<_>>>()?,
        nodes,
        heads: graph.heads,
    })
}

/// What the checks of a network's chains build: the layers, blocks and heads in declaration
/// order, and every name a layer or a block is known by.
#[derive(Default)]
struct Graph<'a> {
    /// The layers that checked (all of them, when the network has no problem).
    layers: Vec<Layer>,
    /// One slot per block, in declaration order, filled once its branches are checked.
    blocks: Vec<Option<Block>>,
    /// The heads.
    heads: Vec<Head>,
    /// The number of layers declared so far (checked or not): the next layer's index is one
    /// more.
    declared_layers: usize,
    /// Each layer's and block's name, as [`check_unique_names`] reads them.
    names: Vec<NameEntry<'a>>,
    /// The layers written as a path, in declaration order.
    paths: Vec<&'a syn::Path>,
}

/// An `f64` network is a chain of dense layers with built-in activations: the other layer
/// kinds, the blocks, the heads, path layers and custom activations compute in `f32` (their
/// kernels, buffers and traits are `f32`'s). Each is an error at its own tokens.
fn check_f64(cx: &Ctxt, net: &Ident, scalar: &Ident, graph: &Graph) {
    let why = "an `f64` network is a chain of dense layers with built-in activations";
    for layer in &graph.layers {
        match &layer.kind {
            LayerKind::Dense(dense) => {
                if let Act::Custom(path) = &dense.act {
                    cx.error_at(
                        dense.act_span,
                        format!(
                            "`{net}` computes in f64, but the custom activation `{}` computes in \
                             f32 (`CustomActivation::function` takes an `f32`): {why}; declare \
                             `{net}` without `f64` to use it",
                            path_text(path)
                        ),
                    );
                }
            }
            kind => {
                let what = match kind {
                    LayerKind::Path(path) => format!("the path layer `{}`", path_text(path)),
                    _ => format!("a `{}` layer", layer_keyword(kind)),
                };
                cx.error_at(
                    layer.out.span,
                    format!(
                        "`{net}` computes in f64, but {what} computes in f32 only: {why}; \
                         declare `{net}` without `f64` to use it"
                    ),
                );
            }
        }
    }
    if graph.blocks.iter().flatten().next().is_some() || !graph.heads.is_empty() {
        cx.error_at(
            scalar.span(),
            format!(
                "`{net}` computes in f64, but its blocks or heads compute in f32 only: {why}; \
                 declare `{net}` without `f64` to use them"
            ),
        );
    }
}

/// The keyword a declaration writes for a layer kind other than dense and path.
fn layer_keyword(kind: &LayerKind) -> &'static str {
    match kind {
        LayerKind::Conv(_) => "conv",
        LayerKind::Pool(pool) if pool.kind == PoolKind::Max => "maxpool",
        LayerKind::Pool(_) => "avgpool",
        LayerKind::Dropout(_) => "dropout",
        LayerKind::BatchNorm => "batchnorm",
        LayerKind::LayerNorm => "layernorm",
        LayerKind::Dense(_) | LayerKind::Path(_) => "dense",
    }
}

/// A layer written as a path sits in a chain: a network with blocks or heads names its tensors
/// by module position (`2.0.weight`) and runs each layer's own rows, while a path layer brings a
/// type's `LAYERS` and calls (`encoder.layer1.weight`); the two are not combined.
fn check_no_path_in_graph(cx: &Ctxt, net: &Ident, graph: &Graph) {
    if graph.blocks.is_empty() && graph.heads.is_empty() {
        return;
    }
    for path in &graph.paths {
        cx.error_spanned_by(
            path,
            format!(
                "`{}` is a layer written as a path, and `{net}` has `residual`, `concat` or \
                 `heads` blocks: a path layer works only in a network that is a chain of \
                 layers; write the type's layers out here instead",
                crate::model::path_text(path)
            ),
        );
    }
}

/// What a chain or a layer reads: its shape (unknown after an earlier error) and its source.
#[derive(Clone, Copy)]
struct Reading {
    shape: Option<Shape>,
    source: Source,
}

impl Reading {
    /// "the input is", "layer 3 gives", "block 1 gives": what a misfit message says before the
    /// shape read.
    fn from(self) -> String {
        match self.source {
            Source::Input => "the input is".to_string(),
            Source::Layer(i) => format!("layer {} gives", i + 1),
            Source::Block(b) => format!("block {} gives", b + 1),
        }
    }
}

/// Where a chain sits: the trunk and the heads end in an output layer, a block's chains do not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The network's own chain.
    Trunk,
    /// A block's branch.
    Block,
    /// A head's chain.
    Head,
}

/// Checks a chain of layers and blocks reading `reading`; returns its nodes and what its end
/// gives (the shape unknown after an error).
fn check_chain<'a>(
    cx: &Ctxt,
    net: &Ident,
    decls: &'a [LayerDecl],
    mut reading: Reading,
    place: Place,
    graph: &mut Graph<'a>,
) -> (Vec<Node>, Option<Shape>, Source) {
    let mut nodes = Vec::new();
    for (i, item) in decls.iter().enumerate() {
        let is_output = place != Place::Block && i + 1 == decls.len();
        if i > 0 {
            check_after_path(cx, net, &decls[i - 1], item, graph.declared_layers + 1);
        }
        if let LayerBody::Path(path) = &item.body {
            graph.paths.push(path);
        }
        match &item.body {
            LayerBody::Residual { .. } | LayerBody::Concat { .. } => {
                if is_output {
                    check_output_is_dense(cx, net, item);
                }
                let (node, next) = check_block(cx, net, item, reading, graph);
                nodes.push(node);
                reading = next;
            }
            LayerBody::Heads { keyword, heads } => {
                check_heads_end_the_trunk(cx, net, item, keyword, place, i + 1 == decls.len());
                check_heads(cx, net, heads, reading, graph);
                reading.shape = None;
            }
            _ => {
                graph.declared_layers += 1;
                let index = graph.declared_layers;
                graph.names.push(NameEntry {
                    name: item.name.as_ref(),
                    default: format!("layer{index}"),
                    what: format!("layer {index}"),
                });
                let checked = check_layer(cx, net, item, index, is_output, reading);
                reading = Reading {
                    shape: checked.as_ref().map(|l| l.output_shape),
                    source: Source::Layer(index - 1),
                };
                nodes.push(Node::Layer(index - 1));
                graph.layers.extend(checked);
            }
        }
    }
    (nodes, reading.shape, reading.source)
}

/// Checks a residual block or a concatenation reading `reading`, and its branches; returns its
/// node and what it gives.
fn check_block<'a>(
    cx: &Ctxt,
    net: &Ident,
    item: &'a LayerDecl,
    reading: Reading,
    graph: &mut Graph<'a>,
) -> (Node, Reading) {
    let (keyword, kind, branches): (&Ident, BlockKind, Vec<&'a [LayerDecl]>) = match &item.body {
        LayerBody::Residual { keyword, chain } => (keyword, BlockKind::Residual, vec![chain]),
        LayerBody::Concat { keyword, branches } => (
            keyword,
            BlockKind::Concat,
            branches.iter().map(Vec::as_slice).collect(),
        ),
        _ => unreachable!("check_chain passes blocks only"),
    };
    let slot = graph.blocks.len();
    let id = slot + 1;
    graph.blocks.push(None);
    graph.names.push(NameEntry {
        name: item.name.as_ref(),
        default: format!("block{id}"),
        what: format!("block {id}"),
    });
    let after = match reading.source {
        Source::Input => "after the input".to_string(),
        Source::Layer(i) => format!("after layer {}", i + 1),
        Source::Block(b) => format!("after block {}", b + 1),
    };
    let mut nodes = Vec::new();
    let mut outputs = Vec::new();
    for chain in branches {
        let (branch, shape, _) = check_chain(cx, net, chain, reading, Place::Block, graph);
        nodes.push(branch);
        outputs.push(shape);
    }
    let next = Reading {
        shape: None,
        source: Source::Block(slot),
    };
    let (Some(input), Some(outputs)) = (
        reading.shape,
        outputs.into_iter().collect::<Option<Vec<_>>>(),
    ) else {
        return (Node::Block(slot), next);
    };
    let output = match kind {
        BlockKind::Residual => check_residual_shape(cx, net, keyword, &after, input, outputs[0]),
        BlockKind::Concat => check_concat_shapes(cx, net, keyword, &after, &outputs),
    };
    let Some(output) = output else {
        return (Node::Block(slot), next);
    };
    let field = match &item.name {
        Some(name) => name.clone(),
        None => Ident::new(&format!("block{id}"), keyword.span()),
    };
    graph.blocks[slot] = Some(Block {
        id,
        field,
        kind,
        branches: nodes,
        source: reading.source,
        input,
        output_shape: output,
        out: Width {
            value: output.len(),
            span: keyword.span(),
            of: None,
        },
    });
    (
        Node::Block(slot),
        Reading {
            shape: Some(output),
            ..next
        },
    )
}

/// A residual block gives back its input's shape: its output is `x + f(x)`.
fn check_residual_shape(
    cx: &Ctxt,
    net: &Ident,
    keyword: &Ident,
    after: &str,
    input: Shape,
    output: Shape,
) -> Option<Shape> {
    if input == output {
        return Some(output);
    }
    cx.error_spanned_by(
        keyword,
        format!(
            "the residual block {after} of `{net}` takes {input} and gives {output}: a residual \
             block adds its input to its layers' output, so its last layer must give {input}"
        ),
    );
    None
}

/// A concatenation joins flat outputs end to end, or images of one height and width
/// channel-wise; it does not mix the two. Returns the joined shape.
fn check_concat_shapes(
    cx: &Ctxt,
    net: &Ident,
    keyword: &Ident,
    after: &str,
    outputs: &[Shape],
) -> Option<Shape> {
    let list = || {
        outputs
            .iter()
            .enumerate()
            .map(|(i, s)| format!("branch {} gives {s}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let images: Vec<(usize, usize, usize)> = outputs
        .iter()
        .filter_map(|s| match *s {
            Shape::Image {
                channels,
                height,
                width,
            } => Some((channels, height, width)),
            Shape::Flat(_) => None,
        })
        .collect();
    if images.is_empty() {
        return Some(Shape::Flat(outputs.iter().map(|s| s.len()).sum()));
    }
    if images.len() < outputs.len() {
        cx.error_spanned_by(
            keyword,
            format!(
                "the concatenation {after} of `{net}` joins images and flat values ({}): \
                 images are joined channel-wise and flat values end to end, so the branches \
                 give either images or flat values (a dense layer flattens an image)",
                list()
            ),
        );
        return None;
    }
    let (_, height, width) = images[0];
    if images.iter().any(|&(_, h, w)| (h, w) != (height, width)) {
        cx.error_spanned_by(
            keyword,
            format!(
                "the concatenation {after} of `{net}` joins images of different heights or \
                 widths ({}): images are joined channel-wise, so every branch gives the same \
                 height and width",
                list()
            ),
        );
        return None;
    }
    Some(Shape::Image {
        channels: images.iter().map(|&(c, _, _)| c).sum(),
        height,
        width,
    })
}

/// `heads { ... }` is the trunk's last layer, and takes no name of its own (each head has one).
fn check_heads_end_the_trunk(
    cx: &Ctxt,
    net: &Ident,
    item: &LayerDecl,
    keyword: &Ident,
    place: Place,
    last: bool,
) {
    if place != Place::Trunk || !last {
        cx.error_spanned_by(
            keyword,
            format!(
                "`heads` ends a network: in `{net}` it must be the last layer of the network \
                 itself, not inside a block or a head, and nothing may follow it"
            ),
        );
    }
    if let Some(name) = &item.name {
        cx.error_spanned_by(
            name,
            format!(
                "`heads` takes no name in `{net}`: each head is named inside the braces, as in \
                 `heads {{ digit: 10 softmax, even: 1 sigmoid }}`"
            ),
        );
    }
}

/// Checks each head's chain; no two heads share a name (each names a field of the outputs,
/// targets and losses).
fn check_heads<'a>(
    cx: &Ctxt,
    net: &Ident,
    heads: &'a [HeadDecl],
    reading: Reading,
    graph: &mut Graph<'a>,
) {
    for (i, head) in heads.iter().enumerate() {
        if let Some(first) = heads[..i].iter().position(|h| h.name == head.name) {
            cx.error_spanned_by(
                &head.name,
                format!(
                    "two heads of `{net}` are named `{}`: heads {} and {} share the name, and \
                     each head's name is a field of its outputs, targets and losses; give each \
                     head its own name",
                    head.name,
                    first + 1,
                    i + 1
                ),
            );
        }
        let (nodes, _, _) = check_chain(cx, net, &head.chain, reading, Place::Head, graph);
        graph.heads.push(Head {
            name: head.name.clone(),
            nodes,
        });
    }
}

/// The output layer (the network's last, a head's last) is dense: its activation is what the
/// loss reads.
fn check_output_is_dense(cx: &Ctxt, net: &Ident, layer: &LayerDecl) {
    if !matches!(layer.body, LayerBody::Dense { .. }) {
        cx.error_spanned_by(
            layer.body.head(),
            format!(
                "the output layer of `{net}` is `{}`: a network ends with a dense layer, whose \
                 activation the loss reads, as in `-> 10 softmax`",
                declared(&layer.body)
            ),
        );
    }
}

/// A layer after a path layer (`-> MyNormalize ->`) is dense or another path layer: the
/// width a path layer gives is its type's, known to the compiler but not to the macro, and
/// only those two kinds can be written without it (a dense layer's input type becomes
/// `<MyNormalize as nn::Layer>::Out`).
fn check_after_path(cx: &Ctxt, net: &Ident, prev: &LayerDecl, layer: &LayerDecl, index: usize) {
    let LayerBody::Path(path) = &prev.body else {
        return;
    };
    if matches!(layer.body, LayerBody::Dense { .. } | LayerBody::Path(_)) {
        return;
    }
    cx.error_spanned_by(
        layer.body.head(),
        format!(
            "layer {index} `{}` of `{net}` follows `{}`, whose width only its type knows: after \
             a layer written as a path, put a dense layer or another path layer",
            declared(&layer.body),
            crate::model::path_text(path)
        ),
    );
}

/// Checks layer `index` (counting from 1) of `net`, which reads `input` (unknown after an
/// earlier error), recording its problems in `cx`, and builds its model; `None` if it had any.
fn check_layer(
    cx: &Ctxt,
    net: &Ident,
    layer: &LayerDecl,
    index: usize,
    is_output: bool,
    reading: Reading,
) -> Option<Layer> {
    let head = layer.body.head();
    let input = reading.shape;
    if is_output {
        check_output_is_dense(cx, net, layer);
    }
    let fits = Fits {
        cx,
        net,
        layer,
        index,
        from: reading.from(),
    };
    let (kind, output) = match &layer.body {
        LayerBody::Dense { width, .. } => {
            let width = width_value(cx, width);
            if let Some(width) = &width {
                check_layer_width(cx, net, layer, index, width);
            }
            if let (Some(width), true) = (&width, is_output) {
                check_output_width(cx, net, layer, index, width);
            }
            let act = check_activation(cx, net, layer, index, is_output);
            let (width, (act, act_span)) = (width?, act?);
            let output = Shape::Flat(width.value);
            (
                LayerKind::Dense(Dense {
                    width,
                    act,
                    act_span,
                }),
                output,
            )
        }
        LayerBody::Conv {
            filters,
            kernel,
            stride,
            pad,
            ..
        } => {
            let filters = width_value(cx, filters).and_then(|f| {
                fits.at_least_one(
                    f.value,
                    f.span,
                    "filters",
                    "a convolution needs at least one",
                )
            });
            let kernel = dims(cx, kernel, "kernel");
            let stride = option_value(cx, stride.as_ref(), 1, true);
            let pad = option_value(cx, pad.as_ref(), 0, false);
            let act = check_activation(cx, net, layer, index, is_output);
            let (filters, kernel, stride, pad, (act, act_span)) =
                (filters?, kernel?, stride?, pad?, act?);
            let (height, width) = fits.window(input?, kernel, stride, pad)?;
            (
                LayerKind::Conv(Conv {
                    filters,
                    kernel,
                    stride,
                    pad,
                    act,
                    act_span,
                }),
                Shape::Image {
                    channels: filters,
                    height,
                    width,
                },
            )
        }
        LayerBody::Pool {
            keyword,
            window,
            stride,
        } => {
            let window = dims(cx, window, "window");
            let kind = if keyword == "maxpool" {
                PoolKind::Max
            } else {
                PoolKind::Average
            };
            // The stride defaults to the window, as PyTorch's does.
            let stride = option_value(cx, stride.as_ref(), window.map_or(1, |[h, _]| h), true);
            let (window, stride) = (window?, stride?);
            let input = input?;
            let (height, width) = fits.window(input, window, stride, 0)?;
            (
                LayerKind::Pool(Pool {
                    kind,
                    window,
                    stride,
                }),
                Shape::Image {
                    channels: input.channels(),
                    height,
                    width,
                },
            )
        }
        LayerBody::Dropout { rate, .. } => {
            let rate = dropout_rate(cx, rate)?;
            (LayerKind::Dropout(Real::new(rate)), input?)
        }
        LayerBody::Residual { .. } | LayerBody::Concat { .. } | LayerBody::Heads { .. } => {
            unreachable!("check_chain checks blocks and heads itself")
        }
        LayerBody::Path(path) => {
            // The width is the type's, which the macro cannot see: `Flat(0)` stands for it, and
            // `check_after_path` lets only layers that need no input width follow.
            (LayerKind::Path(path.clone()), Shape::Flat(0))
        }
        LayerBody::Norm { keyword } => {
            let input = input?;
            if keyword == "layernorm" {
                if input.len() == 1 {
                    cx.error_spanned_by(
                        keyword,
                        format!(
                            "`layernorm` on layer {index} of `{net}` has nothing to normalise: \
                             {} 1 value a sample, and one value normalised over itself is \
                             always 0",
                            fits.from
                        ),
                    );
                    return None;
                }
                (LayerKind::LayerNorm, input)
            } else {
                (LayerKind::BatchNorm, input)
            }
        }
    };
    let input = input?;
    let of = match &kind {
        LayerKind::Path(path) => Some(path.clone()),
        _ => None,
    };
    let head_span = head
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span());
    let (field, named) = match &layer.name {
        Some(n) => (n.clone(), true),
        None => (Ident::new(&format!("layer{index}"), head_span), false),
    };
    Some(Layer {
        index,
        source: reading.source,
        field,
        named,
        output: is_output,
        kind,
        input,
        output_shape: output,
        out: Width {
            value: output.len(),
            span: head_span,
            of,
        },
    })
}

/// What the checks of a layer's fit to its input share: where to report and how to name it.
struct Fits<'a> {
    cx: &'a Ctxt,
    net: &'a Ident,
    layer: &'a LayerDecl,
    index: usize,
    /// What the layer reads, as a message says it: "the input is", "layer 3 gives".
    from: String,
}

impl Fits<'_> {
    /// A count (filters) is at least 1.
    fn at_least_one(&self, value: usize, span: Span, what: &str, why: &str) -> Option<usize> {
        if value == 0 {
            self.cx.error_at(
                span,
                format!(
                    "layer {} `{}` of `{}` has no {what}: {why}",
                    self.index,
                    declared(&self.layer.body),
                    self.net
                ),
            );
            return None;
        }
        Some(value)
    }

    /// A window (a kernel or a pool) of `window` with `stride` and `pad` fits an image input:
    /// the padded input is at least the window. Returns the output's height and width, PyTorch's
    /// floor rule `(in + 2·pad - window) / stride + 1`.
    fn window(
        &self,
        input: Shape,
        [kh, kw]: [usize; 2],
        stride: usize,
        pad: usize,
    ) -> Option<(usize, usize)> {
        let what = format!(
            "layer {} `{}` of `{}`",
            self.index,
            declared(&self.layer.body),
            self.net
        );
        let head = self.layer.body.head();
        let Shape::Image { height, width, .. } = input else {
            self.cx.error_spanned_by(
                &head,
                format!(
                    "{what} reads an image (channels x height x width), but {} {} flat values: \
                     declare the network's input as an image, as in `1x28x28`, and keep image \
                     layers before the dense ones",
                    self.from,
                    input.len()
                ),
            );
            return None;
        };
        let (ph, pw) = (height + 2 * pad, width + 2 * pad);
        if ph < kh || pw < kw {
            let padded = if pad > 0 {
                format!(" ({ph}x{pw} with its padding of {pad})")
            } else {
                String::new()
            };
            self.cx.error_spanned_by(
                &head,
                format!(
                    "{what} needs an input of at least {kh}x{kw}, but {} {input}{padded}",
                    self.from
                ),
            );
            return None;
        }
        Some(((ph - kh) / stride + 1, (pw - kw) / stride + 1))
    }
}

/// The layer as declared, without its activation: `conv 16 5x5`, `maxpool 2x2`, `dropout 1.5`,
/// `batchnorm`, `16`.
fn declared(body: &LayerBody) -> String {
    match body {
        LayerBody::Dense { width, .. } => width.to_string(),
        LayerBody::Conv {
            keyword,
            filters,
            kernel,
            ..
        } => format!("{keyword} {filters} {kernel}"),
        LayerBody::Pool {
            keyword, window, ..
        } => format!("{keyword} {window}"),
        LayerBody::Dropout { keyword, rate } => {
            format!("{keyword} {}", rate.to_token_stream())
        }
        LayerBody::Norm { keyword }
        | LayerBody::Residual { keyword, .. }
        | LayerBody::Concat { keyword, .. }
        | LayerBody::Heads { keyword, .. } => keyword.to_string(),
        LayerBody::Path(path) => crate::model::path_text(path),
    }
}

/// The number of problems recorded so far.
fn count(cx: &Ctxt) -> usize {
    cx.errors.borrow().as_ref().map_or(0, Vec::len)
}

/// A width is a plain decimal number without a sign or a suffix that fits in `usize`.
fn width_value(cx: &Ctxt, lit: &LitInt) -> Option<Width> {
    if lit.base10_digits().starts_with('-') {
        // syn reads `-3` as one literal spanned at the `-`.
        cx.error_spanned_by(
            lit,
            format!(
                "a width is a positive number, the count of neurons or inputs: `{lit}` is \
                 negative; write `{}`",
                lit.base10_digits().trim_start_matches('-')
            ),
        );
        return None;
    }
    if !lit.suffix().is_empty() {
        cx.error_spanned_by(
            lit,
            format!(
                "a width is a plain number: write `{}` instead of `{lit}`",
                lit.base10_digits()
            ),
        );
        return None;
    }
    number(cx, lit, lit.base10_digits()).map(|value| Width {
        value,
        span: lit.span(),
        of: None,
    })
}

/// `digits` as a `usize`, or an error at `lit`.
fn number(cx: &Ctxt, lit: &LitInt, digits: &str) -> Option<usize> {
    match digits.parse::<usize>() {
        Ok(value) => Some(value),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                format!("the width `{lit}` is too large for this machine"),
            );
            None
        }
    }
}

/// The parts of `AxBxC` as written (Rust reads `1x28x28` as the literal `1` with the suffix
/// `x28x28`, and `0x3` as a hexadecimal 3, so the literal's text is split, not its value).
fn split_x(lit: &LitInt) -> Option<Vec<String>> {
    let text = lit.to_string();
    let parts: Vec<String> = text.split('x').map(str::to_owned).collect();
    let decimal = |p: &String| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (parts.len() > 1 && parts.iter().all(decimal)).then_some(parts)
}

/// The input is a width (`784`) or channels x height x width (`1x28x28`).
fn input_shape(cx: &Ctxt, lit: &LitInt) -> Option<(Width, Shape)> {
    if lit.suffix().is_empty() && !lit.to_string().contains('x') {
        return width_value(cx, lit).map(|w| {
            let shape = Shape::Flat(w.value);
            (w, shape)
        });
    }
    let Some(parts) = split_x(lit).filter(|p| p.len() == 3) else {
        cx.error_spanned_by(
            lit,
            format!(
                "the input is a width, as in `784`, or channels x height x width, as in \
                 `1x28x28`: write `{}` or `{}x28x28` instead of `{lit}`",
                lit.base10_digits(),
                lit.base10_digits()
            ),
        );
        return None;
    };
    let [c, h, w] = [0, 1, 2].map(|i| number(cx, lit, &parts[i]));
    let shape = Shape::Image {
        channels: c?,
        height: h?,
        width: w?,
    };
    let Some(value) = c?.checked_mul(h?).and_then(|v| v.checked_mul(w?)) else {
        cx.error_spanned_by(
            lit,
            format!("the input `{lit}` is too large for this machine"),
        );
        return None;
    };
    Some((
        Width {
            value,
            span: lit.span(),
            of: None,
        },
        shape,
    ))
}

/// A kernel or window size is `K` (square) or `KhxKw`, each at least 1.
fn dims(cx: &Ctxt, lit: &LitInt, what: &str) -> Option<[usize; 2]> {
    let parts = if lit.suffix().is_empty() && !lit.to_string().contains('x') {
        Some(vec![
            lit.base10_digits().to_owned(),
            lit.base10_digits().to_owned(),
        ])
    } else {
        split_x(lit).filter(|p| p.len() == 2)
    };
    let Some(parts) = parts else {
        cx.error_spanned_by(
            lit,
            format!("a {what} size is `K` or `KhxKw`, as in `5x5` or `3x5`, not `{lit}`"),
        );
        return None;
    };
    let [h, w] = [0, 1].map(|i| number(cx, lit, &parts[i]));
    let (h, w) = (h?, w?);
    if h == 0 || w == 0 {
        cx.error_spanned_by(
            lit,
            format!("a {what} of `{lit}` covers nothing: each side is at least 1"),
        );
        return None;
    }
    Some([h, w])
}

/// `stride S` (at least 1) or `pad P` (at least 0), or `default` when not written.
fn option_value(cx: &Ctxt, lit: Option<&LitInt>, default: usize, positive: bool) -> Option<usize> {
    let Some(lit) = lit else {
        return Some(default);
    };
    let value = width_value(cx, lit)?.value;
    if positive && value == 0 {
        cx.error_spanned_by(lit, "a stride of 0 never moves: the stride is at least 1");
        return None;
    }
    Some(value)
}

/// A dropout rate is a number at least 0 and below 1.
fn dropout_rate(cx: &Ctxt, lit: &Lit) -> Option<f32> {
    let value = match lit {
        Lit::Float(f) => f.base10_parse::<f32>().ok(),
        Lit::Int(i) => i.base10_parse::<f32>().ok(),
        _ => None,
    };
    match value {
        Some(rate) if (0.0..1.0).contains(&rate) => Some(rate),
        _ => {
            cx.error_spanned_by(
                lit,
                format!(
                    "`dropout {}` must be at least 0 and below 1: it is the probability of \
                     zeroing each value, as in `dropout 0.25`",
                    lit.to_token_stream()
                ),
            );
            None
        }
    }
}

/// The input has at least one value: a network reads at least one number.
fn check_input_width(cx: &Ctxt, net: &Ident, input: &Width, shape: Shape) {
    if input.value == 0 {
        let msg = match shape {
            Shape::Flat(_) => format!(
                "the input width of `{net}` is 0: a network reads at least one number, as in \
                 `struct {net}: 2 -> 1 sigmoid;`"
            ),
            Shape::Image { .. } => format!(
                "the input `{shape}` of `{net}` holds no values: each of channels, height and \
                 width is at least 1"
            ),
        };
        cx.error_at(input.span, msg);
    }
}

/// The input width takes no activation: activations belong to layers.
fn check_input_has_no_activation(cx: &Ctxt, decl: &NetworkDecl) {
    if let Some(act) = &decl.input_activation {
        let first = decl
            .layers
            .first()
            .map_or_else(|| "16".to_string(), |l| declared(&l.body));
        cx.error_spanned_by(
            act,
            format!(
                "the input width `{}` of `{}` takes no activation: activations belong to \
                 layers, as in `{} -> {first} {act}`",
                decl.input, decl.name, decl.input
            ),
        );
    }
}

/// The widest output layer `network!` accepts: 65536 neurons, 256 KiB of `f32`.
pub const OUTPUT_WIDTH_LIMIT: usize = 1 << 16;

/// The output layer is at most [`OUTPUT_WIDTH_LIMIT`] wide: `forward` returns it as an array,
/// on the caller's stack, where a wider one risks overflowing a thread's stack (hidden layers
/// of any width are fine: their wide buffers live on the heap).
fn check_output_width(cx: &Ctxt, net: &Ident, layer: &LayerDecl, index: usize, width: &Width) {
    if width.value > OUTPUT_WIDTH_LIMIT {
        cx.error_at(
            width.span,
            format!(
                "{} is the output layer and wider than the limit of {OUTPUT_WIDTH_LIMIT}: \
                 `forward` returns the output as an array on the stack, which a wider one \
                 could overflow; use at most {OUTPUT_WIDTH_LIMIT} outputs (hidden layers may \
                 be wider)",
                describe(net, layer, index)
            ),
        );
    }
}

/// Every layer has at least one neuron.
fn check_layer_width(cx: &Ctxt, net: &Ident, layer: &LayerDecl, index: usize, width: &Width) {
    if width.value == 0 {
        cx.error_at(
            width.span,
            format!(
                "{} has no neurons: a layer needs at least one",
                describe(net, layer, index)
            ),
        );
    }
}

/// Every dense and convolution layer names its activation: a known one (`linear` for none) or a
/// path to the user's type; `softmax` is only allowed on the output layer, and `leaky_relu`'s
/// slope is a finite number.
fn check_activation(
    cx: &Ctxt,
    net: &Ident,
    layer: &LayerDecl,
    index: usize,
    is_output: bool,
) -> Option<(Act, Span)> {
    let Some(decl) = layer.body.activation() else {
        let w = declared(&layer.body);
        cx.error_spanned_by(
            layer.body.head(),
            format!(
                "{} has no activation: write `{w} linear` for none, or name one, as in \
                 `{w} {}`",
                describe(net, layer, index),
                if matches!(layer.body, LayerBody::Dense { .. }) {
                    "sigmoid"
                } else {
                    "relu"
                }
            ),
        );
        return None;
    };
    let span = decl
        .path
        .segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span());
    let Some(ident) = decl.ident() else {
        return Some((Act::Custom(decl.path.clone()), span));
    };
    let name = ident.to_string();
    let Some(act) = Act::from_name(&name) else {
        let hint = suggest(&name);
        if hint.is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Some((Act::Custom(decl.path.clone()), span));
        }
        let known: Vec<_> = Act::ALL.iter().map(|a| format!("`{}`", a.name())).collect();
        let hint = match hint {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        cx.error_spanned_by(
            ident,
            format!(
                "unknown activation `{name}` on {}: {hint}the activations are {}, or a path to \
                 a type implementing `nn::CustomActivation`",
                describe(net, layer, index),
                known.join(", ")
            ),
        );
        return None;
    };
    let act = match (&act, &decl.arg) {
        (Act::Builtin(kind), Some(arg)) if kind.is_leaky_relu() => {
            let slope = match arg {
                Lit::Float(f) => f.base10_parse::<f32>().ok(),
                Lit::Int(i) => i.base10_parse::<f32>().ok(),
                _ => None,
            }
            .filter(|s| s.is_finite());
            let Some(slope) = slope else {
                cx.error_spanned_by(
                    arg,
                    "the slope of `leaky_relu` is a finite number, as in `leaky_relu 0.2`",
                );
                return None;
            };
            Act::Builtin(ActivationKind::LeakyRelu {
                slope: Real::new(slope),
            })
        }
        _ => act,
    };
    if act.is(ActivationKind::Softmax) && !is_output {
        cx.error_spanned_by(
            ident,
            format!(
                "`softmax` on {}, which is a hidden layer: softmax turns scores into \
                 probabilities and is only allowed on the output layer",
                describe(net, layer, index)
            ),
        );
        return None;
    }
    Some((act, ident.span()))
}

/// A layer's or a block's name as the uniqueness rule reads it.
struct NameEntry<'a> {
    /// The name given, if any.
    name: Option<&'a Ident>,
    /// The name it has when unnamed: `layer3`, `block1`.
    default: String,
    /// How a message calls it: `layer 3`, `block 1`.
    what: String,
}

/// Layer and block names are unique across the network (blocks and heads included), and no
/// name is the `layerN` or `blockN` that an unnamed layer or block gets.
fn check_unique_names(cx: &Ctxt, net: &Ident, entries: &[NameEntry]) {
    let fields: Vec<String> = entries
        .iter()
        .map(|e| {
            e.name
                .map_or_else(|| e.default.clone(), ToString::to_string)
        })
        .collect();
    for (i, entry) in entries.iter().enumerate() {
        let Some(name) = entry.name else { continue };
        let what = &entry.what;
        if let Some(first) = fields[..i].iter().position(|f| *f == fields[i]) {
            let other = if entries[first].name.is_some() {
                format!("{} is already named `{name}`", entries[first].what)
            } else {
                format!("unnamed {} is called `{name}`", entries[first].what)
            };
            cx.error_spanned_by(
                name,
                format!(
                    "duplicate layer name `{name}` on {what} of `{net}`: {other}; each layer \
                     needs its own name"
                ),
            );
        } else if let Some(later) = fields[i + 1..]
            .iter()
            .position(|f| *f == fields[i])
            .map(|p| p + i + 1)
            .filter(|&p| entries[p].name.is_none())
        {
            cx.error_spanned_by(
                name,
                format!(
                    "{what} of `{net}` is named `{name}`, which is the name unnamed {} gets; \
                     name that {} too, or choose another name",
                    entries[later].what,
                    if entries[later].what.starts_with("block") {
                        "block"
                    } else {
                        "layer"
                    }
                ),
            );
        }
    }
}

/// "layer 2 (`hidden`, 16 wide) of `Xor`" or "layer 2 (16 wide) of `Xor`"; "layer 1
/// (`features`, `conv 6 5x5`) of `LeNet`" for the other kinds.
fn describe(net: &Ident, layer: &LayerDecl, index: usize) -> String {
    let what = match &layer.body {
        LayerBody::Dense { width, .. } => format!("{width} wide"),
        body => format!("`{}`", declared(body)),
    };
    match &layer.name {
        Some(n) => format!("layer {index} (`{n}`, {what}) of `{net}`"),
        None => format!("layer {index} ({what}) of `{net}`"),
    }
}

/// The known activation closest to a misspelt one, if any is close.
fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    let alias = match lower.as_str() {
        "identity" | "none" | "id" => Some("linear"),
        "logistic" | "sigmoidal" => Some("sigmoid"),
        "heaviside" | "threshold" | "sign" => Some("step"),
        "rectifier" => Some("relu"),
        _ => None,
    };
    if alias.is_some() {
        return alias;
    }
    Act::ALL
        .iter()
        .map(|a| (levenshtein(&lower, a.name()), a.name()))
        .chain([(levenshtein(&lower, "swish"), "swish")])
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Edit distance between two strings.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use quote::quote;

    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match check(parse_invocation(tokens)).1 {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_network_checks() {
        let (nets, errors) = check(parse_invocation(
            quote! { struct X: 2 -> hidden: 3 tanh -> 1 sigmoid; },
        ));
        assert!(errors.is_ok());
        let l = &nets[0].layers;
        assert_eq!(l[0].field, "hidden");
        assert_eq!(l[1].field, "layer2");
        assert!(l[1].act().is_some_and(|a| a.is(ActivationKind::Sigmoid)));
        assert_eq!(nets[0].input.value, 2);
    }

    #[test]
    fn every_problem_is_reported() {
        let e = errors(quote! {
            struct X: 0 sigmoid -> a: 0 sigmod -> a: 4 softmax -> 5 -> 3 linear;
        });
        assert_eq!(e.len(), 7, "{e:#?}");
        assert!(e[0].contains("input width of `X` is 0"));
        assert!(e[1].contains("takes no activation"));
        assert!(e[2].contains("layer 1 (`a`, 0 wide) of `X` has no neurons"));
        assert!(e[3].contains("did you mean `sigmoid`"));
        assert!(e[4].contains("`softmax` on layer 2"));
        assert!(e[5].contains("layer 3 (5 wide) of `X` has no activation: write `5 linear`"));
        assert!(e[6].contains("duplicate layer name `a` on layer 2 of `X`"));
        let d = errors(quote! { struct X: 1 -> a: 1 relu -> a: 1 relu; });
        assert!(
            d[0].contains("duplicate layer name `a` on layer 2"),
            "{d:?}"
        );
    }

    #[test]
    fn names_that_shadow_unnamed_layers_are_refused() {
        let e = errors(quote! { struct X: 1 -> layer2: 1 relu -> 1 relu; });
        assert!(e[0].contains("the name unnamed layer 2 gets"), "{e:?}");
        let e = errors(quote! { struct X: 1 -> 1 relu -> layer1: 1 relu; });
        assert!(e[0].contains("unnamed layer 1 is called `layer1`"), "{e:?}");
    }

    #[test]
    fn a_network_declared_twice_is_one_error_and_expanded_once() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct Net: 2 -> 3 relu -> 1 sigmoid;
            struct Other: 2 -> 1 relu;
            struct Net: 4 -> 1 relu;
        }));
        let e: Vec<String> = errors
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("`Net` is declared twice"), "{}", e[0]);
        assert!(
            e[0].contains("the first `Net` (network 1, `struct Net: 2 -> 3 relu -> 1 sigmoid`)"),
            "{}",
            e[0]
        );
        let names: Vec<String> = nets.iter().map(|n| n.name.to_string()).collect();
        assert_eq!(names, ["Net", "Other"]);
        assert_eq!(nets[0].input.value, 2, "the first `Net` is the one built");
    }

    #[test]
    fn an_empty_invocation_is_an_error() {
        let e = errors(quote! {});
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("declare at least one network"), "{}", e[0]);
    }

    #[test]
    fn a_negative_width_says_so() {
        let e = errors(quote! { struct X: -2 -> 3 relu -> -3 relu; });
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("a width is a positive number"), "{}", e[0]);
        assert!(e[0].contains("`-2` is negative; write `2`"), "{}", e[0]);
        assert!(e[1].contains("`-3` is negative"), "{}", e[1]);
        assert!(!e[1].contains("too large"), "{}", e[1]);
    }

    #[test]
    fn image_layers_that_do_not_fit_say_so_in_numbers() {
        let e = errors(quote! {
            struct A: 1x12x12 -> conv 6 5x5 relu -> maxpool 2x2 -> conv 16 5x5 relu -> 1 relu;
            struct B: 784 -> maxpool 2x2 -> 1 relu;
            struct C: 1x2x2 -> conv 1 5x5 pad 1 relu -> 1 relu;
            struct D: 1x8x8 -> conv 0 3 relu -> conv 2 0x3 relu -> maxpool 2 stride 0 -> 1 relu;
            struct E: 1x8u8 -> dropout 1 -> dropout 0.5 -> 2 relu;
        });
        assert_eq!(e.len(), 8, "{e:#?}");
        assert!(e[0].contains("layer 3 `conv 16 5x5` of `A` needs an input of at least 5x5, but layer 2 gives 6x4x4"), "{}", e[0]);
        assert!(e[1].contains("layer 1 `maxpool 2x2` of `B` reads an image (channels x height x width), but the input is 784 flat values"), "{}", e[1]);
        assert!(e[2].contains("needs an input of at least 5x5, but the input is 1x2x2 (4x4 with its padding of 1)"), "{}", e[2]);
        assert!(
            e[3].contains("layer 1 `conv 0 3` of `D` has no filters"),
            "{}",
            e[3]
        );
        assert!(
            e[4].contains("a kernel of `0x3` covers nothing"),
            "{}",
            e[4]
        );
        assert!(e[5].contains("a stride of 0 never moves"), "{}", e[5]);
        assert!(
            e[6].contains("write `1` or `1x28x28` instead of `1x8u8`"),
            "{}",
            e[6]
        );
        assert!(
            e[7].contains("`dropout 1` must be at least 0 and below 1"),
            "{}",
            e[7]
        );
        let o = errors(quote! { struct F: 4 -> 3 relu -> dropout 0.1; });
        assert!(
            o[0].contains("the output layer of `F` is `dropout 0.1`"),
            "{o:?}"
        );
    }

    #[test]
    fn the_output_layer_has_a_width_limit_and_hidden_layers_do_not() {
        assert!(errors(quote! { struct X: 2 -> 3000000 relu -> 65536 linear; }).is_empty());
        let e = errors(quote! { struct X: 2 -> 3 relu -> 65537 linear; });
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains(
                "layer 2 (65537 wide) of `X` is the output layer and wider than the limit of 65536"
            ),
            "{}",
            e[0]
        );
    }

    #[test]
    fn blocks_and_heads_are_checked_in_numbers() {
        let e = errors(quote! {
            struct A: 64 -> 128 relu -> residual { 128 relu -> 64 linear } -> 10 softmax;
            struct B: 1x8x8 -> concat { conv 4 3x3 relu, conv 2 5x5 relu } -> 10 softmax;
            struct C: 1x8x8 -> concat { conv 4 3x3 relu, 5 relu } -> 10 softmax;
            struct D: 4 -> heads { a: 2 softmax, a: 1 sigmoid };
            struct E: 4 -> heads { a: 2 softmax } -> 3 relu;
            struct F: 4 -> residual { 4 relu -> heads { a: 1 sigmoid } } -> 1 relu;
            struct G: 4 -> 3 relu -> residual { 3 relu };
            struct H: 4 -> x: residual { 4 relu } -> x: 2 relu;
        });
        assert_eq!(e.len(), 8, "{e:#?}");
        assert!(
            e[0].contains("the residual block after layer 1 of `A` takes 128 and gives 64"),
            "{}",
            e[0]
        );
        assert!(e[1].contains("joins images of different heights or widths (branch 1 gives 4x6x6, branch 2 gives 2x4x4)"), "{}", e[1]);
        assert!(e[2].contains("joins images and flat values"), "{}", e[2]);
        assert!(e[3].contains("two heads of `D` are named `a`"), "{}", e[3]);
        assert!(e[4].contains("`heads` ends a network"), "{}", e[4]);
        assert!(e[5].contains("`heads` ends a network"), "{}", e[5]);
        assert!(
            e[6].contains("the output layer of `G` is `residual`"),
            "{}",
            e[6]
        );
        assert!(
            e[7].contains(
                "duplicate layer name `x` on layer 2 of `H`: block 1 is already named `x`"
            ),
            "{}",
            e[7]
        );
        // Shapes flow through blocks: each layer's index counts every layer before it.
        let (nets, errors) = check(parse_invocation(quote! {
            struct W: 1x6x6 -> concat { conv 2 3x3 relu, maxpool 3x3 stride 1 } -> 1 relu;
        }));
        assert!(errors.is_ok());
        let block = &nets[0].blocks[0];
        assert_eq!(block.output_shape.to_string(), "3x4x4");
        assert_eq!(nets[0].layers[2].input.to_string(), "3x4x4");
        assert_eq!(nets[0].layers[2].field, "layer3");
        assert_eq!(block.field, "block1");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("sigmod"), Some("sigmoid"));
        assert_eq!(suggest("ReLU"), Some("relu"));
        assert_eq!(suggest("identity"), Some("linear"));
        assert_eq!(suggest("softmx"), Some("softmax"));
        assert_eq!(suggest("banana"), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
