//! Packed, register-blocked AVX-512 products for the shapes of wide layers: the
//! broadcast-and-FMA micro-kernel of a tuned sgemm, with one operand packed into a panel that
//! stays in L1.
//!
//! Every product here is `C = A·B` summed over `K`: `C` is `M × N`, `A(r, q)` is read through
//! its strides (`a[r·ars + q·acs]`, so a transposed `A` costs nothing) one element at a time
//! and broadcast, `B(q, c)` is read sixteen columns at a time from a packed panel. The loops:
//!
//! ```text
//! for each block of at most KC rows of B (the sum, KC = 512, blocks of equal size):
//!     for each panel of NR = 32 columns of B:
//!         pack B[block][panel] into PANEL (KC × 32 contiguous, zero past the last column)
//!         for each tile of MR rows of C (12, then one of 8, then 4, then 1):
//!             24 (16, 8, 2) accumulators += A(r, q) · PANEL[q]   (q over the block)
//!             write the tile (the first block) or add it into C (later blocks)
//! ```
//!
//! A 12 × 32 tile loads 12 broadcasts and 2 vectors of the panel for 24 FMAs, so the FMA
//! pipes, not the loads, set the pace; the panel (up to 64 KB) stays in L1 or L2 for every tile of rows,
//! and `A`'s rows stream past it (twelve sequential streams, which the hardware prefetcher
//! follows). Packing makes the panel contiguous whatever `B`'s row stride: a stride of 1024
//! floats (4 KB) maps every row of an unpacked panel to the same L1 sets, and the old kernels
//! lost a third of their speed on the 1024-wide layers to it (`BENCHMARKS.md`).
//!
//! The panel lives in a thread-local array ([`PANEL`]), zero-initialised at compile time: no
//! allocation ever, on any thread, and 64 KB of thread-local storage a thread.
//!
//! The forward product `Z = X·Wᵀ + b` has neither operand contiguous along the columns of `Z`,
//! so it runs transposed: `Zᵀ = W·Xᵀ` (`A = W`, rows contiguous; `B = Xᵀ`, packed from `X` by a
//! transposing copy of `n·i` values, cheap next to the `n·i·o` FMAs), and each tile is written
//! into `Z` transposed, with the bias: sixteen samples at a time, the tile's outputs turned into
//! lanes by a 16 × 16 register transpose (64 two-register permutations), then one masked store
//! a sample.
//!
//! Sum order: each output sums its `K` products in order within each block, and the
//! blocks in order (a block's sum is added to the sum so far), so the bits depend on the
//! shapes alone.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_loadu_si512,
    _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_permutex2var_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::cell::RefCell;

/// The most rows of `B` (terms of the sum) a block: a sum of `K` terms runs in
/// `⌈K / KC⌉` blocks of equal size (to within one), so that no block is a short tail (784
/// terms: two blocks of 392, not three of 256 and one of 16). Every block after the first
/// reads and rewrites its tile of `C`, which costs most in the transposed forward product.
const KC: usize = 512;
/// Columns of `B` and `C` a panel: two vectors.
const NR: usize = 32;

/// A packed panel of `B`: `KC` rows of `NR` values, row after row, on a cache-line boundary.
#[repr(align(64))]
struct Panel([f32; KC * NR]);

thread_local! {
    /// This thread's panel. Constant-initialised and without a destructor, so it lives in the
    /// thread's static TLS block: using it never allocates.
    static PANEL: RefCell<Panel> = const { RefCell::new(Panel([0.0; KC * NR])) };
}

/// Whether the forward product of a layer (`n` samples, `i` inputs, `o` outputs) runs packed.
///
/// Measured against the unpacked dot-product kernel (interleaved calls, best of 100, on this
/// Zen 5; `BENCHMARKS.md`): packed is 1.13-1.39× faster at batch 32 for 64 to 1024 outputs,
/// and at batch 256 for sums of at most 256 terms or of a multiple of 1024 (1.03-1.14×); at
/// batch 256 over 784 inputs the dot-product kernel, whose tiles stream `X` once a pass, is
/// 4-8% faster, so it keeps those. Fewer than 48 outputs (the seminar network's layers) never
/// pack: a panel then serves too few tiles.
pub(super) fn for_affine(n: usize, i: usize, o: usize) -> bool {
    o >= 48 && n >= 32 && i >= 32 && (n < 128 || i <= 256 || i.is_multiple_of(1024))
}

