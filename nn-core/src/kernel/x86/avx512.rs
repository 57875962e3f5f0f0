//! The AVX-512F back end, chosen before the AVX2 one when the CPU has AVX-512F.
//!
//! The same two product kernels as the AVX2 back end, with sixteen-lane registers and twice as
//! many accumulators (AVX-512 has 32 vector registers, AVX2 16). The `unsafe` follows the
//! parent module's discipline: calls into `#[target_feature]` functions only through
//! [`Avx512`], a token that only [`Avx512::detect`] makes; raw-pointer loads and stores only
//! after one bounds check per method (each `SAFETY` comment says why they stay inside).
//!
//! Tails: a width that is not a multiple of sixteen (10, 16·49 = 784 is, 33 is not) ends in one
//! masked vector. `_mm512_maskz_loadu_ps` reads only the lanes its mask selects (the others
//! are zero and never touched in memory), `_mm512_mask_storeu_ps` writes only those lanes, so
//! no access goes past a row; the zero lanes add `0·0 = +0` to their accumulators, which
//! leaves every selected lane's sum unchanged.
//!
//! Sum order: each output is summed in an order fixed by the shapes alone (lanes of sixteen,
//! fused multiply-adds), so a run is reproducible bit for bit on one machine. It is not the
//! AVX2 kernels' order, so a CPU with AVX-512 and one with only AVX2 give results that differ
//! by f32 rounding. The activations are in sixteen lanes ([`super::lanes16`]): the elementwise
//! ones give the AVX2 back end's bits, softmax and log-sum-exp sum in sixteen lanes and so
//! differ from it by f32 rounding; the exact loops (the backward passes of sigmoid, tanh and
//! relu, and relu) are the AVX2 back end's.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
    _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm_prefetch, _MM_HINT_T1,
};

use super::lanes16::first_lanes;
#[cfg(feature = "std")]
use super::packed;
use super::{lanes16, prefetch_head, prefetch_rows, single, Backend, PREFETCH_TILES};
use crate::kernel::{bias_grad, check, check_affine, check_input_grad, check_weight_grad};
#[cfg(not(feature = "std"))]
use crate::math::Float as _;

/// Proof that the CPU running this process has AVX-512F (and AVX2 and FMA, which every
/// AVX-512F CPU has but which are checked anyway): only [`detect`](Self::detect) makes one.
#[derive(Debug)]
pub(in crate::kernel) struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// The token, if this CPU has AVX-512F, AVX2 and FMA (`std` caches the answer).
    #[cfg(feature = "std")]
    pub(in crate::kernel) fn detect() -> Option<&'static Self> {
        static TOKEN: Avx512 = Avx512 { _detected: () };
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma"))
        .then_some(&TOKEN)
    }

    /// Without `std`, which cannot ask the CPU: the token if the crate was compiled for
    /// AVX-512F, AVX2 and FMA (`-C target-feature` or `-C target-cpu`), which then every CPU it
    /// runs on has.
    #[cfg(not(feature = "std"))]
    pub(in crate::kernel) fn detect() -> Option<&'static Self> {
        static TOKEN: Avx512 = Avx512 { _detected: () };
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx2",
            target_feature = "fma"
        ))
        .then_some(&TOKEN)
    }
}

x86_backend!(Avx512, "avx512", lanes16, avx512);

/// The portable momentum loop compiled for AVX-512F: sixteen weights an instruction. Rust never
/// fuses `a·b + c` on its own, so the results are those of the portable loop, bit for bit.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn momentum(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
    crate::kernel::portable::momentum(lr, mu, w, v, g);
}

/// The fused batch-1 momentum step (see [`crate::kernel::momentum_outer`]) compiled for this
/// ISA, sixteen weights an instruction: each gradient value is `fma(δ, x, 0)`, what this back end's
/// weight gradient computes at batch 1 (its tiles start from zero and fuse each product in).
///
/// # Safety
///
/// AVX-512F, AVX2, FMA are available.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn momentum_outer(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], delta: &[f32], x: &[f32]) {
    crate::kernel::portable::momentum_outer(lr, mu, w, v, delta, x, |d, x| d.mul_add(x, 0.0));
}

