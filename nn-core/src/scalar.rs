//! The number type a network computes in: `f32` (the default) or `f64`.
//!
//! Every [`Dense`](crate::dense::Dense) layer, and so every network, has a scalar type: the type
//! of its weights, its inputs and outputs, its gradients and its loss. `network!` writes `f32`
//! unless the declaration names `f64` after the colon:
//!
//! ```text
//! nn::network! { struct Precise: f64 3 -> 1 linear; }
//! ```
//!
//! | | `f32` | `f64` |
//! | --- | --- | --- |
//! | what for | training and inference at speed | precision: the gradient check to ~1e-9, least squares by gradient descent to the closed form |
//! | kernels | SIMD back ends (AVX2, AVX-512) chosen at run time, vectorised activations | register-tiled products, AVX2 and AVX-512 variants chosen at run time (all giving the portable bits); libm's `f64` functions, scalar |
//! | speed | | 3-4x the `f32` time at batch 32, 2.4x at batch 1 (BENCHMARKS.md) |
//! | layers | every kind | dense layers (every built-in activation) in a chain |
//! | weight files | `F32` (and `F16`, `BF16`, `F64` read and written) | `F64` (and narrower dtypes read and written) |
//!
//! The trait is sealed: [`Scalar`] is implemented for `f32` and `f64` and nothing else. It is
//! also the number type of the [tape](crate::tape) (`Tape<T: Scalar>`, re-exported as
//! `nn::tape::Scalar`). Its functions (`exp`, `ln`, `tanh`, ...) are libm's in every build, so
//! they give the same bits on every platform; its methods beyond those are the kernels the
//! generated code calls, hidden from these docs and not part of the API.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use rand::{Rng, RngExt};

use crate::activation::{Activation, Differentiable};
use crate::kernel;
use crate::kernel::double;
use crate::model::ActivationKind;

/// [`Scalar::affine_activate`] unfused: the product into the sums (or the output), then the
/// activation over the output.
#[inline]
#[allow(clippy::too_many_arguments)]
fn affine_then_activate<T: Scalar, A: Activation>(
    n: usize,
    i: usize,
    o: usize,
    x: &[T],
    w: &[T],
    b: &[T],
    sums: Option<&mut [T]>,
    out: &mut [T],
) {
    let out = &mut out[..n * o];
    match sums {
        Some(z) => {
            let z = &mut z[..n * o];
            T::affine(n, i, o, x, w, b, z);
            out.copy_from_slice(z);
        }
        None => T::affine(n, i, o, x, w, b, out),
    }
    T::activate::<A>(out, o);
}

mod sealed {
    /// Keeps [`Scalar`](super::Scalar) to `f32` and `f64`.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The number type of a network: `f32` or `f64` (see the [module docs](self)).
pub trait Scalar:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// The type's name, `f32` or `f64`, as a declaration writes it.
    const NAME: &'static str;
    /// The safetensors dtype a weight file stores it as (`F32`, `F64`).
    const DTYPE: &'static str;
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The difference between 1 and the next larger value.
    const EPSILON: Self;

