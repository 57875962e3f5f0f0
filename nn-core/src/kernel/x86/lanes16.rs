//! Sixteen-lane versions of the activations for the AVX-512F back end: `e^x`, `ln(1 + t)`, the
//! logistic function, tanh, softplus, softmax and log-sum-exp. The elementwise ones are the same
//! sequence of operations as their eight-lane twins in [`super::lanes`], so they give the same
//! bits lane for lane (IEEE operations, the same constants, the same order; only the register
//! width differs); softmax and log-sum-exp sum in sixteen lanes, so their bits differ from the
//! AVX2 back end's by f32 rounding.
//!
//! Why a second copy: a deep narrow network spends much of its time in `tanh`, and sixteen
//! lanes halve its instructions; and AVX-512's mask registers make a row's tail one masked
//! vector at the cost of a full one, where AVX2's `vmaskmovps` stores are slow on this CPU (a
//! softmax over rows of 10 in eight lanes, with masked stores and reloads, measured 1.8× slower
//! than the scalar loop; in sixteen lanes it is faster than both).
//!
//! Every function here is `#[target_feature(enable = "avx512f,avx2,fma")]` and `unsafe` for
//! that alone unless its `# Safety` section says more. Tails go in one masked vector
//! (`_mm512_maskz_loadu_ps` / `_mm512_mask_storeu_ps` touch only the selected lanes).

use core::arch::x86_64::{
    __m512, __m512i, _mm512_add_ps, _mm512_and_epi32, _mm512_andnot_epi32, _mm512_castps_si512,
    _mm512_castsi512_ps, _mm512_cmp_ps_mask, _mm512_div_ps, _mm512_fmadd_ps, _mm512_fnmadd_ps,
    _mm512_loadu_ps, _mm512_mask_blend_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
    _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_or_epi32, _mm512_roundscale_ps,
    _mm512_scalef_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
    _mm512_sub_ps, _CMP_GE_OQ, _CMP_LT_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT,
};
use core::arch::x86_64::{
    __mmask16, _mm512_loadu_si512, _mm512_maskz_mov_ps, _mm512_permutex2var_ps,
    _mm512_reduce_add_ps, _mm512_reduce_max_ps, _CMP_GT_OQ,
};

use super::lanes::TANH_EXP;
use crate::kernel::portable;
#[cfg(not(feature = "std"))]
use crate::math::Float as _;

// The exact loops (no rounding of their own: each output is one multiply or one select) are
// the eight-lane ones, so both x86 back ends give the same bits for them.
pub(super) use super::lanes::{
    leaky_relu, leaky_relu_backward, logistic_backward, relu, relu_backward, tanh_backward,
};

/// The mask of the first `len` lanes, `len ≤ 16`.
#[inline]
pub(super) fn first_lanes(len: usize) -> __mmask16 {
    debug_assert!(len <= 16);
    ((1u32 << len) - 1) as __mmask16
}

/// [`super::lanes::exp`] in sixteen lanes.
///
/// The scaling by `2^m` is one `vscalefps`, which multiplies by `2^m` and rounds once: the
/// eight-lane version's two exact multiplications by powers of two give the same bits (the
/// first of them is exact, the second rounds once, into the subnormals or to infinity where it
/// has to).
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp(x: __m512) -> __m512 {
    let x = _mm512_min_ps(
        _mm512_set1_ps(88.376_26),
        _mm512_max_ps(_mm512_set1_ps(-104.0), x),
    );
    let (er, m) = exp_parts(x);
    _mm512_scalef_ps(er, m)
}

