//! A dynamic computation graph: automatic gradients recorded at run time, micrograd-style but
//! over vectors.
//!
//! This is the other way to get gradients, the way PyTorch and micrograd do it, kept here to
//! compare with `network!` and to check it. Every operation appends a node to a [`Tape`]: its
//! value (a vector or matrix), the operation, and the nodes it read. [`Tape::backward`] then
//! walks the tape in reverse, and each node hands its gradient to its inputs by its local
//! derivative: the chain rule, one node at a time. `network!` writes the same chain rule out at
//! compile time instead, so there is nothing to record and nothing to walk.
//!
//! A tape computes in `f32` ([`Tape::new`]) as the networks do, or in `f64`
//! (`Tape::<f64>::default()`, see [`Scalar`]) to check gradients against finite differences.
//!
//! | operation | forward | backward (`g` = the gradient arriving at the output) |
//! | --- | --- | --- |
//! | [`matvec`](Tape::matvec)`(M, x)` | `oᵢ = Σⱼ Mᵢⱼ xⱼ` | `∂Mᵢⱼ += gᵢ xⱼ`, `∂xⱼ += Σᵢ Mᵢⱼ gᵢ` |
//! | [`add`](Tape::add)`(a, b)` | `a + b` | `∂a += g`, `∂b += g` |
//! | [`sub`](Tape::sub)`(a, b)` | `a - b` | `∂a += g`, `∂b -= g` |
//! | [`mul`](Tape::mul)`(a, b)` | `a ⊙ b` (elementwise) | `∂a += g ⊙ b`, `∂b += g ⊙ a` |
//! | [`scale`](Tape::scale)`(a, k)` | `k·a` (`k` a constant) | `∂a += k·g` |
//! | [`offset`](Tape::offset)`(a, k)` | `a + k` (`k` a constant) | `∂a += g` |
//! | [`rsqrt`](Tape::rsqrt)`(a)` | `o = 1/√a` | `∂a += -g·o³/2` |
//! | [`sum`](Tape::sum)`(a)` | `Σₖ aₖ` | `∂aₖ += g` |
//! | [`mean`](Tape::mean)`(s₁..sₙ)` | `Σ sᵢ / n` (scalars) | `∂sᵢ += g / n` |
//! | [`weighted_sum`](Tape::weighted_sum)`((v₁, w₁)..)` | `Σ wᵢ vᵢ` (same shapes, `wᵢ` constants) | `∂vᵢ += wᵢ g` |
//! | [`concat`](Tape::concat)`(v₁..vₙ)` | `[v₁, ..., vₙ]` | each `∂vᵢ +=` its part of `g` |
//! | [`channel_sum`](Tape::channel_sum)`(a, c)` | `oₖ = Σ` of channel `k`'s values | `∂a +=` `gₖ` on channel `k` |
//! | [`broadcast`](Tape::broadcast)`(a, s)` | each `aₖ` repeated `s` times | `∂aₖ += Σ` of its `s` copies of `g` |
//! | [`apply`](Tape::apply)`(f, a)` | `f(a)`, see [`Function`] | `∂a += g ⊙ f'(a)`; softmax `∂aᵢ += sᵢ (gᵢ - Σⱼ gⱼ sⱼ)` |
//! | [`conv2d`](Tape::conv2d)`(x, W)` | `o[f][y][x] = Σ W[f][c][i][j]·x[c][y·s+i-p][x·s+j-p]` | `∂W`, `∂x` by the same sum read backwards |
//! | [`max_pool`](Tape::max_pool)`(x)` | the largest value of each window | `∂x += g` at each window's first maximum |
//! | [`avg_pool`](Tape::avg_pool)`(x)` | the mean of each window | `∂x += g / (kh·kw)` over each window |
//! | [`mse`](Tape::mse)`(a, y)` | `Σ (a - y)² / n` | `∂a += g · 2(a - y) / n` |
//! | [`cross_entropy`](Tape::cross_entropy)`(p, y)` | `-Σ y ln p` | `∂p += -g · y / p` |
//! | [`binary_cross_entropy`](Tape::binary_cross_entropy)`(p, y)` | `-Σ [y ln p + (1-y) ln(1-p)] / n` | `∂p += -g · (y/p - (1-y)/(1-p)) / n` |
//!
//! Every layer kind is built from these ([`TapeLayer`] says how): batch and layer normalisation
//! from `sub`, `mul`, `rsqrt` and the reductions, so that comparing the tape with the fused
//! backward passes `network!` calls checks those formulas too. The losses take probabilities and
//! follow the textbook formulas, on purpose: the generated backward fuses softmax with
//! cross-entropy into `a - y`, and the tape computes the same gradient the long way round,
//! through softmax's Jacobian and `-y/p`. Targets and other constants are leaves like the rest;
//! their gradients are computed and never read.
//!
//! A value read by several operations (a residual block's input, a trunk feeding two heads)
//! gets the sum of their gradients: each operation adds its share. That, [`add`](Tape::add) for
//! a skip connection, [`concat`](Tape::concat) for parallel branches and
//! [`weighted_sum`](Tape::weighted_sum) for several losses are all a graph needs.
//!
//! The slide's example, `a = x * y; b = a + z; c = sum(b)`:
//!
//! ```
//! use nn_core::tape::Tape;
//!
//! let mut tape = Tape::new();
//! let x = tape.leaf(&[1.0, 2.0, 3.0]);
//! let y = tape.leaf(&[4.0, 5.0, 6.0]);
//! let z = tape.leaf(&[7.0, 8.0, 9.0]);
//! let a = tape.mul(x, y)?;
//! let b = tape.add(a, z)?;
//! let c = tape.sum(b)?;
//! assert_eq!(tape.value(c)?, &[1.0 * 4.0 + 2.0 * 5.0 + 3.0 * 6.0 + 7.0 + 8.0 + 9.0]);
//!
//! tape.backward(c)?;
//! assert_eq!(tape.grad(x)?, tape.value(y)?); // ∂c/∂x = y
//! assert_eq!(tape.grad(y)?, tape.value(x)?); // ∂c/∂y = x
//! assert_eq!(tape.grad(z)?, &[1.0, 1.0, 1.0]); // ∂c/∂z = 1
//! # Ok::<(), nn_core::tape::TapeError>(())
//! ```
//!
//! Shapes are checked when an operation is recorded, at run time: a mistake is a
//! [`TapeError`], where `network!` makes it a compile error.
//!
//! [`TapeNetwork`] records any network declared with `network!` on a tape, from its
//! [`LAYERS`](crate::network::Network::LAYERS) and its [`state`](crate::network::Network::state),
//! so that the same network runs both ways; a [`Plan`] describes a graph of layers (residual
//! blocks, concatenations, heads) to record the same way.

