//! The checked model of a network: what `check` returns and `expand` reads.
//!
//! Every value here has passed the checks, so expansion can trust it: a network has at least one
//! layer, every width is at least 1, every shape fits the layer that reads it, `softmax` sits
//! only on the output layer, which is dense. The questions expansion asks of the model (which
//! layer is the output, what a layer reads, the declaration text) are answered in
//! [`prop`](crate::prop); how the model is spelled in generated code (the typenum type of a
//! width, the name of a layer's buffer) is in `expand/tokens.rs`.

use nn_model::{ActivationKind, PoolKind, Real, Shape};
use proc_macro2::Span;
use quote::ToTokens;
use syn::{Attribute, Ident, Path, Visibility};

/// A checked network, ready to expand.
pub struct Network {
    /// Attributes passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// The scalar type the declaration names after the colon (`f64`), or `None` for the
    /// default `f32`.
    pub scalar: Option<Ident>,
    /// The input's length (`784` for `1x28x28`), at the input literal.
    pub input: Width,
    /// The input's shape.
    pub input_shape: Shape,
    /// Every layer, first hidden layer to output layer, in the order the forward pass runs them
    /// (a block's layers in place, branch by branch); never empty. What the struct's fields, the
    /// parameters, `LAYERS` and the workspace's layer entries follow.
    pub layers: Vec<Layer>,
    /// Every block (residual block, concatenation), in declaration order (a block before the
    /// blocks inside it); empty for a chain.
    pub blocks: Vec<Block>,
    /// The trunk: each node reads the one before it, the first the network's input. For a
    /// chain, one [`Node::Layer`] per layer.
    pub nodes: Vec<Node>,
    /// The heads the network ends in; empty for a network with one output.
    pub heads: Vec<Head>,
}

/// One node of a chain: a layer or a block, by its position in [`Network::layers`] or
/// [`Network::blocks`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Node {
    /// `net.layers[i]`.
    Layer(usize),
    /// `net.blocks[i]`.
    Block(usize),
}

/// What a layer or a block reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// The network's input, `x`.
    Input,
    /// The output of `net.layers[i]`.
    Layer(usize),
    /// The output of `net.blocks[i]`.
    Block(usize),
}

/// How a block combines its branches (nn-model's `BlockKind`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockKind {
    /// `residual { chain }`: `x + f(x)`.
    Residual,
    /// `concat { chain, ... }`: the branches' outputs joined (channel-wise for images).
    Concat,
}

/// A checked residual block or concatenation.
pub struct Block {
    /// Its number, counting blocks from 1 in declaration order (its buffers are `s1`, `g1`).
    pub id: usize,
    /// The field of the activations struct that holds its output: the given name or `blockN`.
    pub field: Ident,
    /// How it combines its branches.
    pub kind: BlockKind,
    /// Its chains (one for a residual block), each non-empty.
    pub branches: Vec<Vec<Node>>,
    /// What it reads.
    pub source: Source,
    /// The shape of one sample's input.
    pub input: Shape,
    /// The shape of one sample's output.
    pub output_shape: Shape,
    /// The output's length, at the block's keyword.
    pub out: Width,
}

/// One head of `heads { name: chain, ... }`.
pub struct Head {
    /// Its name, the field of the outputs, targets and losses structs.
    pub name: Ident,
    /// Its chain; the last node is its output layer, a dense layer.
    pub nodes: Vec<Node>,
}

/// A width as written: its value and the literal's span.
#[derive(Clone)]
pub struct Width {
    /// The number (0 for the output of a path layer, which only its type knows).
    pub value: usize,
    /// Where the user wrote it.
    pub span: Span,
    /// For the output of a path layer, the path: the width is `<path as nn::Layer>::OUTPUT`.
    pub of: Option<Path>,
}

/// A checked layer: where it sits in the network, the struct field that holds it, its kind and
/// the shapes it reads and writes.
pub struct Layer {
    /// Its position in [`Network::layers`], counting from 1 (its buffers are `a2`, `z2`, `d2`;
    /// an unnamed layer is `layer2`).
    pub index: usize,
    /// What it reads.
    pub source: Source,
    /// The struct field that holds it: the given name or `layerN`.
    pub field: Ident,
    /// Whether the user named it.
    pub named: bool,
    /// Whether it is an output layer, the network's last or a head's, whose output a loss
    /// reads; ask [`Layer::is_output`].
    pub output: bool,
    /// What kind of layer it is, with what that kind needs.
    pub kind: LayerKind,
    /// The shape of one sample's input.
    pub input: Shape,
    /// The shape of one sample's output.
    pub output_shape: Shape,
    /// The output's length, at the layer's first token (its width or keyword).
    pub out: Width,
}

