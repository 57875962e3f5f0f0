//! The portable back end: plain loops, for CPUs without AVX2 and FMA (and as the second
//! reference of the tests), written so that the compiler vectorises them for the baseline
//! target (fixed strides, independent accumulators). Safe code only.

use super::{axpy, bias_grad, check_affine, check_input_grad, check_weight_grad, dot, Backend};
use crate::math;

/// The portable back end (every CPU has it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Portable;

/// See [`super::momentum`]; also compiled, inlined, into the SIMD back ends, which therefore
/// give the same bits.
#[inline(always)]
pub(super) fn momentum(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
    for ((w, v), g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
        *v = lr * g + mu * *v;
        *w -= *v;
    }
}

/// The body of [`super::momentum_outer`], every back end's: `product(δⱼ, xₖ)` is the gradient
/// value, rounded as the back end's weight gradient rounds it at batch 1; then the momentum
/// update of [`momentum`], in the same operations.
#[inline(always)]
pub(super) fn momentum_outer(
    lr: f32,
    mu: f32,
    w: &mut [f32],
    v: &mut [f32],
    delta: &[f32],
    x: &[f32],
    product: impl Fn(f32, f32) -> f32,
) {
    let i = x.len();
    if i == 0 {
        return;
    }
    for ((wr, vr), &d) in w.chunks_exact_mut(i).zip(v.chunks_exact_mut(i)).zip(delta) {
        for ((w, v), &x) in wr.iter_mut().zip(vr.iter_mut()).zip(x) {
            let g = product(d, x);
            *v = lr * g + mu * *v;
            *w -= *v;
        }
    }
}

/// See [`super::gelu_in_place`]: GELU's tanh form, `z/2 · (1 + tanh u)`, of every value.
#[inline]
pub(super) fn gelu(v: &mut [f32]) {
    for x in v {
        *x = crate::activation::Gelu::function(*x);
    }
}

/// See [`super::gelu_backward`]: `g ← g·gelu'(z)`, from the tanh form's derivative.
#[inline]
pub(super) fn gelu_backward(z: &[f32], g: &mut [f32]) {
    for (g, &z) in g.iter_mut().zip(z) {
        *g *= crate::activation::Gelu::derivative(z);
    }
}

/// See [`super::silu_in_place`]: `z·σ(z)` with [`math::logistic`].
#[inline]
pub(super) fn silu(v: &mut [f32]) {
    for x in v {
        *x *= math::logistic(*x);
    }
}

/// See [`super::silu_backward`]: `g ← g·σ(z)(1 + z(1 - σ(z)))`.
#[inline]
pub(super) fn silu_backward(z: &[f32], g: &mut [f32]) {
    for (g, &z) in g.iter_mut().zip(z) {
        let s = math::logistic(z);
        *g *= s * (1.0 + z * (1.0 - s));
    }
}

/// See [`super::leaky_relu_in_place`]; compiled into every back end, so the same bits.
#[inline(always)]
pub(super) fn leaky_relu(v: &mut [f32], slope: f32) {
    for x in v {
        if *x <= 0.0 {
            *x *= slope;
        }
    }
}

/// See [`super::leaky_relu_backward`]; compiled into every back end, so the same bits.
#[inline(always)]
pub(super) fn leaky_relu_backward(z: &[f32], g: &mut [f32], slope: f32) {
    for (g, &z) in g.iter_mut().zip(z) {
        if z <= 0.0 {
            *g *= slope;
        }
    }
}

/// See [`super::logistic_in_place`]: [`math::logistic`] of every value. Never inlined: the x86
/// back ends call it for the values past their last vector, and inlined there its loop made
/// each of their calls save and restore registers for it, tail or no tail.
#[inline(never)]
pub(super) fn logistic(v: &mut [f32]) {
    for x in v {
        *x = math::logistic(*x);
    }
}

// The backward passes of sigmoid, tanh and relu and the relu itself: loops that every back end
// compiles from this one source (the x86 ones with their features enabled, so in wider
// vectors), and so give the same bits everywhere. Rust never fuses `a·b + c` on its own.

/// See [`super::logistic_backward`].
#[inline(always)]
pub(super) fn logistic_backward(a: &[f32], g: &mut [f32]) {
    for (g, &s) in g.iter_mut().zip(a) {
        *g *= s * (1.0 - s);
    }
}

/// See [`super::tanh_backward`].
#[inline(always)]
pub(super) fn tanh_backward(a: &[f32], g: &mut [f32]) {
    for (g, &t) in g.iter_mut().zip(a) {
        *g *= 1.0 - t * t;
    }
}

/// See [`super::relu_in_place`].
#[inline(always)]
pub(super) fn relu(v: &mut [f32]) {
    for x in v {
        *x = x.max(0.0);
    }
}

/// See [`super::relu_backward`].
#[inline(always)]
pub(super) fn relu_backward(z: &[f32], g: &mut [f32]) {
    for (g, &z) in g.iter_mut().zip(z) {
        if z <= 0.0 {
            *g = 0.0;
        }
    }
}

/// See [`super::tanh_in_place`]: `f32::tanh` of every value.
#[inline]
pub(super) fn tanh(v: &mut [f32]) {
    for x in v {
        *x = math::tanh(*x);
    }
}

/// See [`super::softplus_in_place`]: [`math::softplus`] of every value.
#[inline]
pub(super) fn softplus(v: &mut [f32]) {
    for x in v {
        *x = math::softplus(*x);
    }
}

/// See [`super::softplus_backward`]: `g ← g·σ(z)` with [`math::logistic`].
#[inline]
pub(super) fn softplus_backward(z: &[f32], g: &mut [f32]) {
    for (g, &z) in g.iter_mut().zip(z) {
        *g *= math::logistic(z);
    }
}

