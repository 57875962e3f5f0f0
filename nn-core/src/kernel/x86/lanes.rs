//! The eight-lane math both x86 back ends share: `e^x`, `ln(1 + t)`, the horizontal sum and
//! maximum, and the activations built on them (logistic, tanh, softplus, softmax,
//! log-sum-exp), plus the portable activation loops recompiled with AVX2 enabled.
//!
//! Every function here is `#[target_feature(enable = "avx2,fma")]` and `unsafe` for that alone
//! unless its `# Safety` section says more: only a back end token, which proves the features,
//! calls them. Slices are read and written in whole vectors of eight and, for the last `len mod
//! 8` values, one masked vector (`_mm256_maskload_ps` / `_mm256_maskstore_ps` touch only the
//! lanes their mask selects, so no access goes past a slice; the other lanes read as zero).
//! The logistic function alone keeps a scalar tail, so that its bits stay those it always had.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_ps, _mm256_and_ps, _mm256_andnot_ps,
    _mm256_blendv_ps, _mm256_castps256_ps128, _mm256_castsi256_ps, _mm256_cmp_ps,
    _mm256_cmpgt_epi32, _mm256_cvtps_epi32, _mm256_div_ps, _mm256_extractf128_ps, _mm256_fmadd_ps,
    _mm256_fnmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_max_ps,
    _mm256_min_ps, _mm256_mul_ps, _mm256_or_ps, _mm256_round_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setr_epi32, _mm256_setzero_ps, _mm256_slli_epi32, _mm256_srai_epi32, _mm256_storeu_ps,
    _mm256_sub_epi32, _mm256_sub_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_max_ps, _mm_max_ss,
    _mm_movehdup_ps, _mm_movehl_ps, _CMP_GE_OQ, _CMP_GT_OQ, _CMP_LT_OQ, _MM_FROUND_NO_EXC,
    _MM_FROUND_TO_NEAREST_INT,
};

use crate::kernel::portable;
#[cfg(not(feature = "std"))]
use crate::math::Float as _;

/// `e^x` in each lane, within about one ulp of the correctly rounded value (the Cephes `expf`
/// method): `e^x = 2^m · e^r` with `m = round(x·log₂e)` and `|r| ≤ ln2/2`, `e^r` by a degree-6
/// polynomial, `2^m` as two factors `2^⌊m/2⌋ · 2^(m-⌊m/2⌋)` so that results down to the
/// subnormal range come out right. Inputs are clamped to `[-104, 88.376]`, the range where
/// `e^x` is neither 0 nor infinite in f32; NaN stays NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn exp(x: __m256) -> __m256 {
    // `max(lo, x)` and `min(hi, x)` return `x` when it is NaN.
    let x = _mm256_min_ps(
        _mm256_set1_ps(88.376_26),
        _mm256_max_ps(_mm256_set1_ps(-104.0), x),
    );
    let (er, m) = exp_parts(x);
    let half = _mm256_srai_epi32::<1>(m);
    _mm256_mul_ps(
        _mm256_mul_ps(er, pow2(half)),
        pow2(_mm256_sub_epi32(m, half)),
    )
}

