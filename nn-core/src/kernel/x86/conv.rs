//! The two kernels under the convolutions (`kernel::conv`) for the two x86 back ends: the
//! strided product `C = A·B` or `C += A·B` (`Strided`, rows of `B` at filter-tap offsets), and
//! the lane-wise dot products of the weight gradient (`LaneDots`). The `unsafe` discipline is
//! the parent module's: the functions here are called only through a back end token, after
//! `Strided::check` or `LaneDots::check` has seen that every slice holds what it must.
//!
//! AVX-512F product: register tiles of up to 6 rows of `C` by 4 vectors of sixteen columns (24
//! accumulators, 4 vectors of `B` and one broadcast of `A`: 29 of the 32 registers). Each step
//! of the sum loads the tile's vectors of one row of `B` and broadcasts one element of `A` a
//! row, so 10 loads feed 24 FMAs and the FMA pipes, not the loads, set the pace. The columns
//! go by blocks of 64 (the last block in fewer vectors, its last vector masked), the rows by 6,
//! then 4, 2 and 1; the sum by chunks of about [`KC`] rows of `B`, so that the block of `B` a
//! tile reads stays in L1 for every tile of rows. The convolutions' shapes are what this is
//! tiled for: `C` of 6 or 16 rows (filters) by hundreds of columns (pixels), sums of 25 to a
//! few hundred terms.
//!
//! AVX-512F dot products: see [`lane_dots_avx512`].
//!
//! AVX2: the portable loops (a row of `C` a sum of scaled rows of `B`; sixteen lanes of dot
//! products in step) compiled with AVX2 and FMA enabled, which the compiler vectorises eight
//! lanes at a time; no FMA is fused (Rust never fuses on its own), so the results are the
//! portable back end's, bit for bit.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use super::lanes16::first_lanes;
use crate::kernel::conv::{LaneDots, Strided, LANES};

/// Rows of `B` a chunk of the sum: a block of 64 columns of `B` then takes 64 KiB, held in L2
/// and mostly in L1 (48 KiB here) while every tile of rows passes over it.
const KC: usize = 256;

/// `C = A·B`, or `C += A·B` if `s.accumulate`, on raw matrices (see [`Strided`]).
///
/// Sum order: each output adds its terms in order of the sum (one FMA chain an output), onto
/// the previous contents of `C` when accumulating and after each chunk of about [`KC`] terms
/// (whole groups of rows of `B`).
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available, and `a`, `b`, `c` address the matrices `s` describes
/// (as `Strided::check` asserts).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn strided_product_avx512(
    s: &Strided,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) {
    if s.k == 0 || s.group() == 0 {
        if !s.accumulate {
            for r in 0..s.m {
                // SAFETY: row `r < m` of `C` holds `n` values from `c + r·cs`.
                unsafe { core::ptr::write_bytes(c.add(r * s.cs), 0, s.n) };
            }
        }
        return;
    }
    // Chunks of whole groups of rows of `B` (see `Strided`), about `KC` rows each.
    let group = s.group();
    let chunk = (KC / group).max(1);
    let groups = s.k / group;
    let mut g0 = 0;
    while g0 < groups {
        let gc = chunk.min(groups - g0);
        let accumulate = s.accumulate || g0 > 0;
        // SAFETY: groups `g0..g0 + gc <= k / group` of `B` and their columns of `A` are inside
        // the matrices.
        let (a, b) = unsafe { (a.add(g0 * group * s.acs), b.add(g0 * s.bs)) };
        let mut c0 = 0;
        while c0 < s.n {
            let width = 64.min(s.n - c0);
            let vectors = width.div_ceil(16);
            let last = first_lanes(width - 16 * (vectors - 1));
            let mut r0 = 0;
            while r0 < s.m {
                let rows = match s.m - r0 {
                    6.. => 6,
                    4 | 5 => 4,
                    2 | 3 => 2,
                    _ => 1,
                };
                let t = Tile {
                    groups: gc,
                    taps: s.taps,
                    taps_stride: s.taps_stride,
                    ars: s.ars,
                    acs: s.acs,
                    bs: s.bs,
                    cs: s.cs,
                    last,
                    accumulate,
                };
                // SAFETY: the tile's rows `r0..r0 + rows <= m` of `A` and `C`, and its columns
                // `c0..c0 + width <= n` of `B` and `C` (the last vector masked to the columns
                // left), are inside the matrices.
                unsafe {
                    let (a, b, c) = (a.add(r0 * s.ars), b.add(c0), c.add(r0 * s.cs + c0));
                    match (rows, vectors) {
                        (6, 1) => tile::<6, 1>(&t, a, b, c),
                        (6, 2) => tile::<6, 2>(&t, a, b, c),
                        (6, 3) => tile::<6, 3>(&t, a, b, c),
                        (6, _) => tile::<6, 4>(&t, a, b, c),
                        (4, 1) => tile::<4, 1>(&t, a, b, c),
                        (4, 2) => tile::<4, 2>(&t, a, b, c),
                        (4, 3) => tile::<4, 3>(&t, a, b, c),
                        (4, _) => tile::<4, 4>(&t, a, b, c),
                        (2, 1) => tile::<2, 1>(&t, a, b, c),
                        (2, 2) => tile::<2, 2>(&t, a, b, c),
                        (2, 3) => tile::<2, 3>(&t, a, b, c),
                        (2, _) => tile::<2, 4>(&t, a, b, c),
                        (_, 1) => tile::<1, 1>(&t, a, b, c),
                        (_, 2) => tile::<1, 2>(&t, a, b, c),
                        (_, 3) => tile::<1, 3>(&t, a, b, c),
                        (_, _) => tile::<1, 4>(&t, a, b, c),
                    }
                }
                r0 += rows;
            }
            c0 += width;
        }
        g0 += gc;
    }
}

