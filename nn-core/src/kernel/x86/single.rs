//! The forward product of a lone row (batch 1), `out = W·x + b`, with every load of `W` on a
//! vector boundary: the batch-1 kernel of both x86 back ends ([`affine16`] for AVX-512F,
//! [`affine8`] for AVX2), for rows whose length is a multiple of the lane count.
//!
//! At batch 1 every weight is read once a call, so the product is as fast as `W` streams in:
//! the seminar network's first layer (784 × 16, 50 KB, just over Zen 5's 48 KB L1D) comes from
//! L2 on every call. Two things made it slow, each measured on a 2-vCPU Zen 5 (EPYC, KVM,
//! AVX-512), 784 × 16, median ns a call:
//!
//! - **Loads across cache lines.** The weights are a heap block with no alignment beyond the
//!   allocator's 16 bytes, so a row usually starts inside a cache line and every 64-byte load
//!   of it touches two lines (16-byte-aligned `W`: 310-350 ns, 64-byte-aligned: 260-275 ns,
//!   the sixteen-row tile of the batched kernel).
//! - **Sixteen rows read at once.** Sixteen streams of `W` (one FMA chain a row) are more than
//!   the hardware prefetcher follows; eight rows at a time, in two passes over `x` (which stays
//!   in L1), read the same lines in about half the time.
//!
//! So this kernel sums rows in groups of eight (then four, two, one), and starts each row's
//! loads `s` values before the row, where `s` is how far the row starts past a vector
//! boundary: every load of `W` is then aligned, and `x` is loaded at the same offset (from L1,
//! where a split load is cheap). The first and the last vector are masked to the row, so
//! nothing outside `W` or `x` is read.
//!
//! Bits: each output is the sum of the batched kernels (`dot_tile` of the back end), bit for
//! bit. Loading from `s` values early puts product `c` in lane `(c + s) mod L` rather than
//! `c mod L`, but each lane still sums the same products in the same order (a masked lane adds
//! `0·0 = +0`, which changes no sum, as in the batched kernels' tails); one lane rotation at
//! the end puts every lane back where the batched kernel has it, before the same horizontal
//! sum and the bias. So a sample's outputs are the same whether it is inferred alone or in a
//! batch, and the same whatever the alignment of `W`.
//!
//! The `unsafe` follows the parent module's discipline: the callers ([`super::avx512`]'s and
//! [`super::avx2`]'s `affine`, behind the back end's token and its bounds check) guarantee the
//! CPU features and the extent of each matrix; each `SAFETY` comment says why an access stays
//! inside.

use core::arch::x86_64::{
    __m256, __m256i, __m512, __mmask16, _mm256_add_epi32, _mm256_and_si256, _mm256_cmpgt_epi32,
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_permutevar8x32_ps,
    _mm256_set1_epi32, _mm256_setr_epi32, _mm256_setzero_ps, _mm512_add_epi32, _mm512_and_si512,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps, _mm512_permutexvar_ps,
    _mm512_reduce_add_ps, _mm512_set1_epi32, _mm512_setr_epi32, _mm512_setzero_ps,
};

use super::lanes::hsum;

/// Shortest row this kernel takes, in vectors: a shorter row is in L1 already and may cost one
/// vector more here (its first and last vector, partly outside the row) than it saves.
const MIN_VECTORS: usize = 8;

/// Whether [`affine16`] computes `affine(1, i, o, ..)`: rows of a multiple of sixteen values
/// (every row then starts at the same offset from a vector boundary), at least
/// [`MIN_VECTORS`] vectors long.
#[inline]
pub(super) fn takes16(i: usize) -> bool {
    i.is_multiple_of(16) && i >= 16 * MIN_VECTORS
}

/// Whether [`affine8`] computes `affine(1, i, o, ..)`: as [`takes16`], for eight lanes.
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

/// `out = W·x + b` for one row `x` of `i` values, `W` of `o` rows (AVX-512F): the aligned,
/// grouped kernel of the module docs. Each output equals the batched kernel's (`dot_tile` in
/// [`super::avx512`]) bit for bit.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; [`takes16`]`(i)`; `x`, `w`, `b` and `out` address
/// `i`, `o × i`, `o` and `o` values.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn affine16(
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    let span = Span::of::<16>(w, i);
    // Lane `l` of a row's sum is in lane `(l + s) mod 16` of its accumulator.
    let back = _mm512_and_si512(
        _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(span.s as i32),
        ),
        _mm512_set1_epi32(15),
    );
    // SAFETY (every call): rows `j0..j0 + G <= o` of `W`, values `j0..j0 + G` of `b` and `out`.
    let mut j0 = 0;
    while j0 + 8 <= o {
        rows16::<8>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 8;
    }
    if j0 + 4 <= o {
        rows16::<4>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 4;
    }
    if j0 + 2 <= o {
        rows16::<2>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
        j0 += 2;
    }
    if j0 < o {
        rows16::<1>(i, span, back, x, w.add(j0 * i), b.add(j0), out.add(j0));
    }
}