/// `e^{2x} + 1` for `0 ≤ x`, with `x` clamped to 9.5 (`e^19 ≈ 1.8·10⁸`): the denominator of
/// tanh's `1 - 2/(e^{2x} + 1)`, shorter and with less latency than [`exp`] and an addition,
/// as tanh needs no more. `m = round(2x·log₂e) ≤ 28`, so `r = 2x - m·ln2` takes one fused
/// multiply-add with `ln2` rounded to f32 (its error, `m·2·10⁻⁹`, costs tanh at most 0.05
/// ulp, near 0.625; further on tanh passes on less and less of it); `e^r - 1` is a polynomial of degree 6 rather
/// than 7 (relative error 1.3·10⁻⁸), evaluated in two halves (Estrin's scheme: four
/// multiply-adds deep rather than five); and `2^m·(e^r - 1) + (2^m + 1)` is one more, with
/// one rounding. The result is within 1.25 ulp of `e^{2x} + 1` up to `x = 2` (1.00 measured)
/// and 3 ulp up to 9.5 (2.43 measured: the rounded `ln2` costs up to `28·2·10⁻⁹` there), as
/// tested. tanh takes it only from `|z| = 0.625` on, where `1 - 2/(e + 1)` passes at most 0.62
/// of its relative error on, and less than 0.04 of it past 2; and it is exactly 1 from 9.5 on,
/// where `1 - 2/(e + 1)` rounds to 1 whichever `e ≥ e^19` it is given. NaN stays NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp2x_plus_one(x: __m256) -> __m256 {
    let x = _mm256_min_ps(_mm256_set1_ps(9.5), x);
    // `x·(2 log₂e)` is `(2x)·log₂e` exactly: doubling is exact in f32.
    let m = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(2.0 * core::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(
        m,
        _mm256_set1_ps(core::f32::consts::LN_2),
        _mm256_add_ps(x, x),
    );
    let [c0, c1, c2, c3, c4] = TANH_EXP.map(|c| _mm256_set1_ps(c));
    let r2 = _mm256_mul_ps(r, r);
    let low = _mm256_fmadd_ps(c1, r, c0);
    let high = _mm256_fmadd_ps(c4, r2, _mm256_fmadd_ps(c3, r, c2));
    let p = _mm256_fmadd_ps(high, r2, low);
    // `e^{2x} + 1 = 2^m·(e^r - 1) + (2^m + 1)`, one rounding: `2^m + 1` is exact up to
    // `m = 23`, and past it the 1 is below an ulp of the sum anyway.
    let s = pow2(_mm256_cvtps_epi32(m));
    _mm256_fmadd_ps(
        s,
        _mm256_fmadd_ps(p, r2, r),
        _mm256_add_ps(s, _mm256_set1_ps(1.0)),
    )
}

/// The coefficients of `(e^r - 1 - r)/r²` on `|r| ≤ ln2/2`, constant term first, for
/// [`exp2x`]: a minimax fit of the relative error of `e^r - 1` (Lawson's iteration over
/// 40,000 points, by `scripts/fit_tanh_exp.py`), rounded to f32.
pub(super) const TANH_EXP: [f32; 5] = [
    0.499_999_97,
    0.166_665_43,
    0.041_667_2,
    0.008_366_546,
    0.001_388_250_7,
];

/// The two parts of [`exp`] of an `x` already clamped: `e^r` and `m`, with `e^x = e^r · 2^m`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_parts(x: __m256) -> (__m256, __m256i) {
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
    (er, _mm256_cvtps_epi32(m))
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

/// `ln(1 + t)` in each lane for `0 ≤ t ≤ 1`, within about one ulp: `u = 1 + t` rounded, then
/// `ln u` by Cephes' `logf` (`u = 2^e·(1 + f)` with `√½ ≤ 1 + f < √2`, `ln(1 + f)` by a
/// degree-8 polynomial, `e·ln2` split in an exact part and a correction), plus
/// `(t - (u - 1))/u`, the first-order term of what the rounding of `u` lost (so a `t` too small
/// to change `u` still comes out as `t`). NaN stays NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn ln_1p(t: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let u = _mm256_add_ps(one, t);
    // `u` in [1, 2]: halve it above √2 (so e = 1), keep it below (e = 0).
    let big = _mm256_cmp_ps::<_CMP_GT_OQ>(u, _mm256_set1_ps(core::f32::consts::SQRT_2));
    let f = _mm256_sub_ps(
        _mm256_blendv_ps(u, _mm256_mul_ps(u, _mm256_set1_ps(0.5)), big),
        one,
    );
    let e = _mm256_and_ps(big, one);
    let mut p = _mm256_set1_ps(7.037_683_6e-2);
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(c));
    }
    let f2 = _mm256_mul_ps(f, f);
    let y = _mm256_mul_ps(_mm256_mul_ps(p, f), f2);
    let y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.121_944_4e-4), y);
    let y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5), f2, y);
    let ln_u = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693_359_4), _mm256_add_ps(f, y));
    let lost = _mm256_div_ps(_mm256_sub_ps(t, _mm256_sub_ps(u, one)), u);
    _mm256_add_ps(ln_u, lost)
}

/// The sum of the eight lanes of `v`, in a fixed order: `(l0+l4) + (l2+l6)` and
/// `(l1+l5) + (l3+l7)`, then those two.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn hsum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
}

