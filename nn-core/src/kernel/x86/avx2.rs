//! The AVX2 + FMA back end: eight-lane register-tiled products, chosen when the CPU has AVX2
//! and FMA but not AVX-512F. The `unsafe` discipline is the parent module's.

use core::arch::x86_64::{
    _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    _mm_prefetch, _MM_HINT_T1,
};

use super::lanes::{self, hsum};
use super::{prefetch_head, prefetch_rows, single, Backend, PREFETCH_TILES};
use crate::kernel::{bias_grad, check, check_affine, check_input_grad, check_weight_grad};
#[cfg(not(feature = "std"))]
use crate::math::Float as _;

/// Proof that the CPU running this process has AVX2 and FMA: only [`detect`](Self::detect)
/// makes one.
#[derive(Debug)]
pub(in crate::kernel) struct Avx2Fma {
    _detected: (),
}

impl Avx2Fma {
    /// The token, if this CPU has AVX2 and FMA (`std` caches the answer).
    #[cfg(feature = "std")]
    pub(in crate::kernel) fn detect() -> Option<&'static Self> {
        static TOKEN: Avx2Fma = Avx2Fma { _detected: () };
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(&TOKEN)
    }

    /// Without `std`: the token if the crate was compiled for AVX2 and FMA.
    #[cfg(not(feature = "std"))]
    pub(in crate::kernel) fn detect() -> Option<&'static Self> {
        static TOKEN: Avx2Fma = Avx2Fma { _detected: () };
        cfg!(all(target_feature = "avx2", target_feature = "fma")).then_some(&TOKEN)
    }
}

x86_backend!(Avx2Fma, "avx2", lanes, avx2);

/// The portable momentum loop compiled for AVX2: eight weights an instruction instead of four.
/// Rust never fuses `a·b + c` on its own, so the results are those of the portable loop, bit
/// for bit.
///
/// # Safety
///
/// AVX2 and FMA are available (`unsafe` only for that, like every `#[target_feature]`
/// function of this module: only the token may call them).
#[target_feature(enable = "avx2,fma")]
unsafe fn momentum(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
    crate::kernel::portable::momentum(lr, mu, w, v, g);
}

/// The fused batch-1 momentum step (see [`crate::kernel::momentum_outer`]) compiled for this
/// ISA, eight weights an instruction: each gradient value is `fma(δ, x, 0)`, what this back end's
/// weight gradient computes at batch 1 (its tiles start from zero and fuse each product in).
///
/// # Safety
///
/// AVX2, FMA are available.
#[target_feature(enable = "avx2,fma")]
unsafe fn momentum_outer(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], delta: &[f32], x: &[f32]) {
    crate::kernel::portable::momentum_outer(lr, mu, w, v, delta, x, |d, x| d.mul_add(x, 0.0));
}

/// The fused forward product of a `tanh` layer, where this back end has one: AVX2 has none, so
/// [`crate::kernel::affine_tanh`] is always its `affine` then its `tanh` here.
///
/// # Safety
///
/// None needed: nothing is read or written.
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn fused_tanh(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    sums: Option<*mut f32>,
    out: *mut f32,
) -> bool {
    let _ = (n, i, o, x, w, b, sums, out);
    false
}

/// The weight gradient `∂W = Δᵀ·X` as a sum of scaled rows: `C = gw` is `o × i`,
/// `A(m, p) = Δ[p][m]` is `o × n` with row stride 1 and column stride `o`, `B = X` is `n × i`.
///
/// # Safety
///
/// AVX2 and FMA are available; `delta`, `x` and `gw` address `n × o`, `n × i` and `o × i`
/// values.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad(
    n: usize,
    i: usize,
    o: usize,
    delta: *const f32,
    x: *const f32,
    gw: *mut f32,
) {
    scaled_rows(o, n, i, delta, 1, o, x, gw);
}

/// The input gradient `∂X = Δ·W` as a sum of scaled rows: `C = dx` is `n × i`, `A = Δ` is
/// `n × o` with row stride `o` and column stride 1, `B = W` is `o × i`.
///
/// # Safety
///
/// AVX2 and FMA are available; `delta`, `w` and `dx` address `n × o`, `o × i` and `n × i`
/// values.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn input_grad(n: usize, i: usize, o: usize, delta: *const f32, w: *const f32, dx: *mut f32) {
    scaled_rows(n, o, i, delta, o, 1, w, dx);
}

