//! The forward product of a lone row (batch 1), `out = W·x + b`: the batch-1 kernel of both
//! x86 back ends, [`affine16`] for AVX-512F ([`takes16`]) and [`affine8`] for AVX2
//! ([`takes8`]).
//!
//! At batch 1 every weight is read once a call, so the product is as fast as `W` streams in:
//! the seminar network's first layer (784 × 16, 50 KB, just over Zen 5's 48 KB L1D) comes from
//! L2 on every call. Two things made it slow, each measured on a 2-vCPU Zen 5 (EPYC, KVM,
//! AVX-512), 784 × 16 alone, median ns a call:
//!
//! - **Loads across cache lines.** The weights are a heap block with no alignment beyond the
//!   allocator's 16 bytes, so a row usually starts inside a cache line and every 64-byte load
//!   of it touches two lines (the old sixteen-row tile: 310-350 ns with `W` 16 bytes past a
//!   line, 260-275 ns with `W` on a line).
//! - **Sixteen rows read at once.** Sixteen streams of `W` (one FMA chain a row) are more than
//!   the hardware prefetcher follows; eight rows at a time, in two passes over `x` (which stays
//!   in L1), read the same lines in about half the time (a standalone copy of this kernel:
//!   135-170 ns at every alignment; four rows at a time: 190-300 ns, too few FMA chains to
//!   hide their latency; through the dispatch, in `nn::kernel::affine`: 170-200 ns).
//!
//! So for rows of a multiple of sixteen values, at least [`MIN_VECTORS`] vectors long
//! ([`aligned16`]), [`rows16`] sums rows in groups of eight (then four, two, one), starting each
//! row's loads `s` values before the row, where `s` is how far the rows start past a vector
//! boundary: every load of `W` is then aligned, and `x` is loaded at the same offset (from L1).
//! The first and the last vector, which lie partly outside the row, are loaded as the row's
//! first (last) sixteen values and moved into their lanes by one permutation, the lanes outside
//! the row cleared: nothing outside `W` or `x` is read, and no load is masked. (Masked loads
//! there, `_mm512_maskz_loadu_ps` from the vector boundary, were as fast in a loop of their
//! own but made `benches/seminar.rs`'s `infer/forward/1` 510 ns against 315 ns, slower than
//! the old kernel's 435: masked loads on this CPU seem to wait for earlier stores near them.)
//! Each row is prefetched [`PREFETCH`] vectors ahead. Rows of at most sixteen values (the
//! seminar network's 16 × 16 and 16 × 10 layers) go to [`block16`], sixteen rows a block with
//! loads from each row's start, as the batched kernel loads them; longer rows that are not
//! [`aligned16`] stay with the batched kernel's tiles. Either way the sixteen sums of a block
//! are added up together ([`reduce16`]), and the biases added in one vector.
//!
//! Bits: each output is that of the batched kernel (`dot_tile` of the back end), bit for bit.
//! Loading from `s` values early puts product `c` in lane `(c + s) mod L` rather than
//! `c mod L`, but each lane still sums the same products in the same order (a cleared lane
//! adds `0·0 = +0`, which changes no sum, as in the batched kernels' tails); one lane rotation puts
//! every lane back where the batched kernel has it, and [`reduce16`] adds the lanes in
//! `_mm512_reduce_add_ps`'s tree. So a sample's outputs are the same whether it is inferred
//! alone or in a batch, and the same whatever the alignment of `W` (tested below at every
//! offset).
//!
//! The `unsafe` follows the parent module's discipline: the callers ([`super::avx512`]'s and
//! [`super::avx2`]'s `affine`, behind the back end's token and its bounds check) guarantee the
//! CPU features and the extent of each matrix; each `SAFETY` comment says why an access stays
//! inside.

