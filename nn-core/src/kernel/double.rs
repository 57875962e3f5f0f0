//! The kernels of an `f64` network: the three products of a dense layer, the activations and
//! the momentum update over `f64` slices.
//!
//! [`Scalar`](crate::scalar::Scalar)'s `f64` implementation calls them. They have the
//! contracts of the `f32` kernels of the same names in the [parent module](super) (shapes,
//! overwriting, a sum order fixed by the shapes alone, so the same inputs give the same bits
//! run after run) and check their slices the same way (a short slice panics instead of being
//! read past).
//!
//! The products come in variants, chosen once a process like the `f32` back ends: on x86-64,
//! AVX-512F or AVX2 + FMA if the CPU has them (`kernel/x86/double.rs`; at compile time from the
//! target features without `std`), the portable loops here otherwise or with
//! `NN_KERNEL=portable`. Each dot product of [`affine`] runs in [`LANES`] partial sums; the
//! gradients are sums of scaled rows over register tiles ([`scaled_rows`]). Unlike the `f32`
//! back ends, the variants never fuse a multiply-add and sum in the same order, so they give
//! the same bits: an `f64` network computes the same numbers on every CPU (the tests compare
//! every variant's bits). Fusing would save no time here (Zen 5 issues two multiplies and two
//! adds a cycle, as many as two FMAs) and would lose that.
//!
//! The elementwise functions are libm's `f64` ones (musl's, correctly rounded to within an
//! ulp), scalar, so they too give the same bits on every platform. BENCHMARKS.md has the
//! figures next to the `f32` kernels.

use super::check;

/// Lanes of partial sums in a dot product of [`affine`]: output `(r, j)` sums the products
/// `x[r][k]·w[j][k]` with `k ≡ l (mod LANES)` in lane `l`, in order of `k`, adds the lanes by
/// [`lane_sum`] and then the products past the last whole block of lanes ([`dot_finish`]).
/// Eight lanes fill one AVX-512 register (two AVX2 ones), and every variant sums this way.
pub(crate) const LANES: usize = 8;

/// Adds eight lanes as `((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))`: halves, then
/// quarters, as vector code adds them.
#[inline(always)]
fn lane_sum(a: [f64; LANES]) -> f64 {
    let h: [f64; 4] = core::array::from_fn(|l| a[l] + a[l + 4]);
    let q = [h[0] + h[2], h[1] + h[3]];
    q[0] + q[1]
}

/// The end of one dot product of [`affine`]: the [`lane_sum`] of its lanes plus the products
/// past the last whole block of lanes (`x_tail`, `w_tail`), summed in order from 0. Every
/// variant ends its sums here, so all give the same bits.
#[inline]
pub(crate) fn dot_finish(acc: [f64; LANES], x_tail: &[f64], w_tail: &[f64]) -> f64 {
    let mut tail = 0.0;
    for (x, w) in x_tail.iter().zip(w_tail) {
        tail += x * w;
    }
    lane_sum(acc) + tail
}

/// `Σ a[k]·b[k]` over the shorter length, in [`LANES`] partial sums ended by [`dot_finish`].
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let (ab, at) = a.as_chunks::<LANES>();
    let (bb, bt) = b.as_chunks::<LANES>();
    let mut acc = [0.0f64; LANES];
    for (x, w) in ab.iter().zip(bb) {
        for l in 0..LANES {
            acc[l] += x[l] * w[l];
        }
    }
    dot_finish(acc, at, bt)
}