/// Whether the weight gradient `Δᵀ·X` of a layer runs packed: for weight matrices of 1 MB or
/// more, or rows of a multiple of 1024 inputs (4 KB, which map an unpacked panel's rows to the
/// same L1 sets), where packing measured 1.08-1.39× faster; below that the unpacked kernel is
/// as fast or up to 5% faster.
pub(super) fn for_weight_grad(n: usize, i: usize, o: usize) -> bool {
    o >= 48 && n >= 32 && i >= 32 && (o * i >= 1 << 18 || i.is_multiple_of(1024))
}

/// Whether the input gradient `Δ·W` of a layer runs packed: for rows of `W` of a multiple of
/// 1024 inputs (4 KB apart, the same L1 sets), where packing measured 1.5× faster at batch
/// 256; at other widths the unpacked kernel already runs near the peak and packing costs it
/// 0-5%.
pub(super) fn for_input_grad(n: usize, i: usize, o: usize) -> bool {
    n >= 12 && o >= 32 && i >= 32 && i.is_multiple_of(1024)
}

/// The mask of the first `len` lanes, `len ≤ 16`.
#[inline]
fn first_lanes(len: usize) -> __mmask16 {
    debug_assert!(len <= 16);
    ((1u32 << len) - 1) as __mmask16
}

/// The lane masks of a panel's two vectors when it has `width ≤ 32` columns.
#[inline]
fn panel_masks(width: usize) -> [__mmask16; 2] {
    [
        first_lanes(width.min(16)),
        first_lanes(width.saturating_sub(16)),
    ]
}

/// `MR` rows of `C` (from `a`, `A`'s row `r0`) times one panel, over `kc` terms: the
/// accumulators, `acc[r][v]` the sixteen columns `16v..16v + 16` of row `r`.
///
/// # Safety
///
/// AVX-512F is available; `a` addresses `MR` rows of `kc` terms with strides `ars`, `acs`;
/// `panel` holds `kc` rows of `NR` values.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile<const MR: usize>(
    kc: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    panel: *const f32,
) -> [[__m512; 2]; MR] {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for q in 0..kc {
        // SAFETY: `q < kc`: the panel's row `q` and `A`'s term `q` of every row are inside.
        let b0 = _mm512_loadu_ps(panel.add(q * NR));
        let b1 = _mm512_loadu_ps(panel.add(q * NR + 16));
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = _mm512_set1_ps(*a.add(r * ars + q * acs));
            acc[0] = _mm512_fmadd_ps(s, b0, acc[0]);
            acc[1] = _mm512_fmadd_ps(s, b1, acc[1]);
        }
    }
    acc
}

/// Where the tiles of a product go.
#[derive(Clone, Copy)]
enum Out {
    /// `C` itself, row-major with row stride `ldc`.
    Rows { c: *mut f32, ldc: usize },
    /// The forward product's `Z = Cᵀ + 1·bᵀ`: `C(j, s)` goes to `z[s·ldz + j]`, plus `b[j]` on
    /// the first block.
    Transposed {
        z: *mut f32,
        ldz: usize,
        b: *const f32,
    },
}