/// The forward product `out = X·Wᵀ + 1·bᵀ`: the packed kernel where it measured faster
/// ([`packed::for_affine`]: wide layers), the register-tiled [`affine_tiled`] otherwise.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x`, `w`, `b` and `out` address `n × i`, `o × i`, `o`
/// and `n × o` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn affine(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    // The packed kernels keep their panel in a thread-local: `std` only.
    #[cfg(feature = "std")]
    if packed::for_affine(n, i, o) {
        return packed::affine(n, i, o, x, w, b, out);
    }
    affine_tiled(n, i, o, x, w, b, out);
}

/// The fused forward product of a `tanh` layer (see [`crate::kernel::affine_tanh`]), where
/// [`affine`] would pack and [`packed::fuses_tanh`] says so: packed by rows, the `tanh` taken
/// on the tiles in registers. Returns whether it ran; if not, the back end runs its `affine`
/// then its `tanh`.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x`, `w`, `b` and `out` address `n × i`, `o × i`, `o`
/// and `n × o` values, and `sums`, if given, `n × o` values that do not overlap `out`.
#[target_feature(enable = "avx512f,avx2,fma")]
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
    #[cfg(feature = "std")]
    if packed::for_affine(n, i, o) && packed::fuses_tanh(n, i, o) {
        packed::rows_tanh(n, i, o, x, w, b, sums, out);
        return true;
    }
    // Without `std` there are no packed kernels, so nothing fuses.
    let _ = (n, i, o, x, w, b, sums, out);
    false
}

/// The weight gradient `∂W = Δᵀ·X` (`C = gw` is `o × i`, `A(m, p) = Δ[p][m]` is `o × n` with
/// row stride 1 and column stride `o`, `B = X` is `n × i`): packed where it measured faster
/// ([`packed::for_weight_grad`]), [`scaled_rows`] otherwise. Two direct calls, so either is
/// inlined here with its strides known.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `delta`, `x` and `gw` address `n × o`, `n × i` and
/// `o × i` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn weight_grad(
    n: usize,
    i: usize,
    o: usize,
    delta: *const f32,
    x: *const f32,
    gw: *mut f32,
) {
    #[cfg(feature = "std")]
    if packed::for_weight_grad(n, i, o) {
        return packed::scaled_rows(o, n, i, delta, 1, o, x, gw);
    }
    scaled_rows(o, n, i, delta, 1, o, x, gw);
}

/// The input gradient `∂X = Δ·W` (`C = dx` is `n × i`, `A = Δ` is `n × o` with row stride `o`
/// and column stride 1, `B = W` is `o × i`): packed where it measured faster
/// ([`packed::for_input_grad`]), [`scaled_rows`] otherwise.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `delta`, `w` and `dx` address `n × o`, `o × i` and
/// `n × i` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn input_grad(n: usize, i: usize, o: usize, delta: *const f32, w: *const f32, dx: *mut f32) {
    #[cfg(feature = "std")]
    if packed::for_input_grad(n, i, o) {
        return packed::scaled_rows(n, o, i, delta, o, 1, w, dx);
    }
    scaled_rows(n, o, i, delta, o, 1, w, dx);
}

/// `out = X·Wᵀ + 1·bᵀ` over raw row-major matrices: `x` is `n × i`, `w` is `o × i`, `b` has
/// `o` values, `out` is `n × o`.
///
/// Loop order as in the AVX2 kernel: a tile of `J` rows of `W` stays in L1 while every row of
/// `X` streams past it. Batches use tiles of 2 rows × 8 weight rows (16 accumulators);
/// leftover weight rows go by four, then one by one. A lone row (batch 1) goes to
/// [`single::affine16`] where it measured faster ([`single::takes16`]; the same bits), else
/// tiles of 16 weight rows (16 independent FMA chains).
///
/// While a tile of rows of `X` is summed, the rows [`PREFETCH_TILES`] tiles
/// on are prefetched into L2 (see [`prefetch_rows`]), one cache line a row for each vector of the
/// sum. A batch the caller has not just touched (the next batch of a data set) streams from L3 or
/// memory; the hardware prefetcher alone left the FMA units waiting for it, and a batch of 256 took
/// twice as long as one already in L2 (`BENCHMARKS.md`). A lone row has nothing to prefetch ahead
/// of it.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available, and each pointer addresses the matrix its dimensions
/// describe.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn affine_tiled(
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
    const J: usize = 8;
    // SAFETY (for every call below): a tile of `r` rows from `r0` and `j` weight rows from `j0`
    // has `r0 + r <= n` and `j0 + j <= o`, so its rows of `x`, `w`, `b` and `out` are inside
    // the matrices.
    prefetch_head(x, n.min(PREFETCH_TILES * R) * i);
    let mut j0 = 0;
    if n == 1 {
        if single::takes16(i) {
            return single::affine16(i, o, x, w, b, out);
        }
        while j0 + 2 * J <= o {
            dot_tile::<1, { 2 * J }>(i, x, i, w.add(j0 * i), i, b.add(j0), out.add(j0), o, None);
            j0 += 2 * J;
        }
    }
    while j0 + J <= o {
        affine_columns::<R, J>(n, i, o, x, w.add(j0 * i), b.add(j0), out.add(j0), j0 == 0);
        j0 += J;
    }
    while j0 + 4 <= o {
        affine_columns::<R, 4>(n, i, o, x, w.add(j0 * i), b.add(j0), out.add(j0), j0 == 0);
        j0 += 4;
    }
    while j0 < o {
        affine_columns::<R, 1>(n, i, o, x, w.add(j0 * i), b.add(j0), out.add(j0), j0 == 0);
        j0 += 1;
    }
}