/// [`super::lanes`]' `exp2x_plus_one` in sixteen lanes, with the same bits (`vscalefps` of 1
/// by `m` is the eight-lane version's `2^m`).
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp2x_plus_one(x: __m512) -> __m512 {
    let x = _mm512_min_ps(_mm512_set1_ps(9.5), x);
    let m = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(2.0 * core::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(
        m,
        _mm512_set1_ps(core::f32::consts::LN_2),
        _mm512_add_ps(x, x),
    );
    let [c0, c1, c2, c3, c4] = TANH_EXP.map(|c| _mm512_set1_ps(c));
    let r2 = _mm512_mul_ps(r, r);
    let low = _mm512_fmadd_ps(c1, r, c0);
    let high = _mm512_fmadd_ps(c4, r2, _mm512_fmadd_ps(c3, r, c2));
    let p = _mm512_fmadd_ps(high, r2, low);
    // `e^{2x} + 1 = 2^m·(e^r - 1) + (2^m + 1)`, one rounding: `2^m + 1` is exact up to
    // `m = 23`, and past it the 1 is below an ulp of the sum anyway.
    let s = _mm512_scalef_ps(_mm512_set1_ps(1.0), m);
    _mm512_fmadd_ps(
        s,
        _mm512_fmadd_ps(p, r2, r),
        _mm512_add_ps(s, _mm512_set1_ps(1.0)),
    )
}

/// [`super::lanes`]' `exp_parts` in sixteen lanes, with `m` left as a float (a whole number):
/// [`exp`] scales by it with `vscalefps`, which takes it so.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp_parts(x: __m512) -> (__m512, __m512) {
    let m = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(core::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(m, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(m, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_2e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let er = _mm512_add_ps(
        _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r),
        _mm512_set1_ps(1.0),
    );
    (er, m)
}

/// The sign bit of every lane.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn sign_bit() -> __m512i {
    _mm512_set1_epi32(i32::MIN)
}

/// `x | sign` lane by lane (AVX-512F has the bitwise operations on integers only).
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn or(x: __m512, sign: __m512i) -> __m512 {
    _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(x), sign))
}

/// [`super::lanes`]' `logistic8` in sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn logistic16(z: __m512) -> __m512 {
    let one = _mm512_set1_ps(1.0);
    let e = exp(or(z, sign_bit())); // e^-|z|
    let pos = _mm512_div_ps(one, _mm512_add_ps(one, e));
    let neg = _mm512_mul_ps(e, pos);
    let nonneg = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(z, _mm512_setzero_ps());
    _mm512_mask_blend_ps(nonneg, neg, pos)
}

/// The logistic function in place, as [`crate::kernel::logistic_in_place`], with the split of
/// the eight-lane version: SIMD for the first `len - len mod 8` values (whole vectors of
/// sixteen, then one of eight in a masked vector), the scalar function for the rest. Same
/// bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn logistic(v: &mut [f32]) {
    let full = v.len() - v.len() % 8;
    let p = v.as_mut_ptr();
    let mut k = 0;
    // SAFETY: `k + 16 <= full <= v.len()`; the masked vector covers `full - k = 8` values.
    unsafe {
        while k + 16 <= full {
            _mm512_storeu_ps(p.add(k), logistic16(_mm512_loadu_ps(p.add(k))));
            k += 16;
        }
        if k < full {
            let mask = first_lanes(full - k);
            let z = _mm512_maskz_loadu_ps(mask, p.add(k));
            _mm512_mask_storeu_ps(p.add(k), mask, logistic16(z));
        }
    }
    portable::logistic(&mut v[full..]);
}

/// [`super::lanes`]' `tanh8` in sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn tanh16(z: __m512) -> __m512 {
    let one = _mm512_set1_ps(1.0);
    let zi = _mm512_castps_si512(z);
    let sign = _mm512_and_epi32(zi, sign_bit());
    let x = _mm512_castsi512_ps(_mm512_andnot_epi32(sign_bit(), zi)); // |z|
    let x2 = _mm512_mul_ps(x, x);
    let mut p = _mm512_set1_ps(-5.704_988_7e-3);
    for c in [2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1] {
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(c));
    }
    let small = _mm512_fmadd_ps(_mm512_mul_ps(p, x2), x, x);
    let e1 = exp2x_plus_one(x);
    let large = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0), e1));
    let is_small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(0.625));
    or(_mm512_mask_blend_ps(is_small, large, small), sign)
}

/// Tanh in place, as [`crate::kernel::tanh_in_place`]: sixteen values at a time, the last
/// `len mod 16` in one masked vector. Same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn tanh(v: &mut [f32]) {
    let (len, p) = (v.len(), v.as_mut_ptr());
    let mut k = 0;
    // SAFETY: `k + 16 <= len` values from `k` are inside `v`; the tail's mask selects the
    // `len - k` values left.
    unsafe {
        while k + 16 <= len {
            _mm512_storeu_ps(p.add(k), tanh16(_mm512_loadu_ps(p.add(k))));
            k += 16;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let z = _mm512_maskz_loadu_ps(mask, p.add(k));
            _mm512_mask_storeu_ps(p.add(k), mask, tanh16(z));
        }
    }
}

