//! The activation functions the tape applies, each with its derivative: every built-in
//! activation of `network!` and a user's own ([`CustomActivation`]).

use core::fmt;
use core::hash::{Hash, Hasher};

use super::scalar::{logistic, softplus};
use super::{Op, Scalar, Tape, TapeError, Var};
use crate::activation::CustomActivation;
use crate::model::{ActivationKind, Real};

/// An activation function the tape can apply, by the name `network!` knows it by.
///
/// | function | `f(a)` | `f'(a)` |
/// | --- | --- | --- |
/// | `Sigmoid` | `s = 1 / (1 + e^-a)` | `s(1 - s)` |
/// | `Tanh` | `t = tanh a` | `1 - t²` |
/// | `Relu` | `max(0, a)` | `1` where `a > 0`, else `0` |
/// | `Softplus` | `ln(1 + e^a)` | `1 / (1 + e^-a)` |
/// | `Linear` | `a` | `1` |
/// | `Step` | `1` if `a > 0`, else `0` | `0` |
/// | `Softmax` | `sᵢ = e^aᵢ / Σⱼ e^aⱼ` (over the vector) | `∂aᵢ += sᵢ (gᵢ - Σⱼ gⱼ sⱼ)` |
/// | `LeakyRelu { slope }` | `a` if `a > 0`, else `slope·a` | `1` if `a > 0`, else `slope` |
/// | `Gelu` | `a/2 · (1 + tanh u)`, `u = √(2/π)(a + 0.044715a³)` | `(1 + tanh u)/2 + a/2·(1 - tanh²u)·u'` |
/// | `Silu` | `a·s` | `s(1 + a(1 - s))` |
/// | `Custom(c)` | the user's `function` | the user's `derivative`, in `f32` |
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
    /// `a` if `a > 0`, else `slope·a`.
    LeakyRelu {
        /// The slope for `a ≤ 0`.
        slope: Real,
    },
    /// The GELU in its tanh form, as `network!`'s `gelu`.
    Gelu,
    /// `a · sigmoid(a)` (swish).
    Silu,
    /// A user's own activation (see [`Function::custom`]).
    Custom(CustomFunction),
}

/// A user's activation on the tape: its name, function and derivative, taken from a
/// [`CustomActivation`] type. Two are equal when their names are, as `network!` knows them.
///
/// Its functions are `f32`; on an `f64` tape they are called on the value rounded to `f32`.
#[derive(Clone, Copy)]
pub struct CustomFunction {
    name: &'static str,
    function: fn(f32) -> f32,
    derivative: fn(f32, f32) -> f32,
}

impl CustomFunction {
    /// The name (`CustomActivation::NAME`).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for CustomFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom({})", self.name)
    }
}

impl PartialEq for CustomFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CustomFunction {}

impl Hash for CustomFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Function {
    /// The function `network!` calls `name`, if it is a built-in one (`leaky_relu` with its
    /// default slope, `swish` as `silu`).
    ///
    /// ```
    /// use nn_core::tape::Function;
    /// assert_eq!(Function::from_name("tanh"), Some(Function::Tanh));
    /// assert_eq!(Function::from_name("swish"), Some(Function::Silu));
    /// assert_eq!(Function::from_name("mish"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        ActivationKind::from_name(name).and_then(Self::from_kind)
    }

    /// The function for an activation of a network's description; `None` for a custom one
    /// (which the tape knows only from [`Function::custom`]).
    pub fn from_kind(kind: ActivationKind) -> Option<Self> {
        Some(match kind {
            ActivationKind::Sigmoid => Self::Sigmoid,
            ActivationKind::Tanh => Self::Tanh,
            ActivationKind::Relu => Self::Relu,
            ActivationKind::Softplus => Self::Softplus,
            ActivationKind::Linear => Self::Linear,
            ActivationKind::Step => Self::Step,
            ActivationKind::Softmax => Self::Softmax,
            ActivationKind::LeakyRelu { slope } => Self::LeakyRelu { slope },
            ActivationKind::Gelu => Self::Gelu,
            ActivationKind::Silu => Self::Silu,
            ActivationKind::Custom { .. } => return None,
        })
    }

    /// The user's activation `A`, by its name, function and derivative.
    ///
    /// ```
    /// use nn_core::tape::{Function, Tape};
    /// use nn_core::CustomActivation;
    ///
    /// #[derive(Debug, Clone, Copy, Default)]
    /// struct Cube;
    /// impl CustomActivation for Cube {
    ///     const NAME: &'static str = "Cube";
    ///     fn function(z: f32) -> f32 { z * z * z }
    ///     fn derivative(z: f32, _a: f32) -> f32 { 3.0 * z * z }
    /// }
    ///
    /// let mut tape = Tape::new();
    /// let x = tape.leaf(&[2.0]);
    /// let y = tape.apply(Function::custom::<Cube>(), x)?;
    /// let s = tape.sum(y)?;
    /// tape.backward(s)?;
    /// assert_eq!((tape.value(y)?, tape.grad(x)?), (&[8.0][..], &[12.0][..]));
    /// # Ok::<(), nn_core::tape::TapeError>(())
    /// ```
    pub fn custom<A: CustomActivation>() -> Self {
        Self::Custom(CustomFunction {
            name: A::NAME,
            function: A::function,
            derivative: A::derivative,
        })
    }

    /// The name `network!` writes (`leaky_relu` whatever its slope; a custom one's own name).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Softplus => "softplus",
            Self::Linear => "linear",
            Self::Step => "step",
            Self::Softmax => "softmax",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::Gelu => "gelu",
            Self::Silu => "silu",
            Self::Custom(c) => c.name,
        }
    }
}