    /// The nearest value to `v` (rounding to nearest even for `f32`).
    fn from_f64(v: f64) -> Self;
    /// `v`, exactly.
    fn from_f32(v: f32) -> Self;
    /// The value as an `f64`, exactly.
    fn to_f64(self) -> f64;
    /// The nearest value to `n`.
    fn from_usize(n: usize) -> Self;
    /// The nearest value to `v` (rounding to nearest even for `f32`).
    fn to_f32(self) -> f32;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// The absolute value.
    fn abs(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// `eˣ`.
    fn exp(self) -> Self;
    /// `ln x`.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// `tanh x`.
    fn tanh(self) -> Self;
    /// The larger of the two (the other if one is NaN).
    fn max(self, other: Self) -> Self;
    /// `ln(1 + e^self)`, never overflowing.
    fn softplus(self) -> Self;

    /// A value drawn uniformly from `[-range, range)` (`range` rounded to the type first).
    #[doc(hidden)]
    fn uniform<R: Rng + ?Sized>(rng: &mut R, range: f64) -> Self;

    /// `out = X·Wᵀ + 1·bᵀ` (see [`kernel::affine`]).
    #[doc(hidden)]
    fn affine(n: usize, i: usize, o: usize, x: &[Self], w: &[Self], b: &[Self], out: &mut [Self]);
    /// `gw = Δᵀ·X`, `gb = Σ_rows Δ` (see [`kernel::weight_grad`]).
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    fn weight_grad(
        n: usize,
        i: usize,
        o: usize,
        x: &[Self],
        delta: &[Self],
        gw: &mut [Self],
        gb: &mut [Self],
    );
    /// `dx = Δ·W` (see [`kernel::input_grad`]).
    #[doc(hidden)]
    fn input_grad(n: usize, i: usize, o: usize, delta: &[Self], w: &[Self], dx: &mut [Self]);
    /// The activation `A` in place over a batch of rows `width` wide.
    #[doc(hidden)]
    fn activate<A: Activation>(v: &mut [Self], width: usize);
    /// A layer's forward pass over a batch, `out = A(X·Wᵀ + 1·bᵀ)`, and the sums into `sums`
    /// if given: [`affine`](Scalar::affine) then [`activate`](Scalar::activate), the bits a
    /// fused kernel ([`kernel::affine_tanh`]) keeps.
    #[doc(hidden)]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn affine_activate<A: Activation>(
        n: usize,
        i: usize,
        o: usize,
        x: &[Self],
        w: &[Self],
        b: &[Self],
        sums: Option<&mut [Self]>,
        out: &mut [Self],
    ) {
        affine_then_activate::<Self, A>(n, i, o, x, w, b, sums, out);
    }
    /// The chain rule through `A` over a batch of rows `width` wide: `grad` holds `∂L/∂a` on
    /// entry and `∂L/∂z` on return.
    #[doc(hidden)]
    fn activate_backward<A: Differentiable<L>, L>(
        z: &[Self],
        a: &[Self],
        grad: &mut [Self],
        width: usize,
    );
    /// `ln Σ e^z`, stably (see [`kernel::log_sum_exp`]).
    #[doc(hidden)]
    fn log_sum_exp(z: &[Self]) -> Self;
    /// `v ← lr·g + mu·v`, `w ← w - v` (see [`kernel::momentum`]).
    #[doc(hidden)]
    fn momentum(lr: Self, mu: Self, w: &mut [Self], v: &mut [Self], g: &[Self]);
    /// Whether the products of the weight gradient fuse each multiply into its sum (`fma(δ, x,
    /// 0)` at batch 1: the x86 back ends of `f32`), rather than adding it to a zero (`0 + δ·x`).
    /// What a fused optimizer step needs to round each value as the unfused gradient does.
    #[doc(hidden)]
    fn products_fuse() -> bool;
    /// [`momentum`](Scalar::momentum) from the batch-1 gradient `g = δ·xᵀ`, computed value by
    /// value (see [`kernel::momentum_outer`]).
    #[doc(hidden)]
    fn momentum_outer(
        lr: Self,
        mu: Self,
        w: &mut [Self],
        v: &mut [Self],
        delta: &[Self],
        x: &[Self],
    );
}

/// The methods of [`Scalar`] that are the number type's own, written once for `f32` and `f64`:
/// the constants, the exact and the rounding conversions, the comparisons, and libm's functions
/// of the type (`expf` or `exp`, ...), so that every build gives the same bits (`sqrt`, exact
/// in IEEE arithmetic, is the instruction with std).
macro_rules! numbers {
    ($t:ident, $dtype:literal, $sqrt:path, $exp:path, $ln:path, $ln_1p:path, $tanh:path) => {
        const NAME: &'static str = stringify!($t);
        const DTYPE: &'static str = $dtype;
        const ZERO: Self = 0.0;
        const ONE: Self = 1.0;
        const EPSILON: Self = $t::EPSILON;

        #[inline]
        #[allow(clippy::unnecessary_cast, clippy::cast_possible_truncation)]
        fn from_f64(v: f64) -> Self {
            v as $t
        }
        #[inline]
        fn from_f32(v: f32) -> Self {
            <$t>::from(v)
        }
        #[inline]
        fn to_f64(self) -> f64 {
            f64::from(self)
        }
        #[inline]
        #[allow(clippy::unnecessary_cast, clippy::cast_possible_truncation)]
        fn to_f32(self) -> f32 {
            self as f32
        }
        #[inline]
        #[allow(clippy::cast_precision_loss)]
        fn from_usize(n: usize) -> Self {
            n as $t
        }
        #[inline]
        fn is_finite(self) -> bool {
            <$t>::is_finite(self)
        }
        #[inline]
        fn is_nan(self) -> bool {
            <$t>::is_nan(self)
        }
        #[inline]
        fn abs(self) -> Self {
            <$t>::abs(self)
        }
        #[inline]
        fn max(self, other: Self) -> Self {
            <$t>::max(self, other)
        }
        #[inline]
        fn sqrt(self) -> Self {
            // With std the instruction itself (correctly rounded either way), which the
            // compiler vectorises in a loop such as Adam's; libm's inline assembly would keep
            // that loop scalar.
            #[cfg(feature = "std")]
            {
                <$t>::sqrt(self)
            }
            #[cfg(not(feature = "std"))]
            {
                $sqrt(self)
            }
        }
        #[inline]
        fn exp(self) -> Self {
            $exp(self)
        }
        #[inline]
        fn ln(self) -> Self {
            $ln(self)
        }
        #[inline]
        fn ln_1p(self) -> Self {
            $ln_1p(self)
        }
        #[inline]
        fn tanh(self) -> Self {
            $tanh(self)
        }
    };
}

