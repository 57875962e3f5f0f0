//! The strided product under the convolution kernels (`kernel::conv`), `C = A·B` or
//! `C += A·B`, for the two x86 back ends. The `unsafe` discipline is the parent module's: the
//! functions here are called only through a back end token, after `Strided::check` has seen
//! that every slice holds its matrix.
//!
//! AVX-512F: register tiles of up to 6 rows of `C` by 4 vectors of sixteen columns (24
//! accumulators, 4 vectors of `B` and one broadcast of `A`: 29 of the 32 registers). Each step
//! of the sum loads the tile's vectors of one row of `B` and broadcasts one element of `A` a
//! row, so 10 loads feed 24 FMAs and the FMA pipes, not the loads, set the pace. The columns
//! go by blocks of 64 (the last block in fewer vectors, its last vector masked), the rows by 6,
//! then 4, 2 and 1; the sum by chunks of [`KC`] rows of `B`, so that the block of `B` a tile
//! reads stays in L1 for every tile of rows.
//!
//! The convolutions' shapes are what this is tiled for: `C` of 6 or 16 rows (filters) by
//! hundreds of columns (pixels), or by 25 or 150 (a filter's weights), sums of 6 to 784 terms.
//!
//! AVX2: the portable loops (a row of `C` a sum of scaled rows of `B`) compiled with AVX2 and
//! FMA enabled, which the compiler vectorises eight lanes at a time; no FMA is fused (Rust never
//! fuses on its own), so the results are the portable back end's, bit for bit.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
    _mm512_set1_ps, _mm512_setzero_ps,
};

use crate::kernel::conv::Strided;

/// Rows of `B` a chunk of the sum: a block of 64 columns of `B` then takes 64 KiB, held in L2
/// and mostly in L1 (48 KiB here) while every tile of rows passes over it.
const KC: usize = 256;

/// The mask of the first `len` lanes, `1 ≤ len ≤ 16`.
#[inline]
fn first_lanes(len: usize) -> __mmask16 {
    debug_assert!((1..=16).contains(&len));
    (u32::MAX >> (32 - len)) as __mmask16
}

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

/// The portable strided product compiled with AVX2 and FMA enabled (see the module docs).
///
/// # Safety
///
/// AVX2 and FMA are available; the function is safe code otherwise.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn strided_product_avx2(s: &Strided, a: &[f32], b: &[f32], c: &mut [f32]) {
    crate::kernel::conv::strided_product(s, a, b, c);
}
