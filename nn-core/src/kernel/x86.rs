//! The AVX2 + FMA versions of the three products, chosen at run time (and, in [`avx512`], the
//! AVX-512F ones, chosen before them when the CPU has AVX-512F).
//!
//! This is the one module of nn-core that uses `unsafe` (with its submodule [`avx512`]), for
//! two reasons only:
//!
//! - calling a `#[target_feature(enable = "avx2,fma")]` function is `unsafe` unless the caller
//!   was compiled with those features, which a default `cargo build --release` (plain x86-64)
//!   is not. [`Avx2Fma`] is a token that only [`Avx2Fma::detect`] makes, after
//!   `is_x86_feature_detected!` has seen both features, so every call through it is sound;
//! - the inner loops load and store through raw pointers, so that no bounds check sits between
//!   two FMAs. Every public method asserts once, on entry, that each slice holds the matrix its
//!   dimensions describe; every pointer below stays inside those bounds (each `SAFETY` comment
//!   says why).
//!
//! The shapes are those of [`super`]: `n` samples, `i` inputs, `o` outputs, all row-major.
//!
//! - [`Avx2Fma::affine`], `Z = X·Wᵀ + b`: both operands are contiguous along the sum, so each
//!   output is a dot product. A tile of `R` rows of `X` times `J` rows of `W` keeps `R·J`
//!   eight-lane accumulators in registers and loads `R + J` vectors for `R·J` FMAs.
//! - [`Avx2Fma::weight_grad`] (`Δᵀ·X`) and [`Avx2Fma::input_grad`] (`Δ·W`): the sum runs over
//!   rows of the right operand, so each output row is a sum of scaled rows. A tile of `M` output
//!   rows times 16 columns keeps `M·2` accumulators, broadcasting one element of `Δ` a row.
//!
//! Sum order: every output is summed in a fixed order that depends only on the shapes, so a run
//! is reproducible bit for bit on one machine. It is not the order of the portable loops (lanes
//! of eight, fused multiply-adds), so results differ from those of a CPU without AVX2/FMA by
//! f32 rounding.

mod avx512;
pub(super) use avx512::Avx512;

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_ps, _mm256_blendv_ps, _mm256_broadcast_ss,
    _mm256_castps256_ps128, _mm256_castsi256_ps, _mm256_cmp_ps, _mm256_cvtps_epi32, _mm256_div_ps,
    _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_loadu_ps, _mm256_max_ps,
    _mm256_min_ps, _mm256_mul_ps, _mm256_or_ps, _mm256_round_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_slli_epi32, _mm256_srai_epi32, _mm256_storeu_ps, _mm256_sub_epi32,
    _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps, _mm_prefetch,
    _CMP_GE_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _MM_HINT_T0, _MM_HINT_T1,
};

/// Proof that the CPU running this process has AVX2 and FMA: only [`detect`](Self::detect)
/// makes one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx2Fma {
    _detected: (),
}

/// `len ≥ rows·cols`, without overflow: the precondition of every method below.
fn holds(len: usize, rows: usize, cols: usize) -> bool {
    rows.checked_mul(cols).is_some_and(|need| len >= need)
}