impl Scalar for f32 {
    numbers!(
        f32,
        "F32",
        libm::sqrtf,
        libm::expf,
        libm::logf,
        libm::log1pf,
        libm::tanhf
    );

    #[inline]
    fn softplus(self) -> Self {
        crate::math::softplus(self)
    }
    #[inline]
    fn uniform<R: Rng + ?Sized>(rng: &mut R, range: f64) -> Self {
        let r = range as f32;
        rng.random_range(-r..r)
    }

    #[inline]
    fn affine(n: usize, i: usize, o: usize, x: &[Self], w: &[Self], b: &[Self], out: &mut [Self]) {
        kernel::affine(n, i, o, x, w, b, out);
    }
    #[inline]
    fn weight_grad(
        n: usize,
        i: usize,
        o: usize,
        x: &[Self],
        delta: &[Self],
        gw: &mut [Self],
        gb: &mut [Self],
    ) {
        kernel::weight_grad(n, i, o, x, delta, gw, gb);
    }
    #[inline]
    fn input_grad(n: usize, i: usize, o: usize, delta: &[Self], w: &[Self], dx: &mut [Self]) {
        kernel::input_grad(n, i, o, delta, w, dx);
    }
    #[inline]
    fn activate<A: Activation>(v: &mut [Self], width: usize) {
        A::apply_rows(v, width);
    }
    /// `tanh` layers take the fused kernel, which gives the unfused bits.
    #[inline]
    fn affine_activate<A: Activation>(
        n: usize,
        i: usize,
        o: usize,
        x: &[Self],
        w: &[Self],
        b: &[Self],
        sums: Option<&mut [Self]>,
        out: &mut [Self],
    ) {
        if matches!(A::KIND, ActivationKind::Tanh) {
            return kernel::affine_tanh(n, i, o, x, w, b, sums, out);
        }
        affine_then_activate::<Self, A>(n, i, o, x, w, b, sums, out);
    }
    #[inline]
    fn activate_backward<A: Differentiable<L>, L>(
        z: &[Self],
        a: &[Self],
        grad: &mut [Self],
        width: usize,
    ) {
        A::backward_rows(z, a, grad, width);
    }
    #[inline]
    fn log_sum_exp(z: &[Self]) -> Self {
        kernel::log_sum_exp(z)
    }
    #[inline]
    fn momentum(lr: Self, mu: Self, w: &mut [Self], v: &mut [Self], g: &[Self]) {
        kernel::momentum(lr, mu, w, v, g);
    }
    #[inline]
    fn products_fuse() -> bool {
        kernel::backend_name() != "portable"
    }
    #[inline]
    fn momentum_outer(
        lr: Self,
        mu: Self,
        w: &mut [Self],
        v: &mut [Self],
        delta: &[Self],
        x: &[Self],
    ) {
        kernel::momentum_outer(lr, mu, w, v, delta, x);
    }
}

/// Fails to compile (when an `f64` layer with activation `A` is instantiated) for an
/// activation the `f64` kernels do not have: a custom one, whose functions take `f32`.
struct F64Activation<A>(core::marker::PhantomData<A>);

impl<A: Activation> F64Activation<A> {
    /// Evaluated where [`Scalar::activate`] of `f64` is instantiated for `A`.
    const SUPPORTED: () = assert!(
        !matches!(A::KIND, ActivationKind::Custom { .. }),
        "an f64 network cannot use a custom activation: `CustomActivation` computes in f32"
    );
}

impl Scalar for f64 {
    numbers!(
        f64,
        "F64",
        libm::sqrt,
        libm::exp,
        libm::log,
        libm::log1p,
        libm::tanh
    );

    #[inline]
    fn softplus(self) -> Self {
        double::softplus(self)
    }
    #[inline]
    fn uniform<R: Rng + ?Sized>(rng: &mut R, range: f64) -> Self {
        rng.random_range(-range..range)
    }

    #[inline]
    fn affine(n: usize, i: usize, o: usize, x: &[Self], w: &[Self], b: &[Self], out: &mut [Self]) {
        double::affine(n, i, o, x, w, b, out);
    }
    #[inline]
    fn weight_grad(
        n: usize,
        i: usize,
        o: usize,
        x: &[Self],
        delta: &[Self],
        gw: &mut [Self],
        gb: &mut [Self],
    ) {
        double::weight_grad(n, i, o, x, delta, gw, gb);
    }
    #[inline]
    fn input_grad(n: usize, i: usize, o: usize, delta: &[Self], w: &[Self], dx: &mut [Self]) {
        double::input_grad(n, i, o, delta, w, dx);
    }