/// `G` outputs of [`affine16`]: `out[j] = b[j] + Σ_c w[j][c]·x[c]`, one FMA chain a lane and
/// row, over aligned vectors of `W`; then each accumulator rotated back by `back` and summed
/// with `_mm512_reduce_add_ps`, then the bias.
///
/// # Safety
///
/// As for [`affine16`], with `w`, `b` and `out` at the group's first row, `G` rows left, and
/// `span` the [`Span`] of `W`'s rows.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows16<const G: usize>(
    i: usize,
    span: Span,
    back: core::arch::x86_64::__m512i,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    let Span { s, steps, last } = span;
    // The vector boundary `s` values before each row; `x` is read at the same offset. Lanes
    // before the rows are masked off and never read.
    let (x0, w0) = (x.wrapping_sub(s), w.wrapping_sub(s));
    let mut acc = [_mm512_setzero_ps(); G];
    let step = |acc: &mut [__m512; G], m: usize, mask: __mmask16| {
        // SAFETY: vector `m < steps` covers values `16m - s ..` of each row; `mask` selects
        // only those inside the row (see the callers below).
        unsafe {
            let xv = _mm512_maskz_loadu_ps(mask, x0.wrapping_add(16 * m));
            for (j, acc) in acc.iter_mut().enumerate() {
                let wv = _mm512_maskz_loadu_ps(mask, w0.wrapping_add(j * i + 16 * m));
                *acc = _mm512_fmadd_ps(xv, wv, *acc);
            }
        }
    };
    // The first vector: lanes `s..16` are values `0..16 - s`.
    step(&mut acc, 0, (0xffff_u32 << s) as __mmask16);
    for m in 1..steps - 1 {
        // SAFETY: vector `m` (`1 ≤ m ≤ steps - 2`) covers values `16m - s ≥ 16 - s > 0` to
        // `16m - s + 15 < 16(steps - 1) - s < i` (`steps = ⌈(i + s)/16⌉`): inside the row.
        let xv = _mm512_loadu_ps(x0.wrapping_add(16 * m));
        for (j, acc) in acc.iter_mut().enumerate() {
            let wv = _mm512_loadu_ps(w0.wrapping_add(j * i + 16 * m));
            *acc = _mm512_fmadd_ps(xv, wv, *acc);
        }
    }
    // The last vector: its first `last` lanes are the values up to `i - 1`.
    step(&mut acc, steps - 1, ((1_u32 << last) - 1) as __mmask16);
    for (j, acc) in acc.iter().enumerate() {
        *out.add(j) = *b.add(j) + _mm512_reduce_add_ps(_mm512_permutexvar_ps(back, *acc));
    }
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

/// The lanes `from..to` of an eight-lane `_mm256_maskload_ps` mask (all bits set in a selected
/// lane).
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
    let step = |acc: &mut [__m256; G], m: usize, mask: __m256i| {
        // SAFETY: vector `m < steps` covers values `8m - s ..` of each row; `mask` selects only
        // those inside the row (see the callers below), and a masked load reads no other lane.
        unsafe {
            let xv = _mm256_maskload_ps(x0.wrapping_add(8 * m), mask);
            for (j, acc) in acc.iter_mut().enumerate() {
                let wv = _mm256_maskload_ps(w0.wrapping_add(j * i + 8 * m), mask);
                *acc = _mm256_fmadd_ps(xv, wv, *acc);
            }
        }
    };
    // The first vector: lanes `s..8` are values `0..8 - s`.
    step(&mut acc, 0, lanes8(s, 8));
    for m in 1..steps - 1 {
        // SAFETY: vector `m` (`1 ≤ m ≤ steps - 2`) covers values `8m - s ≥ 8 - s > 0` to
        // `8m - s + 7 < 8(steps - 1) - s < i` (`steps = ⌈(i + s)/8⌉`): inside the row.
        let xv = _mm256_loadu_ps(x0.wrapping_add(8 * m));
        for (j, acc) in acc.iter_mut().enumerate() {
            let wv = _mm256_loadu_ps(w0.wrapping_add(j * i + 8 * m));
            *acc = _mm256_fmadd_ps(xv, wv, *acc);
        }
    }
    // The last vector: its first `last` lanes are the values up to `i - 1`.
    step(&mut acc, steps - 1, lanes8(0, last));
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

    /// At every offset of `W` and `x` from a cache line, a lone row's outputs are those of the
    /// same row inside a batch (the batched kernel, which loads without regard to alignment),
    /// bit for bit, and within the f64 reference's rounding bound.
    #[test]
    fn a_lone_row_sums_as_a_batch_does_at_every_alignment() {
        for (cpu, lanes) in backends() {
            for (i, o) in [
                (64, 3),
                (128, 1),
                (136, 10),
                (784, 16),
                (784, 10),
                (256, 33),
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
