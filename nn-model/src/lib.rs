//! The description of a network's structure: one typed value per network.
//!
//! `network!` checks a declaration such as `784 -> hidden: 16 sigmoid -> 10 softmax` into a
//! model of its layers, writes the code from that model, and emits the same model as data: a
//! `const LAYERS: &[LayerShape]` (each layer's name, kind, input and output shape) and the
//! declaration text. Everything at run time that needs the structure (the weight files' layout,
//! the PyTorch module text, the tape, the gradient check, the trainer's error locations) reads
//! that description; nothing re-derives "layer k reads the width of layer k-1".
//!
//! This crate is shared by the macro (which builds the values at compile time) and the runtime
//! (which reads them), so the table of activation names, their PyTorch modules and the rules for
//! a layer's tensors exist once. It is `no_std` and allocates nothing.
//!
//! ```
//! use nn_model::{ActivationKind, LayerShape, Shape, TensorRole};
//!
//! const LAYERS: &[LayerShape] = &[
//!     LayerShape::dense("hidden", 784, 16, ActivationKind::Sigmoid),
//!     LayerShape::dense("layer2", 16, 10, ActivationKind::Softmax),
//! ];
//! assert_eq!(LAYERS[1].input, Shape::Flat(16));
//! let weight = LAYERS[0].tensors().next().unwrap();
//! assert_eq!((weight.role, weight.dims()), (TensorRole::Weight, &[16, 784][..]));
//! assert_eq!(nn_model::parameter_count(LAYERS), 784 * 16 + 16 + 16 * 10 + 10);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;

/// The shape of the values a layer reads or writes for one sample.
///
/// Values are stored flat; an image is stored channel-major, as a contiguous PyTorch tensor of
/// shape `[channels, height, width]` lies in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A vector of this many values.
    Flat(usize),
    /// `channels × height × width` values, channel-major.
    Image {
        /// The number of channels (feature maps).
        channels: usize,
        /// The number of rows.
        height: usize,
        /// The number of columns.
        width: usize,
    },
}

impl Shape {
    /// The number of values.
    ///
    /// ```
    /// # use nn_model::Shape;
    /// assert_eq!(Shape::Image { channels: 3, height: 9, width: 7 }.len(), 189);
    /// ```
    pub const fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
        }
    }

    /// Whether the shape holds no values.
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// As a declaration writes it: `784`, or `1x28x28` for channels × height × width.
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Image {
                channels,
                height,
                width,
            } => write!(f, "{channels}x{height}x{width}"),
        }
    }
}

/// A built-in activation function, as a value.
///
/// Each activation type of the runtime (`nn::Sigmoid`, ...) names its kind, so generic code can
/// ask a layer what it applies without matching strings.
///
/// The enum is exhaustive on purpose: a new activation must be taught to every consumer (the
/// weight layout, the tape), and the compiler lists each place that has to learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationKind {
    /// `1 / (1 + e^-z)`.
    Sigmoid,
    /// `tanh(z)`.
    Tanh,
    /// `max(0, z)`.
    Relu,
    /// `ln(1 + e^z)`.
    Softplus,
    /// `z` (no activation).
    Linear,
    /// `e^zᵢ / Σⱼ e^zⱼ`, over the layer.
    Softmax,
    /// `1` if `z > 0`, else `0`: the perceptron's threshold.
    Step,
}

impl ActivationKind {
    /// Every built-in activation, in the order messages list them.
    pub const ALL: [ActivationKind; 7] = [
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Relu,
        ActivationKind::Softplus,
        ActivationKind::Linear,
        ActivationKind::Softmax,
        ActivationKind::Step,
    ];

