//! The two x86-64 back ends, AVX2 + FMA ([`avx2`]) and AVX-512F ([`avx512`]), and what they
//! share: the feature detection, the prefetch helpers, and the eight-lane `e^x`, horizontal
//! sum and logistic function.
//!
//! This is the one module of nn-core that uses `unsafe`, for two reasons only:
//!
//! - calling a `#[target_feature(enable = "avx2,fma")]` (or `"avx512f,..."`) function is
//!   `unsafe` unless the caller was compiled with those features, which a default
//!   `cargo build --release` (plain x86-64) is not. Each back end is a token type
//!   ([`avx2::Avx2Fma`], [`avx512::Avx512`]) that only its `detect` makes, after
//!   `is_x86_feature_detected!` has seen the features, so every call through it is sound;
//! - the inner loops load and store through raw pointers, so that no bounds check sits between
//!   two FMAs. Every method of a back end checks once, on entry, that each slice holds the
//!   matrix its dimensions describe (the parent module's `check_*` functions); every pointer
//!   below stays inside those bounds (each `SAFETY` comment says why).
//!
//! The shapes are those of [`super`]: `n` samples, `i` inputs, `o` outputs, all row-major.
//!
//! - `affine`, `Z = X·Wᵀ + b`: both operands are contiguous along the sum, so each output is a
//!   dot product. A tile of `R` rows of `X` times `J` rows of `W` keeps `R·J` accumulators in
//!   registers and loads `R + J` vectors for `R·J` FMAs.
//! - `weight_grad` (`Δᵀ·X`) and `input_grad` (`Δ·W`): the sum runs over rows of the right
//!   operand, so each output row is a sum of scaled rows. A tile of `M` output rows times two
//!   vectors of columns keeps `M·2` accumulators, broadcasting one element of `Δ` a row.
//!
//! Sum order: every output is summed in a fixed order that depends only on the shapes, so a run
//! is reproducible bit for bit on one machine. It is not the order of the portable loops (lanes
//! of eight or sixteen, fused multiply-adds), so results differ from those of a CPU without
//! AVX2/FMA by f32 rounding.

mod avx2;
mod avx512;

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_ps, _mm256_blendv_ps, _mm256_castps256_ps128,
    _mm256_castsi256_ps, _mm256_cmp_ps, _mm256_cvtps_epi32, _mm256_div_ps, _mm256_extractf128_ps,
    _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps,
    _mm256_mul_ps, _mm256_or_ps, _mm256_round_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_slli_epi32, _mm256_srai_epi32, _mm256_storeu_ps, _mm256_sub_epi32,
    _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps, _mm_prefetch,
    _CMP_GE_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _MM_HINT_T0,
};

use super::Backend;
#[cfg(test)]
pub(super) use {avx2::Avx2Fma, avx512::Avx512};

/// The widest x86 back end this CPU has, if it has one (`std` caches the feature tests).
pub(super) fn detect() -> Option<&'static dyn Backend> {
    if let Some(cpu) = avx512::Avx512::detect() {
        return Some(cpu);
    }
    avx2::Avx2Fma::detect().map(|cpu| cpu as &dyn Backend)
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

/// The sum of the eight lanes of `v`, in a fixed order: `(l0+l4) + (l2+l6)` and
/// `(l1+l5) + (l3+l7)`, then those two.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
}

/// The logistic function in place, as [`super::logistic_in_place`], for both x86 back ends:
/// whole groups of eight values in SIMD ([`logistic_simd`]), the values past the last group
/// with the scalar [`crate::math::logistic`].
///
/// # Safety
///
/// AVX2 and FMA are available.
#[target_feature(enable = "avx2,fma")]
unsafe fn logistic(v: &mut [f32]) {
    let full = v.len() - v.len() % 8;
    // SAFETY: AVX2 and FMA are available (the caller's promise); `v` holds `full` values.
    unsafe { logistic_simd(v.as_mut_ptr(), full) };
    super::portable::logistic(&mut v[full..]);
}

/// `v[k] = 1 / (1 + e^-v[k])` for the first `len` values (`len` a multiple of eight), in the
/// stable two-sided form of [`crate::math::logistic`]: with `e = e^-|z|`, `1 / (1 + e)` for
/// `z ≥ 0` and `e / (1 + e)` below.
///
/// # Safety
///
/// AVX2 and FMA are available and `v` holds `len` values.
#[target_feature(enable = "avx2,fma")]
unsafe fn logistic_simd(v: *mut f32, len: usize) {
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

/// How many tiles of rows ahead `affine` prefetches the rows of `X`: of 1, 2, 4 and 8 tried
/// on the peers harness's streamed batches, 2 was as fast as any and 8 the slowest.
const PREFETCH_TILES: usize = 2;

/// The first of the `R` rows of `X` (`n × i`, row-major) that `affine` prefetches while it
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
unsafe fn prefetch_rows<const R: usize>(
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
/// that `affine` sums first, which no tile before them prefetches. Issued together, their
/// misses overlap. For a lone row (batch 1) this made inference 7% faster on a row streamed
/// from memory and 15% faster on one already in cache (A/B runs of the peers harness and of
/// `benches/seminar.rs`, alternated); the training step did not change.
///
/// # Safety
///
/// `x` addresses at least `len` values.
#[inline]
unsafe fn prefetch_head(x: *const f32, len: usize) {
    // One prefetch every sixteen values (64 bytes, a cache line).
    for c in (0..len).step_by(16) {
        // SAFETY: `c < len`; a prefetch only hints the cache and never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(x.add(c).cast()) };
    }
}