/// [`affine`] in portable code: one [`dot`] an output. Register tiles (2 × 4 outputs, eight
/// lanes each) measured no faster compiled for the baseline x86-64 (SSE2: sixteen 128-bit
/// registers), and slower at 256 × 256 (372 against 251 µs a batch of 32).
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn affine_portable(
    n: usize,
    i: usize,
    o: usize,
    x: &[f64],
    w: &[f64],
    b: &[f64],
    out: &mut [f64],
) {
    check(x.len(), n, i);
    check(w.len(), o, i);
    check(b.len(), 1, o);
    check(out.len(), n, o);
    let (x, w, b, out) = (&x[..n * i], &w[..o * i], &b[..o], &mut out[..n * o]);
    if o == 0 {
        return;
    }
    if i == 0 {
        for row in out.chunks_exact_mut(o) {
            row.copy_from_slice(b);
        }
        return;
    }
    for (xr, zr) in x.chunks_exact(i).zip(out.chunks_exact_mut(o)) {
        for ((z, wr), &bias) in zr.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *z = bias + dot(xr, wr);
        }
    }
}

/// The most rows of a tile of [`scaled_rows`].
const TILE_ROWS: usize = 4;

/// `acc[l] += s·row[l]` for every lane (a product rounded, then added: Rust never contracts
/// `a·b + c` into one FMA).
#[inline(always)]
fn scale_add_lanes<const L: usize>(acc: &mut [f64; L], s: f64, row: &[f64; L]) {
    for l in 0..L {
        acc[l] += s * row[l];
    }
}

/// `$body` once for each literal `m` of the list with `m < $rows`: with the tile's shape a
/// constant, the compiler keeps the statements of the tile and drops the rest. Literal indices
/// (rather than a loop over `m`, which the compiler unrolls or not by its own cost model) keep
/// every accumulator in registers.
macro_rules! each_row {
    ($rows:expr, [$($m:literal)*], |$mm:ident| $body:block) => {
        $(
            if $m < $rows {
                let $mm: usize = $m;
                $body
            }
        )*
    };
}

/// `c[m][k] = Σ_p a(m, p)·bm[p][k]` for `rows` rows of `cols` columns, summed in order of `p`
/// from 0 (`a(m, p) = a[m·a_row + p·a_col]`, `bm` is `terms × cols`, `c` is `rows × cols`,
/// overwritten): the form of both gradients' products. A tile is `M` rows of `c` times `C`
/// columns, `M·C` accumulators, each row of `bm` loaded once a tile and each `a(m, p)` used
/// `C` times; the columns go in strips of `C` (then one), the rows in tiles of `M` (then one),
/// each strip of `bm` staying in L1 while every row tile runs past it. The order of each sum is
/// that of `p` whatever the tile, so the tile never changes a bit.
///
/// # Panics
///
/// If a slice is shorter than its matrix (or `a` than the last `a(m, p)`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scaled_rows<const M: usize, const C: usize>(
    rows: usize,
    terms: usize,
    cols: usize,
    a: &[f64],
    a_row: usize,
    a_col: usize,
    bm: &[f64],
    c: &mut [f64],
) {
    check(bm.len(), terms, cols);
    check(c.len(), rows, cols);
    let mut k0 = 0;
    while k0 + C <= cols {
        scaled_strip::<M, C>(rows, terms, cols, k0, a, a_row, a_col, bm, c);
        k0 += C;
    }
    while k0 < cols {
        scaled_strip::<M, 1>(rows, terms, cols, k0, a, a_row, a_col, bm, c);
        k0 += 1;
    }
}

/// Columns `k0..k0 + C` of [`scaled_rows`], in tiles of `M` rows, then one by one (also the
/// x86 variants' last columns).
///
/// # Panics
///
/// If a slice is shorter than the rows and columns it reads or writes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn scaled_strip<const M: usize, const C: usize>(
    rows: usize,
    terms: usize,
    cols: usize,
    k0: usize,
    a: &[f64],
    a_row: usize,
    a_col: usize,
    bm: &[f64],
    c: &mut [f64],
) {
    let mut m0 = 0;
    while m0 + M <= rows {
        let acc = scaled_tile::<M, C>(m0, terms, cols, k0, a, a_row, a_col, bm);
        for (m, acc) in acc.iter().enumerate() {
            c[(m0 + m) * cols + k0..][..C].copy_from_slice(acc);
        }
        m0 += M;
    }
    while m0 < rows {
        let [acc] = scaled_tile::<1, C>(m0, terms, cols, k0, a, a_row, a_col, bm);
        c[m0 * cols + k0..][..C].copy_from_slice(&acc);
        m0 += 1;
    }
}

