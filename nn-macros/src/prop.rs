//! The questions expansion asks of the checked model.
//!
//! Where a layer reads from, whether it is the first or the output layer, which activations the
//! hidden layers use, the declaration text: each is answered once here, so that the code in
//! `expand` asks `layer.is_output()` or `layer.input_of(net)` instead of doing index arithmetic.
//! Everything a layer kind decides (its width, its activation, its declaration) is matched on
//! [`LayerKind`] here and nowhere else in the model.

use proc_macro2::Span;
use syn::Ident;

use nn_model::PoolKind;

use crate::model::{Act, Block, BlockKind, Layer, LayerKind, Network, Node, Source, Width};

/// Layers wider than this keep their per-sample buffers on the heap, not the stack.
pub const STACK_WIDTH_LIMIT: usize = 4096;

/// What a layer or a block reads: the network's input, the output of a layer (in a chain, the
/// layer before it) or of a block.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// The network's input, `x`.
    Network(&'a Width),
    /// A layer's output.
    Layer(&'a Layer),
    /// A block's output.
    Block(&'a Block),
}

impl<'a> Input<'a> {
    /// The width of what the layer reads.
    pub fn width(self) -> &'a Width {
        match self {
            Input::Network(width) => width,
            Input::Layer(layer) => layer.width(),
            Input::Block(block) => &block.out,
        }
    }
}

impl Network {
    /// What `source` names in this network.
    pub fn input(&self, source: Source) -> Input<'_> {
        match source {
            Source::Input => Input::Network(&self.input),
            Source::Layer(i) => Input::Layer(&self.layers[i]),
            Source::Block(b) => Input::Block(&self.blocks[b]),
        }
    }

    /// Whether it is a plain chain: no blocks, no heads (each layer reads the one before it).
    pub fn is_chain(&self) -> bool {
        self.blocks.is_empty() && self.heads.is_empty()
    }

    /// Whether the network's `train_step` fuses its first layer's weight gradient into the
    /// optimizer's update: a chain whose first layer is dense (its weights are the first
    /// tensor of `parameters`).
    pub fn fuses_first_layer(&self) -> bool {
        self.is_chain()
            && matches!(
                self.layers.first().map(|l| &l.kind),
                Some(LayerKind::Dense(_))
            )
    }

    /// Whether the network computes in `f64` (`struct Net: f64 ...`).
    pub fn is_f64(&self) -> bool {
        self.scalar.as_ref().is_some_and(|s| s == "f64")
    }

    /// The layer or block a node of its graph is.
    pub fn node(&self, node: Node) -> NodeRef<'_> {
        match node {
            Node::Layer(i) => NodeRef::Layer(&self.layers[i]),
            Node::Block(b) => NodeRef::Block(&self.blocks[b]),
        }
    }

    /// What a chain of nodes gives: its last node's output.
    pub fn chain_output(&self, chain: &[Node]) -> Input<'_> {
        match chain.last().map(|&n| self.node(n)) {
            Some(NodeRef::Layer(layer)) => Input::Layer(layer),
            Some(NodeRef::Block(block)) => Input::Block(block),
            None => Input::Network(&self.input),
        }
    }
}

/// One step of the forward pass: a layer, or a block joining its branches (after them).
#[derive(Clone, Copy)]
pub enum Step<'a> {
    /// A layer's forward.
    Layer(&'a Layer),
    /// A block's `x + f(x)` or its join, once its branches have run.
    Join(&'a Block),
}

impl Network {
    /// The forward pass's steps in the order they run: a chain's layers in order; a block's
    /// branches one after the other, then its join; the heads one after the other. The
    /// backward pass runs them in reverse.
    pub fn steps(&self) -> Vec<Step<'_>> {
        let mut steps = Vec::with_capacity(self.layers.len() + self.blocks.len());
        self.chain_steps(&self.nodes, &mut steps);
        for head in &self.heads {
            self.chain_steps(&head.nodes, &mut steps);
        }
        steps
    }

    fn chain_steps<'a>(&'a self, chain: &[Node], steps: &mut Vec<Step<'a>>) {
        for &node in chain {
            match self.node(node) {
                NodeRef::Layer(layer) => steps.push(Step::Layer(layer)),
                NodeRef::Block(block) => {
                    for branch in &block.branches {
                        self.chain_steps(branch, steps);
                    }
                    steps.push(Step::Join(block));
                }
            }
        }
    }
}