use core::arch::x86_64::{
    __m256, __m256i, __m512, __m512i, __mmask16, _mm256_add_epi32, _mm256_and_ps, _mm256_and_si256,
    _mm256_castsi256_ps, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_permutevar8x32_ps, _mm256_set1_epi32, _mm256_setr_epi32, _mm256_setzero_ps,
    _mm256_sub_epi32, _mm512_add_epi32, _mm512_add_ps, _mm512_and_si512, _mm512_fmadd_ps,
    _mm512_loadu_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_maskz_permutexvar_ps,
    _mm512_permutexvar_ps, _mm512_set1_epi32, _mm512_setr_epi32, _mm512_setzero_ps,
    _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_sub_epi32, _mm_prefetch, _MM_HINT_T0,
};

use super::lanes::hsum;
use super::lanes16::first_lanes;

/// How many vectors ahead of its loads [`rows16`] prefetches each row of `W` into L1: with the
/// hardware prefetcher alone a seminar-network inference took 6-10% longer (alternated runs on
/// the Zen 5 of the module docs: `infer/forward/1` 332-342 against 314-320 ns, a loop over one
/// fixed input 351 against 318 ns).
const PREFETCH: usize = 4;

/// Shortest row this kernel takes, in vectors: a shorter row is in L1 already and may cost one
/// vector more here (its first and last vector, partly outside the row) than it saves.
const MIN_VECTORS: usize = 8;

/// Whether [`affine16`] computes `affine(1, i, o, ..)`: rows of at most one vector
/// ([`block16`]), or [`aligned16`] rows. Rows in between stay with the batched kernel's
/// sixteen-row tiles, which measured faster at 64 × 64 (90 against 114 ns: `block16`'s longer
/// loop spilled its accumulators).
#[inline]
pub(super) fn takes16(i: usize) -> bool {
    i <= 16 || aligned16(i)
}

/// Whether [`affine16`] reads `W` over aligned vectors ([`rows16`]): rows of a multiple of
/// sixteen values (every row then starts at the same offset from a vector boundary), at least
/// [`MIN_VECTORS`] vectors long.
#[inline]
fn aligned16(i: usize) -> bool {
    i.is_multiple_of(16) && i >= 16 * MIN_VECTORS
}

/// Whether [`affine8`] computes `affine(1, i, o, ..)`: as [`aligned16`], for eight lanes.
#[inline]
pub(super) fn takes8(i: usize) -> bool {
    i.is_multiple_of(8) && i >= 8 * MIN_VECTORS
}

/// Where the aligned loads of a row start and stop, for rows whose first value sits `s` values
/// past a vector boundary of `L` lanes: `steps` vectors, the first with only its lanes from
/// `s` on inside the row, the last with only its first `last` lanes inside.
#[derive(Clone, Copy)]
struct Span {
    /// Values between the vector boundary and the first value of each row (`< L`).
    s: usize,
    /// Vectors a row, counting the two partial ones (at least 2).
    steps: usize,
    /// Lanes of the last vector inside the row (`1..=L`).
    last: usize,
}

impl Span {
    /// The span of rows of `i` values starting at `w` (`i ≥ 2·L`, `w` aligned to `f32`).
    #[inline]
    fn of<const L: usize>(w: *const f32, i: usize) -> Self {
        let s = (w as usize / core::mem::size_of::<f32>()) % L;
        let steps = (i + s).div_ceil(L);
        Self {
            s,
            steps,
            last: i + s - L * (steps - 1),
        }
    }
}