/// One `M × C` tile of [`scaled_rows`] from row `m0` and column `k0`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scaled_tile<const M: usize, const C: usize>(
    m0: usize,
    terms: usize,
    cols: usize,
    k0: usize,
    a: &[f64],
    a_row: usize,
    a_col: usize,
    bm: &[f64],
) -> [[f64; C]; M] {
    const { assert!(M <= TILE_ROWS) };
    let mut acc = [[0.0f64; C]; TILE_ROWS];
    for p in 0..terms {
        let row = bm[p * cols + k0..]
            .first_chunk::<C>()
            .expect("a row of the right operand holds the strip");
        each_row!(M, [0 1 2 3], |m| {
            scale_add_lanes(&mut acc[m], a[(m0 + m) * a_row + p * a_col], row);
        });
    }
    core::array::from_fn(|m| acc[m])
}

/// Rows and columns of a tile of the portable gradients: 4 × 8 measured twice as fast as one
/// row at a time (the loops before tiles), for the baseline x86-64.
const GRAD_TILE: (usize, usize) = (4, 8);

/// The bias gradient `gb[j] = Σ_r Δ[r][j]`, in order of rows from 0, overwriting `gb`; shared
/// by every variant.
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn bias_grad(n: usize, o: usize, delta: &[f64], gb: &mut [f64]) {
    check(delta.len(), n, o);
    let gb = &mut gb[..o];
    gb.fill(0.0);
    for dr in delta.chunks_exact(o.max(1)).take(n) {
        for (gb, d) in gb.iter_mut().zip(dr) {
            *gb += d;
        }
    }
}

/// [`weight_grad`] in portable code: [`bias_grad`], then `∂W = Δᵀ·X` by [`scaled_rows`]
/// (`c = ∂W` is `o × i`, `a(m, p) = Δ[p][m]`, `bm = X`).
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn weight_grad_portable(
    n: usize,
    i: usize,
    o: usize,
    x: &[f64],
    delta: &[f64],
    gw: &mut [f64],
    gb: &mut [f64],
) {
    check(x.len(), n, i);
    check(gw.len(), o, i);
    bias_grad(n, o, delta, gb);
    scaled_rows::<{ GRAD_TILE.0 }, { GRAD_TILE.1 }>(o, n, i, delta, 1, o, x, gw);
}

/// [`input_grad`] in portable code: `∂X = Δ·W` by [`scaled_rows`] (`c = ∂X` is `n × i`,
/// `a(m, p) = Δ[m][p]`, `bm = W`).
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn input_grad_portable(
    n: usize,
    i: usize,
    o: usize,
    delta: &[f64],
    w: &[f64],
    dx: &mut [f64],
) {
    check(delta.len(), n, o);
    scaled_rows::<{ GRAD_TILE.0 }, { GRAD_TILE.1 }>(n, o, i, delta, o, 1, w, dx);
}

/// The variant of the products this process runs: see [`Products`](super::x86::double::Products)
/// on x86-64, the portable loops elsewhere or with `NN_KERNEL=portable`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn products() -> Option<super::x86::double::Products> {
    #[cfg(feature = "std")]
    {
        static CHOSEN: std::sync::OnceLock<Option<super::x86::double::Products>> =
            std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            if std::env::var_os("NN_KERNEL").is_some_and(|v| v == "portable") {
                return None;
            }
            super::x86::double::Products::detect()
        })
    }
    #[cfg(not(feature = "std"))]
    super::x86::double::Products::detect()
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
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = products() {
        return cpu.affine(n, i, o, x, w, b, out);
    }
    affine_portable(n, i, o, x, w, b, out);
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
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = products() {
        return cpu.weight_grad(n, i, o, x, delta, gw, gb);
    }
    weight_grad_portable(n, i, o, x, delta, gw, gb);
}

