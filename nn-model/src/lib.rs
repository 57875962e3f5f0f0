//! The description of a network's structure: one typed value per network.
//!
//! `network!` checks a declaration such as `784 -> hidden: 16 sigmoid -> 10 softmax` into a
//! model of its layers, writes the code from that model, and emits the same model as data: a
//! `const LAYERS: &[LayerShape]` (each layer's name, kind, input and output shape) and the
//! declaration text. Everything at run time that needs the structure (the weight files' layout,
//! the PyTorch module text, the tape, the gradient check, the trainer's error locations) reads
//! that description; nothing re-derives "layer k reads the width of layer k-1".
//!
//! A network that is not a plain chain (residual blocks, concatenations, heads) lists its
//! layers flat the same way and gives its wiring as a `const GRAPH: &[Node]` besides: see
//! [`Node`], [`Block`] and [`Heads`].
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

mod graph;
pub use graph::{
    block_count, for_each_block, graph_layer_count, heads, Block, BlockKind, Head, Heads, Node,
};

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

    /// The number of channels: an image's `channels`, a flat vector's length (each value is a
    /// feature of its own, as PyTorch's `BatchNorm1d` sees a `[batch, features]` input).
    ///
    /// ```
    /// # use nn_model::Shape;
    /// assert_eq!(Shape::Flat(64).channels(), 64);
    /// assert_eq!(Shape::Image { channels: 6, height: 14, width: 14 }.channels(), 6);
    /// ```
    pub const fn channels(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { channels, .. } => channels,
        }
    }

    /// The values per channel: `height × width` for an image, `1` for a flat vector.
    pub const fn spatial(self) -> usize {
        match self {
            Shape::Flat(_) => 1,
            Shape::Image { height, width, .. } => height * width,
        }
    }
}

/// A real number written in a declaration (a dropout rate, a slope), held as its `f32` bits so
/// that the values holding it stay `Eq` and `Hash`.
///
/// ```
/// # use nn_model::Real;
/// let r = Real::new(0.25);
/// assert_eq!((r.get(), r.to_string()), (0.25, "0.25".to_string()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Real(u32);

impl Real {
    /// The number `value`.
    pub const fn new(value: f32) -> Self {
        Real(value.to_bits())
    }

    /// The number back.
    pub const fn get(self) -> f32 {
        f32::from_bits(self.0)
    }

    /// Its `f32` bits (what a const generic parameter of the runtime holds).
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// The shortest decimal that reads back as the same `f32`: `0.01`, `0.2`.
impl fmt::Display for Real {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl fmt::Debug for Real {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
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

/// An activation function, as a value.
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
    /// `z` if `z > 0`, else `slope·z` (PyTorch's `negative_slope`, 0.01 unless written as
    /// `leaky_relu 0.2`).
    LeakyRelu {
        /// The slope for `z ≤ 0`.
        slope: Real,
    },
    /// The Gaussian error linear unit in its tanh form (PyTorch's `nn.GELU(approximate='tanh')`):
    /// `z/2 · (1 + tanh(√(2/π)·(z + 0.044715·z³)))`.
    Gelu,
    /// `z · sigmoid(z)`, also called swish.
    Silu,
    /// A user's own activation: a type implementing `nn::CustomActivation`, known by the name
    /// that trait gives it.
    Custom {
        /// The name the type gives itself (`CustomActivation::NAME`).
        name: &'static str,
    },
}

impl ActivationKind {
    /// The slope `leaky_relu` has when none is written, PyTorch's default `negative_slope`.
    pub const DEFAULT_LEAKY_SLOPE: f32 = 0.01;

    /// Every built-in activation, in the order messages list them (`leaky_relu` with its default
    /// slope).
    pub const ALL: [ActivationKind; 10] = [
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Relu,
        ActivationKind::Softplus,
        ActivationKind::Linear,
        ActivationKind::Softmax,
        ActivationKind::Step,
        ActivationKind::LeakyRelu {
            slope: Real::new(Self::DEFAULT_LEAKY_SLOPE),
        },
        ActivationKind::Gelu,
        ActivationKind::Silu,
    ];