    /// The name a declaration writes: `sigmoid`, `tanh`, ...
    pub const fn name(self) -> &'static str {
        match self {
            ActivationKind::Sigmoid => "sigmoid",
            ActivationKind::Tanh => "tanh",
            ActivationKind::Relu => "relu",
            ActivationKind::Softplus => "softplus",
            ActivationKind::Linear => "linear",
            ActivationKind::Softmax => "softmax",
            ActivationKind::Step => "step",
        }
    }

    /// The name of the runtime type that implements it (`Sigmoid`, ...).
    pub const fn type_name(self) -> &'static str {
        match self {
            ActivationKind::Sigmoid => "Sigmoid",
            ActivationKind::Tanh => "Tanh",
            ActivationKind::Relu => "Relu",
            ActivationKind::Softplus => "Softplus",
            ActivationKind::Linear => "Linear",
            ActivationKind::Softmax => "Softmax",
            ActivationKind::Step => "Step",
        }
    }

    /// The activation a declaration calls `name`.
    ///
    /// ```
    /// # use nn_model::ActivationKind;
    /// assert_eq!(ActivationKind::from_name("tanh"), Some(ActivationKind::Tanh));
    /// assert_eq!(ActivationKind::from_name("Tanh"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The PyTorch module that computes it, as Python source with `nn` being `torch.nn`.
    ///
    /// `linear` is `nn.Identity()`, which keeps `nn.Sequential`'s module numbering; `step` is
    /// `Step()`, a module the user defines (PyTorch has none), documented in `nn::weights`.
    pub const fn pytorch_module(self) -> &'static str {
        match self {
            ActivationKind::Sigmoid => "nn.Sigmoid()",
            ActivationKind::Tanh => "nn.Tanh()",
            ActivationKind::Relu => "nn.ReLU()",
            ActivationKind::Softplus => "nn.Softplus()",
            ActivationKind::Linear => "nn.Identity()",
            ActivationKind::Softmax => "nn.Softmax(dim=-1)",
            ActivationKind::Step => "Step()",
        }
    }
}

impl fmt::Display for ActivationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a layer computes.
///
/// Exhaustive on purpose, like [`ActivationKind`]: a new kind is matched everywhere it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// A fully connected layer, `a = f(W·x + b)`: a weight tensor `[out, in]` (row-major, as
    /// PyTorch's `nn.Linear.weight`), then a bias tensor `[out]`.
    Dense {
        /// The activation `f`.
        activation: ActivationKind,
    },
}

impl LayerKind {
    /// The kind's name in messages: `dense`, ...
    pub const fn name(self) -> &'static str {
        match self {
            LayerKind::Dense { .. } => "dense",
        }
    }
}

/// One layer of a network: its name, what it computes, and the shapes it reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerShape {
    /// The name given in the declaration, or `layerN` counting from 1: the field of the
    /// generated struct that holds the layer.
    pub name: &'static str,
    /// What the layer computes.
    pub kind: LayerKind,
    /// The shape of one sample's input.
    pub input: Shape,
    /// The shape of one sample's output.
    pub output: Shape,
}

impl LayerShape {
    /// A dense layer of `outputs` neurons over `inputs` values.
    pub const fn dense(
        name: &'static str,
        inputs: usize,
        outputs: usize,
        activation: ActivationKind,
    ) -> Self {
        Self {
            name,
            kind: LayerKind::Dense { activation },
            input: Shape::Flat(inputs),
            output: Shape::Flat(outputs),
        }
    }

    /// The activation the layer applies, if its kind has one.
    pub const fn activation(&self) -> Option<ActivationKind> {
        match self.kind {
            LayerKind::Dense { activation } => Some(activation),
        }
    }

    /// The layer's parameter tensors, in the order the network's `parameters()` yields them.
    pub fn tensors(&self) -> impl Iterator<Item = TensorShape> {
        let (first, second) = match self.kind {
            LayerKind::Dense { .. } => (
                TensorShape::new(TensorRole::Weight, &[self.output.len(), self.input.len()]),
                TensorShape::new(TensorRole::Bias, &[self.output.len()]),
            ),
        };
        [first, second].into_iter()
    }