/// `v[k] ← f(v[k])` for every value, sixteen at a time, the last `len mod 16` in one masked
/// vector.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn map(v: &mut [f32], f: impl Fn(__m512) -> __m512) {
    let (len, p) = (v.len(), v.as_mut_ptr());
    let mut k = 0;
    // SAFETY: `k + 16 <= len` values from `k` are inside `v`; the tail's mask selects the
    // `len - k` values left.
    unsafe {
        while k + 16 <= len {
            _mm512_storeu_ps(p.add(k), f(_mm512_loadu_ps(p.add(k))));
            k += 16;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let r = f(_mm512_maskz_loadu_ps(mask, p.add(k)));
            _mm512_mask_storeu_ps(p.add(k), mask, r);
        }
    }
}

/// `g[k] ← f(x[k], g[k])` for the first `min(x.len(), g.len())` values, as [`map`].
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn map2(x: &[f32], g: &mut [f32], f: impl Fn(__m512, __m512) -> __m512) {
    let len = x.len().min(g.len());
    let (xp, gp) = (x.as_ptr(), g.as_mut_ptr());
    let mut k = 0;
    // SAFETY: both slices hold `len` values; as in `map`.
    unsafe {
        while k + 16 <= len {
            let r = f(_mm512_loadu_ps(xp.add(k)), _mm512_loadu_ps(gp.add(k)));
            _mm512_storeu_ps(gp.add(k), r);
            k += 16;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let r = f(
                _mm512_maskz_loadu_ps(mask, xp.add(k)),
                _mm512_maskz_loadu_ps(mask, gp.add(k)),
            );
            _mm512_mask_storeu_ps(gp.add(k), mask, r);
        }
    }
}

/// [`super::lanes`]' `gelu_argument8` in sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gelu_argument16(z: __m512) -> (__m512, __m512) {
    use super::lanes::{GELU_CUBIC, GELU_TWO_C};
    let z2 = _mm512_mul_ps(z, z);
    let inner = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(GELU_CUBIC), z2), z, z);
    let slope = _mm512_fmadd_ps(_mm512_set1_ps(3.0 * GELU_CUBIC), z2, _mm512_set1_ps(1.0));
    let two_c = _mm512_set1_ps(GELU_TWO_C);
    (_mm512_mul_ps(two_c, inner), _mm512_mul_ps(two_c, slope))
}

/// [`super::lanes`]' `logistic_and_spread8` in sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn logistic_and_spread16(x: __m512) -> (__m512, __m512) {
    let one = _mm512_set1_ps(1.0);
    let e = exp(or(x, sign_bit())); // e^-|x|
    let q = _mm512_div_ps(one, _mm512_add_ps(one, e));
    let eq = _mm512_mul_ps(e, q);
    let nonneg = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_setzero_ps());
    (_mm512_mask_blend_ps(nonneg, eq, q), _mm512_mul_ps(eq, q))
}

/// GELU in place, as [`crate::kernel::gelu_in_place`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn gelu(v: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map(v, |z| unsafe {
        _mm512_mul_ps(z, logistic16(gelu_argument16(z).0))
    });
}

/// GELU's backward, as [`crate::kernel::gelu_backward`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn gelu_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map2(z, g, |z, g| unsafe {
        let (u2, du2) = gelu_argument16(z);
        let (s, spread) = logistic_and_spread16(u2);
        _mm512_mul_ps(g, _mm512_fmadd_ps(_mm512_mul_ps(z, spread), du2, s))
    });
}

/// SiLU in place, as [`crate::kernel::silu_in_place`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn silu(v: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map(v, |z| unsafe { _mm512_mul_ps(z, logistic16(z)) });
}

/// SiLU's backward, as [`crate::kernel::silu_backward`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn silu_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map2(z, g, |z, g| unsafe {
        let (s, spread) = logistic_and_spread16(z);
        _mm512_mul_ps(g, _mm512_fmadd_ps(z, spread, s))
    });
}

/// [`super::lanes`]' `ln_1p` in sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn ln_1p(t: __m512) -> __m512 {
    let one = _mm512_set1_ps(1.0);
    let u = _mm512_add_ps(one, t);
    let big = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(u, _mm512_set1_ps(core::f32::consts::SQRT_2));
    let f = _mm512_sub_ps(
        _mm512_mask_blend_ps(big, u, _mm512_mul_ps(u, _mm512_set1_ps(0.5))),
        one,
    );
    let e = _mm512_maskz_mov_ps(big, one);
    let mut p = _mm512_set1_ps(7.037_683_6e-2);
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
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c));
    }
    let f2 = _mm512_mul_ps(f, f);
    let y = _mm512_mul_ps(_mm512_mul_ps(p, f), f2);
    let y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.121_944_4e-4), y);
    let y = _mm512_fnmadd_ps(_mm512_set1_ps(0.5), f2, y);
    let ln_u = _mm512_fmadd_ps(e, _mm512_set1_ps(0.693_359_4), _mm512_add_ps(f, y));
    let lost = _mm512_div_ps(_mm512_sub_ps(t, _mm512_sub_ps(u, one)), u);
    _mm512_add_ps(ln_u, lost)
}