/// What a tile of [`strided_product_avx512`] needs besides its pointers.
struct Tile {
    /// Groups of rows of `B` in this chunk (see `Strided`).
    groups: usize,
    /// Rows of `B` a group, and their strides (see `Strided`).
    taps: (usize, usize),
    taps_stride: (usize, usize),
    /// Strides of `A` (rows, columns), `B` (groups) and `C` (rows).
    ars: usize,
    acs: usize,
    bs: usize,
    cs: usize,
    /// The lanes of the tile's last vector inside `C`.
    last: __mmask16,
    /// Start from `C`'s contents rather than zero.
    accumulate: bool,
}

/// One `M × 16V` tile: `c[r][col] (+)= Σ_q a(r, q)·B(q, col)` for `r < M`, the columns of `V`
/// vectors (the last one's lanes limited to `t.last`), `q` over the chunk's groups of rows of
/// `B` in order.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `a` addresses `M` rows of `groups·taps.0·taps.1`
/// values with strides `ars`, `acs`; `b` holds the chunk's rows of `B` and `c` holds `M` rows
/// `cs` values apart, each with `16·(V - 1) + popcount(last)` values from the pointer on.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile<const M: usize, const V: usize>(
    t: &Tile,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) {
    let mask = |v: usize| if v + 1 == V { t.last } else { 0xffff };
    let mut acc: [[__m512; V]; M] = [[_mm512_setzero_ps(); V]; M];
    let ((th, tw), (si, sj)) = (t.taps, t.taps_stride);
    // SAFETY (every access below): rows `r < M`, the chunk's rows `q` of `B` and the lanes of
    // `mask(v)` in vector `v < V` are inside the matrices (the function's contract).
    unsafe {
        if t.accumulate {
            for (r, acc) in acc.iter_mut().enumerate() {
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm512_maskz_loadu_ps(mask(v), c.add(r * t.cs + 16 * v));
                }
            }
        }
        let mut aq = a;
        for g in 0..t.groups {
            for i in 0..th {
                let brow = b.add(g * t.bs + i * si);
                for j in 0..tw {
                    let bq = brow.add(j * sj);
                    let mut bv = [_mm512_setzero_ps(); V];
                    for (v, bv) in bv.iter_mut().enumerate() {
                        *bv = _mm512_maskz_loadu_ps(mask(v), bq.add(16 * v));
                    }
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let s = _mm512_set1_ps(*aq.add(r * t.ars));
                        for (acc, bv) in acc.iter_mut().zip(&bv) {
                            *acc = _mm512_fmadd_ps(s, *bv, *acc);
                        }
                    }
                    // Past the last term this may point past `A`; it is never read there.
                    aq = aq.wrapping_add(t.acs);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, acc) in acc.iter().enumerate() {
                _mm512_mask_storeu_ps(c.add(r * t.cs + 16 * v), mask(v), *acc);
            }
        }
    }
}