/// A node of the graph, looked up.
#[derive(Clone, Copy)]
pub enum NodeRef<'a> {
    /// A layer.
    Layer(&'a Layer),
    /// A block.
    Block(&'a Block),
}

/// Whether a declaration text names the layers (see [`Network::declaration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerNames {
    /// `2 -> hidden: 3 tanh -> out: 1 sigmoid`: each name that is not the default `layerN`, so
    /// that `network!` reads the text back as the same network.
    Shown,
    /// `2 -> 3 tanh -> 1 sigmoid`: the shape alone.
    Omitted,
}

impl Network {
    /// The last layer, whose output is the network's output and what the loss reads.
    pub fn output_layer(&self) -> &Layer {
        self.layers
            .last()
            .expect("a checked network has at least one layer: the parser refuses none")
    }

    /// The number of outputs: the output layer's width, or the heads' widths added up (the
    /// heads side by side, as the `Network` trait's rows hold them).
    pub fn output_width(&self) -> Width {
        if self.heads.is_empty() {
            return self.output_layer().width().clone();
        }
        let layers: Vec<&Layer> = self.head_outputs().collect();
        Width {
            value: layers.iter().map(|l| l.width().value).sum(),
            span: layers.first().map_or(self.name.span(), |l| l.out.span),
            of: None,
        }
    }

    /// Each head's output layer, in declaration order.
    pub fn head_outputs(&self) -> impl Iterator<Item = &Layer> {
        self.heads.iter().filter_map(|h| match h.nodes.last() {
            Some(&Node::Layer(i)) => Some(&self.layers[i]),
            _ => None,
        })
    }

    /// Every layer before the output layer (none for a one-layer network).
    pub fn hidden_layers(&self) -> &[Layer] {
        &self.layers[..self.layers.len() - 1]
    }

    /// Each activation the hidden layers use, once, at the span of its first use: the
    /// activations whose derivative backprop needs (the output layer's is the loss's business).
    pub fn hidden_activations(&self) -> Vec<(Act, Span)> {
        let mut acts: Vec<(Act, Span)> = Vec::new();
        for layer in self.layers.iter().filter(|l| !l.is_output()) {
            let (Some(act), Some(span)) = (layer.act(), layer.act_span()) else {
                continue;
            };
            if !acts.iter().any(|(seen, _)| seen.same(act)) {
                acts.push((act.clone(), span));
            }
        }
        acts
    }

    /// Every activation that is a path to the user's type, once each, at the span of its first
    /// use: the ones the expansion checks implement `nn::CustomActivation`.
    pub fn custom_activations(&self) -> Vec<(&syn::Path, Span)> {
        let mut found: Vec<(&syn::Path, Span)> = Vec::new();
        for layer in &self.layers {
            if let (Some(act @ Act::Custom(path)), Some(span)) = (layer.act(), layer.act_span()) {
                if !found
                    .iter()
                    .any(|(p, _)| Act::Custom((*p).clone()).same(act))
                {
                    found.push((path, span));
                }
            }
        }
        found
    }

    /// Whether it is a chain of dense layers, whose one-sample passes run on stack arrays.
    pub fn is_dense_only(&self) -> bool {
        self.is_chain()
            && self
                .layers
                .iter()
                .all(|l| matches!(l.kind, LayerKind::Dense(_)))
    }

    /// Whether a layer draws dropout masks, so each gradient step starts a new mask step (a
    /// path layer may: its type's dropout layers draw from the outer workspace).
    pub fn has_dropout(&self) -> bool {
        self.layers
            .iter()
            .any(|l| matches!(l.kind, LayerKind::Dropout(_) | LayerKind::Path(_)))
    }

    /// Whether a layer is a path to a type (`-> encoder: Encoder ->`): the workspace then holds
    /// that type's buffer sets too, handed out layer by layer (see `expand/custom.rs`).
    pub fn has_path_layers(&self) -> bool {
        self.layers.iter().any(Layer::is_path)
    }

    /// The declaration as `network!` reads it, without the struct: `784 -> 16 sigmoid -> 10
    /// softmax`, with or without the layer names (see [`LayerNames`]). The one place this text is
    /// written, for the generated docs and for the declaration nn-core stores in weight files.
    pub fn declaration(&self, names: LayerNames) -> String {
        let mut text = self.input_shape.to_string();
        if self.is_chain() {
            for layer in &self.layers {
                text.push_str(" -> ");
                text.push_str(&layer.declaration(names));
            }
            return text;
        }
        text.push_str(" -> ");
        text.push_str(&self.chain_declaration(&self.nodes, names));
        if !self.heads.is_empty() {
            let heads: Vec<String> = self
                .heads
                .iter()
                .map(|h| format!("{}: {}", h.name, self.chain_declaration(&h.nodes, names)))
                .collect();
            text.push_str(&format!(" -> heads {{ {} }}", heads.join(", ")));
        }
        text
    }