mod function;
mod image;
mod layers;
mod loss;
mod network;
mod ops;
mod scalar;

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use alloc::vec::Vec;
use core::fmt;

pub use function::{CustomFunction, Function};
pub use image::{Image, Window};
pub use layers::{Mode, TapeLayer};
pub use network::{Node, Plan, TapeNetwork};
pub use scalar::Scalar;

/// A value recorded on a [`Tape`]: a handle, cheap to copy, valid on the tape that made it
/// until the tape is cleared or truncated below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Var(usize);

impl Var {
    /// The position of the value on its tape.
    pub fn index(self) -> usize {
        self.0
    }
}

/// The shape of a value: `rows × cols`; a vector has one column, a scalar is `1 × 1`. An image
/// is a vector, channel-major (see [`Image`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows (the length, for a vector).
    pub rows: usize,
    /// Columns (1 for a vector).
    pub cols: usize,
}

impl Shape {
    /// A vector of `len` values.
    pub fn vector(len: usize) -> Self {
        Self { rows: len, cols: 1 }
    }

    /// A single value.
    pub const SCALAR: Shape = Shape { rows: 1, cols: 1 };

    fn is_vector(self) -> bool {
        self.cols == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rows, self.cols) {
            (1, 1) => write!(f, "a scalar"),
            (n, 1) => write!(f, "a vector of {n} values"),
            (r, c) => write!(f, "a matrix of {r}×{c}"),
        }
    }
}

