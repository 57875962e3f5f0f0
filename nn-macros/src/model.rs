//! The checked model of a network: what `check` returns and `expand` reads.
//!
//! Every value here has passed the checks, so expansion can trust it: a network has at least one
//! layer, every width is at least 1, `softmax` sits only on the output layer. The questions
//! expansion asks of the model (which layer is the output, what a layer reads, the declaration
//! text) are answered in [`prop`](crate::prop); how the model is spelled in generated code (the
//! typenum type of a width, the name of a layer's buffer) is in `expand/tokens.rs`.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

/// A checked network, ready to expand.
pub struct Network {
    /// Attributes passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// The input width.
    pub input: Width,
    /// The layers, first hidden layer to output layer; never empty.
    pub layers: Vec<Layer>,
}

/// A width as written: its value and the literal's span.
#[derive(Clone)]
pub struct Width {
    /// The number.
    pub value: usize,
    /// Where the user wrote it.
    pub span: Span,
}

/// A checked layer: where it sits in the network, the struct field that holds it, and its kind.
pub struct Layer {
    /// Its position, counting from 1.
    pub index: usize,
    /// The struct field that holds it: the given name or `layerN`.
    pub field: Ident,
    /// Whether the user named it.
    pub named: bool,
    /// Whether it is the network's last layer, the one whose output the loss reads; ask
    /// [`Layer::is_output`].
    pub output: bool,
    /// What kind of layer it is, with what that kind needs.
    pub kind: LayerKind,
}

/// The kinds of layer `network!` knows. Each variant holds what its declaration says; the
/// questions every kind answers ([`Layer::width`], [`Layer::act`], ...) are in
/// [`prop`](crate::prop).
pub enum LayerKind {
    /// `WIDTH ACTIVATION`: every neuron reads every input, nn-core's `Dense`.
    Dense(Dense),
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

/// The activations `network!` knows: nn-model's table, shared with the runtime, so the names,
/// the runtime types and the PyTorch modules are written down once.
pub use nn_model::ActivationKind as Act;
