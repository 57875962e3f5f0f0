//! A dynamic computation graph: automatic gradients recorded at run time, micrograd-style but
//! over vectors.
//!
//! This is the other way to get gradients, the way PyTorch and micrograd do it, kept here to
//! compare with `network!` and to check it. Every operation appends a node to a [`Tape`]: its
//! value (a vector or matrix of `f32`), the operation, and the nodes it read. [`Tape::backward`]
//! then walks the tape in reverse, and each node hands its gradient to its inputs by its local
//! derivative: the chain rule, one node at a time. `network!` writes the same chain rule out at
//! compile time instead, so there is nothing to record and nothing to walk.
//!
//! | operation | forward | backward (`g` = the gradient arriving at the output) |
//! | --- | --- | --- |
//! | [`matvec`](Tape::matvec)`(M, x)` | `oᵢ = Σⱼ Mᵢⱼ xⱼ` | `∂Mᵢⱼ += gᵢ xⱼ`, `∂xⱼ += Σᵢ Mᵢⱼ gᵢ` |
//! | [`add`](Tape::add)`(a, b)` | `a + b` | `∂a += g`, `∂b += g` |
//! | [`mul`](Tape::mul)`(a, b)` | `a ⊙ b` (elementwise) | `∂a += g ⊙ b`, `∂b += g ⊙ a` |
//! | [`sum`](Tape::sum)`(a)` | `Σₖ aₖ` | `∂aₖ += g` |
//! | [`mean`](Tape::mean)`(s₁..sₙ)` | `Σ sᵢ / n` (scalars) | `∂sᵢ += g / n` |
//! | [`apply`](Tape::apply)`(sigmoid, a)` | `s = 1 / (1 + e^-a)` | `∂a += g ⊙ s(1 - s)` |
//! | `apply(tanh, a)` | `t = tanh a` | `∂a += g ⊙ (1 - t²)` |
//! | `apply(relu, a)` | `max(0, a)` | `∂a += g` where `a > 0` |
//! | `apply(softplus, a)` | `ln(1 + e^a)` | `∂a += g ⊙ 1 / (1 + e^-a)` |
//! | `apply(linear, a)` | `a` | `∂a += g` |
//! | `apply(step, a)` | `1` if `a > 0`, else `0` | nothing (the derivative is 0) |
//! | `apply(softmax, a)` | `sᵢ = e^aᵢ / Σⱼ e^aⱼ` | `∂aᵢ += sᵢ (gᵢ - Σⱼ gⱼ sⱼ)` |
//! | [`mse`](Tape::mse)`(a, y)` | `Σ (a - y)² / n` | `∂a += g · 2(a - y) / n` |
//! | [`cross_entropy`](Tape::cross_entropy)`(p, y)` | `-Σ y ln p` | `∂p += -g · y / p` |
//! | [`binary_cross_entropy`](Tape::binary_cross_entropy)`(p, y)` | `-Σ [y ln p + (1-y) ln(1-p)] / n` | `∂p += -g · (y/p - (1-y)/(1-p)) / n` |
//!
//! The losses take probabilities and follow the textbook formulas, on purpose: the generated
//! backward fuses softmax with cross-entropy into `a - y`, and the tape computes the same
//! gradient the long way round, through softmax's Jacobian and `-y/p`, so that comparing the two
//! checks the fusion too. Targets are constants: no gradient flows into them.
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
//! [`TapeNetwork`] records the layers of any network declared with `network!` on a tape, from
//! its [`parameters`](crate::network::Network::parameters), so that the same network runs both ways.

mod network;

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use alloc::vec::Vec;
use core::fmt;

pub use network::TapeNetwork;

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

/// The shape of a value: `rows × cols`; a vector has one column, a scalar is `1 × 1`.
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

/// An activation function the tape can apply, by the name `network!` knows it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `1 / (1 + e^-a)`.
    Sigmoid,
    /// `tanh a`.
    Tanh,
    /// `max(0, a)`.
    Relu,
    /// `ln(1 + e^a)`.
    Softplus,
    /// `a`.
    Linear,
    /// `1` if `a > 0`, else `0`.
    Step,
    /// `e^aᵢ / Σⱼ e^aⱼ`.
    Softmax,
}