/// `out = X·Wᵀ + 1·bᵀ` over raw row-major matrices: `x` is `n × i`, `w` is `o × i`, `b` has
/// `o` values, `out` is `n × o`.
///
/// Loop order: a tile of `J` rows of `W` (a few KB) stays in L1 while every row of `X` streams
/// past it. A lone row (batch 1) uses tiles of eight weight rows, eight independent FMA chains.
///
/// While a tile of rows of `X` is summed, the rows [`PREFETCH_TILES`] tiles on are prefetched into
/// L2 ([`prefetch_rows`]), one cache line a row for each sixteen values summed. A batch the caller
/// has not just touched (the next batch of a data set) streams from L3 or memory; the hardware
/// prefetcher alone left the FMA units waiting for it (`BENCHMARKS.md`). A lone row has nothing to
/// prefetch ahead of it.
///
/// # Safety
///
/// AVX2 and FMA are available, and each pointer addresses the matrix its dimensions describe.
#[target_feature(enable = "avx2,fma")]
unsafe fn affine(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    /// Rows of `X` a tile.
    const R: usize = 2;
    /// Rows of `W` a tile (batches); a lone row uses `2·J`.
    const J: usize = 4;
    // SAFETY (for every call below): a tile of `r` rows from `r0` and `j` weight rows from `j0`
    // has `r0 + r <= n` and `j0 + j <= o`, so its rows of `x`, `w`, `b` and `out` are inside
    // the matrices.
    prefetch_head(x, n.min(PREFETCH_TILES * R) * i);
    let mut j0 = 0;
    if n == 1 {
        if single::takes8(i) {
            return single::affine8(i, o, x, w, b, out);
        }
        while j0 + 2 * J <= o {
            dot_tile::<1, { 2 * J }>(i, x, i, w.add(j0 * i), i, b.add(j0), out.add(j0), o, None);
            j0 += 2 * J;
        }
    }
    while j0 + J <= o {
        let (wj, bj) = (w.add(j0 * i), b.add(j0));
        let mut r0 = 0;
        while r0 + R <= n {
            let pf = prefetch_rows::<R>(n, i, x, r0, j0 == 0);
            dot_tile::<R, J>(i, x.add(r0 * i), i, wj, i, bj, out.add(r0 * o + j0), o, pf);
            r0 += R;
        }
        while r0 < n {
            dot_tile::<1, J>(
                i,
                x.add(r0 * i),
                i,
                wj,
                i,
                bj,
                out.add(r0 * o + j0),
                o,
                None,
            );
            r0 += 1;
        }
        j0 += J;
    }
    while j0 < o {
        let (wj, bj) = (w.add(j0 * i), b.add(j0));
        let mut r0 = 0;
        while r0 + R <= n {
            let pf = prefetch_rows::<R>(n, i, x, r0, j0 == 0);
            dot_tile::<R, 1>(i, x.add(r0 * i), i, wj, i, bj, out.add(r0 * o + j0), o, pf);
            r0 += R;
        }
        while r0 < n {
            dot_tile::<1, 1>(
                i,
                x.add(r0 * i),
                i,
                wj,
                i,
                bj,
                out.add(r0 * o + j0),
                o,
                None,
            );
            r0 += 1;
        }
        j0 += 1;
    }
}

/// One `R × J` tile of `X·Wᵀ + b`: `out[a][j] = b[j] + Σ_k x[a][k]·w[j][k]` for `a < R`,
/// `j < J`, over `k` inputs; rows of `x`, `w` and `out` are `xs`, `ws` and `os` values apart.
///
/// Each output sums its first `8·⌊k/8⌋` products in eight lanes (one FMA chain a lane), adds
/// the lanes with [`hsum`], then the remaining products one by one, then the bias.
///
/// # Safety
///
/// AVX2 and FMA are available; `x` holds `R` rows of `k` values, `w` holds `J` rows of `k`
/// values, `b` holds `J` values and `out` holds `R` rows of at least `J` values; `pf`, if
/// given, holds `R` rows of `k` values `xs` apart (the rows to prefetch, one cache line a row
/// for each sixteen inputs summed).
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_tile<const R: usize, const J: usize>(
    k: usize,
    x: *const f32,
    xs: usize,
    w: *const f32,
    ws: usize,
    b: *const f32,
    out: *mut f32,
    os: usize,
    pf: Option<*const f32>,
) {
    let mut acc = [[_mm256_setzero_ps(); J]; R];
    let full = k - k % 8;
    let mut c = 0;
    while c < full {
        if let Some(pf) = pf.filter(|_| c % 16 == 0) {
            for a in 0..R {
                // SAFETY: `pf` holds `R` rows of `k` values `xs` apart and `c < k`; a
                // prefetch only hints the cache and never faults.
                _mm_prefetch::<_MM_HINT_T1>(pf.add(a * xs + c).cast());
            }
        }
        let mut wv = [_mm256_setzero_ps(); J];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(w.add(j * ws + c));
        }
        for (a, acc) in acc.iter_mut().enumerate() {
            let xv = _mm256_loadu_ps(x.add(a * xs + c));
            for (acc, wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm256_fmadd_ps(xv, *wv, *acc);
            }
        }
        c += 8;
    }
    for (a, acc) in acc.iter().enumerate() {
        for (j, acc) in acc.iter().enumerate() {
            let mut s = hsum(*acc);
            for c in full..k {
                s = (*x.add(a * xs + c)).mul_add(*w.add(j * ws + c), s);
            }
            *out.add(a * os + j) = *b.add(j) + s;
        }
    }
}