impl Avx2Fma {
    /// The token, if this CPU has AVX2 and FMA (`std` caches the answer).
    #[inline]
    pub(super) fn detect() -> Option<Self> {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Some(Self { _detected: () })
        } else {
            None
        }
    }

    /// `out = X·Wᵀ + 1·bᵀ`, as [`super::affine`].
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn affine(
        self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        out: &mut [f32],
    ) {
        assert!(holds(x.len(), n, i) && holds(w.len(), o, i) && b.len() >= o);
        assert!(holds(out.len(), n, o));
        // SAFETY: `self` proves AVX2 and FMA; the slices hold the matrices (asserted above).
        unsafe {
            affine(
                n,
                i,
                o,
                x.as_ptr(),
                w.as_ptr(),
                b.as_ptr(),
                out.as_mut_ptr(),
            )
        }
    }

    /// `gw = Δᵀ·X`, `gb = Σ_rows Δ`, as [`super::weight_grad`].
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn weight_grad(
        self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        delta: &[f32],
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        assert!(holds(x.len(), n, i) && holds(delta.len(), n, o));
        assert!(holds(gw.len(), o, i) && gb.len() >= o);
        super::bias_grad(n, o, delta, gb);
        // SAFETY: `self` proves AVX2 and FMA; C = gw is o × i, A(m, p) = Δ[p][m] is o × n
        // with row stride 1 and column stride o, B = X is n × i (asserted above).
        unsafe {
            scaled_rows(o, n, i, delta.as_ptr(), 1, o, x.as_ptr(), gw.as_mut_ptr());
        }
    }

    /// `dx = Δ·W`, as [`super::input_grad`].
    #[inline]
    pub(super) fn input_grad(
        self,
        n: usize,
        i: usize,
        o: usize,
        delta: &[f32],
        w: &[f32],
        dx: &mut [f32],
    ) {
        assert!(holds(delta.len(), n, o) && holds(w.len(), o, i) && holds(dx.len(), n, i));
        // SAFETY: `self` proves AVX2 and FMA; C = dx is n × i, A = Δ is n × o with row
        // stride o and column stride 1, B = W is o × i (asserted above).
        unsafe {
            scaled_rows(n, o, i, delta.as_ptr(), o, 1, w.as_ptr(), dx.as_mut_ptr());
        }
    }
}

impl Avx2Fma {
    /// The logistic sigmoid in place, eight values at a time, as [`super::sigmoid`]; returns
    /// how many leading values it did (a multiple of eight).
    #[inline]
    pub(super) fn sigmoid(self, v: &mut [f32]) -> usize {
        let full = v.len() - v.len() % 8;
        // SAFETY: `self` proves AVX2 and FMA; `v` holds `full` values.
        unsafe { sigmoid(v.as_mut_ptr(), full) };
        full
    }
}

impl Avx2Fma {
    /// One momentum update of every weight, as [`super::momentum`].
    #[inline]
    pub(super) fn momentum(self, lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
        // SAFETY: `self` proves AVX2 and FMA; the function is safe code otherwise.
        unsafe { momentum(lr, mu, w, v, g) }
    }
}

/// [`super::momentum`]'s loop compiled for AVX2: eight weights an instruction instead of four.
/// Rust never fuses `a·b + c` on its own, so the results are those of the portable loop, bit
/// for bit.
///
/// # Safety
///
/// AVX2 and FMA are available (`unsafe` only for that, like every `#[target_feature]`
/// function of this module: only the tokens may call them).
#[target_feature(enable = "avx2,fma")]
unsafe fn momentum(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
    super::portable::momentum(lr, mu, w, v, g);
}

/// `e^x` in each lane, within about one ulp of the correctly rounded value (the Cephes `expf`
/// method): `e^x = 2^m · e^r` with `m = round(x·log₂e)` and `|r| ≤ ln2/2`, `e^r` by a degree-6
/// polynomial, `2^m` as two factors `2^⌊m/2⌋ · 2^(m-⌊m/2⌋)` so that results down to the
/// subnormal range come out right. Inputs are clamped to `[-104, 88.376]`, the range where
/// `e^x` is neither 0 nor infinite in f32; NaN stays NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp(x: __m256) -> __m256 {
    // `max(lo, x)` and `min(hi, x)` return `x` when it is NaN.
    let x = _mm256_min_ps(
        _mm256_set1_ps(88.376_26),
        _mm256_max_ps(_mm256_set1_ps(-104.0), x),
    );
    let m = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(core::f32::consts::LOG2_E),
    ));
    // r = x - m·ln2, with ln2 split in a part exact in f32 and a correction.
    let r = _mm256_fnmadd_ps(m, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(m, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_2e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    // e^r ≈ 1 + r + r²·p(r).
    let er = _mm256_add_ps(
        _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
        _mm256_set1_ps(1.0),
    );
    let m = _mm256_cvtps_epi32(m);
    let half = _mm256_srai_epi32::<1>(m);
    _mm256_mul_ps(
        _mm256_mul_ps(er, pow2(half)),
        pow2(_mm256_sub_epi32(m, half)),
    )
}

/// `2^e` in each lane, for `-126 ≤ e ≤ 127`: `e + 127` in the exponent bits.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pow2(e: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        e,
        _mm256_set1_epi32(127),
    )))
}