impl Function {
    /// The function `network!` calls `name`, if the tape knows it.
    ///
    /// ```
    /// use nn_core::tape::Function;
    /// assert_eq!(Function::from_name("tanh"), Some(Function::Tanh));
    /// assert_eq!(Function::from_name("gelu"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "softplus" => Self::Softplus,
            "linear" => Self::Linear,
            "step" => Self::Step,
            "softmax" => Self::Softmax,
            _ => return None,
        })
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
    /// A [`Var`] that is not on this tape (from another tape, or cleared away).
    #[error("value {index} is not on this tape, which holds {len} values")]
    UnknownVar {
        /// The variable's index.
        index: usize,
        /// The tape's length.
        len: usize,
    },
    /// A network layer whose activation the tape does not know.
    #[error("layer {layer} has activation `{name}`, which the tape does not know: expected sigmoid, tanh, relu, softplus, linear, step or softmax")]
    UnknownActivation {
        /// The layer's name.
        layer: &'static str,
        /// The activation's name.
        name: &'static str,
    },
    /// A network layer of a kind the tape does not record.
    #[error("layer {layer} is a `{kind}` layer, which the tape does not record: it records dense layers")]
    UnknownLayer {
        /// The layer's name.
        layer: &'static str,
        /// The layer's kind (`conv`, `dropout`, ...).
        kind: &'static str,
    },
    /// A network's parameters do not have the sizes its shape says.
    #[error("layer {layer}: found {found} {what}, expected {expected} from the network's widths")]
    Parameters {
        /// The layer's name.
        layer: &'static str,
        /// `"weights"` or `"biases"`.
        what: &'static str,
        /// The size the widths imply.
        expected: usize,
        /// The size found (0 for a missing slice).
        found: usize,
    },
}

/// The operation that made a node, with the nodes it read.
#[derive(Debug, Clone)]
enum Op {
    Leaf,
    MatVec(Var, Var),
    Add(Var, Var),
    Mul(Var, Var),
    Sum(Var),
    Mean(Vec<Var>),
    Apply(Function, Var),
    Mse(Var, Var),
    CrossEntropy(Var, Var),
    BinaryCrossEntropy(Var, Var),
}