    /// The name a declaration writes: `sigmoid`, `tanh`, ... (a custom activation's own name).
    pub const fn name(self) -> &'static str {
        match self {
            ActivationKind::Sigmoid => "sigmoid",
            ActivationKind::Tanh => "tanh",
            ActivationKind::Relu => "relu",
            ActivationKind::Softplus => "softplus",
            ActivationKind::Linear => "linear",
            ActivationKind::Softmax => "softmax",
            ActivationKind::Step => "step",
            ActivationKind::LeakyRelu { .. } => "leaky_relu",
            ActivationKind::Gelu => "gelu",
            ActivationKind::Silu => "silu",
            ActivationKind::Custom { name } => name,
        }
    }

    /// The name of the runtime type that implements it (`Sigmoid`, ...; `LeakyRelu` takes its
    /// slope's bits as a const parameter; a custom activation is the user's type).
    pub const fn type_name(self) -> &'static str {
        match self {
            ActivationKind::Sigmoid => "Sigmoid",
            ActivationKind::Tanh => "Tanh",
            ActivationKind::Relu => "Relu",
            ActivationKind::Softplus => "Softplus",
            ActivationKind::Linear => "Linear",
            ActivationKind::Softmax => "Softmax",
            ActivationKind::Step => "Step",
            ActivationKind::LeakyRelu { .. } => "LeakyRelu",
            ActivationKind::Gelu => "Gelu",
            ActivationKind::Silu => "Silu",
            ActivationKind::Custom { name } => name,
        }
    }

    /// The built-in activation a declaration calls `name` (`swish` is `silu`; `leaky_relu`
    /// has its default slope).
    ///
    /// ```
    /// # use nn_model::ActivationKind;
    /// assert_eq!(ActivationKind::from_name("tanh"), Some(ActivationKind::Tanh));
    /// assert_eq!(ActivationKind::from_name("swish"), Some(ActivationKind::Silu));
    /// assert_eq!(ActivationKind::from_name("Tanh"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "swish" {
            return Some(ActivationKind::Silu);
        }
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether it is `leaky_relu` (whatever its slope).
    pub const fn is_leaky_relu(self) -> bool {
        matches!(self, ActivationKind::LeakyRelu { .. })
    }

    /// The PyTorch module that computes it, as Python source with `nn` being `torch.nn`.
    ///
    /// `linear` is `nn.Identity()`, which keeps `nn.Sequential`'s module numbering; `step` is
    /// `Step()` and a custom activation `Name()`, modules the user defines (PyTorch has none),
    /// documented in `nn::weights`.
    ///
    /// ```
    /// # use nn_model::{ActivationKind, Real};
    /// let leaky = ActivationKind::LeakyRelu { slope: Real::new(0.2) };
    /// assert_eq!(leaky.pytorch_module().to_string(), "nn.LeakyReLU(0.2)");
    /// ```
    pub const fn pytorch_module(self) -> PytorchModule {
        PytorchModule(self)
    }
}

/// An activation's PyTorch module as Python source, from [`ActivationKind::pytorch_module`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PytorchModule(ActivationKind);

impl fmt::Display for PytorchModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ActivationKind::Sigmoid => f.write_str("nn.Sigmoid()"),
            ActivationKind::Tanh => f.write_str("nn.Tanh()"),
            ActivationKind::Relu => f.write_str("nn.ReLU()"),
            ActivationKind::Softplus => f.write_str("nn.Softplus()"),
            ActivationKind::Linear => f.write_str("nn.Identity()"),
            ActivationKind::Softmax => f.write_str("nn.Softmax(dim=-1)"),
            ActivationKind::Step => f.write_str("Step()"),
            ActivationKind::LeakyRelu { slope } => write!(f, "nn.LeakyReLU({slope})"),
            ActivationKind::Gelu => f.write_str("nn.GELU(approximate='tanh')"),
            ActivationKind::Silu => f.write_str("nn.SiLU()"),
            ActivationKind::Custom { name } => write!(f, "{name}()"),
        }
    }
}