/// Writes (`first`) or adds one `MR × width` tile of accumulators at row `r0`, column `c0` of
/// the output.
///
/// # Safety
///
/// AVX-512F is available; rows `r0..r0 + MR` and columns `c0..c0 + width` (`width ≤ 32`) are
/// inside the output.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn store<const MR: usize>(
    out: Out,
    acc: &[[__m512; 2]; MR],
    r0: usize,
    c0: usize,
    width: usize,
    first: bool,
) {
    match out {
        Out::Rows { c, ldc } => {
            let masks = panel_masks(width);
            for (r, acc) in acc.iter().enumerate() {
                for (v, (&acc, &mask)) in acc.iter().zip(&masks).enumerate() {
                    if mask == 0 {
                        continue;
                    }
                    // SAFETY: row `r0 + r` and the mask's columns from `c0 + 16v` are inside.
                    let p = c.add((r0 + r) * ldc + c0 + 16 * v);
                    let sum = if first {
                        acc
                    } else {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, p), acc)
                    };
                    if mask == 0xffff {
                        _mm512_storeu_ps(p, sum);
                    } else {
                        _mm512_mask_storeu_ps(p, mask, sum);
                    }
                }
            }
        }
        Out::Transposed { z, ldz, b } => {
            // Sixteen samples at a time: the tile's rows (outputs) become lanes, so that each
            // sample's `MR` outputs are one masked vector of `Z`'s row.
            let mask = first_lanes(MR);
            // SAFETY: outputs `r0..r0 + MR` are inside `b`.
            let bias = _mm512_maskz_loadu_ps(mask, b.add(r0));
            for v in 0..2 {
                let count = width.saturating_sub(16 * v).min(16);
                if count == 0 {
                    continue;
                }
                let mut m = [_mm512_setzero_ps(); 16];
                for (m, acc) in m.iter_mut().zip(acc) {
                    *m = acc[v];
                }
                transpose(&mut m);
                for (s, m) in m.iter().enumerate().take(count) {
                    // SAFETY: sample `c0 + 16v + s < c0 + width` and outputs `r0..r0 + MR`
                    // are inside `Z`.
                    let p = z.add((c0 + 16 * v + s) * ldz + r0);
                    let base = if first {
                        bias
                    } else {
                        _mm512_maskz_loadu_ps(mask, p)
                    };
                    _mm512_mask_storeu_ps(p, mask, _mm512_add_ps(base, *m));
                }
            }
        }
    }
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
fn transpose(m: &mut [__m512; 16]) {
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

/// All the tiles of rows of `C` over one packed panel (columns `c0..c0 + width`), terms
/// `k0..k0 + kc`.
///
/// # Safety
///
/// As for [`gemm`]; `panel` holds `kc` packed rows.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_rows(
    m: usize,
    kc: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    panel: *const f32,
    out: Out,
    c0: usize,
    width: usize,
    first: bool,
) {
    let mut r0 = 0;
    while r0 + 12 <= m {
        let acc = tile::<12>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<12>(out, &acc, r0, c0, width, first);
        r0 += 12;
    }
    if r0 + 8 <= m {
        let acc = tile::<8>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<8>(out, &acc, r0, c0, width, first);
        r0 += 8;
    }
    while r0 + 4 <= m {
        let acc = tile::<4>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<4>(out, &acc, r0, c0, width, first);
        r0 += 4;
    }
    while r0 < m {
        let acc = tile::<1>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<1>(out, &acc, r0, c0, width, first);
        r0 += 1;
    }
}

/// How a panel of `B` is read out of its matrix.
#[derive(Clone, Copy)]
enum Source {
    /// `B(q, c) = b[q·ldb + c]`: rows contiguous (the gradients' `X` and `W`).
    Rows { b: *const f32, ldb: usize },
    /// `B(q, c) = x[c·ldx + q]`: `B = Xᵀ` for the forward product.
    Transposed { x: *const f32, ldx: usize },
}