/// A dynamic computation graph: values and the operations that made them, in the order they
/// were computed. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Tape {
    values: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    nodes: Vec<(Shape, Op)>,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

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

    fn push(&mut self, value: Vec<f32>, shape: Shape, op: Op) -> Var {
        self.grads.push(vec![0.0; value.len()]);
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
    pub fn value(&self, v: Var) -> Result<&[f32], TapeError> {
        Ok(&self.values[self.check(v)?])
    }

    /// The gradient `∂loss/∂v` from the last [`backward`](Self::backward), shaped like `v`'s
    /// value.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `v` is not on this tape.
    pub fn grad(&self, v: Var) -> Result<&[f32], TapeError> {
        Ok(&self.grads[self.check(v)?])
    }

    /// Records a vector given from outside (an input, a target, a bias): a leaf of the graph.
    pub fn leaf(&mut self, values: &[f32]) -> Var {
        self.push(values.to_vec(), Shape::vector(values.len()), Op::Leaf)
    }

    /// Records a `rows × cols` matrix given row-major (a layer's weights): a leaf.
    ///
    /// # Errors
    ///
    /// [`TapeError::Length`] unless `values` holds `rows × cols` values.
    pub fn matrix(&mut self, values: &[f32], rows: usize, cols: usize) -> Result<Var, TapeError> {
        if values.len() != rows * cols {
            return Err(TapeError::Length {
                rows,
                cols,
                found: values.len(),
            });
        }
        Ok(self.push(values.to_vec(), Shape { rows, cols }, Op::Leaf))
    }

    /// Matrix times vector: `oᵢ = Σⱼ Mᵢⱼ xⱼ`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `x` is a vector as long as `m` has columns.
    pub fn matvec(&mut self, m: Var, x: Var) -> Result<Var, TapeError> {
        let (sm, sx) = (self.shape(m)?, self.shape(x)?);
        if !sx.is_vector() || sx.rows != sm.cols {
            return Err(TapeError::ShapeMismatch {
                op: "matvec",
                left: sm,
                right: sx,
                rule: "expected a vector as long as the matrix has columns",
            });
        }
        let (mv, xv) = (&self.values[m.0], &self.values[x.0]);
        let out = if sm.cols == 0 {
            vec![0.0; sm.rows]
        } else {
            mv.chunks_exact(sm.cols)
                .map(|row| row.iter().zip(xv).map(|(m, x)| m * x).sum())
                .collect()
        };
        Ok(self.push(out, Shape::vector(sm.rows), Op::MatVec(m, x)))
    }

    /// The local derivative of [`matvec`](Self::matvec), `g` being the gradient arriving at its
    /// output: `∂Mᵢⱼ += gᵢ xⱼ`, `∂xⱼ += Σᵢ Mᵢⱼ gᵢ`.
    fn matvec_backward(m: Var, x: Var, values: &[Vec<f32>], g: &[f32], grads: &mut [Vec<f32>]) {
        let (mv, xv) = (&values[m.0], &values[x.0]);
        // x is a vector as long as m has columns (checked when recorded).
        let cols = xv.len();
        if cols == 0 {
            return;
        }
        for (row, &gi) in grads[m.0].chunks_exact_mut(cols).zip(g) {
            for (dm, &xj) in row.iter_mut().zip(xv) {
                *dm += gi * xj;
            }
        }
        let dx = &mut grads[x.0];
        for (mrow, &gi) in mv.chunks_exact(cols).zip(g) {
            for (dx, &mij) in dx.iter_mut().zip(mrow) {
                *dx += mij * gi;
            }
        }
    }

    fn same_shape(&self, op: &'static str, a: Var, b: Var) -> Result<Shape, TapeError> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        if sa != sb {
            return Err(TapeError::ShapeMismatch {
                op,
                left: sa,
                right: sb,
                rule: "expected the same shape",
            });
        }
        Ok(sa)
    }

    fn zip_with(&self, a: Var, b: Var, f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
        self.values[a.0]
            .iter()
            .zip(&self.values[b.0])
            .map(|(&a, &b)| f(a, b))
            .collect()
    }

    /// Elementwise sum `a + b` (a bias added to a weighted sum, for one).
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `b` have the same shape.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var, TapeError> {
        let shape = self.same_shape("add", a, b)?;
        let out = self.zip_with(a, b, |a, b| a + b);
        Ok(self.push(out, shape, Op::Add(a, b)))
    }

    /// The local derivative of [`add`](Self::add): `∂a += g`, `∂b += g`.
    fn add_backward(a: Var, b: Var, g: &[f32], grads: &mut [Vec<f32>]) {
        for v in [a, b] {
            for (d, &g) in grads[v.0].iter_mut().zip(g) {
                *d += g;
            }
        }
    }

    /// Elementwise product `a ⊙ b`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `b` have the same shape.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var, TapeError> {
        let shape = self.same_shape("mul", a, b)?;
        let out = self.zip_with(a, b, |a, b| a * b);
        Ok(self.push(out, shape, Op::Mul(a, b)))
    }

    /// The local derivative of [`mul`](Self::mul): `∂a += g ⊙ b`, `∂b += g ⊙ a`.
    fn mul_backward(a: Var, b: Var, values: &[Vec<f32>], g: &[f32], grads: &mut [Vec<f32>]) {
        for (v, other) in [(a, b), (b, a)] {
            for ((d, &g), &o) in grads[v.0].iter_mut().zip(g).zip(&values[other.0]) {
                *d += g * o;
            }
        }
    }

    /// The sum of all values of `a`: a scalar.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn sum(&mut self, a: Var) -> Result<Var, TapeError> {
        let s = self.value(a)?.iter().sum();
        Ok(self.push(vec![s], Shape::SCALAR, Op::Sum(a)))
    }

    /// The local derivative of [`sum`](Self::sum): `∂aₖ += g`.
    fn sum_backward(a: Var, g: &[f32], grads: &mut [Vec<f32>]) {
        for d in &mut grads[a.0] {
            *d += g[0];
        }
    }

    /// The mean of scalars (a batch's per-sample losses): `Σ sᵢ / n`.
    ///
    /// # Errors
    ///
    /// [`TapeError::EmptyMean`] for no values, [`TapeError::NotScalar`] if one is not a scalar.
    pub fn mean(&mut self, scalars: &[Var]) -> Result<Var, TapeError> {
        if scalars.is_empty() {
            return Err(TapeError::EmptyMean);
        }
        let mut total = 0.0;
        for &s in scalars {
            let shape = self.shape(s)?;
            if shape != Shape::SCALAR {
                return Err(TapeError::NotScalar { op: "mean", shape });
            }
            total += self.values[s.0][0];
        }
        let mean = total / scalars.len() as f32;
        Ok(self.push(vec![mean], Shape::SCALAR, Op::Mean(scalars.to_vec())))
    }

    /// The local derivative of [`mean`](Self::mean): `∂sᵢ += g / n`.
    fn mean_backward(scalars: &[Var], g: &[f32], grads: &mut [Vec<f32>]) {
        let share = g[0] / scalars.len() as f32;
        for v in scalars {
            grads[v.0][0] += share;
        }
    }

    /// An activation function applied to `a` (elementwise, or over the whole vector for
    /// softmax).
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn apply(&mut self, function: Function, a: Var) -> Result<Var, TapeError> {
        let shape = self.shape(a)?;
        let x = &self.values[a.0];
        let out = match function {
            Function::Softmax => {
                let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = x.iter().map(|x| (x - m).exp()).collect();
                let total: f32 = e.iter().sum();
                e.into_iter().map(|e| e / total).collect()
            }
            f => x.iter().map(|&x| scalar_function(f, x)).collect(),
        };
        Ok(self.push(out, shape, Op::Apply(function, a)))
    }

    /// The local derivative of [`apply`](Self::apply), from the input `a` and the `out`put:
    /// `∂aᵢ += sᵢ (gᵢ - Σⱼ gⱼ sⱼ)` for softmax, else `∂a += g ⊙ f'(a)` elementwise (see
    /// [`scalar_derivative`]).
    fn apply_backward(
        function: Function,
        a: Var,
        values: &[Vec<f32>],
        out: &[f32],
        g: &[f32],
        grads: &mut [Vec<f32>],
    ) {
        if function == Function::Softmax {
            let dot: f32 = g.iter().zip(out).map(|(g, s)| g * s).sum();
            for ((d, &g), &s) in grads[a.0].iter_mut().zip(g).zip(out) {
                *d += s * (g - dot);
            }
            return;
        }
        let x = &values[a.0];
        for (((d, &g), &o), &x) in grads[a.0].iter_mut().zip(g).zip(out).zip(x) {
            *d += g * scalar_derivative(function, x, o);
        }
    }

    /// [`apply`](Self::apply) with [`Function::Sigmoid`].
    ///
    /// # Errors
    ///
    /// As for [`apply`](Self::apply).
    pub fn sigmoid(&mut self, a: Var) -> Result<Var, TapeError> {
        self.apply(Function::Sigmoid, a)
    }

    /// [`apply`](Self::apply) with [`Function::Tanh`].
    ///
    /// # Errors
    ///
    /// As for [`apply`](Self::apply).
    pub fn tanh(&mut self, a: Var) -> Result<Var, TapeError> {
        self.apply(Function::Tanh, a)
    }

    /// [`apply`](Self::apply) with [`Function::Relu`].
    ///
    /// # Errors
    ///
    /// As for [`apply`](Self::apply).
    pub fn relu(&mut self, a: Var) -> Result<Var, TapeError> {
        self.apply(Function::Relu, a)
    }

    /// [`apply`](Self::apply) with [`Function::Softmax`].
    ///
    /// # Errors
    ///
    /// As for [`apply`](Self::apply).
    pub fn softmax(&mut self, a: Var) -> Result<Var, TapeError> {
        self.apply(Function::Softmax, a)
    }

    fn loss(
        &mut self,
        op: &'static str,
        a: Var,
        y: Var,
        f: impl Fn(&[f32], &[f32]) -> f32,
        make: fn(Var, Var) -> Op,
    ) -> Result<Var, TapeError> {
        self.same_shape(op, a, y)?;
        let l = f(&self.values[a.0], &self.values[y.0]);
        Ok(self.push(vec![l], Shape::SCALAR, make(a, y)))
    }

    /// Mean squared error `Σ (a - y)² / n` of an output `a` against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `y` have the same shape.
    pub fn mse(&mut self, a: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "mse",
            a,
            y,
            |a, y| {
                let s: f32 = a.iter().zip(y).map(|(a, y)| (a - y) * (a - y)).sum();
                s / a.len() as f32
            },
            Op::Mse,
        )
    }

    /// The local derivative of [`mse`](Self::mse): `∂a += g · 2(a - y) / n`.
    fn mse_backward(a: Var, y: Var, values: &[Vec<f32>], g: &[f32], grads: &mut [Vec<f32>]) {
        let scale = 2.0 * g[0] / values[a.0].len() as f32;
        for ((d, &a), &y) in grads[a.0].iter_mut().zip(&values[a.0]).zip(&values[y.0]) {
            *d += scale * (a - y);
        }
    }

    /// Cross-entropy `-Σ y ln p` of probabilities `p` (a softmax output) against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `p` and `y` have the same shape.
    pub fn cross_entropy(&mut self, p: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "cross_entropy",
            p,
            y,
            |p, y| {
                -p.iter()
                    .zip(y)
                    .filter(|(_, &y)| y != 0.0)
                    .map(|(p, y)| y * p.ln())
                    .sum::<f32>()
            },
            Op::CrossEntropy,
        )
    }

    /// The local derivative of [`cross_entropy`](Self::cross_entropy): `∂p += -g · y / p`.
    fn cross_entropy_backward(
        p: Var,
        y: Var,
        values: &[Vec<f32>],
        g: &[f32],
        grads: &mut [Vec<f32>],
    ) {
        for ((d, &p), &y) in grads[p.0].iter_mut().zip(&values[p.0]).zip(&values[y.0]) {
            if y != 0.0 {
                *d -= g[0] * y / p;
            }
        }
    }

    /// Binary cross-entropy `-Σ [y ln p + (1-y) ln(1-p)] / n` of probabilities `p` (a sigmoid
    /// output) against a target `y`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `p` and `y` have the same shape.
    pub fn binary_cross_entropy(&mut self, p: Var, y: Var) -> Result<Var, TapeError> {
        self.loss(
            "binary_cross_entropy",
            p,
            y,
            |p, y| {
                let s: f32 = p
                    .iter()
                    .zip(y)
                    .map(|(&p, &y)| bce_term(y, p.ln()) + bce_term(1.0 - y, (1.0 - p).ln()))
                    .sum();
                -s / p.len() as f32
            },
            Op::BinaryCrossEntropy,
        )
    }

    /// The local derivative of [`binary_cross_entropy`](Self::binary_cross_entropy):
    /// `∂p += -g · (y/p - (1-y)/(1-p)) / n`, each term left out where its coefficient is 0.
    fn binary_cross_entropy_backward(
        p: Var,
        y: Var,
        values: &[Vec<f32>],
        g: &[f32],
        grads: &mut [Vec<f32>],
    ) {
        let scale = g[0] / values[p.0].len() as f32;
        for ((d, &p), &y) in grads[p.0].iter_mut().zip(&values[p.0]).zip(&values[y.0]) {
            let mut local = 0.0;
            if y != 0.0 {
                local += y / p;
            }
            if y != 1.0 {
                local -= (1.0 - y) / (1.0 - p);
            }
            *d -= scale * local;
        }
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
            g.fill(0.0);
        }
        self.grads[loss.0][0] = 1.0;
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