/// The largest of the eight lanes of `v` (none of them NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn hmax(v: __m256) -> f32 {
    let quad = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_max_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_max_ss(pair, _mm_movehdup_ps(pair)))
}

/// The mask of the first `len` lanes (`len < 8`), for `_mm256_maskload_ps` and
/// `_mm256_maskstore_ps`: all bits set in a selected lane.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn first_lanes(len: usize) -> __m256i {
    debug_assert!(len < 8);
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(len as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// `v[k] ← f(v[k])` for every value, eight at a time, the last `len mod 8` in one masked vector.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn map(v: &mut [f32], f: impl Fn(__m256) -> __m256) {
    let (len, p) = (v.len(), v.as_mut_ptr());
    let mut k = 0;
    // SAFETY: `k + 8 <= len` values from `k` are inside `v`; the tail's mask selects the
    // `len - k` values left.
    unsafe {
        while k + 8 <= len {
            _mm256_storeu_ps(p.add(k), f(_mm256_loadu_ps(p.add(k))));
            k += 8;
        }
        if k < len {
            let mask = first_lanes(len - k);
            _mm256_maskstore_ps(p.add(k), mask, f(_mm256_maskload_ps(p.add(k), mask)));
        }
    }
}

/// `g[k] ← f(x[k], g[k])` for the first `min(x.len(), g.len())` values, as [`map`].
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn map2(x: &[f32], g: &mut [f32], f: impl Fn(__m256, __m256) -> __m256) {
    let len = x.len().min(g.len());
    let (xp, gp) = (x.as_ptr(), g.as_mut_ptr());
    let mut k = 0;
    // SAFETY: both slices hold `len` values; as in `map`.
    unsafe {
        while k + 8 <= len {
            let r = f(_mm256_loadu_ps(xp.add(k)), _mm256_loadu_ps(gp.add(k)));
            _mm256_storeu_ps(gp.add(k), r);
            k += 8;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let r = f(
                _mm256_maskload_ps(xp.add(k), mask),
                _mm256_maskload_ps(gp.add(k), mask),
            );
            _mm256_maskstore_ps(gp.add(k), mask, r);
        }
    }
}

/// `1 / (1 + e^-z)` in each lane, in the stable two-sided form of [`crate::math::logistic`]:
/// with `e = e^-|z|`, `1 / (1 + e)` for `z ≥ 0` and `e / (1 + e)` below.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn logistic8(z: __m256) -> __m256 {
    let sign = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let one = _mm256_set1_ps(1.0);
    let e = exp(_mm256_or_ps(z, sign)); // e^-|z|
    let pos = _mm256_div_ps(one, _mm256_add_ps(one, e));
    let neg = _mm256_mul_ps(e, pos);
    let nonneg = _mm256_cmp_ps::<_CMP_GE_OQ>(z, _mm256_setzero_ps());
    _mm256_blendv_ps(neg, pos, nonneg)
}

/// The logistic function in place, as [`crate::kernel::logistic_in_place`]: whole groups of
/// eight values by [`logistic8`], the values past the last group with the scalar
/// [`crate::math::logistic`] (the split it always had, so the same bits).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn logistic(v: &mut [f32]) {
    let full = v.len() - v.len() % 8;
    let p = v.as_mut_ptr();
    let mut k = 0;
    while k < full {
        // SAFETY: `k + 8 <= full <= v.len()`.
        unsafe { _mm256_storeu_ps(p.add(k), logistic8(_mm256_loadu_ps(p.add(k)))) };
        k += 8;
    }
    portable::logistic(&mut v[full..]);
}

/// `tanh` in each lane, as [`crate::kernel::tanh_in_place`] describes: Cephes' `tanhf` odd
/// polynomial for `|z| < 0.625`, `1 - 2/(e^{2|z|} + 1)` above (no overflow: `e^x` clamps its
/// input, so a large `|z|` gives `1 - 2/huge = 1`), then the sign of `z`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh8(z: __m256) -> __m256 {
    let sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let one = _mm256_set1_ps(1.0);
    let sign = _mm256_and_ps(z, sign_bit);
    let x = _mm256_andnot_ps(sign_bit, z); // |z|
    let x2 = _mm256_mul_ps(x, x);
    let mut p = _mm256_set1_ps(-5.704_988_7e-3);
    for c in [2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1] {
        p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(c));
    }
    let small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), x, x);
    let e1 = exp2x_plus_one(x);
    let large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0), e1));
    let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(0.625));
    _mm256_or_ps(_mm256_blendv_ps(large, small, is_small), sign)
}