/// Softplus in place, as [`crate::kernel::softplus_in_place`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softplus(v: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map(v, |z| unsafe {
        let t = exp(or(z, sign_bit())); // e^-|z|
        _mm512_add_ps(_mm512_max_ps(z, _mm512_setzero_ps()), ln_1p(t))
    });
}

/// `g ← g·σ(z)`, as [`crate::kernel::softplus_backward`]; same bits as the AVX2 back end.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softplus_backward(z: &[f32], g: &mut [f32]) {
    // SAFETY (closure): the features are available, as for this function.
    map2(z, g, |z, g| unsafe { _mm512_mul_ps(g, logistic16(z)) });
}

/// `max z` of a row, NaNs ignored as `f32::max` ignores them (`-∞` for an empty row):
/// `_mm512_max_ps(x, acc)` returns `acc` where `x` is NaN, and the tail's unselected lanes
/// are `-∞`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn row_max(z: &[f32]) -> f32 {
    let (len, p) = (z.len(), z.as_ptr());
    let low = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut acc = low;
    let mut k = 0;
    // SAFETY: as in `map`.
    unsafe {
        while k + 16 <= len {
            acc = _mm512_max_ps(_mm512_loadu_ps(p.add(k)), acc);
            k += 16;
        }
        if k < len {
            let x = _mm512_maskz_loadu_ps(first_lanes(len - k), p.add(k));
            let x = _mm512_mask_blend_ps(first_lanes(len - k), low, x);
            acc = _mm512_max_ps(x, acc);
        }
    }
    _mm512_reduce_max_ps(acc)
}

/// `Σ e^(z - m)` of a row in sixteen lanes (a fixed tree at the end), writing each
/// `e^(z - m)` to `out` if given.
///
/// # Safety
///
/// The features are available; `z`, and `out` if given, hold `len` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn sum_exp(z: *const f32, len: usize, m: f32, out: Option<*mut f32>) -> f32 {
    let m = _mm512_set1_ps(m);
    let mut acc = _mm512_setzero_ps();
    let mut k = 0;
    // SAFETY: `z` (and `out`) hold `len` values; as in `map`.
    unsafe {
        while k + 16 <= len {
            let e = exp(_mm512_sub_ps(_mm512_loadu_ps(z.add(k)), m));
            if let Some(out) = out {
                _mm512_storeu_ps(out.add(k), e);
            }
            acc = _mm512_add_ps(acc, e);
            k += 16;
        }
        if k < len {
            let mask: __mmask16 = first_lanes(len - k);
            let e = exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, z.add(k)), m));
            let e = _mm512_maskz_mov_ps(mask, e);
            if let Some(out) = out {
                _mm512_mask_storeu_ps(out.add(k), mask, e);
            }
            acc = _mm512_add_ps(acc, e);
        }
    }
    _mm512_reduce_add_ps(acc)
}

/// The lane indices of one stage of [`transpose`], which swaps bit `s` (1, 2, 4 or 8) of the
/// register index with bit `s` of the lane index: for the pair of registers `(a, b)` = `(r,
/// r + s)`, `lo` picks lane `L` of the new `a` and `hi` lane `L` of the new `b` (indices of 16
/// and up are `b`'s lanes).
const fn stage(s: usize, hi: bool) -> [i32; 16] {
    let mut idx = [0i32; 16];
    let mut lane = 0;
    while lane < 16 {
        let p = lane % (2 * s);
        let base = lane - p;
        idx[lane] = match (hi, p < s) {
            (false, true) => base + p,
            (false, false) => 16 + base + p - s,
            (true, true) => base + s + p,
            (true, false) => 16 + base + p,
        } as i32;
        lane += 1;
    }
    idx
}