    /// A chain's part of the declaration text: `128 relu -> 128 linear`.
    fn chain_declaration(&self, chain: &[Node], names: LayerNames) -> String {
        let parts: Vec<String> = chain
            .iter()
            .map(|&node| match self.node(node) {
                NodeRef::Layer(layer) => layer.declaration(names),
                NodeRef::Block(block) => {
                    let branches: Vec<String> = block
                        .branches
                        .iter()
                        .map(|b| self.chain_declaration(b, names))
                        .collect();
                    let keyword = match block.kind {
                        BlockKind::Residual => "residual",
                        BlockKind::Concat => "concat",
                    };
                    let text = format!("{keyword} {{ {} }}", branches.join(", "));
                    match (names, block.declared_name()) {
                        (LayerNames::Shown, Some(name)) => format!("{name}: {text}"),
                        _ => text,
                    }
                }
            })
            .collect();
        parts.join(" -> ")
    }
}

impl Block {
    /// The name a declaration text shows: the given name unless it is the default `blockN`.
    pub fn declared_name(&self) -> Option<&Ident> {
        (self.field != format!("block{}", self.id)).then_some(&self.field)
    }

    /// "residual block 1 `skip`", "concatenation 2", as generated comments call it.
    pub fn label(&self) -> String {
        let kind = match self.kind {
            BlockKind::Residual => "residual block",
            BlockKind::Concat => "concatenation",
        };
        match self.declared_name() {
            Some(name) => format!("{kind} {} `{name}`", self.id),
            None => format!("{kind} {}", self.id),
        }
    }
}

impl Layer {
    /// Whether it is the output layer.
    pub fn is_output(&self) -> bool {
        self.output
    }