/// A mistake found while recording or differentiating: the dynamic graph's version of a
/// compile error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TapeError {
    /// The operands of an operation do not fit together.
    #[error("{op}: {left} and {right} do not fit: {rule}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// The first operand's shape.
        left: Shape,
        /// The second operand's shape.
        right: Shape,
        /// What the operation needs.
        rule: &'static str,
    },
    /// A matrix was given the wrong number of values.
    #[error("{found} values cannot fill a {rows}×{cols} matrix: expected {}", rows * cols)]
    Length {
        /// The matrix's rows.
        rows: usize,
        /// The matrix's columns.
        cols: usize,
        /// The number of values given.
        found: usize,
    },
    /// An operation that needs a single value got more.
    #[error("{op} needs a scalar, found {shape}")]
    NotScalar {
        /// The operation.
        op: &'static str,
        /// The shape found.
        shape: Shape,
    },
    /// [`mean`](Tape::mean) of no values.
    #[error("mean of no values: expected at least one")]
    EmptyMean,
    /// An operation over a list ([`weighted_sum`](Tape::weighted_sum), [`concat`](Tape::concat))
    /// given none.
    #[error("{op} of no values: expected at least one")]
    NoOperands {
        /// The operation.
        op: &'static str,
    },
    /// An image operation, a channel reduction or a graph block whose sizes do not fit: the
    /// numbers are in `detail`.
    #[error("{op}: {detail}")]
    Geometry {
        /// The operation or block.
        op: &'static str,
        /// What does not fit, in numbers.
        detail: String,
    },
    /// A [`Var`] that is not on this tape (from another tape, or cleared away).
    #[error("value {index} is not on this tape, which holds {len} values")]
    UnknownVar {
        /// The variable's index.
        index: usize,
        /// The tape's length.
        len: usize,
    },
    /// A network layer whose activation the tape was not given: a custom activation, which the
    /// tape knows only from [`Function::custom`].
    #[error("layer {layer} has the custom activation `{name}`, which the tape was not given: pass `Function::custom::<{name}>()` to `TapeNetwork::record_with`")]
    UnknownActivation {
        /// The layer's name.
        layer: &'static str,
        /// The activation's name.
        name: &'static str,
    },
    /// A network layer of a kind the tape does not record.
    #[error("layer {layer} is a `{kind}` layer, which the tape does not record")]
    UnknownLayer {
        /// The layer's name.
        layer: &'static str,
        /// The layer's kind (`conv`, `dropout`, ...).
        kind: &'static str,
    },
    /// A network's parameters do not have the sizes its shape says.
    #[error("layer {layer}: found {found} values for its {what}, expected {expected} from the network's shapes")]
    Parameters {
        /// The layer's name.
        layer: &'static str,
        /// The tensor (`weight`, `bias`, `running_mean`, ...).
        what: &'static str,
        /// The size the shapes imply.
        expected: usize,
        /// The size found (0 for a missing slice).
        found: usize,
    },
    /// A dropout layer run in training mode without the seed of its mask.
    #[error("layer {layer} (number {index} from 0) is a dropout layer run in training mode, but the mode holds {given} mask seeds")]
    MissingMaskSeed {
        /// The layer's name.
        layer: &'static str,
        /// Its position among the recorded layers.
        index: usize,
        /// The number of seeds given.
        given: usize,
    },
    /// [`Tape::set_leaf`] of a value an operation computed.
    #[error("value {index} was computed by an operation: only a leaf can be set")]
    NotALeaf {
        /// The value's index.
        index: usize,
    },
    /// A network with several heads asked for its single output.
    #[error(
        "the network has {heads} heads: use `forward_batch`, which returns each head's outputs"
    )]
    Heads {
        /// The number of heads.
        heads: usize,
    },
}

/// The operation that made a node, with the nodes it read (and whatever its backward needs).
#[derive(Debug, Clone)]
enum Op<T> {
    Leaf,
    MatVec(Var, Var),
    Add(Var, Var),
    Sub(Var, Var),
    Mul(Var, Var),
    Scale(Var, T),
    Offset(Var),
    Rsqrt(Var),
    Sum(Var),
    Mean(Vec<Var>),
    WeightedSum(Vec<(Var, T)>),
    Concat(Vec<Var>),
    ChannelSum(Var, usize),
    Broadcast(Var, usize),
    Apply(Function, Var),
    Conv(Var, Var, Image, Window),
    MaxPool(Var, Vec<usize>),
    AvgPool(Var, Image, Window),
    Mse(Var, Var),
    CrossEntropy(Var, Var),
    BinaryCrossEntropy(Var, Var),
}