/// `C = A·B`, each row of `C` a sum of scaled rows of `B`: `C` is `m × k` (row stride `k`),
/// `B` is `p × k` (row stride `k`) and `A` is `m × p` with element `(r, q)` at
/// `a[r·ars + q·acs]`, so a transposed `A` costs nothing.
///
/// Loop order: a block of 16 columns of `B` (`p` rows of 64 bytes) stays in L1 while every
/// tile of `C`'s rows passes over it; `C` is written once, never read.
///
/// # Safety
///
/// AVX2 and FMA are available, and each pointer addresses the matrix its dimensions describe.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn scaled_rows(
    m: usize,
    p: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    c: *mut f32,
) {
    /// Rows of `C` a tile.
    const M: usize = 4;
    // SAFETY (for every call below): a tile of rows `r0..r0 + rows <= m` and columns
    // `c0..c0 + width <= k` reads `A`'s rows `r0..`, `B`'s columns `c0..` and writes `C`'s
    // tile, all inside the matrices.
    let mut c0 = 0;
    while c0 + 16 <= k {
        scaled_rows_block::<M, 2>(m, p, k, a, ars, acs, b.add(c0), c.add(c0));
        c0 += 16;
    }
    if c0 + 8 <= k {
        scaled_rows_block::<M, 1>(m, p, k, a, ars, acs, b.add(c0), c.add(c0));
        c0 += 8;
    }
    for col in c0..k {
        for r in 0..m {
            let mut s = 0.0f32;
            for q in 0..p {
                s = (*a.add(r * ars + q * acs)).mul_add(*b.add(q * k + col), s);
            }
            *c.add(r * k + col) = s;
        }
    }
}

/// One block of `8·V` columns of [`scaled_rows`], all `m` rows, in tiles of `M` rows (then
/// single rows).
///
/// # Safety
///
/// As for [`scaled_rows`], with `b` and `c` pointing at the block's first column and `8·V`
/// columns left in every row.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn scaled_rows_block<const M: usize, const V: usize>(
    m: usize,
    p: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    c: *mut f32,
) {
    let mut r0 = 0;
    while r0 + M <= m {
        scaled_rows_tile::<M, V>(p, k, a.add(r0 * ars), ars, acs, b, c.add(r0 * k));
        r0 += M;
    }
    while r0 < m {
        scaled_rows_tile::<1, V>(p, k, a.add(r0 * ars), ars, acs, b, c.add(r0 * k));
        r0 += 1;
    }
}

/// One `M × 8V` tile: `c[r][col] = Σ_q a(r, q)·b[q][col]`, summed in order of `q`, one FMA
/// chain an output.
///
/// # Safety
///
/// AVX2 and FMA are available; `a` addresses `M` rows of `p` values with strides `ars`,
/// `acs`; `b` holds `p` rows and `c` holds `M` rows, each `k` values apart with `8·V` values
/// from the pointer on.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn scaled_rows_tile<const M: usize, const V: usize>(
    p: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    c: *mut f32,
) {
    let mut acc = [[_mm256_setzero_ps(); V]; M];
    for q in 0..p {
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            *bv = _mm256_loadu_ps(b.add(q * k + 8 * v));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = _mm256_broadcast_ss(&*a.add(r * ars + q * acs));
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(s, *bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(c.add(r * k + 8 * v), *acc);
        }
    }
}