/// Tanh in place, as [`crate::kernel::tanh_in_place`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tanh(v: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map(v, |z| unsafe { tanh8(z) });
}

/// `max(z, 0) + ln(1 + e^-|z|)` in each lane, as [`crate::kernel::softplus_in_place`].
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn softplus8(z: __m256) -> __m256 {
    let sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let t = exp(_mm256_or_ps(z, sign_bit)); // e^-|z|
                                            // `max(z, 0)` returns 0 for a NaN `z`; `t` is NaN then, and so is the sum.
    _mm256_add_ps(_mm256_max_ps(z, _mm256_setzero_ps()), ln_1p(t))
}

/// Softplus in place, as [`crate::kernel::softplus_in_place`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softplus(v: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map(v, |z| unsafe { softplus8(z) });
}

/// `g ← g·σ(z)`, as [`crate::kernel::softplus_backward`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softplus_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map2(z, g, |z, g| unsafe { _mm256_mul_ps(g, logistic8(z)) });
}

/// `max z` of a row, NaNs ignored as `f32::max` ignores them (`-∞` for an empty row or one
/// of NaNs only): `_mm256_max_ps(x, acc)` returns `acc` where `x` is NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_max(z: &[f32]) -> f32 {
    let (len, p) = (z.len(), z.as_ptr());
    let low = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut acc = low;
    let mut k = 0;
    // SAFETY: as in `map`.
    unsafe {
        while k + 8 <= len {
            acc = _mm256_max_ps(_mm256_loadu_ps(p.add(k)), acc);
            k += 8;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let x = _mm256_maskload_ps(p.add(k), mask);
            let x = _mm256_blendv_ps(low, x, _mm256_castsi256_ps(mask));
            acc = _mm256_max_ps(x, acc);
        }
    }
    hmax(acc)
}

/// `Σ e^(z - m)` of a row in eight lanes, writing each `e^(z - m)` of the whole vectors (not
/// of the tail past them) to `out` if given (the same length as `z`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_exp(z: *const f32, len: usize, m: f32, out: Option<*mut f32>) -> f32 {
    let m = _mm256_set1_ps(m);
    let mut acc = _mm256_setzero_ps();
    let mut k = 0;
    // SAFETY: `z` (and `out`) hold `len` values (the callers' promise); as in `map`.
    unsafe {
        while k + 8 <= len {
            let e = exp(_mm256_sub_ps(_mm256_loadu_ps(z.add(k)), m));
            if let Some(out) = out {
                _mm256_storeu_ps(out.add(k), e);
            }
            acc = _mm256_add_ps(acc, e);
            k += 8;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let e = exp(_mm256_sub_ps(_mm256_maskload_ps(z.add(k), mask), m));
            acc = _mm256_add_ps(acc, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
        }
    }
    hsum(acc)
}

/// Softmax of every row of `width` values in place, as [`crate::kernel::softmax_rows`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softmax_rows(v: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    super::rows_apart(v.len() / width, width, 16, |r| unsafe {
        softmax(&mut v[r * width..(r + 1) * width])
    });
}

/// `g ← a ⊙ (g - a·g)` for every row of `width` values, as
/// [`crate::kernel::softmax_backward_rows`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softmax_backward_rows(a: &[f32], g: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    let n = a.len().min(g.len()) / width;
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    super::rows_apart(n, width, 16, |r| unsafe {
        let rows = r * width..(r + 1) * width;
        softmax_backward(&a[rows.clone()], &mut g[rows])
    });
}

/// Softmax of one row in place, as [`crate::kernel::softmax_in_place`].
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softmax(v: &mut [f32]) {
    let m = row_max(v);
    let (len, p) = (v.len(), v.as_mut_ptr());
    let full = len - len % 8;
    // SAFETY: `p` holds `len` values, read and written in place.
    let sum = unsafe { sum_exp(p, len, m, Some(p)) };
    let inv = _mm256_set1_ps(1.0 / sum);
    map(&mut v[..full], |e| _mm256_mul_ps(e, inv));
    // The tail's `e^(z - m)` is computed again rather than stored and reloaded: a load from a
    // `vmaskmovps` store waits for it (no store forwarding), which made rows of 10 slower than
    // the scalar loop.
    if full < len {
        let mask = first_lanes(len - full);
        // SAFETY: the mask selects the `len - full` values past `full`.
        unsafe {
            let e = exp(_mm256_sub_ps(
                _mm256_maskload_ps(p.add(full), mask),
                _mm256_set1_ps(m),
            ));
            _mm256_maskstore_ps(p.add(full), mask, _mm256_mul_ps(e, inv));
        }
    }
}