/// As a declaration writes it: `sigmoid`, or `leaky_relu 0.2` for a slope other than the
/// default.
impl fmt::Display for ActivationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ActivationKind::LeakyRelu { slope }
                if slope != Real::new(Self::DEFAULT_LEAKY_SLOPE) =>
            {
                write!(f, "leaky_relu {slope}")
            }
            other => f.write_str(other.name()),
        }
    }
}

/// Whether a pooling layer takes the largest value of each window or their mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// `maxpool`: the largest value (PyTorch's `nn.MaxPool2d`).
    Max,
    /// `avgpool`: the mean (PyTorch's `nn.AvgPool2d`).
    Average,
}

/// What a layer computes, with the hyper-parameters its declaration gives.
///
/// Exhaustive on purpose, like [`ActivationKind`]: a new kind is matched everywhere it matters.
/// The tensors each kind holds, in the order of a PyTorch `state_dict`, are listed by
/// [`LayerShape::tensors`] (trained parameters) and [`LayerShape::buffers`] (saved, not trained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// A fully connected layer, `a = f(W·x + b)`: a weight tensor `[out, in]` (row-major, as
    /// PyTorch's `nn.Linear.weight`), then a bias tensor `[out]`. An image input is read flat,
    /// channel-major, as `torch.flatten` lays it out.
    Dense {
        /// The activation `f`.
        activation: ActivationKind,
    },
    /// A 2-D convolution of an image, `a = f(W ⋆ x + b)`: a weight tensor `[filters, channels,
    /// kernel_height, kernel_width]` (as `nn.Conv2d.weight`), then a bias tensor `[filters]`.
    Conv {
        /// The number of filters: the output's channels.
        filters: usize,
        /// The kernel's `[height, width]`.
        kernel: [usize; 2],
        /// The step between windows, in both directions.
        stride: usize,
        /// The zeros added on every side.
        pad: usize,
        /// The activation `f`.
        activation: ActivationKind,
    },
    /// A 2-D pooling of an image, each channel alone, no parameters. The output keeps only the
    /// windows that fit whole (PyTorch's floor rule): `out = (in - window) / stride + 1`,
    /// rounded down.
    Pool {
        /// Largest value or mean.
        kind: PoolKind,
        /// The window's `[height, width]`.
        window: [usize; 2],
        /// The step between windows, in both directions (the window's height when not written).
        stride: usize,
    },
    /// Dropout: while training, each value is zeroed with probability `rate` and the rest are
    /// scaled by `1 / (1 - rate)`; at inference it passes its input through. No parameters.
    Dropout {
        /// The probability of zeroing a value, in `[0, 1)`.
        rate: Real,
    },
    /// Batch normalisation of each channel (each feature of a flat input) over the batch, then a
    /// learned scale and shift: tensors `weight [channels]`, `bias [channels]`, and the buffers
    /// `running_mean [channels]`, `running_var [channels]`, `num_batches_tracked []`.
    BatchNorm,
    /// Layer normalisation of each sample over all its values, then a learned scale and shift
    /// per value: tensors `weight` and `bias` of the input's shape (`[n]`, or `[c, h, w]`).
    LayerNorm,
    /// A layer of the user's own: a type implementing `nn::Layer`, written in a declaration as
    /// a path (`-> MyNormalize ->`). It describes itself in `nn::Layer::LAYERS` with this kind:
    /// its name, its trained tensors in the order its `parameters()` yields them (PyTorch
    /// attribute names, usually [`TensorRole::Named`]), and the scratch it needs per sample,
    /// which the workspace keeps in the layer's `Aux::scratch`. A network used as a layer
    /// (nesting) needs no kind of its own: its layers appear in the outer network's `LAYERS`,
    /// named by path (`encoder.layer1`).
    Custom {
        /// The type's name, as messages and PyTorch modules call it (`MyNormalize`).
        name: &'static str,
        /// Its trained tensors, in parameter order.
        tensors: &'static [TensorShape],
        /// The `f32` values of scratch it needs per sample.
        scratch: usize,
    },
}