    fn activate<A: Activation>(v: &mut [Self], width: usize) {
        #[allow(clippy::let_unit_value)]
        let () = F64Activation::<A>::SUPPORTED;
        match A::KIND {
            ActivationKind::Sigmoid => v.iter_mut().for_each(|x| *x = double::logistic(*x)),
            ActivationKind::Tanh => v.iter_mut().for_each(|x| *x = double::tanh(*x)),
            ActivationKind::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            ActivationKind::Softplus => v.iter_mut().for_each(|x| *x = double::softplus(*x)),
            ActivationKind::Linear | ActivationKind::Custom { .. } => {}
            ActivationKind::Softmax => {
                if width > 0 {
                    v.chunks_exact_mut(width).for_each(double::softmax);
                }
            }
            ActivationKind::Step => v
                .iter_mut()
                .for_each(|x| *x = if *x > 0.0 { 1.0 } else { 0.0 }),
            ActivationKind::LeakyRelu { slope } => {
                let slope = f64::from(slope.get());
                for x in v {
                    if *x <= 0.0 {
                        *x *= slope;
                    }
                }
            }
            ActivationKind::Gelu => v.iter_mut().for_each(|x| *x = double::gelu(*x)),
            ActivationKind::Silu => v.iter_mut().for_each(|x| *x *= double::logistic(*x)),
        }
    }

    fn activate_backward<A: Differentiable<L>, L>(
        z: &[Self],
        a: &[Self],
        grad: &mut [Self],
        width: usize,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = F64Activation::<A>::SUPPORTED;
        let zg = grad.iter_mut().zip(z);
        match A::KIND {
            ActivationKind::Sigmoid => {
                for (g, &s) in grad.iter_mut().zip(a) {
                    *g *= s * (1.0 - s);
                }
            }
            ActivationKind::Tanh => {
                for (g, &t) in grad.iter_mut().zip(a) {
                    *g *= 1.0 - t * t;
                }
            }
            ActivationKind::Relu => zg.for_each(|(g, &z)| {
                if z <= 0.0 {
                    *g = 0.0;
                }
            }),
            ActivationKind::Softplus => zg.for_each(|(g, &z)| *g *= double::logistic(z)),
            ActivationKind::Linear | ActivationKind::Custom { .. } => {}
            // Not `Differentiable`: no training method reaches here with it.
            ActivationKind::Step => grad.fill(0.0),
            ActivationKind::Softmax => {
                if width > 0 {
                    for (a, g) in a.chunks_exact(width).zip(grad.chunks_exact_mut(width)) {
                        double::softmax_backward(a, g);
                    }
                }
            }
            ActivationKind::LeakyRelu { slope } => {
                let slope = f64::from(slope.get());
                zg.for_each(|(g, &z)| {
                    if z <= 0.0 {
                        *g *= slope;
                    }
                });
            }
            ActivationKind::Gelu => zg.for_each(|(g, &z)| *g *= double::gelu_derivative(z)),
            ActivationKind::Silu => zg.for_each(|(g, &z)| {
                let s = double::logistic(z);
                *g *= s * (1.0 + z * (1.0 - s));
            }),
        }
    }

    #[inline]
    fn log_sum_exp(z: &[Self]) -> Self {
        double::log_sum_exp(z)
    }
    #[inline]
    fn momentum(lr: Self, mu: Self, w: &mut [Self], v: &mut [Self], g: &[Self]) {
        double::momentum(lr, mu, w, v, g);
    }
    #[inline]
    fn products_fuse() -> bool {
        // No `f64` product variant fuses (`kernel/double.rs`).
        false
    }
    fn momentum_outer(
        lr: Self,
        mu: Self,
        w: &mut [Self],
        v: &mut [Self],
        delta: &[Self],
        x: &[Self],
    ) {
        kernel::check_outer(w.len(), v.len(), delta.len(), x.len());
        let i = x.len();
        if i == 0 {
            return;
        }
        for ((wr, vr), &d) in w.chunks_exact_mut(i).zip(v.chunks_exact_mut(i)).zip(delta) {
            for ((w, v), &x) in wr.iter_mut().zip(vr.iter_mut()).zip(x) {
                // As `double::weight_grad` rounds it at batch 1: each product added to a zero.
                let g = 0.0 + d * x;
                *v = lr * g + mu * *v;
                *w -= *v;
            }
        }
    }
}