/// `out = W·x + b` for one row `x` of `i` values, `W` of `o` rows (AVX-512F): over aligned
/// vectors of `W` ([`rows16`]) if [`aligned16`]`(i)`, else over loads from each row's start
/// ([`block16`]); either way sixteen outputs at a time, added up by [`reduce16`]. Each output
/// equals the batched kernel's (`dot_tile` in [`super::avx512`]) bit for bit.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x`, `w`, `b` and `out` address `i`, `o × i`, `o`
/// and `o` values.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn affine16(
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    if !aligned16(i) {
        let mut j0 = 0;
        while j0 < o {
            let rows = (o - j0).min(16);
            // SAFETY: rows `j0..j0 + rows <= o` of `W`, values `j0..` of `b` and `out`.
            let acc = if rows == 16 {
                block16::<true>(i, x, w.add(j0 * i), rows)
            } else {
                block16::<false>(i, x, w.add(j0 * i), rows)
            };
            finish16(&acc, b.add(j0), out.add(j0), rows);
            j0 += 16;
        }
        return;
    }
    let span = Span::of::<16>(w, i);
    // Lane `l` of a row's sum is in lane `(l + s) mod 16` of its accumulator.
    let back = _mm512_and_si512(
        _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(span.s as i32),
        ),
        _mm512_set1_epi32(15),
    );
    // SAFETY (every call): rows `j0 + j..j0 + j + G <= o` of `W`, values `j0..j0 + rows <= o`
    // of `b` and `out`.
    let mut j0 = 0;
    while j0 + 16 <= o {
        let lo = rows16::<8>(i, span, back, x, w.add(j0 * i));
        let hi = rows16::<8>(i, span, back, x, w.add((j0 + 8) * i));
        let acc = core::array::from_fn(|j| if j < 8 { lo[j] } else { hi[j - 8] });
        finish16(&acc, b.add(j0), out.add(j0), 16);
        j0 += 16;
    }
    if j0 < o {
        let rows = o - j0;
        let mut acc = [_mm512_setzero_ps(); 16];
        let mut j = 0;
        if j + 8 <= rows {
            acc[j..j + 8].copy_from_slice(&rows16::<8>(i, span, back, x, w.add((j0 + j) * i)));
            j += 8;
        }
        if j + 4 <= rows {
            acc[j..j + 4].copy_from_slice(&rows16::<4>(i, span, back, x, w.add((j0 + j) * i)));
            j += 4;
        }
        if j + 2 <= rows {
            acc[j..j + 2].copy_from_slice(&rows16::<2>(i, span, back, x, w.add((j0 + j) * i)));
            j += 2;
        }
        if j < rows {
            acc[j] = rows16::<1>(i, span, back, x, w.add((j0 + j) * i))[0];
        }
        finish16(&acc, b.add(j0), out.add(j0), rows);
    }
}

/// The accumulators of `G` rows of [`affine16`]'s aligned path: lane `l` of row `j`'s is
/// `Σ_{c ≡ l mod 16} w[j][c]·x[c]`, one FMA chain in order of `c`, summed over aligned vectors
/// of `W` and rotated back by `back`.
///
/// # Safety
///
/// As for [`affine16`], with `w` at the group's first row, `G` rows left, and `span` the
/// [`Span`] of `W`'s rows.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows16<const G: usize>(
    i: usize,
    span: Span,
    back: __m512i,
    x: *const f32,
    w: *const f32,
) -> [__m512; G] {
    let Span { s, steps, last } = span;
    // The vector boundary `s` values before each row; `x` is read at the same offset (the
    // first and the last vector from inside the row, below).
    let (x0, w0) = (x.wrapping_sub(s), w.wrapping_sub(s));
    let mut acc = [_mm512_setzero_ps(); G];
    // The first vector: lanes `s..16` are values `0..16 - s`, loaded as the row's first sixteen
    // values and moved up by `s` lanes.
    let first = (0xffff_u32 << s) as __mmask16;
    let up = _mm512_and_si512(
        _mm512_sub_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(s as i32),
        ),
        _mm512_set1_epi32(15),
    );
    // SAFETY: `i ≥ 16`: the first sixteen values of `x` and of each row.
    let xv = _mm512_maskz_permutexvar_ps(first, up, _mm512_loadu_ps(x));
    for (j, acc) in acc.iter_mut().enumerate() {
        let wv = _mm512_maskz_permutexvar_ps(first, up, _mm512_loadu_ps(w.add(j * i)));
        *acc = _mm512_fmadd_ps(xv, wv, *acc);
    }
    for m in 1..steps - 1 {
        // SAFETY: vector `m` (`1 ≤ m ≤ steps - 2`) covers values `16m - s ≥ 16 - s > 0` to
        // `16m - s + 15 < 16(steps - 1) - s < i` (`steps = ⌈(i + s)/16⌉`): inside the row.
        let xv = _mm512_loadu_ps(x0.wrapping_add(16 * m));
        for (j, acc) in acc.iter_mut().enumerate() {
            let wv = _mm512_loadu_ps(w0.wrapping_add(j * i + 16 * m));
            // The row's line `PREFETCH` vectors on (past the row near its end: a prefetch
            // never faults).
            _mm_prefetch::<_MM_HINT_T0>(w0.wrapping_add(j * i + 16 * (m + PREFETCH)).cast());
            *acc = _mm512_fmadd_ps(xv, wv, *acc);
        }
    }
    // The last vector: its first `last` lanes are the values up to `i - 1`, loaded as the
    // row's last sixteen values and moved down by `16 - last` lanes.
    let down = _mm512_and_si512(
        _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(16 - last as i32),
        ),
        _mm512_set1_epi32(15),
    );
    let mask = first_lanes(last);
    // SAFETY: `i ≥ 16`: the last sixteen values of `x` and of each row.
    let xv = _mm512_maskz_permutexvar_ps(mask, down, _mm512_loadu_ps(x.add(i - 16)));
    for (j, acc) in acc.iter_mut().enumerate() {
        let wv = _mm512_loadu_ps(w.add(j * i + i - 16));
        *acc = _mm512_fmadd_ps(xv, _mm512_maskz_permutexvar_ps(mask, down, wv), *acc);
    }
    acc.map(|a| _mm512_permutexvar_ps(back, a))
}