impl<T: Scalar> Tape<T> {
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
                let m = x
                    .iter()
                    .fold(T::from_f32(f32::NEG_INFINITY), |m, &x| m.max(x));
                let e: Vec<T> = x.iter().map(|&x| (x - m).exp()).collect();
                let total: T = e.iter().copied().sum();
                e.into_iter().map(|e| e / total).collect()
            }
            f => x.iter().map(|&x| scalar_function(f, x)).collect(),
        };
        Ok(self.push(out, shape, Op::Apply(function, a)))
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
}

/// The local derivative of [`apply`](Tape::apply), from the input `a` and the `out`put:
/// `∂aᵢ += sᵢ (gᵢ - Σⱼ gⱼ sⱼ)` for softmax, else `∂a += g ⊙ f'(a)` elementwise (see
/// [`scalar_derivative`]).
pub(super) fn apply_backward<T: Scalar>(
    function: Function,
    a: Var,
    values: &[Vec<T>],
    out: &[T],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    if function == Function::Softmax {
        let dot: T = g.iter().zip(out).map(|(&g, &s)| g * s).sum();
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

/// `√(2/π)` and the cubic coefficient of the GELU's tanh form.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_CUBIC: f64 = 0.044_715;

/// An elementwise activation of one value.
fn scalar_function<T: Scalar>(f: Function, x: T) -> T {
    let (zero, one) = (T::ZERO, T::ONE);
    match f {
        Function::Sigmoid => logistic(x),
        Function::Tanh => x.tanh(),
        Function::Relu => x.max(zero),
        Function::Softplus => softplus(x),
        Function::Linear => x,
        Function::Step => {
            if x > zero {
                one
            } else {
                zero
            }
        }
        Function::LeakyRelu { slope } => {
            if x > zero {
                x
            } else {
                T::from_f32(slope.get()) * x
            }
        }
        Function::Gelu => {
            let u = T::from_f64(SQRT_2_OVER_PI) * (x + T::from_f64(GELU_CUBIC) * x * x * x);
            T::from_f32(0.5) * x * (one + u.tanh())
        }
        Function::Silu => x * logistic(x),
        Function::Custom(c) => T::from_f32((c.function)(x.to_f32())),
        // Not elementwise: handled by `apply`.
        Function::Softmax => x,
    }
}

/// The derivative of an elementwise activation at input `x`, whose output was `o`: from the
/// output where it can be (`s(1 - s)`, `1 - t²`), else from the input.
fn scalar_derivative<T: Scalar>(f: Function, x: T, o: T) -> T {
    let (zero, one) = (T::ZERO, T::ONE);
    match f {
        Function::Sigmoid => o * (one - o),
        Function::Tanh => one - o * o,
        Function::Relu => {
            if x > zero {
                one
            } else {
                zero
            }
        }
        Function::Softplus => logistic(x),
        Function::Linear => one,
        Function::LeakyRelu { slope } => {
            if x > zero {
                one
            } else {
                T::from_f32(slope.get())
            }
        }
        Function::Gelu => {
            let k = T::from_f64(SQRT_2_OVER_PI);
            let c = T::from_f64(GELU_CUBIC);
            let t = (k * (x + c * x * x * x)).tanh();
            let du = k * (one + T::from_f32(3.0) * c * x * x);
            let half = T::from_f32(0.5);
            half * (one + t) + half * x * (one - t * t) * du
        }
        Function::Silu => {
            let s = logistic(x);
            s * (one + x * (one - s))
        }
        Function::Custom(c) => T::from_f32((c.derivative)(x.to_f32(), o.to_f32())),
        // Step's derivative is 0 wherever it exists; softmax is handled by `apply_backward`.
        Function::Step | Function::Softmax => zero,
    }
}
