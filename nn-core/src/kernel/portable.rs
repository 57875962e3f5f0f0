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

/// See [`super::logistic_in_place`]: [`math::logistic`] of every value.
#[inline]
pub(super) fn logistic(v: &mut [f32]) {
    for x in v {
        *x = math::logistic(*x);
    }
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

    fn logistic(&self, v: &mut [f32]) {
        logistic(v);
    }
}