/// `J` output columns of [`affine`] for all `n` rows, in tiles of `R` rows, then single rows:
/// `w` and `b` point at the first of the `J` weight rows, `out` at the first column; `first`
/// if these are the first columns (the pass that prefetches `X`).
///
/// # Safety
///
/// As for [`affine`], with `J` weight rows and output columns left from the pointers on.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn affine_columns<const R: usize, const J: usize>(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
    first: bool,
) {
    let mut r0 = 0;
    while r0 + R <= n {
        let pf = prefetch_rows::<R>(n, i, x, r0, first);
        dot_tile::<R, J>(i, x.add(r0 * i), i, w, i, b, out.add(r0 * o), o, pf);
        r0 += R;
    }
    while r0 < n {
        dot_tile::<1, J>(i, x.add(r0 * i), i, w, i, b, out.add(r0 * o), o, None);
        r0 += 1;
    }
}

/// One `R × J` tile of `X·Wᵀ + b`: `out[a][j] = b[j] + Σ_c x[a][c]·w[j][c]` for `a < R`,
/// `j < J`, over `k` inputs; rows of `x`, `w` and `out` are `xs`, `ws` and `os` values apart.
///
/// Each output sums its products in sixteen lanes (one FMA chain a lane; the last `k mod 16`
/// inputs in one masked vector), then adds the lanes with `_mm512_reduce_add_ps` (a fixed
/// tree), then the bias.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x` holds `R` rows of `k` values, `w` holds `J` rows
/// of `k` values, `b` holds `J` values and `out` holds `R` rows of at least `J` values; `pf`,
/// if given, holds `R` rows of `k` values `xs` apart (the rows to prefetch, one cache line a
/// row for each sixteen inputs summed).
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
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
    let mut acc = [[_mm512_setzero_ps(); J]; R];
    let full = k - k % 16;
    let mut c = 0;
    // Two copies of the loop, so that a tile without rows to prefetch (a later pass, a batch's
    // last tiles) does not test for them every step: one loop with the test made inference on a
    // batch already in cache 5-9% slower (`benches/seminar.rs`, alternated runs; the AVX2
    // kernel measured the same either way).
    if let Some(pf) = pf {
        while c < full {
            for a in 0..R {
                // SAFETY: `pf` holds `R` rows of `k` values `xs` apart and `c < k`; a
                // prefetch only hints the cache and never faults.
                _mm_prefetch::<_MM_HINT_T1>(pf.add(a * xs + c).cast());
            }
            // SAFETY: `c + 16 <= k`.
            dot_step::<R, J>(&mut acc, x.add(c), xs, w.add(c), ws, 0xffff);
            c += 16;
        }
    }
    while c < full {
        // SAFETY: `c + 16 <= k`.
        dot_step::<R, J>(&mut acc, x.add(c), xs, w.add(c), ws, 0xffff);
        c += 16;
    }
    if full < k {
        // SAFETY: the mask selects the `k - full` lanes left in every row.
        dot_step::<R, J>(
            &mut acc,
            x.add(full),
            xs,
            w.add(full),
            ws,
            first_lanes(k - full),
        );
    }
    for (a, acc) in acc.iter().enumerate() {
        for (j, acc) in acc.iter().enumerate() {
            *out.add(a * os + j) = *b.add(j) + _mm512_reduce_add_ps(*acc);
        }
    }
}