impl LayerKind {
    /// The kind's name in messages: `dense`, `conv`, `maxpool`, `avgpool`, `dropout`,
    /// `batchnorm`, `layernorm`, or a custom layer's own name.
    pub const fn name(self) -> &'static str {
        match self {
            LayerKind::Dense { .. } => "dense",
            LayerKind::Conv { .. } => "conv",
            LayerKind::Pool {
                kind: PoolKind::Max,
                ..
            } => "maxpool",
            LayerKind::Pool {
                kind: PoolKind::Average,
                ..
            } => "avgpool",
            LayerKind::Dropout { .. } => "dropout",
            LayerKind::BatchNorm => "batchnorm",
            LayerKind::LayerNorm => "layernorm",
            LayerKind::Custom { name, .. } => name,
        }
    }
}

/// The momentum of batch normalisation's running statistics, PyTorch's default:
/// `running = (1 - 0.1)·running + 0.1·batch`.
pub const BATCH_NORM_MOMENTUM: f32 = 0.1;

/// The `ε` added to a variance before its square root in batch and layer normalisation,
/// PyTorch's default.
pub const NORM_EPSILON: f32 = 1e-5;

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
    /// A layer of any kind.
    pub const fn new(name: &'static str, kind: LayerKind, input: Shape, output: Shape) -> Self {
        Self {
            name,
            kind,
            input,
            output,
        }
    }

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
            LayerKind::Dense { activation } | LayerKind::Conv { activation, .. } => {
                Some(activation)
            }
            _ => None,
        }
    }

    /// The layer's parameter tensors (the ones training changes), in the order the network's
    /// `parameters()` yields them.
    ///
    /// ```
    /// # use nn_model::{LayerKind, LayerShape, Shape, ActivationKind, TensorRole};
    /// let conv = LayerShape::new(
    ///     "features",
    ///     LayerKind::Conv { filters: 6, kernel: [5, 5], stride: 1, pad: 2, activation: ActivationKind::Relu },
    ///     Shape::Image { channels: 1, height: 28, width: 28 },
    ///     Shape::Image { channels: 6, height: 28, width: 28 },
    /// );
    /// let dims: Vec<_> = conv.tensors().map(|t| (t.role, t.dims().to_vec())).collect();
    /// assert_eq!(dims, [(TensorRole::Weight, vec![6, 1, 5, 5]), (TensorRole::Bias, vec![6])]);
    /// ```
    pub fn tensors(&self) -> impl Iterator<Item = TensorShape> {
        let (input, output) = (self.input, self.output);
        let pair = |weight: TensorShape, bias: TensorShape| [Some(weight), Some(bias)];
        let custom: &'static [TensorShape] = match self.kind {
            LayerKind::Custom { tensors, .. } => tensors,
            _ => &[],
        };
        let tensors = match self.kind {
            LayerKind::Dense { .. } => pair(
                TensorShape::new(TensorRole::Weight, &[output.len(), input.len()]),
                TensorShape::new(TensorRole::Bias, &[output.len()]),
            ),
            LayerKind::Conv {
                filters, kernel, ..
            } => pair(
                TensorShape::new(
                    TensorRole::Weight,
                    &[filters, input.channels(), kernel[0], kernel[1]],
                ),
                TensorShape::new(TensorRole::Bias, &[filters]),
            ),
            LayerKind::Pool { .. } | LayerKind::Dropout { .. } | LayerKind::Custom { .. } => {
                [None, None]
            }
            LayerKind::BatchNorm => pair(
                TensorShape::new(TensorRole::Weight, &[input.channels()]),
                TensorShape::new(TensorRole::Bias, &[input.channels()]),
            ),
            LayerKind::LayerNorm => pair(
                TensorShape::of_shape(TensorRole::Weight, input),
                TensorShape::of_shape(TensorRole::Bias, input),
            ),
        };
        tensors.into_iter().flatten().chain(custom.iter().copied())
    }

    /// The layer's buffers: tensors a file saves after its parameters but training does not
    /// change by gradient (batch normalisation's running statistics and its step count), in
    /// PyTorch's `state_dict` order.
    pub fn buffers(&self) -> impl Iterator<Item = TensorShape> {
        let c = self.input.channels();
        let buffers = match self.kind {
            LayerKind::BatchNorm => [
                Some(TensorShape::new(TensorRole::RunningMean, &[c])),
                Some(TensorShape::new(TensorRole::RunningVar, &[c])),
                Some(TensorShape::new(TensorRole::NumBatchesTracked, &[])),
            ],
            _ => [None, None, None],
        };
        buffers.into_iter().flatten()
    }

    /// The number of parameters (weights and biases, not buffers).
    pub fn parameter_count(&self) -> usize {
        self.tensors().map(|t| t.len()).sum()
    }
}