/// `v[k] = 1 / (1 + e^-v[k])` for the first `len` values (`len` a multiple of eight), in the
/// stable two-sided form of [`crate::sigmoid`]: with `e = e^-|z|`, `1 / (1 + e)` for `z ≥ 0`
/// and `e / (1 + e)` below.
///
/// # Safety
///
/// AVX2 and FMA are available and `v` holds `len` values.
#[target_feature(enable = "avx2,fma")]
unsafe fn sigmoid(v: *mut f32, len: usize) {
    let sign = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let one = _mm256_set1_ps(1.0);
    let mut k = 0;
    while k < len {
        let z = _mm256_loadu_ps(v.add(k));
        let e = exp(_mm256_or_ps(z, sign)); // e^-|z|
        let pos = _mm256_div_ps(one, _mm256_add_ps(one, e));
        let neg = _mm256_mul_ps(e, pos);
        let nonneg = _mm256_cmp_ps::<_CMP_GE_OQ>(z, _mm256_setzero_ps());
        _mm256_storeu_ps(v.add(k), _mm256_blendv_ps(neg, pos, nonneg));
        k += 8;
    }
}

/// The sum of the eight lanes of `v`, in a fixed order: `(l0+l4) + (l2+l6)` and
/// `(l1+l5) + (l3+l7)`, then those two.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
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

/// How many tiles of rows ahead [`affine`] prefetches the rows of `X`: of 1, 2, 4 and 8 tried
/// on the peers harness's streamed batches, 2 was as fast as any and 8 the slowest.
pub(super) const PREFETCH_TILES: usize = 2;

/// The first of the `R` rows of `X` (`n × i`, row-major) that [`affine`] prefetches while it
/// sums the tile of rows from `r0`: the tile [`PREFETCH_TILES`] tiles on, if `X` has one and
/// this is the `first` pass over `X` (later passes find `X` in L2 already).
///
/// The rows go to L2 (`_MM_HINT_T1`): prefetching them into L1 measured the same, both for
/// batches streamed from memory and for batches already in cache, and L2 leaves L1 to the tile
/// of `W`.
///
/// # Safety
///
/// `x` addresses `n` rows of `i` values.
#[inline]
pub(super) unsafe fn prefetch_rows<const R: usize>(
    n: usize,
    i: usize,
    x: *const f32,
    r0: usize,
    first: bool,
) -> Option<*const f32> {
    let ahead = r0 + PREFETCH_TILES * R;
    // SAFETY: rows `ahead..ahead + R <= n` are inside `X`.
    (first && ahead + R <= n).then(|| unsafe { x.add(ahead * i) })
}

/// Prefetches (into L1) every cache line of the first `len` values from `x`: the rows of `X`
/// that [`affine`] sums first, which no tile before them prefetches. Issued together, their
/// misses overlap. For a lone row (batch 1) this made inference 7% faster on a row streamed
/// from memory and 15% faster on one already in cache (A/B runs of the peers harness and of
/// `benches/seminar.rs`, alternated); the training step did not change.
///
/// # Safety
///
/// `x` addresses at least `len` values.
#[inline]
pub(super) unsafe fn prefetch_head(x: *const f32, len: usize) {
    // One prefetch every sixteen values (64 bytes, a cache line).
    for c in (0..len).step_by(16) {
        // SAFETY: `c < len`; a prefetch only hints the cache and never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(x.add(c).cast()) };
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