/// The accumulators of `rows ≤ 16` rows of `W` (from `w`, `k` values each) against `x`, as the
/// batched kernel's `dot_step`s make them: vectors of sixteen from each row's start, the last
/// `k mod 16` values in one masked vector. The accumulators past `rows` are zero. `ALL`:
/// `rows` is 16 (no row needs its own mask).
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `x` holds `k` values and `w` holds `rows` rows of `k`
/// values; `rows == 16` if `ALL`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn block16<const ALL: bool>(
    k: usize,
    x: *const f32,
    w: *const f32,
    rows: usize,
) -> [__m512; 16] {
    let mut acc = [_mm512_setzero_ps(); 16];
    // Rows past `rows` are left out (their accumulators stay zero).
    let step = |acc: &mut [__m512; 16], c: usize, mask: __mmask16| {
        // SAFETY: `mask` selects values `c..min(c + 16, k)` of `x` and of each row `j < rows`.
        unsafe {
            let xv = _mm512_maskz_loadu_ps(mask, x.add(c));
            for (j, acc) in acc.iter_mut().enumerate() {
                if ALL || j < rows {
                    let wv = _mm512_maskz_loadu_ps(mask, w.add(j * k + c));
                    *acc = _mm512_fmadd_ps(xv, wv, *acc);
                }
            }
        }
    };
    let full = k - k % 16;
    let mut c = 0;
    while c < full {
        step(&mut acc, c, 0xffff);
        c += 16;
    }
    if full < k {
        step(&mut acc, full, first_lanes(k - full));
    }
    acc
}

