//! The kernels of an `f64` network: the three products of a dense layer, the activations and
//! the momentum update over `f64` slices.
//!
//! Plain loops with fixed strides and independent accumulators, written so that the compiler
//! vectorises them; [`Scalar`](crate::scalar::Scalar)'s `f64` implementation calls them. They
//! have the contracts of the `f32` kernels of the same names in the [parent module](super)
//! (shapes, overwriting, a sum order fixed by the shapes alone, so the same inputs give the
//! same bits run after run) and check their slices the same way (a short slice panics instead
//! of being read past). The elementwise functions are libm's `f64` ones (musl's, correctly
//! rounded to within an ulp), so an `f64` network gives the same bits on every platform.
//!
//! An `f64` network is for precision, not speed: it carries half as many values a vector
//! register and its transcendental functions are scalar; BENCHMARKS.md has the figures next to
//! the `f32` kernels.

/// Independent partial sums in [`dot`]: four `f64` lanes fill a 256-bit register.
const LANES: usize = 4;

/// `Σ a[k]·b[k]` over the shorter length, in four partial sums.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f64; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for k in 0..LANES {
            acc[k] += xa[k] * xb[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `y += alpha · x`.
#[inline]
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `out = X·Wᵀ + 1·bᵀ`: `x` is `n × i`, `w` is `o × i`, `b` has `o` values, `out` is `n × o`.
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn affine(
    n: usize,
    i: usize,
    o: usize,
    x: &[f64],
    w: &[f64],
    b: &[f64],
    out: &mut [f64],
) {
    let (x, w, b, out) = (&x[..n * i], &w[..o * i], &b[..o], &mut out[..n * o]);
    if i == 0 {
        for row in out.chunks_exact_mut(o.max(1)) {
            row.copy_from_slice(b);
        }
        return;
    }
    for (xr, zr) in x.chunks_exact(i).zip(out.chunks_exact_mut(o.max(1))) {
        for ((z, wr), &bias) in zr.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *z = bias + dot(xr, wr);
        }
    }
}

/// `gw = Δᵀ·X`, `gb = Σ_rows Δ`, overwriting both: `delta` is `n × o`, `x` is `n × i`, `gw` is
/// `o × i`.
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn weight_grad(
    n: usize,
    i: usize,
    o: usize,
    x: &[f64],
    delta: &[f64],
    gw: &mut [f64],
    gb: &mut [f64],
) {
    let (x, delta, gw, gb) = (&x[..n * i], &delta[..n * o], &mut gw[..o * i], &mut gb[..o]);
    gw.fill(0.0);
    gb.fill(0.0);
    if o == 0 {
        return;
    }
    for (r, dr) in delta.chunks_exact(o).enumerate() {
        let xr = &x[r * i..(r + 1) * i];
        for (j, &d) in dr.iter().enumerate() {
            axpy(d, xr, &mut gw[j * i..(j + 1) * i]);
            gb[j] += d;
        }
    }
}

/// `dx = Δ·W`, overwriting `dx`: `delta` is `n × o`, `w` is `o × i`, `dx` is `n × i`.
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn input_grad(n: usize, i: usize, o: usize, delta: &[f64], w: &[f64], dx: &mut [f64]) {
    let (delta, w, dx) = (&delta[..n * o], &w[..o * i], &mut dx[..n * i]);
    dx.fill(0.0);
    if i == 0 || o == 0 {
        return;
    }
    for (dr, xr) in delta.chunks_exact(o).zip(dx.chunks_exact_mut(i)) {
        for (&d, wr) in dr.iter().zip(w.chunks_exact(i)) {
            axpy(d, wr, xr);
        }
    }
}