/// `c · ln_x`, or 0 where the coefficient is 0 (so that `0 · ln 0` is 0, not NaN).
fn bce_term(c: f32, ln_x: f32) -> f32 {
    if c == 0.0 {
        0.0
    } else {
        c * ln_x
    }
}

/// An elementwise activation of one value.
fn scalar_function(f: Function, x: f32) -> f32 {
    match f {
        Function::Sigmoid => crate::math::logistic(x),
        Function::Tanh => x.tanh(),
        Function::Relu => x.max(0.0),
        Function::Softplus => crate::math::softplus(x),
        Function::Linear => x,
        Function::Step => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        // Not elementwise: handled by `apply`.
        Function::Softmax => x,
    }
}

/// The derivative of an elementwise activation at input `x`, whose output was `o`: from the
/// output where it can be (`s(1 - s)`, `1 - t²`), else from the input.
fn scalar_derivative(f: Function, x: f32, o: f32) -> f32 {
    match f {
        Function::Sigmoid => o * (1.0 - o),
        Function::Tanh => 1.0 - o * o,
        Function::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Function::Softplus => crate::math::logistic(x),
        Function::Linear => 1.0,
        // Step's derivative is 0 wherever it exists; softmax is handled by `apply_backward`.
        Function::Step | Function::Softmax => 0.0,
    }
}