/// One vector of [`dot_tile`]: `acc[a][j] += x[a][..16]·w[j][..16]` lane by lane, reading
/// only the lanes of `mask` (the others count as zero).
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x` holds `R` rows and `w` holds `J` rows, `xs` and
/// `ws` values apart, each with the lanes of `mask` inside it from the pointer on.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_step<const R: usize, const J: usize>(
    acc: &mut [[__m512; J]; R],
    x: *const f32,
    xs: usize,
    w: *const f32,
    ws: usize,
    mask: __mmask16,
) {
    let mut wv = [_mm512_setzero_ps(); J];
    for (j, v) in wv.iter_mut().enumerate() {
        *v = _mm512_maskz_loadu_ps(mask, w.add(j * ws));
    }
    for (a, acc) in acc.iter_mut().enumerate() {
        let xv = _mm512_maskz_loadu_ps(mask, x.add(a * xs));
        for (acc, wv) in acc.iter_mut().zip(&wv) {
            *acc = _mm512_fmadd_ps(xv, *wv, *acc);
        }
    }
}

/// `C = A·B`, each row of `C` a sum of scaled rows of `B`: `C` is `m × k` (row stride `k`),
/// `B` is `p × k` (row stride `k`) and `A` is `m × p` with element `(r, q)` at
/// `a[r·ars + q·acs]`, so a transposed `A` costs nothing.
///
/// Loop order as in the AVX2 kernel: a block of 32 columns of `B` (`p` rows of 128 bytes)
/// stays in L1 while every tile of `C`'s rows passes over it; then one block of 16 columns if
/// left, then the last `k mod 16` columns in one masked vector. `C` is written once, never
/// read.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available, and each pointer addresses the matrix its dimensions
/// describe.
#[target_feature(enable = "avx512f,avx2,fma")]
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
    const M: usize = 8;
    // SAFETY (for every call below): a tile of rows `r0..r0 + rows <= m` and columns
    // `c0..c0 + width <= k` (the masked block: `c0 + (k - c0) = k`) reads `A`'s rows `r0..`,
    // `B`'s columns `c0..` and writes `C`'s tile, all inside the matrices.
    let mut c0 = 0;
    while c0 + 32 <= k {
        scaled_rows_block::<M, 2>(m, p, k, a, ars, acs, b.add(c0), c.add(c0), 0xffff);
        c0 += 32;
    }
    if c0 + 16 <= k {
        scaled_rows_block::<M, 1>(m, p, k, a, ars, acs, b.add(c0), c.add(c0), 0xffff);
        c0 += 16;
    }
    if c0 < k {
        let mask = first_lanes(k - c0);
        scaled_rows_block::<M, 1>(m, p, k, a, ars, acs, b.add(c0), c.add(c0), mask);
    }
}

/// One block of `16·V` columns of [`scaled_rows`] (the last vector's lanes limited to `last`),
/// all `m` rows, in tiles of `M` rows (then single rows).
///
/// # Safety
///
/// As for [`scaled_rows`], with `b` and `c` pointing at the block's first column and
/// `16·(V - 1) + popcount(last)` columns left in every row.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
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
    last: __mmask16,
) {
    let mut r0 = 0;
    while r0 + M <= m {
        scaled_rows_tile::<M, V>(p, k, a.add(r0 * ars), ars, acs, b, c.add(r0 * k), last);
        r0 += M;
    }
    while r0 < m {
        scaled_rows_tile::<1, V>(p, k, a.add(r0 * ars), ars, acs, b, c.add(r0 * k), last);
        r0 += 1;
    }
}

/// One `M × 16V` tile: `c[r][col] = Σ_q a(r, q)·b[q][col]`, summed in order of `q`, one FMA
/// chain an output; the last of the `V` vectors covers only the lanes of `last`.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `a` addresses `M` rows of `p` values with strides
/// `ars`, `acs`; `b` holds `p` rows and `c` holds `M` rows, each `k` values apart with
/// `16·(V - 1) + popcount(last)` values from the pointer on.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn scaled_rows_tile<const M: usize, const V: usize>(
    p: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    c: *mut f32,
    last: __mmask16,
) {
    let mask = |v: usize| if v + 1 == V { last } else { 0xffff };
    let mut acc = [[_mm512_setzero_ps(); V]; M];
    for q in 0..p {
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            *bv = _mm512_maskz_loadu_ps(mask(v), b.add(q * k + 16 * v));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = _mm512_set1_ps(*a.add(r * ars + q * acs));
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(s, *bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(c.add(r * k + 16 * v), mask(v), *acc);
        }
    }
}