/// Transposes a 16 × 16 block held in sixteen registers (register `r`, lane `c` → register `c`,
/// lane `r`): four stages of two-register lane permutations, each swapping one bit of the
/// register index with the same bit of the lane index.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) fn transpose(m: &mut [__m512; 16]) {
    const STAGES: [[[i32; 16]; 2]; 4] = [
        [stage(8, false), stage(8, true)],
        [stage(4, false), stage(4, true)],
        [stage(2, false), stage(2, true)],
        [stage(1, false), stage(1, true)],
    ];
    for (k, [lo, hi]) in STAGES.iter().enumerate() {
        let s = 8 >> k;
        // SAFETY: each index array holds sixteen `i32`, one 512-bit load.
        let (lo, hi) = unsafe {
            (
                _mm512_loadu_si512(lo.as_ptr().cast()),
                _mm512_loadu_si512(hi.as_ptr().cast()),
            )
        };
        for r in 0..16 {
            if r & s == 0 {
                let (a, b) = (m[r], m[r + s]);
                m[r] = _mm512_permutex2var_ps(a, lo, b);
                m[r + s] = _mm512_permutex2var_ps(a, hi, b);
            }
        }
    }
}

/// Softmax of every row of `width` values in place, as [`crate::kernel::softmax_rows`]. Rows of
/// at most 16 values go sixteen rows at a time through [`softmax16`] (a layer of 10 outputs at
/// batch 256: 2× faster than a row at a time), the rest of them one at a time; the bits are
/// [`softmax`]'s either way.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softmax_rows(v: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    let n = v.len() / width;
    let mut done = 0;
    if width <= 16 {
        while done + 16 <= n {
            // SAFETY: rows `done..done + 16` of `width` values are inside `v`.
            unsafe { softmax16(v.as_mut_ptr().add(done * width), width) };
            done += 16;
        }
    }
    let v = &mut v[done * width..];
    // SAFETY (closure): the features are available, as for this function.
    super::rows_apart(n - done, width, 16, |r| unsafe {
        softmax(&mut v[r * width..(r + 1) * width])
    });
}

/// Softmax of sixteen consecutive rows of `width ≤ 16` values at `p`, in place, with
/// [`softmax`]'s bits: the rows through the register transpose, so that vector `j` holds
/// value `j` of every row; the maximum over them (exact, in any order), `e^(z - m)` of
/// sixteen rows at once, and the sums in `_mm512_reduce_add_ps`'s tree (lanes `l` and `l + 8`,
/// then `l + 4`, `l + 2`, `l + 1`: here vectors; the lanes past `width` are zeros, as the
/// one-row kernel's masked lanes are, and `a + b = b + a` exactly), `1/Σ` and the products,
/// then back through the transpose.
///
/// # Safety
///
/// The features are available; `p` addresses `16 × width` values, `width ≤ 16`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn softmax16(p: *mut f32, width: usize) {
    debug_assert!((1..=16).contains(&width));
    let mask = first_lanes(width);
    let mut m = [_mm512_setzero_ps(); 16];
    for (r, m) in m.iter_mut().enumerate() {
        // SAFETY: row `r < 16` holds `width` values.
        *m = unsafe { _mm512_maskz_loadu_ps(mask, p.add(r * width)) };
    }
    transpose(&mut m);
    let mut top = m[0];
    for &z in &m[1..width] {
        top = _mm512_max_ps(z, top);
    }
    let mut e = [_mm512_setzero_ps(); 16];
    for (e, &z) in e.iter_mut().zip(&m).take(width) {
        *e = exp(_mm512_sub_ps(z, top));
    }
    let mut sum = e;
    for half in [8, 4, 2, 1] {
        for l in 0..half {
            sum[l] = _mm512_add_ps(sum[l], sum[l + half]);
        }
    }
    let inv = _mm512_div_ps(_mm512_set1_ps(1.0), sum[0]);
    for e in e.iter_mut().take(width) {
        *e = _mm512_mul_ps(*e, inv);
    }
    transpose(&mut e);
    for (r, e) in e.iter().enumerate() {
        // SAFETY: row `r < 16` holds `width` values.
        unsafe { _mm512_mask_storeu_ps(p.add(r * width), mask, *e) };
    }
}

/// `g ← a ⊙ (g - a·g)` for every row of `width` values, as
/// [`crate::kernel::softmax_backward_rows`].
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softmax_backward_rows(a: &[f32], g: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    let n = a.len().min(g.len()) / width;
    // SAFETY (closure): the features are available, as for this function.
    super::rows_apart(n, width, 16, |r| unsafe {
        let rows = r * width..(r + 1) * width;
        softmax_backward(&a[rows.clone()], &mut g[rows])
    });
}