/// `g ← a ⊙ (g - a·g)` for one row, as [`crate::kernel::softmax_backward`].
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softmax_backward(a: &[f32], g: &mut [f32]) {
    let len = a.len().min(g.len());
    let (ap, gp) = (a.as_ptr(), g.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let mut k = 0;
    // SAFETY: both slices hold `len` values; as in `map`.
    unsafe {
        while k + 8 <= len {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(ap.add(k)), _mm256_loadu_ps(gp.add(k)), acc);
            k += 8;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let (av, gv) = (
                _mm256_maskload_ps(ap.add(k), mask),
                _mm256_maskload_ps(gp.add(k), mask),
            );
            acc = _mm256_fmadd_ps(av, gv, acc);
        }
    }
    let dot = _mm256_set1_ps(hsum(acc));
    map2(a, g, |a, g| _mm256_mul_ps(a, _mm256_sub_ps(g, dot)));
}

/// `m + ln Σ e^(z - m)` of a row, as [`crate::kernel::log_sum_exp`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn log_sum_exp(z: &[f32]) -> f32 {
    let m = row_max(z);
    // SAFETY: `z` holds `z.len()` values.
    m + unsafe { sum_exp(z.as_ptr(), z.len(), m, None) }.ln()
}

// The portable loops that vectorise as they are, compiled with AVX2 (eight lanes instead of
// the baseline's four): the same source, so the same bits as the portable back end.

/// [`portable::logistic_backward`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn logistic_backward(a: &[f32], g: &mut [f32]) {
    portable::logistic_backward(a, g);
}

/// [`portable::tanh_backward`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tanh_backward(a: &[f32], g: &mut [f32]) {
    portable::tanh_backward(a, g);
}

/// [`portable::relu`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn relu(v: &mut [f32]) {
    portable::relu(v);
}

/// [`portable::leaky_relu`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn leaky_relu(v: &mut [f32], slope: f32) {
    portable::leaky_relu(v, slope);
}

/// [`portable::leaky_relu_backward`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn leaky_relu_backward(z: &[f32], g: &mut [f32], slope: f32) {
    portable::leaky_relu_backward(z, g, slope);
}

/// `2u = 2√(2/π)·(z + 0.044715·z³)` in each lane, GELU's argument of `σ`, and its derivative
/// `2u' = 2√(2/π)·(1 + 3·0.044715·z²)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_argument8(z: __m256) -> (__m256, __m256) {
    let z2 = _mm256_mul_ps(z, z);
    let inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(GELU_CUBIC), z2), z, z);
    let slope = _mm256_fmadd_ps(_mm256_set1_ps(3.0 * GELU_CUBIC), z2, _mm256_set1_ps(1.0));
    let two_c = _mm256_set1_ps(GELU_TWO_C);
    (_mm256_mul_ps(two_c, inner), _mm256_mul_ps(two_c, slope))
}

/// `(σ(x), σ(x)·σ(-x))` in each lane from one `e = e^-|x|`: with `q = 1/(1 + e)`, `σ = q` or
/// `e·q` by the sign, and `σ(x)(1 - σ(x)) = e·q²`, which keeps its relative accuracy where
/// `1 - σ(x)` computed from `σ` would cancel.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn logistic_and_spread8(x: __m256) -> (__m256, __m256) {
    let sign = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let one = _mm256_set1_ps(1.0);
    let e = exp(_mm256_or_ps(x, sign)); // e^-|x|
    let q = _mm256_div_ps(one, _mm256_add_ps(one, e));
    let eq = _mm256_mul_ps(e, q);
    let nonneg = _mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_setzero_ps());
    (_mm256_blendv_ps(eq, q, nonneg), _mm256_mul_ps(eq, q))
}