/// Which tensor of a layer: named as PyTorch names a module's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TensorRole {
    /// The weights (`weight`): a dense or convolution layer's weights, a norm layer's scale.
    Weight,
    /// The biases (`bias`): a norm layer's shift.
    Bias,
    /// Batch normalisation's running mean (`running_mean`), a buffer.
    RunningMean,
    /// Batch normalisation's running variance (`running_var`, unbiased), a buffer.
    RunningVar,
    /// The number of training steps batch normalisation has seen (`num_batches_tracked`, an
    /// integer in PyTorch), a buffer.
    NumBatchesTracked,
    /// A trained tensor of a custom layer, by its PyTorch attribute name (`scale`).
    Named(&'static str),
}

impl TensorRole {
    /// PyTorch's attribute name: `weight`, `bias`, `running_mean`, `running_var`,
    /// `num_batches_tracked`, or a custom layer's tensor's own name.
    pub const fn name(self) -> &'static str {
        match self {
            TensorRole::Weight => "weight",
            TensorRole::Bias => "bias",
            TensorRole::RunningMean => "running_mean",
            TensorRole::RunningVar => "running_var",
            TensorRole::NumBatchesTracked => "num_batches_tracked",
            TensorRole::Named(name) => name,
        }
    }

    /// Whether training changes it by gradient (a parameter) rather than keeping it (a buffer).
    pub const fn is_parameter(self) -> bool {
        matches!(
            self,
            TensorRole::Weight | TensorRole::Bias | TensorRole::Named(_)
        )
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
    /// A tensor of the given dimensions (at most [`MAX_RANK`]; more are cut off). A `const fn`,
    /// so a custom layer's `LAYERS` can list its tensors.
    pub const fn new(role: TensorRole, dims: &[usize]) -> Self {
        let rank = if dims.len() < MAX_RANK {
            dims.len()
        } else {
            MAX_RANK
        };
        let mut all = [1; MAX_RANK];
        let mut d = 0;
        while d < rank {
            all[d] = dims[d];
            d += 1;
        }
        Self {
            role,
            dims: all,
            rank,
        }
    }

    /// A tensor shaped like one sample of `shape`: `[n]` or `[channels, height, width]`.
    pub fn of_shape(role: TensorRole, shape: Shape) -> Self {
        match shape {
            Shape::Flat(n) => Self::new(role, &[n]),
            Shape::Image {
                channels,
                height,
                width,
            } => Self::new(role, &[channels, height, width]),
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

    /// The input a weight reads (its tensor's second coordinate; a convolution's input
    /// channel); `None` for a bias or a one-dimensional weight.
    pub fn input(&self) -> Option<usize> {
        match self.tensor {
            TensorRole::Weight => self.coords.as_slice().get(1).copied(),
            _ => None,
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
        assert_eq!(
            ActivationKind::from_name("gelu"),
            Some(ActivationKind::Gelu)
        );
        assert_eq!(ActivationKind::from_name("mish"), None);
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