/// Softmax of one row in place, as [`crate::kernel::softmax_in_place`].
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softmax(v: &mut [f32]) {
    let m = row_max(v);
    let (len, p) = (v.len(), v.as_mut_ptr());
    if len <= 16 {
        // One vector: keep `e^(z - m)` in a register instead of storing and reloading it.
        let mask = first_lanes(len);
        // SAFETY: the mask selects the row's `len` values.
        unsafe {
            let e = exp(_mm512_sub_ps(
                _mm512_maskz_loadu_ps(mask, p),
                _mm512_set1_ps(m),
            ));
            let e = _mm512_maskz_mov_ps(mask, e);
            let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(e));
            _mm512_mask_storeu_ps(p, mask, _mm512_mul_ps(e, inv));
        }
        return;
    }
    // SAFETY: `p` holds `len` values, read and written in place.
    let sum = unsafe { sum_exp(p, len, m, Some(p)) };
    let inv = _mm512_set1_ps(1.0 / sum);
    map(v, |e| _mm512_mul_ps(e, inv));
}

/// `g ← a ⊙ (g - a·g)` for one row, as [`crate::kernel::softmax_backward`].
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softmax_backward(a: &[f32], g: &mut [f32]) {
    let len = a.len().min(g.len());
    let (ap, gp) = (a.as_ptr(), g.as_ptr());
    let mut acc = _mm512_setzero_ps();
    let mut k = 0;
    // SAFETY: both slices hold `len` values; as in `map`.
    unsafe {
        while k + 16 <= len {
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(ap.add(k)), _mm512_loadu_ps(gp.add(k)), acc);
            k += 16;
        }
        if k < len {
            let mask = first_lanes(len - k);
            let (av, gv) = (
                _mm512_maskz_loadu_ps(mask, ap.add(k)),
                _mm512_maskz_loadu_ps(mask, gp.add(k)),
            );
            acc = _mm512_fmadd_ps(av, gv, acc);
        }
    }
    let dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
    map2(a, g, |a, g| _mm512_mul_ps(a, _mm512_sub_ps(g, dot)));
}

/// `m + ln Σ e^(z - m)` of a row, as [`crate::kernel::log_sum_exp`].
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn log_sum_exp(z: &[f32]) -> f32 {
    let m = row_max(z);
    // SAFETY: `z` holds `z.len()` values.
    m + unsafe { sum_exp(z.as_ptr(), z.len(), m, None) }.ln()
}

#[cfg(test)]
mod tests {
    use core::arch::x86_64::{_mm256_loadu_ps, _mm256_storeu_ps};

    use super::*;

    /// `vscalefps` scales by `2^m` with one rounding; the eight-lane `exp` multiplies by two
    /// powers of two, the first exact. They give the same bits at every 61st float of the
    /// clamped range, which takes in the subnormal results (below `-87.3`), the overflow to
    /// infinity (above `88.72`) and both clamps, and at the edges themselves.
    #[test]
    fn scaling_by_vscalefps_gives_the_eight_lane_exponential_s_bits() {
        if !(std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let positive = (0..=120.0f32.to_bits()).step_by(61).map(f32::from_bits);
        let mut xs: Vec<f32> = positive.clone().chain(positive.map(|x| -x)).collect();
        xs.extend([
            -104.0,
            -103.97,
            -87.33655,
            -87.3,
            88.37626,
            88.72283,
            88.7229,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ]);
        while !xs.len().is_multiple_of(16) {
            xs.push(1.0);
        }
        for chunk in xs.chunks(16) {
            let (mut wide, mut narrow) = ([0.0f32; 16], [0.0f32; 16]);
            // SAFETY: AVX-512F, AVX2 and FMA are available (tested above); each array holds
            // sixteen values, each half of it eight.
            unsafe {
                _mm512_storeu_ps(wide.as_mut_ptr(), exp(_mm512_loadu_ps(chunk.as_ptr())));
                for half in 0..2 {
                    let x = _mm256_loadu_ps(chunk.as_ptr().add(8 * half));
                    _mm256_storeu_ps(
                        narrow.as_mut_ptr().add(8 * half),
                        super::super::lanes::exp(x),
                    );
                }
            }
            for k in 0..16 {
                assert_eq!(wide[k].to_bits(), narrow[k].to_bits(), "e^{}", chunk[k]);
            }
        }
    }
}