/// The lane-wise dot products of [`LaneDots`]: tiles of up to 4 rows of `A` by 6 rows of `B`
/// (or 6 by 4),
/// their 16 partial-sum vectors loaded from `part` (or zero), one FMA chain each along the products
/// (the last `len mod 16` values in one masked vector), stored back, or at the end of a batch
/// (`d.finish`) each summed across its lanes (`_mm512_reduce_add_ps`) into `out`. Each step loads 10 vectors
/// for 24 FMAs (24 accumulators, 6 vectors of `B` and one of `A`: 31 registers); most loads
/// straddle two cache lines (the taps are one value apart), so a 4 × 4 tile, 8 loads for 16
/// FMAs, left the FMA pipes waiting on the loads (LeNet's second convolution's weight
/// gradient took 10% longer).
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available, and `a`, `b`, `part` address what `d` describes (as
/// `LaneDots::check` asserts; `out` only if `d.finish`).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn lane_dots_avx512(
    d: &LaneDots,
    a: *const f32,
    b: *const f32,
    part: *mut f32,
    out: *mut f32,
) {
    let rem = d.len % 16;
    let tail = if rem > 0 { first_lanes(rem) } else { 0 };
    let mut r0 = 0;
    while r0 < d.m {
        // Six rows by four where that leaves no rows over (LeNet's six filters), else four by
        // six: 24 accumulators either way.
        let rows = match d.m - r0 {
            left if left >= 6 && left % 4 != 0 => 6,
            4.. => 4,
            2 | 3 => 2,
            _ => 1,
        };
        let mut q0 = 0;
        while q0 < d.n {
            let cols = (d.n - q0).min(if rows == 6 { 4 } else { 6 });
            let at = (r0, q0, tail, out);
            // SAFETY: rows `r0..r0 + rows <= m` of `A`, rows `q0..q0 + cols <= n` of `B`, their
            // partial sums and outputs are inside the slices (the function's contract).
            unsafe {
                match (rows, cols, d.finish) {
                    (6, 4, false) => dots::<6, 4, false>(d, a, b, part, at),
                    (6, 4, true) => dots::<6, 4, true>(d, a, b, part, at),
                    (6, 3, false) => dots::<6, 3, false>(d, a, b, part, at),
                    (6, 3, true) => dots::<6, 3, true>(d, a, b, part, at),
                    (6, 2, false) => dots::<6, 2, false>(d, a, b, part, at),
                    (6, 2, true) => dots::<6, 2, true>(d, a, b, part, at),
                    (6, _, false) => dots::<6, 1, false>(d, a, b, part, at),
                    (6, _, true) => dots::<6, 1, true>(d, a, b, part, at),
                    (4, 6, false) => dots::<4, 6, false>(d, a, b, part, at),
                    (4, 6, true) => dots::<4, 6, true>(d, a, b, part, at),
                    (4, 5, false) => dots::<4, 5, false>(d, a, b, part, at),
                    (4, 5, true) => dots::<4, 5, true>(d, a, b, part, at),
                    (4, 4, false) => dots::<4, 4, false>(d, a, b, part, at),
                    (4, 4, true) => dots::<4, 4, true>(d, a, b, part, at),
                    (4, 3, false) => dots::<4, 3, false>(d, a, b, part, at),
                    (4, 3, true) => dots::<4, 3, true>(d, a, b, part, at),
                    (4, 2, false) => dots::<4, 2, false>(d, a, b, part, at),
                    (4, 2, true) => dots::<4, 2, true>(d, a, b, part, at),
                    (4, _, false) => dots::<4, 1, false>(d, a, b, part, at),
                    (4, _, true) => dots::<4, 1, true>(d, a, b, part, at),
                    (2, 6, false) => dots::<2, 6, false>(d, a, b, part, at),
                    (2, 6, true) => dots::<2, 6, true>(d, a, b, part, at),
                    (2, 5, false) => dots::<2, 5, false>(d, a, b, part, at),
                    (2, 5, true) => dots::<2, 5, true>(d, a, b, part, at),
                    (2, 4, false) => dots::<2, 4, false>(d, a, b, part, at),
                    (2, 4, true) => dots::<2, 4, true>(d, a, b, part, at),
                    (2, 3, false) => dots::<2, 3, false>(d, a, b, part, at),
                    (2, 3, true) => dots::<2, 3, true>(d, a, b, part, at),
                    (2, 2, false) => dots::<2, 2, false>(d, a, b, part, at),
                    (2, 2, true) => dots::<2, 2, true>(d, a, b, part, at),
                    (2, _, false) => dots::<2, 1, false>(d, a, b, part, at),
                    (2, _, true) => dots::<2, 1, true>(d, a, b, part, at),
                    (_, 6, false) => dots::<1, 6, false>(d, a, b, part, at),
                    (_, 6, true) => dots::<1, 6, true>(d, a, b, part, at),
                    (_, 5, false) => dots::<1, 5, false>(d, a, b, part, at),
                    (_, 5, true) => dots::<1, 5, true>(d, a, b, part, at),
                    (_, 4, false) => dots::<1, 4, false>(d, a, b, part, at),
                    (_, 4, true) => dots::<1, 4, true>(d, a, b, part, at),
                    (_, 3, false) => dots::<1, 3, false>(d, a, b, part, at),
                    (_, 3, true) => dots::<1, 3, true>(d, a, b, part, at),
                    (_, 2, false) => dots::<1, 2, false>(d, a, b, part, at),
                    (_, 2, true) => dots::<1, 2, true>(d, a, b, part, at),
                    (_, _, false) => dots::<1, 1, false>(d, a, b, part, at),
                    (_, _, true) => dots::<1, 1, true>(d, a, b, part, at),
                }
            }
            q0 += cols;
        }
        r0 += rows;
    }
}