/// The kinds of layer `network!` knows. Each variant holds what its declaration says; the
/// questions every kind answers ([`Layer::width`], [`Layer::act`], ...) are in
/// [`prop`](crate::prop).
pub enum LayerKind {
    /// `WIDTH ACTIVATION`: every neuron reads every input, nn-core's `Dense`.
    Dense(Dense),
    /// `conv FILTERS KxK [stride S] [pad P] ACTIVATION`, nn-core's `Conv2d`.
    Conv(Conv),
    /// `maxpool KxK [stride S]` or `avgpool KxK [stride S]`, nn-core's `MaxPool2d`, `AvgPool2d`.
    Pool(Pool),
    /// `dropout P`, nn-core's `Dropout`.
    Dropout(Real),
    /// `batchnorm`, nn-core's `BatchNorm`.
    BatchNorm,
    /// `layernorm`, nn-core's `LayerNorm`.
    LayerNorm,
    /// A path to a type implementing `nn::Layer` (a network declared with `network!`, or the
    /// user's own layer); its widths are the type's (see `expand/custom.rs`).
    Path(Path),
}

/// A fully connected layer: `act(W·x + b)`.
pub struct Dense {
    /// Its number of neurons.
    pub width: Width,
    /// Its activation.
    pub act: Act,
    /// Where the activation was written.
    pub act_span: Span,
}

/// A 2-D convolution: `act(W ⋆ x + b)`.
pub struct Conv {
    /// The number of filters.
    pub filters: usize,
    /// The kernel's `[height, width]`.
    pub kernel: [usize; 2],
    /// The stride.
    pub stride: usize,
    /// The zero padding on each side.
    pub pad: usize,
    /// Its activation.
    pub act: Act,
    /// Where the activation was written.
    pub act_span: Span,
}

/// A 2-D pooling layer.
pub struct Pool {
    /// Largest value or mean.
    pub kind: PoolKind,
    /// The window's `[height, width]`.
    pub window: [usize; 2],
    /// The stride.
    pub stride: usize,
}

/// An activation: a built-in one from nn-model's table (shared with the runtime, so the names,
/// the runtime types and the PyTorch modules are written down once), or a path to the user's
/// type implementing `nn::CustomActivation`.
#[derive(Clone)]
pub enum Act {
    /// `sigmoid`, `leaky_relu 0.2`, ...
    Builtin(ActivationKind),
    /// `my::Softsign`.
    Custom(Path),
}

/// A path as the declaration writes it: `my::Layer`.
pub fn path_text(path: &Path) -> String {
    path.to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" >", ">")
}

impl Act {
    /// The built-in activations.
    pub const ALL: [ActivationKind; 10] = ActivationKind::ALL;

    /// The built-in activation a declaration calls `name`.
    pub fn from_name(name: &str) -> Option<Act> {
        ActivationKind::from_name(name).map(Act::Builtin)
    }

    /// Whether it is the built-in `kind`.
    pub fn is(&self, kind: ActivationKind) -> bool {
        matches!(self, Act::Builtin(k) if *k == kind)
    }

    /// As the declaration writes it: `sigmoid`, `leaky_relu 0.2`, `my::Softsign`.
    pub fn name(&self) -> String {
        match self {
            Act::Builtin(kind) => kind.to_string(),
            Act::Custom(path) => path
                .to_token_stream()
                .to_string()
                .replace(" :: ", "::")
                .replace(":: ", "::"),
        }
    }

    /// Whether two activations are the same one (the same kind, or the same path as written).
    pub fn same(&self, other: &Act) -> bool {
        match (self, other) {
            (Act::Builtin(a), Act::Builtin(b)) => a == b,
            (Act::Custom(_), Act::Custom(_)) => self.name() == other.name(),
            _ => false,
        }
    }
}