/// The sixteen horizontal sums of `acc` in one vector: lane `j` is `_mm512_reduce_add_ps(acc[j])`,
/// bit for bit.
///
/// `_mm512_reduce_add_ps` adds by halves: lanes `l` and `l + 8`, then `l` and `l + 4`, `l + 2`,
/// `l + 1`. Here each level adds the halves of two vectors at once, moved side by side by one
/// shuffle each (four levels, 30 shuffles and 15 additions for sixteen sums, where sixteen
/// `_mm512_reduce_add_ps` take 64 shuffles and additions of their own); every sum meets the same
/// pairs in the same tree, and `a + b = b + a` exactly, so each lane's sum has the same bits.
/// The order in which the vectors enter (`acc[0]` with `acc[4]`, `acc[8]` with `acc[12]`, ...)
/// makes the sums come out in order.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn reduce16(acc: &[__m512; 16]) -> __m512 {
    // Lanes `0..8` of `a` and of `b` (as quarters 0, 1 of each) + lanes `8..16`.
    let halves = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x44>(a, b),
            _mm512_shuffle_f32x4::<0xee>(a, b),
        )
    };
    // Quarters 0, 2 of each + quarters 1, 3.
    let quarters = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(a, b),
            _mm512_shuffle_f32x4::<0xdd>(a, b),
        )
    };
    // In each quarter: lanes 0, 1 of each + lanes 2, 3.
    let pairs = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x44>(a, b),
            _mm512_shuffle_ps::<0xee>(a, b),
        )
    };
    // In each quarter: lanes 0, 2 of each + lanes 1, 3.
    let singles = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x88>(a, b),
            _mm512_shuffle_ps::<0xdd>(a, b),
        )
    };
    let h = [
        halves(acc[0], acc[4]),
        halves(acc[8], acc[12]),
        halves(acc[1], acc[5]),
        halves(acc[9], acc[13]),
        halves(acc[2], acc[6]),
        halves(acc[10], acc[14]),
        halves(acc[3], acc[7]),
        halves(acc[11], acc[15]),
    ];
    let q = [
        quarters(h[0], h[1]),
        quarters(h[2], h[3]),
        quarters(h[4], h[5]),
        quarters(h[6], h[7]),
    ];
    singles(pairs(q[0], q[1]), pairs(q[2], q[3]))
}

/// `out[j] = b[j] + reduce16(acc)[j]` for `j < rows` (`rows ≤ 16`), as the batched kernel adds
/// each sum's bias.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `b` and `out` hold `rows` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn finish16(acc: &[__m512; 16], b: *const f32, out: *mut f32, rows: usize) {
    let mask = first_lanes(rows);
    let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, b), reduce16(acc));
    _mm512_mask_storeu_ps(out, mask, sum);
}

/// `out = W·x + b` for one row `x` of `i` values, `W` of `o` rows (AVX2 + FMA): [`affine16`]
/// in eight lanes. Each output equals the batched kernel's (`dot_tile` in [`super::avx2`]) bit
/// for bit.
///
/// # Safety
///
/// AVX2 and FMA are available; [`takes8`]`(i)`; `x`, `w`, `b` and `out` address `i`, `o × i`,
/// `o` and `o` values.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn affine8(
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    let span = Span::of::<8>(w, i);
    // Lane `l` of a row's sum is in lane `(l + s) mod 8` of its accumulator.
    let back = _mm256_and_si256(
        _mm256_add_epi32(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(span.s as i32),
        ),
        _mm256_set1_epi32(7),
    );
    // SAFETY (every call): rows `j0..j0 + G <= o` of `W`, values `j0..j0 + G` of `b` and `out`.
    let mut j0 = 0;
    while j0 + 8 <= o {
        rows8::<8>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 8;
    }
    if j0 + 4 <= o {
        rows8::<4>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 4;
    }
    if j0 + 2 <= o {
        rows8::<2>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 2;
    }
    if j0 < o {
        rows8::<1>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
    }
}

/// The lanes `from..to` of eight, as a mask (all bits set in a selected lane).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn lanes8(from: usize, to: usize) -> __m256i {
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let after = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(from as i32 - 1));
    let before = _mm256_cmpgt_epi32(_mm256_set1_epi32(to as i32), lane);
    _mm256_and_si256(after, before)
}