    /// What it reads: the network's input, the previous layer's output, or a block's. `net` is
    /// the network this layer belongs to.
    pub fn input_of<'a>(&self, net: &'a Network) -> Input<'a> {
        net.input(self.source)
    }

    /// Its number of outputs (an image's channels × height × width), at its first token.
    pub fn width(&self) -> &Width {
        &self.out
    }

    /// Its activation, if its kind has one (dense and convolution layers).
    pub fn act(&self) -> Option<&Act> {
        match &self.kind {
            LayerKind::Dense(dense) => Some(&dense.act),
            LayerKind::Conv(conv) => Some(&conv.act),
            _ => None,
        }
    }

    /// Where its activation was written.
    pub fn act_span(&self) -> Option<Span> {
        match &self.kind {
            LayerKind::Dense(dense) => Some(dense.act_span),
            LayerKind::Conv(conv) => Some(conv.act_span),
            _ => None,
        }
    }

    /// Whether it is a dense layer.
    pub fn is_dense(&self) -> bool {
        matches!(self.kind, LayerKind::Dense(_))
    }

    /// The type it is, if it is written as a path.
    pub fn path(&self) -> Option<&syn::Path> {
        match &self.kind {
            LayerKind::Path(path) => Some(path),
            _ => None,
        }
    }

    /// Whether it is written as a path to a type.
    pub fn is_path(&self) -> bool {
        self.path().is_some()
    }

    /// "layer 2 `out`" for a named layer, "layer 2" for an unnamed one, as generated comments
    /// call it.
    pub fn label(&self) -> String {
        if self.named {
            format!("layer {} `{}`", self.index, self.field)
        } else {
            format!("layer {}", self.index)
        }
    }

    /// The name a declaration text shows: the given name unless it is the default `layerN`.
    pub fn declared_name(&self) -> Option<&Ident> {
        let default = format!("layer{}", self.index);
        (self.named && self.field != default).then_some(&self.field)
    }

    /// Whether the one-sample forward pass keeps its output in a heap buffer: hidden layers
    /// wider than [`STACK_WIDTH_LIMIT`]. The output layer's is returned by value, so it is
    /// always an array.
    pub fn sample_on_heap(&self) -> bool {
        !self.is_output() && self.width().value > STACK_WIDTH_LIMIT
    }

    /// Its part of the declaration text after the `->`: `hidden: 3 tanh` or `3 tanh`.
    pub fn declaration(&self, names: LayerNames) -> String {
        let text = match &self.kind {
            LayerKind::Dense(dense) => format!("{} {}", dense.width.value, dense.act.name()),
            LayerKind::Conv(conv) => {
                let [kh, kw] = conv.kernel;
                let mut text = format!("conv {} {kh}x{kw}", conv.filters);
                if conv.stride != 1 {
                    text.push_str(&format!(" stride {}", conv.stride));
                }
                if conv.pad != 0 {
                    text.push_str(&format!(" pad {}", conv.pad));
                }
                format!("{text} {}", conv.act.name())
            }
            LayerKind::Pool(pool) => {
                let [kh, kw] = pool.window;
                let name = match pool.kind {
                    PoolKind::Max => "maxpool",
                    PoolKind::Average => "avgpool",
                };
                if pool.stride == kh {
                    format!("{name} {kh}x{kw}")
                } else {
                    format!("{name} {kh}x{kw} stride {}", pool.stride)
                }
            }
            LayerKind::Dropout(rate) => format!("dropout {rate}"),
            LayerKind::BatchNorm => "batchnorm".to_string(),
            LayerKind::LayerNorm => "layernorm".to_string(),
            LayerKind::Path(path) => crate::model::path_text(path),
        };
        match (names, self.declared_name()) {
            (LayerNames::Shown, Some(name)) => format!("{name}: {text}"),
            _ => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use crate::check::check;
    use proc_macro2::TokenStream;
    use quote::quote;

    /// The one network `tokens` declares, checked.
    fn network(tokens: TokenStream) -> Network {
        let (mut nets, errors) = check(parse_invocation(tokens));
        if let Err(e) = errors {
            panic!("{e}");
        }
        assert_eq!(nets.len(), 1);
        nets.remove(0)
    }

    fn xor() -> Network {
        network(quote! { struct Xor: 2 -> hidden: 3 tanh -> out: 1 sigmoid; })
    }

    #[test]
    fn first_and_output_layers() {
        let net = network(quote! { struct N: 4 -> 3 relu -> 2 relu -> 1 sigmoid; });
        let first: Vec<bool> = net
            .layers
            .iter()
            .map(|l| l.source == Source::Input)
            .collect();
        let output: Vec<bool> = net.layers.iter().map(Layer::is_output).collect();
        assert_eq!(first, [true, false, false]);
        assert_eq!(output, [false, false, true]);
        assert_eq!(net.output_layer().index, 3);
        assert_eq!(net.hidden_layers().len(), 2);

        let one = network(quote! { struct One: 2 -> 1 relu; });
        assert!(one.layers[0].source == Source::Input && one.layers[0].is_output());
        assert_eq!(one.output_layer().index, 1);
        assert!(one.hidden_layers().is_empty());
        assert!(one.hidden_activations().is_empty());
    }

    #[test]
    fn each_layer_reads_the_input_or_the_previous_layer() {
        let net = network(quote! { struct N: 4 -> a: 3 relu -> 2 relu -> 1 sigmoid; });
        let first = net.layers[0].input_of(&net);
        assert!(matches!(first, Input::Network(w) if w.value == 4));
        assert_eq!(first.width().value, 4);
        for k in 1..3 {
            let input = net.layers[k].input_of(&net);
            let Input::Layer(prev) = input else {
                panic!("layer {} reads the network's input", k + 1)
            };
            assert_eq!(prev.index, k, "layer {}", k + 1);
            assert_eq!(input.width().value, net.layers[k - 1].width().value);
        }
        assert_eq!(net.layers[1].input_of(&net).width().value, 3);
    }

    #[test]
    fn widths_activations_and_labels() {
        let net = xor();
        let (hidden, out) = (&net.layers[0], &net.layers[1]);
        assert_eq!(hidden.width().value, 3);
        assert!(hidden
            .act()
            .is_some_and(|a| a.is(nn_model::ActivationKind::Tanh)));
        assert_eq!(out.width().value, 1);
        assert!(out
            .act()
            .is_some_and(|a| a.is(nn_model::ActivationKind::Sigmoid)));
        assert_eq!(hidden.label(), "layer 1 `hidden`");
        let unnamed = network(quote! { struct N: 2 -> 3 tanh -> 1 sigmoid; });
        assert_eq!(unnamed.layers[1].label(), "layer 2");
        assert_eq!(unnamed.layers[1].field, "layer2");
    }

    #[test]
    fn hidden_activations_once_each_in_order() {
        let net = network(quote! {
            struct N: 4 -> 3 relu -> 3 tanh -> 3 relu -> 2 sigmoid -> 1 relu;
        });
        let acts: Vec<String> = net
            .hidden_activations()
            .iter()
            .map(|a| a.0.name())
            .collect();
        assert_eq!(acts, ["relu", "tanh", "sigmoid"]);
    }

    #[test]
    fn image_shapes_and_declarations() {
        let net = network(quote! {
            struct LeNet: 1x28x28
                -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu -> maxpool 2x2
                -> dropout 0.25 -> 120 relu -> batchnorm -> 84 leaky_relu 0.2 -> layernorm
                -> 10 softmax;
        });
        let shapes: Vec<String> = net
            .layers
            .iter()
            .map(|l| l.output_shape.to_string())
            .collect();
        assert_eq!(
            shapes,
            [
                "6x28x28", "6x14x14", "16x10x10", "16x5x5", "16x5x5", "120", "120", "84", "84",
                "10"
            ]
        );
        assert_eq!(
            net.declaration(LayerNames::Omitted),
            "1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu -> maxpool 2x2 \
             -> dropout 0.25 -> 120 relu -> batchnorm -> 84 leaky_relu 0.2 -> layernorm -> 10 softmax"
        );
        assert_eq!(net.input.value, 784);
        let acts: Vec<String> = net
            .hidden_activations()
            .iter()
            .map(|a| a.0.name())
            .collect();
        assert_eq!(acts, ["relu", "leaky_relu 0.2"]);
        assert!(!net.is_dense_only() && net.has_dropout());
        // The floor rule: a 3x3 pool of 28x28 keeps 9x9 windows; a strided conv likewise.
        let net = network(quote! {
            struct P: 2x28x28 -> maxpool 3x3 -> conv 4 3x5 stride 2 gelu -> 1 sigmoid;
        });
        let shapes: Vec<String> = net
            .layers
            .iter()
            .map(|l| l.output_shape.to_string())
            .collect();
        assert_eq!(shapes, ["2x9x9", "4x4x3", "1"]);
    }

    #[test]
    fn declaration_with_and_without_names() {
        let net = xor();
        assert_eq!(
            net.declaration(LayerNames::Shown),
            "2 -> hidden: 3 tanh -> out: 1 sigmoid"
        );
        assert_eq!(
            net.declaration(LayerNames::Omitted),
            "2 -> 3 tanh -> 1 sigmoid"
        );
        // A name that is the default one is not shown: the text reads back as the same network.
        let net = network(quote! { struct T: 3 -> layer1: 2 tanh -> out: 2 softmax; });
        assert_eq!(net.layers[0].declared_name(), None);
        assert_eq!(
            net.layers[1].declared_name().map(ToString::to_string),
            Some("out".into())
        );
        assert_eq!(
            net.declaration(LayerNames::Shown),
            "3 -> 2 tanh -> out: 2 softmax"
        );
        let shown = net.declaration(LayerNames::Shown);
        let again = network(format!("struct T: {shown};").parse().unwrap());
        assert_eq!(again.declaration(LayerNames::Shown), shown);
    }

    #[test]
    fn a_graph_reads_back_as_the_same_graph() {
        let net = network(quote! {
            struct G: 4 -> 5 tanh -> skip: residual { concat { 3 tanh, 2 relu -> 2 linear } }
                -> heads { a: 2 softmax, b: 3 tanh -> 1 sigmoid };
        });
        let shown = net.declaration(LayerNames::Shown);
        assert_eq!(
            shown,
            "4 -> 5 tanh -> skip: residual { concat { 3 tanh, 2 relu -> 2 linear } } -> heads \
             { a: 2 softmax, b: 3 tanh -> 1 sigmoid }"
        );
        let again = network(format!("struct G: {shown};").parse().unwrap());
        assert_eq!(again.declaration(LayerNames::Shown), shown);
        // The forward order: each block's layers, then its join; the heads after the trunk.
        let order: Vec<String> = net
            .steps()
            .iter()
            .map(|s| match s {
                Step::Layer(l) => l.field.to_string(),
                Step::Join(b) => b.field.to_string(),
            })
            .collect();
        assert_eq!(
            order,
            [
                "layer1", "layer2", "layer3", "layer4", "block2", "skip", "layer5", "layer6",
                "layer7"
            ]
        );
        assert_eq!(net.output_width().value, 3);
        let sources: Vec<Source> = net.layers.iter().map(|l| l.source).collect();
        assert_eq!(
            sources,
            [
                Source::Input,
                Source::Layer(0),
                Source::Layer(0),
                Source::Layer(2),
                Source::Block(0),
                Source::Block(0),
                Source::Layer(5)
            ]
        );
    }

    #[test]
    fn only_wide_hidden_layers_keep_samples_on_the_heap() {
        let net = network(quote! { struct W: 2 -> 4096 relu -> 4097 relu -> 5000 linear; });
        let heap: Vec<bool> = net.layers.iter().map(Layer::sample_on_heap).collect();
        assert_eq!(heap, [false, true, false]);
    }
}
