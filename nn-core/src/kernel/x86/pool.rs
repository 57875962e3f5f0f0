//! Max pooling with 2x2 windows and stride 2 in AVX-512F, sixteen windows a step: the one
//! pooling LeNet-style networks run, and at their sizes a fifth of the inference time in the
//! portable loop. The `unsafe` discipline is the parent module's.

use core::arch::x86_64::{
    __m512, __m512i, __mmask16, _mm512_add_epi32, _mm512_cmp_ps_mask, _mm512_mask_blend_epi32,
    _mm512_mask_blend_ps, _mm512_mask_storeu_epi32, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
    _mm512_permutex2var_ps, _mm512_set1_epi32, _mm512_setr_epi32, _CMP_GT_OQ, _CMP_UNORD_Q,
};

use crate::kernel::pool::Pool2d;

/// The mask of the first `len` lanes, `len ≤ 16`.
#[inline]
fn first_lanes(len: usize) -> __mmask16 {
    debug_assert!(len <= 16);
    ((1u32 << len) - 1) as __mmask16
}

/// Lanes where `u` takes the place of `v`, as `pool::wins`: larger, or the first NaN.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
fn wins(u: __m512, v: __m512) -> __mmask16 {
    let larger = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(u, v);
    let u_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(u, u);
    let v_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
    larger | (u_nan & !v_nan)
}

/// The even and the odd values of the `2·len` values from `p` (`len ≤ 16`), in two vectors
/// (lanes past `len` zero).
///
/// # Safety
///
/// AVX-512F is available and `p` holds `2·len` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn pairs(p: *const f32, len: usize) -> (__m512, __m512) {
    let n = 2 * len;
    // SAFETY: the masks select the first `n` values from `p`, which it holds.
    let (lo, hi) = unsafe {
        (
            _mm512_maskz_loadu_ps(first_lanes(n.min(16)), p),
            _mm512_maskz_loadu_ps(first_lanes(n.saturating_sub(16)), p.add(16)),
        )
    };
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    (
        _mm512_permutex2var_ps(lo, even, hi),
        _mm512_permutex2var_ps(lo, odd, hi),
    )
}

/// `pool::max2x2` in AVX-512F: the same winners (same comparisons, in the same order of the
/// window's pixels), so the same bits as the portable back end.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; the function checks its slices itself.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn max2x2_avx512(g: &Pool2d, xs: &[f32], os: &mut [f32], ams: &mut [u32]) {
    assert!(
        xs.len() >= g.input_len() && os.len() >= g.output_len() && ams.len() >= g.output_len(),
        "max2x2: a slice is shorter than one sample of {g:?}"
    );
    assert!(
        g.window_height == 2 && g.window_width == 2 && g.stride == 2,
        "max2x2: not a 2x2 pooling with stride 2: {g:?}"
    );
    assert!(
        u32::try_from(g.input_len()).is_ok(),
        "max2x2: a sample of {} values does not fit u32 indices",
        g.input_len()
    );
    let (h, w) = (g.in_height, g.in_width);
    let (oh, ow) = (g.out_height(), g.out_width());
    let lane2: __m512i =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let (x, o, a) = (xs.as_ptr(), os.as_mut_ptr(), ams.as_mut_ptr());
    for c in 0..g.channels {
        for y in 0..oh {
            let top = c * h * w + 2 * y * w;
            let k = (c * oh + y) * ow;
            let mut x0 = 0;
            while x0 < ow {
                let len = (ow - x0).min(16);
                // SAFETY: rows `2y` and `2y + 1` of channel `c` hold the `2·(x0 + len) ≤ 2·ow ≤
                // w` values read from `top` and `top + w`; outputs `k + x0..k + x0 + len` are
                // inside the sample (`oh·ow` a channel); the masks select `len` lanes.
                unsafe {
                    let (p0, p1) = pairs(x.add(top + 2 * x0), len);
                    let (q0, q1) = pairs(x.add(top + w + 2 * x0), len);
                    let (mut v, mut i) = (p0, _mm512_set1_epi32(0));
                    for (u, iu) in [(p1, 1), (q0, w as i32), (q1, w as i32 + 1)] {
                        let take = wins(u, v);
                        v = _mm512_mask_blend_ps(take, v, u);
                        i = _mm512_mask_blend_epi32(take, i, _mm512_set1_epi32(iu));
                    }
                    // Fits: indices are below `input_len ≤ u32::MAX` (asserted above).
                    let base = _mm512_set1_epi32((top + 2 * x0) as i32);
                    let at = _mm512_add_epi32(_mm512_add_epi32(base, lane2), i);
                    let mask = first_lanes(len);
                    _mm512_mask_storeu_ps(o.add(k + x0), mask, v);
                    _mm512_mask_storeu_epi32(a.add(k + x0).cast(), mask, at);
                }
                x0 += len;
            }
        }
    }
}