/// Packs rows `k0..k0 + kc` and columns `c0..c0 + width` of `B` into `panel`, zero in the
/// columns from `width` to `NR`.
///
/// # Safety
///
/// AVX-512F is available; those rows and columns are inside `B`; `panel` holds `KC·NR`
/// values and `kc ≤ KC`, `width ≤ NR`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn pack(src: Source, k0: usize, kc: usize, c0: usize, width: usize, panel: *mut f32) {
    match src {
        Source::Rows { b, ldb } => {
            let masks = panel_masks(width);
            for q in 0..kc {
                // SAFETY: row `k0 + q` and the masks' columns from `c0` are inside `B`; the
                // panel's row `q` is inside the panel.
                let row = b.add((k0 + q) * ldb + c0);
                let dst = panel.add(q * NR);
                _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(masks[0], row));
                _mm512_storeu_ps(dst.add(16), _mm512_maskz_loadu_ps(masks[1], row.add(16)));
            }
        }
        Source::Transposed { x, ldx } => {
            if width < NR {
                for q in 0..kc {
                    // SAFETY: the panel's row `q` is inside the panel.
                    core::ptr::write_bytes(panel.add(q * NR + width), 0, NR - width);
                }
            }
            for s in 0..width {
                // SAFETY: sample `c0 + s`, terms `k0..k0 + kc` are inside `X`.
                let row = x.add((c0 + s) * ldx + k0);
                for q in 0..kc {
                    *panel.add(q * NR + s) = *row.add(q);
                }
            }
        }
    }
}

/// `C = A·B` (`M × N`, sum over `K`) into `out`, `B` packed panel by panel from `src`.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; `a` addresses `m` rows of `k` terms through `ars`,
/// `acs`; `src` addresses `B`'s `k` rows and `n` columns; `out` addresses `C` (or, transposed,
/// `Z` and `b`) of `m × n`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    src: Source,
    out: Out,
) {
    PANEL.with(|panel| {
        let mut panel = panel.borrow_mut();
        let panel = panel.0.as_mut_ptr();
        let blocks = k.div_ceil(KC);
        let mut k0 = 0;
        for block in 0..blocks {
            // Blocks of ⌈k / blocks⌉ or ⌊k / blocks⌋ terms, ending at `k`.
            let kc = (k - k0) / (blocks - block);
            let mut c0 = 0;
            while c0 < n {
                let width = NR.min(n - c0);
                // SAFETY: rows `k0..k0 + kc <= k` and columns `c0..c0 + width <= n` of `B`;
                // `kc <= KC`, `width <= NR`.
                pack(src, k0, kc, c0, width, panel);
                // SAFETY: `A`'s terms from `k0` (`kc` of them), the panel just packed, and
                // the output's columns `c0..c0 + width`.
                panel_rows(
                    m,
                    kc,
                    a.add(k0 * acs),
                    ars,
                    acs,
                    panel,
                    out,
                    c0,
                    width,
                    k0 == 0,
                );
                c0 += NR;
            }
            k0 += kc;
        }
    });
}

/// The forward product `out = X·Wᵀ + 1·bᵀ` (`x` is `n × i`, `w` is `o × i`, `out` is
/// `n × o`), computed as `outᵀ = W·Xᵀ`.
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; each pointer addresses the matrix its dimensions
/// describe.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn affine(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    if i == 0 {
        for s in 0..n {
            // SAFETY: row `s` of `out` and `b` hold `o` values.
            core::ptr::copy_nonoverlapping(b, out.add(s * o), o);
        }
        return;
    }
    let src = Source::Transposed { x, ldx: i };
    let dst = Out::Transposed { z: out, ldz: o, b };
    // SAFETY: `A = W` is `o × i` (row stride `i`), `B = Xᵀ` is `i × n`, `Zᵀ` is `o × n`.
    gemm(o, n, i, w, i, 1, src, dst);
}

/// `C = A·B` with `B`'s rows contiguous: `c` is `m × k` (row stride `k`), `b` is `p × k`, and
/// `A(r, q) = a[r·ars + q·acs]`, as the unpacked `scaled_rows` kernels take it. `C` is
/// overwritten (all zero when `p = 0`).
///
/// # Safety
///
/// AVX-512F, AVX2 and FMA are available; each pointer addresses the matrix its dimensions
/// describe.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn scaled_rows(
    m: usize,
    p: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    c: *mut f32,
) {
    if p == 0 {
        // SAFETY: `C` holds `m·k` values.
        core::ptr::write_bytes(c, 0, m * k);
        return;
    }
    let src = Source::Rows { b, ldb: k };
    let dst = Out::Rows { c, ldc: k };
    // SAFETY: `C` is `m × k`, the sum runs over `p`.
    gemm(m, k, p, a, ars, acs, src, dst);
}