/// See [`super::softmax_in_place`]: `e^(z - max z)` in order, their sum in order, then each
/// times the sum's reciprocal.
#[inline]
pub(super) fn softmax(v: &mut [f32]) {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = math::exp(*x - m);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        *x *= inv;
    }
}

/// See [`super::softmax_backward`]: `g ← a ⊙ (g - a·g)`, the dot product summed in order.
#[inline]
pub(super) fn softmax_backward(a: &[f32], g: &mut [f32]) {
    let dot: f32 = a.iter().zip(g.iter()).map(|(a, g)| a * g).sum();
    for (g, &a) in g.iter_mut().zip(a) {
        *g = a * (*g - dot);
    }
}

/// See [`super::softmax_rows`]: [`softmax`] of each row in order.
#[inline]
pub(super) fn softmax_rows(v: &mut [f32], width: usize) {
    if width > 0 {
        v.chunks_exact_mut(width).for_each(softmax);
    }
}

/// See [`super::softmax_backward_rows`]: [`softmax_backward`] of each row in order.
#[inline]
pub(super) fn softmax_backward_rows(a: &[f32], g: &mut [f32], width: usize) {
    if width > 0 {
        for (a, g) in a.chunks_exact(width).zip(g.chunks_exact_mut(width)) {
            softmax_backward(a, g);
        }
    }
}

/// See [`super::log_sum_exp`]: `m + ln Σ e^(z - m)`, the sum in order.
#[inline]
pub(super) fn log_sum_exp(z: &[f32]) -> f32 {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    m + math::ln(z.iter().map(|z| math::exp(z - m)).sum::<f32>())
}

impl Backend for Portable {
    fn name(&self) -> &'static str {
        "portable"
    }

    fn affine(
        &self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        out: &mut [f32],
    ) {
        check_affine(n, i, o, x, w, b, out);
        if o == 0 {
            return;
        }
        for (r, os) in out.chunks_exact_mut(o).take(n).enumerate() {
            let xs = &x[r * i..(r + 1) * i];
            for (j, (out, bias)) in os.iter_mut().zip(b).enumerate() {
                *out = bias + dot(&w[j * i..(j + 1) * i], xs);
            }
        }
    }

    fn weight_grad(
        &self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        delta: &[f32],
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        check_weight_grad(n, i, o, x, delta, gw, gb);
        bias_grad(n, o, delta, gb);
        let gw = &mut gw[..o * i];
        gw.fill(0.0);
        if i == 0 {
            return;
        }
        for r in 0..n {
            let xs = &x[r * i..(r + 1) * i];
            for (row, &d) in gw.chunks_exact_mut(i).zip(&delta[r * o..(r + 1) * o]) {
                axpy(d, xs, row);
            }
        }
    }

    fn input_grad(&self, n: usize, i: usize, o: usize, delta: &[f32], w: &[f32], dx: &mut [f32]) {
        check_input_grad(n, i, o, delta, w, dx);
        for r in 0..n {
            let dxs = &mut dx[r * i..(r + 1) * i];
            dxs.fill(0.0);
            for (j, &d) in delta[r * o..(r + 1) * o].iter().enumerate() {
                axpy(d, &w[j * i..(j + 1) * i], dxs);
            }
        }
    }

    fn momentum(&self, lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
        momentum(lr, mu, w, v, g);
    }

    fn momentum_outer(
        &self,
        lr: f32,
        mu: f32,
        w: &mut [f32],
        v: &mut [f32],
        delta: &[f32],
        x: &[f32],
    ) {
        // The portable weight gradient adds each product to a zeroed gradient (`axpy`).
        momentum_outer(lr, mu, w, v, delta, x, |d, x| 0.0 + d * x);
    }

    fn logistic(&self, v: &mut [f32]) {
        logistic(v);
    }

    fn gelu(&self, v: &mut [f32]) {
        gelu(v);
    }

    fn gelu_backward(&self, z: &[f32], g: &mut [f32]) {
        gelu_backward(z, g);
    }

    fn silu(&self, v: &mut [f32]) {
        silu(v);
    }

    fn silu_backward(&self, z: &[f32], g: &mut [f32]) {
        silu_backward(z, g);
    }

    fn leaky_relu(&self, v: &mut [f32], slope: f32) {
        leaky_relu(v, slope);
    }

    fn leaky_relu_backward(&self, z: &[f32], g: &mut [f32], slope: f32) {
        leaky_relu_backward(z, g, slope);
    }

    fn logistic_backward(&self, a: &[f32], g: &mut [f32]) {
        logistic_backward(a, g);
    }

    fn tanh(&self, v: &mut [f32]) {
        tanh(v);
    }

    fn tanh_backward(&self, a: &[f32], g: &mut [f32]) {
        tanh_backward(a, g);
    }

    fn relu(&self, v: &mut [f32]) {
        relu(v);
    }

    fn relu_backward(&self, z: &[f32], g: &mut [f32]) {
        relu_backward(z, g);
    }

    fn softplus(&self, v: &mut [f32]) {
        softplus(v);
    }

    fn softplus_backward(&self, z: &[f32], g: &mut [f32]) {
        softplus_backward(z, g);
    }

    fn softmax(&self, v: &mut [f32]) {
        softmax(v);
    }

    fn softmax_backward(&self, a: &[f32], g: &mut [f32]) {
        softmax_backward(a, g);
    }

    fn softmax_rows(&self, v: &mut [f32], width: usize) {
        softmax_rows(v, width);
    }

    fn softmax_backward_rows(&self, a: &[f32], g: &mut [f32], width: usize) {
        softmax_backward_rows(a, g, width);
    }

    fn log_sum_exp(&self, z: &[f32]) -> f32 {
        log_sum_exp(z)
    }
}