/// One node's share of the chain rule: adds `g` (the gradient arriving at the node's output)
/// times the node's local derivative to the gradients of the nodes it read (all earlier on the
/// tape, so all in `grads`). Each derivative is written beside its operation's forward.
fn local_backward(
    (_, op): &(Shape, Op),
    values: &[Vec<f32>],
    out: &[f32],
    g: &[f32],
    grads: &mut [Vec<f32>],
) {
    match op {
        Op::Leaf => {}
        Op::MatVec(m, x) => Tape::matvec_backward(*m, *x, values, g, grads),
        Op::Add(a, b) => Tape::add_backward(*a, *b, g, grads),
        Op::Mul(a, b) => Tape::mul_backward(*a, *b, values, g, grads),
        Op::Sum(a) => Tape::sum_backward(*a, g, grads),
        Op::Mean(scalars) => Tape::mean_backward(scalars, g, grads),
        Op::Apply(f, a) => Tape::apply_backward(*f, *a, values, out, g, grads),
        Op::Mse(a, y) => Tape::mse_backward(*a, *y, values, g, grads),
        Op::CrossEntropy(p, y) => Tape::cross_entropy_backward(*p, *y, values, g, grads),
        Op::BinaryCrossEntropy(p, y) => {
            Tape::binary_cross_entropy_backward(*p, *y, values, g, grads);
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