    /// The number of parameters (weights and biases).
    pub fn parameter_count(&self) -> usize {
        self.tensors().map(|t| t.len()).sum()
    }
}

/// Which parameter tensor of a layer: named as PyTorch names a module's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TensorRole {
    /// The weights (`weight`).
    Weight,
    /// The biases (`bias`).
    Bias,
}

impl TensorRole {
    /// PyTorch's attribute name: `weight` or `bias`.
    pub const fn name(self) -> &'static str {
        match self {
            TensorRole::Weight => "weight",
            TensorRole::Bias => "bias",
        }
    }
}

impl fmt::Display for TensorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The most dimensions a parameter tensor has (a 2-D convolution's `[out, in, kh, kw]`).
pub const MAX_RANK: usize = 4;

/// One parameter tensor of a layer: its role and its dimensions, row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorShape {
    /// Which tensor of the layer it is.
    pub role: TensorRole,
    dims: [usize; MAX_RANK],
    rank: usize,
}

impl TensorShape {
    /// A tensor of the given dimensions (at most [`MAX_RANK`]; more are cut off).
    pub fn new(role: TensorRole, dims: &[usize]) -> Self {
        let rank = dims.len().min(MAX_RANK);
        let mut all = [1; MAX_RANK];
        all[..rank].copy_from_slice(&dims[..rank]);
        Self {
            role,
            dims: all,
            rank,
        }
    }

    /// The dimensions, outermost first (`[out, in]` for a dense layer's weights).
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The coordinates of the value at flat (row-major) `index`, outermost first; `None` past
    /// the end.
    ///
    /// ```
    /// # use nn_model::{TensorRole, TensorShape};
    /// let w = TensorShape::new(TensorRole::Weight, &[3, 4]);
    /// assert_eq!(w.coords(6).unwrap().as_slice(), &[1, 2]);
    /// assert!(w.coords(12).is_none());
    /// ```
    pub fn coords(&self, index: usize) -> Option<Coords> {
        if index >= self.len() {
            return None;
        }
        let mut values = [0; MAX_RANK];
        let mut rest = index;
        for d in (0..self.rank).rev() {
            values[d] = rest % self.dims[d];
            rest /= self.dims[d];
        }
        Some(Coords {
            values,
            rank: self.rank,
        })
    }
}

/// The coordinates of one value in a tensor, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Coords {
    values: [usize; MAX_RANK],
    rank: usize,
}

impl Coords {
    /// The coordinates as a slice.
    pub fn as_slice(&self) -> &[usize] {
        &self.values[..self.rank]
    }
}

/// `[1][2]`, as the value is indexed.
impl fmt::Display for Coords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.as_slice() {
            write!(f, "[{c}]")?;
        }
        Ok(())
    }
}

/// One parameter (a weight or a bias) of a network, located by layer, tensor and position:
/// what error messages and the gradient check name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parameter {
    /// The layer's name.
    pub layer: &'static str,
    /// The layer's position, counting from 0.
    pub layer_index: usize,
    /// Which tensor of the layer.
    pub tensor: TensorRole,
    /// The value's flat index in its tensor (row-major).
    pub index: usize,
    /// The value's coordinates in its tensor.
    pub coords: Coords,
}

impl Parameter {
    /// Locates value `index` of the `tensor`-th parameter tensor of a network whose layers are
    /// `layers` (counting every layer's tensors in order, as a network's `parameters()` yields
    /// them); `None` if there is no such value.
    ///
    /// ```
    /// # use nn_model::{ActivationKind, LayerShape, Parameter, TensorRole};
    /// let layers = [
    ///     LayerShape::dense("hidden", 2, 3, ActivationKind::Tanh),
    ///     LayerShape::dense("out", 3, 1, ActivationKind::Sigmoid),
    /// ];
    /// let p = Parameter::locate(&layers, 2, 2).unwrap(); // `out`'s weights, value 2
    /// assert_eq!((p.layer, p.tensor, p.neuron(), p.input()), ("out", TensorRole::Weight, 0, Some(2)));
    /// assert_eq!(Parameter::locate(&layers, 1, 2).unwrap().input(), None); // a bias
    /// ```
    pub fn locate(layers: &[LayerShape], tensor: usize, index: usize) -> Option<Self> {
        let mut seen = 0;
        for (layer_index, layer) in layers.iter().enumerate() {
            for shape in layer.tensors() {
                if seen == tensor {
                    return shape.coords(index).map(|coords| Self {
                        layer: layer.name,
                        layer_index,
                        tensor: shape.role,
                        index,
                        coords,
                    });
                }
                seen += 1;
            }
        }
        None
    }