/// One `R × J` tile of [`lane_dots_avx512`]: rows `r0..r0 + R` of `A` by rows `q0..q0 + J` of
/// `B`, the last vector's lanes limited to `tail` (none if zero); `FINISH` is `d.finish`, a
/// parameter of the type so that the loop compiles as it does without it (a run-time test in
/// the epilogue, or summing the accumulators in their registers, spilled them out of the
/// loop: twice as slow).
///
/// # Safety
///
/// As for [`lane_dots_avx512`], with `r0 + R <= m` and `q0 + J <= n`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dots<const R: usize, const J: usize, const FINISH: bool>(
    d: &LaneDots,
    a: *const f32,
    b: *const f32,
    part: *mut f32,
    (r0, q0, tail, out): (usize, usize, __mmask16, *mut f32),
) {
    let full = d.len / 16;
    // SAFETY (every access below): row `r0 + r < m` of `A` and row `q0 + j < n` of `B` of
    // every sample `t < samples` hold `len` values from these pointers; the partial sums of
    // `(r0 + r, q0 + j)` hold 16.
    unsafe {
        let ap: [*const f32; R] = core::array::from_fn(|r| a.add((r0 + r) * d.ars));
        let bp: [*const f32; J] = core::array::from_fn(|j| b.add(d.offset(q0 + j)));
        let pp = |r: usize, j: usize| part.add(((r0 + r) * d.n + q0 + j) * LANES);
        let mut acc = [[_mm512_setzero_ps(); J]; R];
        if d.accumulate {
            for (r, acc) in acc.iter_mut().enumerate() {
                for (j, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm512_loadu_ps(pp(r, j));
                }
            }
        }
        let (a_step, b_step) = d.sample_step;
        for t in 0..d.samples {
            let ap: [*const f32; R] = core::array::from_fn(|r| ap[r].add(t * a_step));
            let bp: [*const f32; J] = core::array::from_fn(|j| bp[j].add(t * b_step));
            for u in 0..full {
                let bv: [__m512; J] = core::array::from_fn(|j| _mm512_loadu_ps(bp[j].add(16 * u)));
                for (acc, ap) in acc.iter_mut().zip(&ap) {
                    let av = _mm512_loadu_ps(ap.add(16 * u));
                    for (acc, bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_fmadd_ps(av, *bv, *acc);
                    }
                }
            }
            if tail != 0 {
                let bv: [__m512; J] =
                    core::array::from_fn(|j| _mm512_maskz_loadu_ps(tail, bp[j].add(16 * full)));
                for (acc, ap) in acc.iter_mut().zip(&ap) {
                    let av = _mm512_maskz_loadu_ps(tail, ap.add(16 * full));
                    for (acc, bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_fmadd_ps(av, *bv, *acc);
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (j, acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(pp(r, j), *acc);
            }
        }
        if FINISH {
            // Back from L1: summing the registers in place spilled the loop's accumulators.
            for r in 0..R {
                for j in 0..J {
                    *out.add((r0 + r) * d.n + q0 + j) =
                        _mm512_reduce_add_ps(_mm512_loadu_ps(pp(r, j)));
                }
            }
        }
    }
}

/// The portable lane-wise dot products compiled with AVX2 and FMA enabled.
///
/// # Safety
///
/// AVX2 and FMA are available; the function is safe code otherwise.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn lane_dots_avx2(
    d: &LaneDots,
    a: &[f32],
    b: &[f32],
    part: &mut [f32],
    out: &mut [f32],
) {
    crate::kernel::conv::lane_dots(d, a, b, part, out);
}

/// The portable strided product compiled with AVX2 and FMA enabled (see the module docs).
///
/// # Safety
///
/// AVX2 and FMA are available; the function is safe code otherwise.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn strided_product_avx2(s: &Strided, a: &[f32], b: &[f32], c: &mut [f32]) {
    crate::kernel::conv::strided_product(s, a, b, c);
}

/// The convolutions' kernels of the AVX-512 back end, with the signatures of its `Backend`
/// methods.
pub(super) mod avx512 {
    use crate::kernel::conv::{LaneDots, Strided};
    use crate::kernel::pool::Pool2d;

    /// See [`super::strided_product_avx512`].
    ///
    /// # Safety
    ///
    /// AVX-512F, AVX2 and FMA are available.
    pub(in crate::kernel::x86) unsafe fn strided_product(
        s: &Strided,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
    ) {
        s.check(a.len(), b.len(), c.len());
        // SAFETY: the features are available (the caller's promise); the slices hold the
        // matrices (checked above).
        unsafe { super::strided_product_avx512(s, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) }
    }

    /// See [`super::lane_dots_avx512`].
    ///
    /// # Safety
    ///
    /// AVX-512F, AVX2 and FMA are available.
    pub(in crate::kernel::x86) unsafe fn lane_dots(
        d: &LaneDots,
        a: &[f32],
        b: &[f32],
        part: &mut [f32],
        out: &mut [f32],
    ) {
        d.check(a.len(), b.len(), part.len(), out.len());
        // SAFETY: the features are available (the caller's promise); the slices hold what `d`
        // describes (checked above).
        unsafe {
            super::lane_dots_avx512(
                d,
                a.as_ptr(),
                b.as_ptr(),
                part.as_mut_ptr(),
                out.as_mut_ptr(),
            )
        }
    }

    /// See [`super::super::pool::max2x2_avx512`].
    ///
    /// # Safety
    ///
    /// AVX-512F, AVX2 and FMA are available.
    pub(in crate::kernel::x86) unsafe fn max2x2(
        g: &Pool2d,
        x: &[f32],
        out: &mut [f32],
        argmax: &mut [u32],
    ) {
        // SAFETY: the features are available (the caller's promise); the function checks its
        // slices itself.
        unsafe { super::super::pool::max2x2_avx512(g, x, out, argmax) }
    }
}

/// The convolutions' kernels of the AVX2 back end, with the signatures of its `Backend`
/// methods.
pub(super) mod avx2 {
    use crate::kernel::conv::{LaneDots, Strided};
    use crate::kernel::pool::Pool2d;

    /// See [`super::strided_product_avx2`].
    ///
    /// # Safety
    ///
    /// AVX2 and FMA are available.
    pub(in crate::kernel::x86) unsafe fn strided_product(
        s: &Strided,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
    ) {
        // SAFETY: the features are available (the caller's promise).
        unsafe { super::strided_product_avx2(s, a, b, c) }
    }

    /// See [`super::lane_dots_avx2`].
    ///
    /// # Safety
    ///
    /// AVX2 and FMA are available.
    pub(in crate::kernel::x86) unsafe fn lane_dots(
        d: &LaneDots,
        a: &[f32],
        b: &[f32],
        part: &mut [f32],
        out: &mut [f32],
    ) {
        // SAFETY: the features are available (the caller's promise).
        unsafe { super::lane_dots_avx2(d, a, b, part, out) }
    }

    /// The portable 2x2 max pooling (compiling it with AVX2 made it no faster).
    ///
    /// # Safety
    ///
    /// None needed (`unsafe` for the uniform signature of the back ends' kernels).
    pub(in crate::kernel::x86) unsafe fn max2x2(
        g: &Pool2d,
        x: &[f32],
        out: &mut [f32],
        argmax: &mut [u32],
    ) {
        crate::kernel::pool::max2x2(g, x, out, argmax);
    }
}