/// A dynamic computation graph: values and the operations that made them, in the order they
/// were computed, in `f32` (the default) or `f64`. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Tape<T = f32> {
    values: Vec<Vec<T>>,
    grads: Vec<Vec<T>>,
    nodes: Vec<(Shape, Op<T>)>,
}

impl<T> Default for Tape<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            grads: Vec::new(),
            nodes: Vec::new(),
        }
    }
}

impl Tape {
    /// An empty `f32` tape (`Tape::<f64>::default()` for one in `f64`).
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Scalar> Tape<T> {
    /// The number of values recorded.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Forgets every value from position `len` on, keeping those before (say, a network's
    /// parameters, to record the next sample after them).
    pub fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.grads.truncate(len);
        self.nodes.truncate(len);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    fn push(&mut self, value: Vec<T>, shape: Shape, op: Op<T>) -> Var {
        self.grads.push(vec![T::ZERO; value.len()]);
        self.values.push(value);
        self.nodes.push((shape, op));
        Var(self.nodes.len() - 1)
    }

    fn check(&self, v: Var) -> Result<usize, TapeError> {
        if v.0 < self.nodes.len() {
            Ok(v.0)
        } else {
            Err(TapeError::UnknownVar {
                index: v.0,
                len: self.nodes.len(),
            })
        }
    }

    /// The shape of `v`.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `v` is not on this tape.
    pub fn shape(&self, v: Var) -> Result<Shape, TapeError> {
        Ok(self.nodes[self.check(v)?].0)
    }

    /// The value of `v`, row-major for a matrix.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `v` is not on this tape.
    pub fn value(&self, v: Var) -> Result<&[T], TapeError> {
        Ok(&self.values[self.check(v)?])
    }

    /// The gradient `∂loss/∂v` from the last [`backward`](Self::backward), shaped like `v`'s
    /// value.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `v` is not on this tape.
    pub fn grad(&self, v: Var) -> Result<&[T], TapeError> {
        Ok(&self.grads[self.check(v)?])
    }

    /// Records a vector given from outside (an input, a target, a bias): a leaf of the graph.
    pub fn leaf(&mut self, values: &[T]) -> Var {
        self.push(values.to_vec(), Shape::vector(values.len()), Op::Leaf)
    }

    /// Records a vector of `f32` values (a network's parameters), converted to the tape's type.
    pub fn leaf_f32(&mut self, values: &[f32]) -> Var {
        let v = values.iter().map(|&v| T::from_f32(v)).collect();
        self.push(v, Shape::vector(values.len()), Op::Leaf)
    }

    /// Records a `rows × cols` matrix given row-major (a layer's weights): a leaf.
    ///
    /// # Errors
    ///
    /// [`TapeError::Length`] unless `values` holds `rows × cols` values.
    pub fn matrix(&mut self, values: &[T], rows: usize, cols: usize) -> Result<Var, TapeError> {
        if values.len() != rows * cols {
            return Err(TapeError::Length {
                rows,
                cols,
                found: values.len(),
            });
        }
        Ok(self.push(values.to_vec(), Shape { rows, cols }, Op::Leaf))
    }

    /// [`matrix`](Self::matrix) from `f32` values, converted to the tape's type.
    ///
    /// # Errors
    ///
    /// As for [`matrix`](Self::matrix).
    pub fn matrix_f32(
        &mut self,
        values: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<Var, TapeError> {
        if values.len() != rows * cols {
            return Err(TapeError::Length {
                rows,
                cols,
                found: values.len(),
            });
        }
        let v = values.iter().map(|&v| T::from_f32(v)).collect();
        Ok(self.push(v, Shape { rows, cols }, Op::Leaf))
    }

    /// Replaces the values of the leaf `v` (a parameter an optimizer changed, a perturbed
    /// input), keeping its shape. Values computed from it are not recomputed: truncate the tape
    /// to the leaves and record the forward pass again.
    ///
    /// # Errors
    ///
    /// [`TapeError::NotALeaf`] if `v` was computed by an operation, [`TapeError::Length`]
    /// unless `values` has as many values as `v`, [`TapeError::UnknownVar`] if `v` is not on
    /// this tape.
    pub fn set_leaf(&mut self, v: Var, values: &[T]) -> Result<(), TapeError> {
        let (shape, op) = &self.nodes[self.check(v)?];
        if !matches!(op, Op::Leaf) {
            return Err(TapeError::NotALeaf { index: v.0 });
        }
        if values.len() != shape.rows * shape.cols {
            return Err(TapeError::Length {
                rows: shape.rows,
                cols: shape.cols,
                found: values.len(),
            });
        }
        self.values[v.0].copy_from_slice(values);
        Ok(())
    }

    /// Backpropagation: sets every gradient to `∂loss/∂value`, walking the tape from `loss`
    /// back to its start and applying each operation's local derivative (the table in the
    /// [module docs](self)). Gradients from an earlier call are overwritten.
    ///
    /// # Errors
    ///
    /// [`TapeError::NotScalar`] unless `loss` is a scalar; [`TapeError::UnknownVar`] if it is
    /// not on this tape.
    pub fn backward(&mut self, loss: Var) -> Result<(), TapeError> {
        let shape = self.shape(loss)?;
        if shape != Shape::SCALAR {
            return Err(TapeError::NotScalar {
                op: "backward",
                shape,
            });
        }
        for g in &mut self.grads {
            g.fill(T::ZERO);
        }
        self.grads[loss.0][0] = T::ONE;
        for i in (0..=loss.0).rev() {
            let (before, rest) = self.grads.split_at_mut(i);
            local_backward(
                &self.nodes[i],
                &self.values,
                &self.values[i],
                &rest[0],
                before,
            );
        }
        Ok(())
    }
}

/// One node's share of the chain rule: adds `g` (the gradient arriving at the node's output)
/// times the node's local derivative to the gradients of the nodes it read (all earlier on the
/// tape, so all in `grads`). Each derivative is written beside its operation's forward, in
/// `ops.rs`, `function.rs`, `image.rs` and `loss.rs`.
fn local_backward<T: Scalar>(
    (_, op): &(Shape, Op<T>),
    values: &[Vec<T>],
    out: &[T],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    match op {
        Op::Leaf => {}
        Op::MatVec(m, x) => ops::matvec_backward(*m, *x, values, g, grads),
        Op::Add(a, b) => ops::add_backward(*a, *b, T::ONE, g, grads),
        Op::Sub(a, b) => ops::add_backward(*a, *b, -T::ONE, g, grads),
        Op::Mul(a, b) => ops::mul_backward(*a, *b, values, g, grads),
        Op::Scale(a, k) => ops::scale_backward(*a, *k, g, grads),
        Op::Offset(a) => ops::scale_backward(*a, T::ONE, g, grads),
        Op::Rsqrt(a) => ops::rsqrt_backward(*a, out, g, grads),
        Op::Sum(a) => ops::sum_backward(*a, g, grads),
        Op::Mean(scalars) => ops::mean_backward(scalars, g, grads),
        Op::WeightedSum(terms) => ops::weighted_sum_backward(terms, g, grads),
        Op::Concat(parts) => ops::concat_backward(parts, g, grads),
        Op::ChannelSum(a, channels) => ops::channel_sum_backward(*a, *channels, g, grads),
        Op::Broadcast(a, spatial) => ops::broadcast_backward(*a, *spatial, g, grads),
        Op::Apply(f, a) => function::apply_backward(*f, *a, values, out, g, grads),
        Op::Conv(x, w, image, window) => {
            image::conv2d_backward(*x, *w, *image, *window, values, g, grads);
        }
        Op::MaxPool(x, argmax) => image::max_pool_backward(*x, argmax, g, grads),
        Op::AvgPool(x, image, window) => image::avg_pool_backward(*x, *image, *window, g, grads),
        Op::Mse(a, y) => loss::mse_backward(*a, *y, values, g, grads),
        Op::CrossEntropy(p, y) => loss::cross_entropy_backward(*p, *y, values, g, grads),
        Op::BinaryCrossEntropy(p, y) => {
            loss::binary_cross_entropy_backward(*p, *y, values, g, grads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central difference of `f` with respect to value `k` of leaf `v`, re-recording the graph.
    fn numeric(
        build: &dyn Fn(&mut Tape, &[Vec<f32>]) -> Var,
        leaves: &[Vec<f32>],
        v: usize,
        k: usize,
    ) -> f64 {
        let h = 1e-2f32;
        let eval = |s: f32| {
            let mut l = leaves.to_vec();
            l[v][k] += s;
            let mut t = Tape::new();
            let out = build(&mut t, &l);
            f64::from(t.value(out).unwrap()[0])
        };
        let d1 = (eval(h) - eval(-h)) / f64::from(2.0 * h);
        let d2 = (eval(h / 2.0) - eval(-h / 2.0)) / f64::from(h);
        (4.0 * d2 - d1) / 3.0
    }

    fn check(build: &dyn Fn(&mut Tape, &[Vec<f32>]) -> Var, leaves: &[Vec<f32>]) {
        let mut t = Tape::new();
        let out = build(&mut t, leaves);
        t.backward(out).unwrap();
        for (v, leaf) in leaves.iter().enumerate() {
            for k in 0..leaf.len() {
                let want = numeric(build, leaves, v, k);
                let got = f64::from(t.grad(Var(v)).unwrap()[k]);
                assert!(
                    (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                    "leaf {v}[{k}]: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn every_operation_matches_finite_differences() {
        let x = vec![0.3f32, -0.7, 1.1];
        let m = vec![0.5f32, -0.2, 0.1, 0.4, 0.3, -0.6];
        let b = vec![0.05f32, -0.1];
        let leaves = vec![m, x, b];
        for f in [
            Function::Sigmoid,
            Function::Tanh,
            Function::Relu,
            Function::Softplus,
            Function::Linear,
            Function::Softmax,
        ] {
            let build = move |t: &mut Tape, l: &[Vec<f32>]| {
                let m = t.matrix(&l[0], 2, 3).unwrap();
                let x = t.leaf(&l[1]);
                let b = t.leaf(&l[2]);
                let z = t.matvec(m, x).unwrap();
                let z = t.add(z, b).unwrap();
                let a = t.apply(f, z).unwrap();
                let y = t.leaf(&[0.2, 0.8]);
                let mse = t.mse(a, y).unwrap();
                let prod = t.mul(a, z).unwrap();
                let s = t.sum(prod).unwrap();
                let p = t.softmax(z).unwrap();
                let ce = t.cross_entropy(p, y).unwrap();
                let q = t.sigmoid(z).unwrap();
                let bce = t.binary_cross_entropy(q, y).unwrap();
                t.mean(&[mse, s, ce, bce]).unwrap()
            };
            check(&build, &leaves);
        }
    }

    #[test]
    fn shape_mistakes_are_errors() {
        let mut t = Tape::new();
        let m = t.matrix(&[1.0; 6], 2, 3).unwrap();
        let x = t.leaf(&[1.0; 2]);
        let err = t.matvec(m, x).unwrap_err();
        assert_eq!(
            err.to_string(),
            "matvec: a matrix of 2×3 and a vector of 2 values do not fit: expected a vector as long as the matrix has columns"
        );
        assert_eq!(
            t.matrix(&[1.0; 5], 2, 3),
            Err(TapeError::Length {
                rows: 2,
                cols: 3,
                found: 5
            })
        );
        let y = t.leaf(&[1.0; 3]);
        assert!(matches!(
            t.add(x, y),
            Err(TapeError::ShapeMismatch { op: "add", .. })
        ));
        assert!(matches!(t.backward(x), Err(TapeError::NotScalar { .. })));
        assert_eq!(t.mean(&[]), Err(TapeError::EmptyMean));
        let mut other = Tape::new();
        assert_eq!(
            other.sum(y),
            Err(TapeError::UnknownVar { index: 2, len: 0 })
        );
    }
}