/// The logistic function of one value, two-sided so that neither form overflows.
#[inline]
pub(crate) fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` as `max(z, 0) + ln(1 + e^-|z|)`, which never overflows.
#[inline]
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + libm::log1p(libm::exp(-z.abs()))
}

/// `tanh` of one value.
#[inline]
pub(crate) fn tanh(z: f64) -> f64 {
    libm::tanh(z)
}

/// `√(2/π)`, in the tanh form of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh form of GELU.
const GELU_CUBIC: f64 = 0.044_715;

/// GELU (tanh form) of one value.
#[inline]
pub(crate) fn gelu(z: f64) -> f64 {
    let u = SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z);
    0.5 * z * (1.0 + tanh(u))
}

/// The derivative of GELU (tanh form) at `z`.
#[inline]
pub(crate) fn gelu_derivative(z: f64) -> f64 {
    let u = SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z);
    let t = tanh(u);
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * z * z);
    0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du
}

/// Softmax of one row in place: `e^(z - max z)` in order, their sum, each times its reciprocal.
pub(crate) fn softmax(v: &mut [f64]) {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = libm::exp(*x - m);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        *x *= inv;
    }
}

/// The chain rule through softmax for one row: `g ← a ⊙ (g - a·g)`.
pub(crate) fn softmax_backward(a: &[f64], g: &mut [f64]) {
    let dot: f64 = a.iter().zip(g.iter()).map(|(a, g)| a * g).sum();
    for (g, &a) in g.iter_mut().zip(a) {
        *g = a * (*g - dot);
    }
}

/// `m + ln Σ e^(z - m)`, `m = max z`, the sum in order.
pub(crate) fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + libm::log(z.iter().map(|z| libm::exp(z - m)).sum::<f64>())
}

/// The momentum update `v ← lr·g + mu·v`, `w ← w - v`.
pub(crate) fn momentum(lr: f64, mu: f64, w: &mut [f64], v: &mut [f64], g: &[f64]) {
    for ((w, v), g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
        *v = lr * g + mu * *v;
        *w -= *v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in `[-1, 1)` from a small linear congruential generator.
    fn values(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    #[test]
    fn products_match_the_definitions_at_odd_sizes() {
        for &(n, i, o) in &[
            (1, 1, 1),
            (3, 7, 5),
            (5, 13, 9),
            (2, 0, 3),
            (4, 6, 1),
            (1, 33, 17),
        ] {
            let x = values(n * i, 1);
            let w = values(o * i, 2);
            let b = values(o, 3);
            let d = values(n * o, 4);
            let mut z = vec![0.0; n * o];
            affine(n, i, o, &x, &w, &b, &mut z);
            let (mut gw, mut gb) = (vec![7.0; o * i], vec![7.0; o]);
            weight_grad(n, i, o, &x, &d, &mut gw, &mut gb);
            let mut dx = vec![7.0; n * i];
            input_grad(n, i, o, &d, &w, &mut dx);
            for r in 0..n {
                for j in 0..o {
                    let want: f64 = b[j] + (0..i).map(|k| x[r * i + k] * w[j * i + k]).sum::<f64>();
                    assert!(
                        (z[r * o + j] - want).abs() <= 1e-15 * (1.0 + want.abs()),
                        "affine"
                    );
                }
                for k in 0..i {
                    let want: f64 = (0..o).map(|j| d[r * o + j] * w[j * i + k]).sum();
                    assert!(
                        (dx[r * i + k] - want).abs() <= 1e-15 * (1.0 + want.abs()),
                        "input_grad"
                    );
                }
            }
            for j in 0..o {
                let want_b: f64 = (0..n).map(|r| d[r * o + j]).sum();
                assert!(
                    (gb[j] - want_b).abs() <= 1e-15 * (1.0 + want_b.abs()),
                    "bias grad"
                );
                for k in 0..i {
                    let want: f64 = (0..n).map(|r| d[r * o + j] * x[r * i + k]).sum();
                    assert!(
                        (gw[j * i + k] - want).abs() <= 1e-15 * (1.0 + want.abs()),
                        "weight_grad"
                    );
                }
            }
        }
    }

    #[test]
    fn the_functions_are_stable_at_large_inputs() {
        assert_eq!((logistic(-1000.0), logistic(1000.0)), (0.0, 1.0));
        assert!(logistic(-700.0) > 0.0);
        assert_eq!((softplus(1000.0), softplus(-1000.0)), (1000.0, 0.0));
        assert!((softplus(0.0) - core::f64::consts::LN_2).abs() < 1e-16);
        let mut row = [1000.0, 0.0, -1000.0];
        softmax(&mut row);
        assert_eq!(row, [1.0, 0.0, 0.0]);
        assert!((log_sum_exp(&[0.0, 0.0]) - core::f64::consts::LN_2).abs() < 1e-16);
        assert_eq!(
            log_sum_exp(&[1000.0, 1000.0]),
            1000.0 + core::f64::consts::LN_2
        );
    }

    #[test]
    #[should_panic]
    fn a_short_slice_panics_instead_of_reading_past_it() {
        let mut z = [0.0; 3];
        affine(2, 2, 2, &[1.0; 4], &[1.0; 4], &[0.0; 2], &mut z);
    }
}
