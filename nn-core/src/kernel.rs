//! The arithmetic under [`Dense`](crate::Dense): the three matrix products of a layer.
//!
//! All matrices are row-major. `n` is the batch size, `i` a layer's inputs, `o` its outputs.
//! These are plain loops written so that the compiler vectorises them (fixed strides,
//! independent accumulators); they allocate nothing.

/// Lanes of independent accumulators in [`dot`]: enough to fill a 256-bit register and hide the
/// latency of the adds.
const LANES: usize = 8;

/// The dot product `Σ a[k]·b[k]`, summed in eight independent partial sums so that it
/// vectorises without reordering a single running sum.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f32; LANES];
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
    let half = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (half[0] + half[2]) + (half[1] + half[3]) + tail
}

/// `y += alpha · x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Forward product `out = X·Wᵀ + 1·bᵀ`: `x` is `n × i`, `w` is `o × i`, `b` has `o` values and
/// `out` is `n × o`.
#[inline]
pub fn affine(n: usize, i: usize, o: usize, x: &[f32], w: &[f32], b: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks_exact(i).zip(out.chunks_exact_mut(o)).take(n) {
        for ((out, row), bias) in os.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *out = bias + dot(row, xs);
        }
    }
}

/// Weight gradient `gw = Δᵀ·X` and bias gradient `gb = Σ_rows Δ`, overwriting both: `delta` is
/// `n × o`, `x` is `n × i`, `gw` is `o × i`.
#[inline]
pub fn weight_grad(
    n: usize,
    i: usize,
    o: usize,
    x: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
) {
    gw.fill(0.0);
    gb.fill(0.0);
    for (xs, ds) in x.chunks_exact(i).zip(delta.chunks_exact(o)).take(n) {
        for ((row, &d), b) in gw.chunks_exact_mut(i).zip(ds).zip(gb.iter_mut()) {
            *b += d;
            if d != 0.0 {
                axpy(d, xs, row);
            }
        }
    }
}

/// Input gradient `dx = Δ·W`, overwriting `dx`: `delta` is `n × o`, `w` is `o × i`, `dx` is
/// `n × i`.
#[inline]
pub fn input_grad(n: usize, i: usize, o: usize, delta: &[f32], w: &[f32], dx: &mut [f32]) {
    for (ds, dxs) in delta.chunks_exact(o).zip(dx.chunks_exact_mut(i)).take(n) {
        dxs.fill(0.0);
        for (row, &d) in w.chunks_exact(i).zip(ds) {
            axpy(d, row, dxs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|k| k as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|k| 1.0 - k as f32 * 0.25).collect();
        let want: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        assert!((f64::from(dot(&a, &b)) - want).abs() < 1e-3);
    }
}