    /// The neuron (output unit, filter) the value belongs to: its tensor's first coordinate.
    pub fn neuron(&self) -> usize {
        self.coords.as_slice().first().copied().unwrap_or(0)
    }

    /// The input a weight reads (its tensor's second coordinate); `None` for a bias.
    pub fn input(&self) -> Option<usize> {
        match self.tensor {
            TensorRole::Weight => self.coords.as_slice().get(1).copied(),
            TensorRole::Bias => None,
        }
    }
}

/// ``weight [1][0] of layer `hidden` ``.
impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} of layer `{}`",
            self.tensor, self.coords, self.layer
        )
    }
}

/// The number of parameters of a network whose layers are `layers`.
pub fn parameter_count(layers: &[LayerShape]) -> usize {
    layers.iter().map(LayerShape::parameter_count).sum()
}

/// The number of parameter tensors of a network whose layers are `layers`.
pub fn tensor_count(layers: &[LayerShape]) -> usize {
    layers.iter().map(|l| l.tensors().count()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: &[LayerShape] = &[
        LayerShape::dense("hidden", 2, 3, ActivationKind::Tanh),
        LayerShape::dense("out", 3, 1, ActivationKind::Sigmoid),
    ];

    #[test]
    fn names_round_trip() {
        for a in ActivationKind::ALL {
            assert_eq!(ActivationKind::from_name(a.name()), Some(a));
        }
        assert_eq!(ActivationKind::from_name("gelu"), None);
    }

    #[test]
    fn every_parameter_is_located_once_in_order() {
        let mut found = 0;
        for t in 0..tensor_count(LAYERS) {
            let mut i = 0;
            while let Some(p) = Parameter::locate(LAYERS, t, i) {
                assert_eq!(p.index, i);
                i += 1;
                found += 1;
            }
        }
        assert_eq!(found, parameter_count(LAYERS));
        assert_eq!(found, 2 * 3 + 3 + 3 + 1);
        assert!(Parameter::locate(LAYERS, 4, 0).is_none());
    }

    #[test]
    fn a_dense_weight_is_neuron_then_input() {
        let p = Parameter::locate(LAYERS, 0, 5).unwrap();
        assert_eq!((p.neuron(), p.input()), (2, Some(1)));
        let b = Parameter::locate(LAYERS, 3, 0).unwrap();
        assert_eq!(
            (b.layer, b.tensor, b.neuron(), b.input()),
            ("out", TensorRole::Bias, 0, None)
        );
    }

    #[test]
    fn shapes_print_as_declared() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Shape::Flat(784).to_string(), "784");
        let image = Shape::Image {
            channels: 1,
            height: 28,
            width: 28,
        };
        assert_eq!(
            (image.to_string(), image.len()),
            ("1x28x28".to_string(), 784)
        );
        let p = Parameter::locate(LAYERS, 0, 1).unwrap();
        assert_eq!(p.to_string(), "weight [0][1] of layer `hidden`");
    }

    #[test]
    fn coords_are_row_major() {
        let t = TensorShape::new(TensorRole::Weight, &[2, 3, 4, 5]);
        let c = t.coords(60 + 2 * 20 + 3 * 5 + 4).unwrap();
        assert_eq!(c.as_slice(), &[1, 2, 3, 4]);
    }
}