/// GELU in place, as [`crate::kernel::gelu_in_place`]: `z·σ(2u)`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gelu(v: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map(v, |z| unsafe {
        _mm256_mul_ps(z, logistic8(gelu_argument8(z).0))
    });
}

/// `g ← g·(s + 2z·s(1 - s)·u')`, `s = σ(2u)`, as [`crate::kernel::gelu_backward`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gelu_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map2(z, g, |z, g| unsafe {
        let (u2, du2) = gelu_argument8(z);
        let (s, spread) = logistic_and_spread8(u2);
        _mm256_mul_ps(g, _mm256_fmadd_ps(_mm256_mul_ps(z, spread), du2, s))
    });
}

/// SiLU in place, as [`crate::kernel::silu_in_place`]: `z·σ(z)`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn silu(v: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map(v, |z| unsafe { _mm256_mul_ps(z, logistic8(z)) });
}

/// `g ← g·(s + z·s(1 - s))`, `s = σ(z)`, as [`crate::kernel::silu_backward`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn silu_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): AVX2 and FMA are available, as for this function.
    map2(z, g, |z, g| unsafe {
        let (s, spread) = logistic_and_spread8(z);
        _mm256_mul_ps(g, _mm256_fmadd_ps(z, spread, s))
    });
}

/// GELU's cubic coefficient, 0.044715.
pub(super) const GELU_CUBIC: f32 = 0.044_715;
/// `2√(2/π)`, the factor of GELU's `2u`.
pub(super) const GELU_TWO_C: f32 = 1.595_769_2;

/// [`portable::relu_backward`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn relu_backward(z: &[f32], g: &mut [f32]) {
    portable::relu_backward(z, g);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::arch::x86_64::{_mm256_loadu_ps, _mm256_storeu_ps};

    /// `exp2x_plus_one` is within [`TANH_EXP_ULP`] ulp of `e^{2x} + 1` up to `x = 2` and 3 ulp
    /// up to 9.5 (every 16th float, and the ends), and tanh's `1 - 2/(e + 1)` is exactly 1 for
    /// every `e` from `e^19` on: the claims that let tanh use the short exponential and clamp
    /// at 9.5.
    #[test]
    fn tanh_s_exponential_is_within_its_bound_of_e_to_the_2x() {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            return;
        }
        let mut xs: Vec<f32> = (0..9.5f32.to_bits())
            .step_by(16)
            .map(f32::from_bits)
            .collect();
        xs.extend([0.0, 9.5, f32::from_bits(9.5f32.to_bits() - 1)]);
        while !xs.len().is_multiple_of(8) {
            xs.push(1.0);
        }
        let mut worst = [0.0f64; 2];
        for chunk in xs.chunks(8) {
            let mut e = [0.0f32; 8];
            // SAFETY: AVX2 and FMA are available (tested above); each array holds eight values.
            unsafe {
                let x = _mm256_loadu_ps(chunk.as_ptr());
                _mm256_storeu_ps(e.as_mut_ptr(), exp2x_plus_one(x));
            }
            for k in 0..8 {
                let want = (2.0 * f64::from(chunk[k])).exp() + 1.0;
                let ulp = 2f64.powf(want.log2().floor() - 23.0);
                let err = (f64::from(e[k]) - want).abs() / ulp;
                let bound = if chunk[k] <= 2.0 { TANH_EXP_ULP } else { 3.0 };
                assert!(err <= bound, "e^(2·{}) + 1 is {err} ulp off", chunk[k]);
                let at = usize::from(chunk[k] > 2.0);
                worst[at] = worst[at].max(err);
            }
        }
        eprintln!("e^(2x) + 1, largest error (ulp) up to 2, past 2: {worst:?}");
        // From 9.5 on (2x ≥ 19), 2/(e + 1) is below half an ulp of 1.
        let e19 = 19.0f32.exp();
        for e in [e19, 1e10, 1e20, 3.4e38] {
            assert_eq!(1.0 - 2.0 / (e + 1.0), 1.0, "e = {e}");
        }
        assert!(e19 < 1.8e8 && 2.0 / (e19 + 1.0) < f32::EPSILON / 4.0);
    }

    /// The bound `exp2x_plus_one` keeps up to `x = 2`, in ulp of `e^{2x} + 1` (3 past it).
    const TANH_EXP_ULP: f64 = 1.25;
}