/// `G` outputs of [`affine8`]: [`rows16`] in eight lanes, ending in [`hsum`] as the batched
/// AVX2 kernel does (rows of a multiple of eight values have no scalar tail).
///
/// # Safety
///
/// As for [`affine8`], with `w`, `b` and `out` at the group's first row, `G` rows left, and
/// `span` the [`Span`] of `W`'s rows.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows8<const G: usize>(
    i: usize,
    span: Span,
    back: __m256i,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    let Span { s, steps, last } = span;
    let (x0, w0) = (x.wrapping_sub(s), w.wrapping_sub(s));
    let mut acc = [_mm256_setzero_ps(); G];
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let seven = _mm256_set1_epi32(7);
    // The first vector: lanes `s..8` are values `0..8 - s`, loaded as the row's first eight
    // values, moved up by `s` lanes, the lanes below `s` cleared (as in [`rows16`], no masked
    // loads).
    let (keep, up) = (
        _mm256_castsi256_ps(lanes8(s, 8)),
        _mm256_and_si256(_mm256_sub_epi32(lane, _mm256_set1_epi32(s as i32)), seven),
    );
    let edge = |v: __m256, keep: __m256, idx: __m256i| {
        _mm256_and_ps(_mm256_permutevar8x32_ps(v, idx), keep)
    };
    // SAFETY: `i ≥ 8`: the first eight values of `x` and of each row.
    let xv = edge(_mm256_loadu_ps(x), keep, up);
    for (j, acc) in acc.iter_mut().enumerate() {
        let wv = edge(_mm256_loadu_ps(w.add(j * i)), keep, up);
        *acc = _mm256_fmadd_ps(xv, wv, *acc);
    }
    for m in 1..steps - 1 {
        // SAFETY: vector `m` (`1 ≤ m ≤ steps - 2`) covers values `8m - s ≥ 8 - s > 0` to
        // `8m - s + 7 < 8(steps - 1) - s < i` (`steps = ⌈(i + s)/8⌉`): inside the row.
        let xv = _mm256_loadu_ps(x0.wrapping_add(8 * m));
        for (j, acc) in acc.iter_mut().enumerate() {
            let wv = _mm256_loadu_ps(w0.wrapping_add(j * i + 8 * m));
            *acc = _mm256_fmadd_ps(xv, wv, *acc);
        }
    }
    // The last vector: its first `last` lanes are the values up to `i - 1`, loaded as the
    // row's last eight values and moved down by `8 - last` lanes.
    let (keep, down) = (
        _mm256_castsi256_ps(lanes8(0, last)),
        _mm256_and_si256(
            _mm256_add_epi32(lane, _mm256_set1_epi32(8 - last as i32)),
            seven,
        ),
    );
    // SAFETY: `i ≥ 8`: the last eight values of `x` and of each row.
    let xv = edge(_mm256_loadu_ps(x.add(i - 8)), keep, down);
    for (j, acc) in acc.iter_mut().enumerate() {
        let wv = edge(_mm256_loadu_ps(w.add(j * i + i - 8)), keep, down);
        *acc = _mm256_fmadd_ps(xv, wv, *acc);
    }
    for (j, acc) in acc.iter().enumerate() {
        *out.add(j) = *b.add(j) + hsum(_mm256_permutevar8x32_ps(*acc, back));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{avx2::Avx2Fma, avx512::Avx512};
    use crate::kernel::Backend;

    /// Values in `[-1, 1)`, reproducible from `seed`.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut data = nn_test_support::Data(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        (0..len).map(|_| data.signed()).collect()
    }

    /// The x86 back ends this CPU has, with the lane count of their batch-1 kernel.
    fn backends() -> Vec<(&'static dyn Backend, usize)> {
        let mut all: Vec<(&'static dyn Backend, usize)> = Vec::new();
        if let Some(cpu) = Avx2Fma::detect() {
            all.push((cpu, 8));
        }
        if let Some(cpu) = Avx512::detect() {
            all.push((cpu, 16));
        }
        if all.is_empty() {
            eprintln!("no AVX2 on this CPU: the batch-1 kernels are not checked");
        }
        all
    }

    /// [`super::reduce16`]'s lanes are `_mm512_reduce_add_ps` of each vector, bit for bit, on
    /// values of mixed magnitudes (where a different tree would round differently).
    #[test]
    fn the_sixteen_sums_are_those_of_reduce_add() {
        use core::arch::x86_64::{_mm512_loadu_ps, _mm512_reduce_add_ps, _mm512_storeu_ps};
        if Avx512::detect().is_none() {
            eprintln!("no AVX-512F on this CPU: reduce16 is not checked");
            return;
        }
        for round in 0..200 {
            let v = values(256, 1000 + round);
            let scale = values(256, 5000 + round);
            let v: Vec<f32> = v
                .iter()
                .zip(&scale)
                .map(|(v, s)| v * 2f32.powi((s * 24.0) as i32))
                .collect();
            let mut got = [0.0f32; 16];
            // SAFETY: the CPU has AVX-512F (checked above); `v` holds 16 rows of 16 values and
            // `got` 16 values.
            unsafe {
                let acc = core::array::from_fn(|j| _mm512_loadu_ps(v[16 * j..].as_ptr()));
                _mm512_storeu_ps(got.as_mut_ptr(), super::reduce16(&acc));
                for (j, got) in got.iter().enumerate() {
                    let want = _mm512_reduce_add_ps(acc[j]);
                    assert_eq!(got.to_bits(), want.to_bits(), "round {round}, sum {j}");
                }
            }
        }
    }

    /// At every offset of `W` and `x` from a cache line, a lone row's outputs are those of the
    /// same row inside a batch (the batched kernel, which loads without regard to alignment),
    /// bit for bit, and within the f64 reference's rounding bound.
    #[test]
    fn a_lone_row_sums_as_a_batch_does_at_every_alignment() {
        for (cpu, lanes) in backends() {
            for (i, o) in [
                (1, 1),
                (3, 17),
                (16, 10),
                (16, 16),
                (17, 33),
                (47, 35),
                (64, 3),
                (128, 1),
                (136, 10),
                (784, 16),
                (784, 10),
                (256, 33),
                (272, 47),
            ] {
                let takes = if lanes == 16 {
                    super::takes16(i)
                } else {
                    super::takes8(i)
                };
                let (wbuf, xbuf) = (values(o * i + 16, i as u64), values(3 * i + 16, o as u64));
                let b = values(o, 7);
                for shift in 0..16 {
                    let w = &wbuf[shift..shift + o * i];
                    let xs = &xbuf[(15 - shift)..(15 - shift) + 3 * i];
                    let x = &xs[i..2 * i];
                    let mut alone = vec![f32::NAN; o];
                    cpu.affine(1, i, o, x, w, &b, &mut alone);
                    let mut batch = vec![f32::NAN; 3 * o];
                    cpu.affine(3, i, o, xs, w, &b, &mut batch);
                    for (j, (a, want)) in alone.iter().zip(&batch[o..2 * o]).enumerate() {
                        assert_eq!(
                            a.to_bits(),
                            want.to_bits(),
                            "{} (1, {i}, {o}) output {j}, W shifted {shift} (batch-1 kernel: \
                             {takes}): alone {a}, in a batch {want}",
                            cpu.name()
                        );
                        let row = &w[j * i..(j + 1) * i];
                        let exact = f64::from(b[j])
                            + row
                                .iter()
                                .zip(x)
                                .map(|(w, x)| f64::from(*w) * f64::from(*x))
                                .sum::<f64>();
                        let magnitude = f64::from(b[j].abs())
                            + row
                                .iter()
                                .zip(x)
                                .map(|(w, x)| f64::from((w * x).abs()))
                                .sum::<f64>();
                        let bound = (i as f64 + 3.0) * f64::from(f32::EPSILON) * magnitude;
                        assert!(
                            (f64::from(*a) - exact).abs() <= bound,
                            "{} (1, {i}, {o}) output {j}: {a}, want {exact} (bound {bound:e})",
                            cpu.name()
                        );
                    }
                }
            }
        }
    }
}