/// `dx = Δ·W`, overwriting `dx`: `delta` is `n × o`, `w` is `o × i`, `dx` is `n × i`.
///
/// # Panics
///
/// If a slice is shorter than its matrix.
pub(crate) fn input_grad(n: usize, i: usize, o: usize, delta: &[f64], w: &[f64], dx: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = products() {
        return cpu.input_grad(n, i, o, delta, w, dx);
    }
    input_grad_portable(n, i, o, delta, w, dx);
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

    /// One variant of the products, called directly (not through the dispatch).
    #[derive(Clone, Copy)]
    enum Variant {
        Portable,
        #[cfg(target_arch = "x86_64")]
        X86(crate::kernel::x86::double::Products),
    }

    impl Variant {
        #[allow(clippy::too_many_arguments)]
        fn affine(
            self,
            n: usize,
            i: usize,
            o: usize,
            x: &[f64],
            w: &[f64],
            b: &[f64],
            z: &mut [f64],
        ) {
            match self {
                Variant::Portable => affine_portable(n, i, o, x, w, b, z),
                #[cfg(target_arch = "x86_64")]
                Variant::X86(cpu) => cpu.affine(n, i, o, x, w, b, z),
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn weight_grad(
            self,
            n: usize,
            i: usize,
            o: usize,
            x: &[f64],
            d: &[f64],
            gw: &mut [f64],
            gb: &mut [f64],
        ) {
            match self {
                Variant::Portable => weight_grad_portable(n, i, o, x, d, gw, gb),
                #[cfg(target_arch = "x86_64")]
                Variant::X86(cpu) => cpu.weight_grad(n, i, o, x, d, gw, gb),
            }
        }

        fn input_grad(self, n: usize, i: usize, o: usize, d: &[f64], w: &[f64], dx: &mut [f64]) {
            match self {
                Variant::Portable => input_grad_portable(n, i, o, d, w, dx),
                #[cfg(target_arch = "x86_64")]
                Variant::X86(cpu) => cpu.input_grad(n, i, o, d, w, dx),
            }
        }
    }

    /// The portable variant and every x86 one this CPU has.
    fn variants() -> Vec<(&'static str, Variant)> {
        #[allow(unused_mut)]
        let mut all = vec![("portable", Variant::Portable)];
        #[cfg(target_arch = "x86_64")]
        {
            use crate::kernel::x86::double::Products;
            use crate::kernel::x86::{Avx2Fma, Avx512};
            if let Some(cpu) = Avx2Fma::detect() {
                all.push(("avx2", Variant::X86(Products::Avx2(cpu))));
            }
            if let Some(cpu) = Avx512::detect() {
                all.push(("avx512", Variant::X86(Products::Avx512(cpu))));
            }
        }
        all
    }

    /// `Σ terms` to within an ulp or so: Neumaier's compensated sum, an order-independent
    /// reference for the kernels' lane sums.
    fn exact_sum(terms: impl IntoIterator<Item = f64>) -> f64 {
        let (mut sum, mut carry) = (0.0f64, 0.0f64);
        for t in terms {
            let s = sum + t;
            carry += if sum.abs() >= t.abs() {
                (sum - s) + t
            } else {
                (t - s) + sum
            };
            sum = s;
        }
        sum + carry
    }

    /// Asserts `got` is within `1e-15` of `want`, relative to `scale` (the sum of the terms'
    /// magnitudes, which bounds the rounding of any order of summation).
    #[track_caller]
    fn close(got: f64, want: f64, scale: f64, what: &str) {
        assert!(
            (got - want).abs() <= 1e-15 * scale.max(f64::MIN_POSITIVE),
            "{what}: {got} against {want} (scale {scale})"
        );
    }

    /// Shapes that reach every edge of every tile: rows past a tile and past [`ROW_BLOCK`],
    /// weight rows by tiles, by two and by one, sums shorter than a lane block and with a tail.
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (3, 7, 5),
        (5, 13, 9),
        (2, 0, 3),
        (3, 4, 0),
        (0, 5, 4),
        (4, 6, 1),
        (1, 33, 17),
        (1, 784, 16),
        (7, 8, 10),
        (9, 17, 11),
        (33, 16, 16),
        (70, 25, 7),
        (2, 70, 35),
        (6, 9, 19),
    ];

    #[test]
    fn every_variant_matches_the_definitions_at_odd_sizes() {
        for (name, v) in variants() {
            for &(n, i, o) in SHAPES {
                let x = values(n * i, 1);
                let w = values(o * i, 2);
                let b = values(o, 3);
                let d = values(n * o, 4);
                let mut z = vec![7.0; n * o];
                v.affine(n, i, o, &x, &w, &b, &mut z);
                let (mut gw, mut gb) = (vec![7.0; o * i], vec![7.0; o]);
                v.weight_grad(n, i, o, &x, &d, &mut gw, &mut gb);
                let mut dx = vec![7.0; n * i];
                v.input_grad(n, i, o, &d, &w, &mut dx);
                let what = |k: &str| format!("{name} {k} at {n} × {i} × {o}");
                for r in 0..n {
                    for j in 0..o {
                        let terms = (0..i).map(|k| x[r * i + k] * w[j * i + k]);
                        let want = exact_sum(terms.clone().chain([b[j]]));
                        let scale = terms.map(f64::abs).sum::<f64>() + b[j].abs();
                        close(z[r * o + j], want, scale, &what("affine"));
                    }
                    for k in 0..i {
                        let terms = (0..o).map(|j| d[r * o + j] * w[j * i + k]);
                        let scale = terms.clone().map(f64::abs).sum();
                        close(dx[r * i + k], exact_sum(terms), scale, &what("input_grad"));
                    }
                }
                for j in 0..o {
                    let terms = (0..n).map(|r| d[r * o + j]);
                    let scale = terms.clone().map(f64::abs).sum();
                    close(gb[j], exact_sum(terms), scale, &what("bias grad"));
                    for k in 0..i {
                        let terms = (0..n).map(|r| d[r * o + j] * x[r * i + k]);
                        let scale = terms.clone().map(f64::abs).sum();
                        close(gw[j * i + k], exact_sum(terms), scale, &what("weight_grad"));
                    }
                }
            }
        }
    }

    #[test]
    fn every_variant_gives_the_same_bits_and_a_row_its_bits_in_any_batch() {
        let all = variants();
        for &(n, i, o) in SHAPES {
            let x = values(n * i, 5);
            let w = values(o * i, 6);
            let b = values(o, 7);
            let d = values(n * o, 8);
            let run = |v: Variant| {
                let mut z = vec![0.0; n * o];
                v.affine(n, i, o, &x, &w, &b, &mut z);
                let (mut gw, mut gb) = (vec![0.0; o * i], vec![0.0; o]);
                v.weight_grad(n, i, o, &x, &d, &mut gw, &mut gb);
                let mut dx = vec![0.0; n * i];
                v.input_grad(n, i, o, &d, &w, &mut dx);
                [z, gw, gb, dx].map(|m| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
            };
            let portable = run(Variant::Portable);
            for &(name, v) in &all {
                assert_eq!(run(v), portable, "{name} at {n} × {i} × {o}");
                // The products of one row alone: affine's and input_grad's rows of the batch.
                for r in 0..n {
                    let mut z = vec![0.0; o];
                    v.affine(1, i, o, &x[r * i..][..i], &w, &b, &mut z);
                    let mut dx = vec![0.0; i];
                    v.input_grad(1, i, o, &d[r * o..][..o], &w, &mut dx);
                    let bits = |m: &[f64]| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&z), portable[0][r * o..][..o], "{name} affine row {r}");
                    assert_eq!(
                        bits(&dx),
                        portable[3][r * i..][..i],
                        "{name} input_grad row {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn with_no_inputs_every_variant_copies_the_bias_bit_for_bit() {
        let b = [-0.0, 1.5, f64::MIN_POSITIVE];
        for (name, v) in variants() {
            let mut z = [7.0; 6];
            v.affine(2, 0, 3, &[], &[], &b, &mut z);
            let bits: Vec<u64> = z.iter().map(|v| v.to_bits()).collect();
            let want: Vec<u64> = b.iter().chain(&b).map(|v| v.to_bits()).collect();
            assert_eq!(bits, want, "{name}");
        }
    }

    #[test]
    fn the_dispatched_products_are_a_variant() {
        let (n, i, o) = (5, 19, 7);
        let (x, w, b, d) = (
            values(n * i, 9),
            values(o * i, 10),
            values(o, 11),
            values(n * o, 12),
        );
        let mut z = vec![0.0; n * o];
        affine(n, i, o, &x, &w, &b, &mut z);
        let mut want = vec![0.0; n * o];
        affine_portable(n, i, o, &x, &w, &b, &mut want);
        assert_eq!(z, want);
        let (mut gw, mut gb) = (vec![0.0; o * i], vec![0.0; o]);
        weight_grad(n, i, o, &x, &d, &mut gw, &mut gb);
        let (mut gw2, mut gb2) = (vec![0.0; o * i], vec![0.0; o]);
        weight_grad_portable(n, i, o, &x, &d, &mut gw2, &mut gb2);
        assert_eq!((gw, gb), (gw2, gb2));
        let mut dx = vec![0.0; n * i];
        input_grad(n, i, o, &d, &w, &mut dx);
        let mut dx2 = vec![0.0; n * i];
        input_grad_portable(n, i, o, &d, &w, &mut dx2);
        assert_eq!(dx, dx2);
    }

    #[test]
    fn a_short_slice_panics_in_every_variant() {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        let (n, i, o) = (3, 9, 5);
        let (x, w, b, d) = (
            values(n * i, 1),
            values(o * i, 2),
            values(o, 3),
            values(n * o, 4),
        );
        for (name, v) in variants() {
            let panics = |f: &mut dyn FnMut()| catch_unwind(AssertUnwindSafe(f)).is_err();
            let mut z = vec![0.0; n * o];
            let (mut gw, mut gb) = (vec![0.0; o * i], vec![0.0; o]);
            let mut dx = vec![0.0; n * i];
            let cut = |m: &[f64]| m[..m.len() - 1].to_vec();
            assert!(
                panics(&mut || v.affine(n, i, o, &cut(&x), &w, &b, &mut z)),
                "{name}"
            );
            assert!(
                panics(&mut || v.affine(n, i, o, &x, &cut(&w), &b, &mut z)),
                "{name}"
            );
            assert!(
                panics(&mut || v.affine(n, i, o, &x, &w, &cut(&b), &mut z)),
                "{name}"
            );
            assert!(
                panics(&mut || v.affine(n, i, o, &x, &w, &b, &mut cut(&z))),
                "{name}"
            );
            assert!(
                panics(&mut || v.weight_grad(n, i, o, &cut(&x), &d, &mut gw, &mut gb)),
                "{name}"
            );
            assert!(
                panics(&mut || v.weight_grad(n, i, o, &x, &cut(&d), &mut gw, &mut gb)),
                "{name}"
            );
            assert!(
                panics(&mut || v.weight_grad(n, i, o, &x, &d, &mut cut(&gw), &mut gb)),
                "{name}"
            );
            assert!(
                panics(&mut || v.weight_grad(n, i, o, &x, &d, &mut gw, &mut cut(&gb))),
                "{name}"
            );
            assert!(
                panics(&mut || v.input_grad(n, i, o, &cut(&d), &w, &mut dx)),
                "{name}"
            );
            assert!(
                panics(&mut || v.input_grad(n, i, o, &d, &cut(&w), &mut dx)),
                "{name}"
            );
            assert!(
                panics(&mut || v.input_grad(n, i, o, &d, &w, &mut cut(&dx))),
                "{name}"
            );
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
