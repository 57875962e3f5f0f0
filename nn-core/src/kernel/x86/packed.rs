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
//! A panel of at most 16 columns (a narrow layer's outputs, the last samples of a batch) takes
//! tiles of one vector instead, 16 rows (then 8, 4, 1) of 16 columns: its second vector would
//! be all zeros.
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
//! so one of them is packed by a transposing copy (sixteen rows by sixteen terms at a time
//! through a 16 × 16 register transpose, 64 two-register permutations), cheap next to the
//! `n·i·o` FMAs. Either `Z = X·Wᵀ` (`A = X`, `B = Wᵀ` packed from `W`: `o·i` values copied, the
//! tiles stored as rows with the bias), or `Zᵀ = W·Xᵀ` (`A = W`, `B = Xᵀ` packed from `X`: `n·i`
//! values, each tile written into `Z` transposed, with the bias: sixteen samples at a time
//! through the register transpose, then one masked store a sample). [`rows_first`] picks the
//! one that copies less and wastes fewer lanes; both give the same bits.
//!
//! Sum order: each output sums its `K` products in order within each block, and the
//! blocks in order (a block's sum is added to the sum so far), so the bits depend on the
//! shapes alone.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::cell::RefCell;

use super::lanes16::{self, transpose};

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
/// Measured against the unpacked dot-product kernel (interleaved calls, best of 60 rounds, on
/// this Zen 5; `BENCHMARKS.md`), since the panels of `Xᵀ` and `Wᵀ` are packed through the
/// register transpose: packed is 1.3-1.5× faster at batch 32 and 256 for 32 outputs or more at
/// every width (784 × 256 at batch 256 included, which the unpacked kernel used to keep), and
/// 1.4-3.8× faster on sums of at most 48 terms (the 16 × 16 and 16 × 10 layers of the seminar
/// network, whose dot products were one vector and a reduction an output). For 10 to 16
/// outputs, tiles of one vector (16 rows of `X` against a panel of `Wᵀ` 16 outputs wide)
/// measured 1.1-1.6× faster at batch 128 and up on sums of at most 784 terms (784 × 16,
/// 256 × 10, 64 × 10 at batch 256) and 3-10% slower on longer sums or smaller batches (1000
/// × 10 at batch 128, 784 × 16 at batch 64); fewer than 10 outputs leave too much of a vector
/// empty (784 × 8: 1.5× slower).
pub(super) fn for_affine(n: usize, i: usize, o: usize) -> bool {
    let narrow = n >= 128 && (10..=16).contains(&o) && i <= 784;
    n >= 32 && i >= 1 && (o >= 32 || (o >= 8 && i <= 48) || narrow)
}

/// Whether the weight gradient `Δᵀ·X` of a layer runs packed: for weight matrices of 1 MB or
/// more, or of 256 KB or more at batch 128 and up (256 × 256 at batch 256: 1.14×), or rows of
/// a multiple of 1024 inputs (4 KB, which map an unpacked panel's rows to the same L1 sets;
/// 1.9× on the 1024 × 10 layer), where packing measured 1.08-1.9× faster; below that the
/// unpacked kernel is as fast or up to 12% faster.
pub(super) fn for_weight_grad(n: usize, i: usize, o: usize) -> bool {
    let big = o * i >= 1 << 18 || (n >= 128 && o * i >= 1 << 16);
    n >= 32 && i >= 32 && ((o >= 48 && big) || (o >= 8 && i.is_multiple_of(1024)))
}

/// Whether the input gradient `Δ·W` of a layer runs packed: for rows of `W` of a multiple of
/// 1024 inputs (4 KB apart, the same L1 sets), where packing measured 1.4-1.5× faster at batch
/// 256 (the 1024 × 1024 and 1024 × 10 layers); at other widths the unpacked kernel already
/// runs near the peak and packing costs it 0-15%.
pub(super) fn for_input_grad(n: usize, i: usize, o: usize) -> bool {
    n >= 12 && o >= 8 && i >= 32 && i.is_multiple_of(1024)
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

/// `MR` rows of `C` (from `a`, `A`'s row `r0`) times the first `16·V` columns of one panel,
/// over `kc` terms: the accumulators, `acc[r][v]` the sixteen columns `16v..16v + 16` of row
/// `r`. `V = 2` is the whole panel; `V = 1` serves a panel of at most 16 columns, whose second
/// vector would hold only zeros.
///
/// # Safety
///
/// AVX-512F is available; `a` addresses `MR` rows of `kc` terms with strides `ars`, `acs`;
/// `panel` holds `kc` rows of `NR` values; `V ≤ 2`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile<const MR: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    panel: *const f32,
) -> [[__m512; V]; MR] {
    let mut acc = [[_mm512_setzero_ps(); V]; MR];
    for q in 0..kc {
        let mut b = [_mm512_setzero_ps(); V];
        for (v, b) in b.iter_mut().enumerate() {
            // SAFETY: `q < kc` and `16v + 16 <= NR`: inside the panel's row `q`.
            *b = _mm512_loadu_ps(panel.add(q * NR + 16 * v));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `A`'s term `q < kc` of row `r < MR` is inside.
            let s = _mm512_set1_ps(*a.add(r * ars + q * acs));
            for (acc, b) in acc.iter_mut().zip(&b) {
                *acc = _mm512_fmadd_ps(s, *b, *acc);
            }
        }
    }
    acc
}

/// Where the tiles of a product go.
#[derive(Clone, Copy)]
enum Out {
    /// `C` itself, row-major with row stride `ldc`, plus `bias[col]` in every row on the first
    /// block if there is a bias (the forward product computed as `Z = X·Wᵀ`).
    Rows {
        c: *mut f32,
        ldc: usize,
        bias: Option<*const f32>,
        finish: Finish,
    },
    /// The forward product's `Z = Cᵀ + 1·bᵀ`: `C(j, s)` goes to `z[s·ldz + j]`, plus `b[j]` on
    /// the first block.
    Transposed {
        z: *mut f32,
        ldz: usize,
        b: *const f32,
    },
}

impl Out {
    /// Where the tiles of a block that is not the sum's last go: the same place, as sums.
    fn partial(self) -> Self {
        match self {
            Out::Rows { c, ldc, bias, .. } => Out::Rows {
                c,
                ldc,
                bias,
                finish: Finish::Sum,
            },
            transposed => transposed,
        }
    }
}

/// What the store of a finished sum into rows of `C` writes: the sum, or (the forward product
/// of a `tanh` layer) its `tanh`, computed on the tile in registers, and the sum itself beside
/// it if the caller keeps the sums (training). [`lanes16::tanh16`] is the function
/// [`lanes16::tanh`] applies to every value, so the bits are those of the product followed by
/// `tanh` over the output.
#[derive(Clone, Copy)]
enum Finish {
    /// The sum.
    Sum,
    /// `tanh` of the sum into the output, and the sum into `sums` (laid out as the output) if
    /// there is one.
    Tanh { sums: Option<*mut f32> },
}

/// Stores the lanes of `mask` at `p`: one whole vector if they are all sixteen.
///
/// # Safety
///
/// AVX-512F is available; the mask's lanes from `p` are writable.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn write(p: *mut f32, mask: __mmask16, v: __m512) {
    if mask == 0xffff {
        _mm512_storeu_ps(p, v);
    } else {
        _mm512_mask_storeu_ps(p, mask, v);
    }
}

/// Writes (`first`) or adds one `MR × width` tile of accumulators at row `r0`, column `c0` of
/// the output.
///
/// # Safety
///
/// AVX-512F is available; rows `r0..r0 + MR` and columns `c0..c0 + width` (`width ≤ 16·V`)
/// are inside the output; `MR ≤ 16`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn store<const MR: usize, const V: usize>(
    out: Out,
    acc: &[[__m512; V]; MR],
    r0: usize,
    c0: usize,
    width: usize,
    first: bool,
) {
    match out {
        // Two instances, so that the sums' stores carry no `tanh` code.
        Out::Rows {
            c,
            ldc,
            bias,
            finish: Finish::Sum,
        } => store_rows::<MR, V, false>(c, ldc, bias, None, acc, r0, c0, width, first),
        Out::Rows {
            c,
            ldc,
            bias,
            finish: Finish::Tanh { sums },
        } => store_rows::<MR, V, true>(c, ldc, bias, sums, acc, r0, c0, width, first),
        Out::Transposed { z, ldz, b } => {
            // Sixteen samples at a time: the tile's rows (outputs) become lanes, so that each
            // sample's `MR` outputs are one masked vector of `Z`'s row.
            let mask = first_lanes(MR);
            // SAFETY: outputs `r0..r0 + MR` are inside `b`.
            let bias = _mm512_maskz_loadu_ps(mask, b.add(r0));
            for v in 0..V {
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

/// [`store`] into rows of `C` (`Out::Rows`): the sums, or with `TANH` their `tanh` (and the
/// sums into `sums` if given), as [`Finish`] says.
///
/// # Safety
///
/// As for [`store`]; `sums`, if given, is laid out as `C`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn store_rows<const MR: usize, const V: usize, const TANH: bool>(
    c: *mut f32,
    ldc: usize,
    bias: Option<*const f32>,
    sums: Option<*mut f32>,
    acc: &[[__m512; V]; MR],
    r0: usize,
    c0: usize,
    width: usize,
    first: bool,
) {
    let masks = panel_masks(width);
    // The bias of the tile's columns, added on the first block (as the transposed forward
    // adds it: `b + Σ`, the same bits).
    let bias = match bias {
        // SAFETY: the masks' columns from `c0` are inside the bias.
        Some(b) if first => Some([
            _mm512_maskz_loadu_ps(masks[0], b.add(c0)),
            _mm512_maskz_loadu_ps(masks[1], b.add(c0 + 16)),
        ]),
        _ => None,
    };
    for (r, acc) in acc.iter().enumerate() {
        for (v, (&acc, &mask)) in acc.iter().zip(&masks).enumerate() {
            if mask == 0 {
                continue;
            }
            // SAFETY: row `r0 + r` and the mask's columns from `c0 + 16v` are inside the
            // output (and the sums).
            let at = (r0 + r) * ldc + c0 + 16 * v;
            let sum = match (first, bias) {
                (true, None) => acc,
                (true, Some(b)) => _mm512_add_ps(b[v], acc),
                (false, _) => _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c.add(at)), acc),
            };
            let value = if TANH {
                if let Some(z) = sums {
                    write(z.add(at), mask, sum);
                }
                lanes16::tanh16(sum)
            } else {
                sum
            };
            write(c.add(at), mask, value);
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
    if width <= 16 {
        // One vector of the panel: tiles of sixteen rows (sixteen accumulators), then 8, 4, 1.
        tiles::<1, 16>(m, kc, a, ars, acs, panel, out, c0, width, first);
    } else {
        tiles::<2, 12>(m, kc, a, ars, acs, panel, out, c0, width, first);
    }
}

/// [`panel_rows`] with tiles of `V` vectors of the panel: `BIG` rows a tile while they last,
/// then one tile of 8, then tiles of 4, then single rows.
///
/// # Safety
///
/// As for [`panel_rows`], with `width ≤ 16·V` and `BIG ≤ 16`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tiles<const V: usize, const BIG: usize>(
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
    // SAFETY (every tile): rows `r0..r0 + MR <= m` of `A` and of the output.
    let mut r0 = 0;
    while r0 + BIG <= m {
        let acc = tile::<BIG, V>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<BIG, V>(out, &acc, r0, c0, width, first);
        r0 += BIG;
    }
    if r0 + 8 <= m {
        let acc = tile::<8, V>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<8, V>(out, &acc, r0, c0, width, first);
        r0 += 8;
    }
    while r0 + 4 <= m {
        let acc = tile::<4, V>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<4, V>(out, &acc, r0, c0, width, first);
        r0 += 4;
    }
    while r0 < m {
        let acc = tile::<1, V>(kc, a.add(r0 * ars), ars, acs, panel);
        store::<1, V>(out, &acc, r0, c0, width, first);
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
            // Sixteen columns (rows of `x`) by sixteen terms at a time: sixteen masked loads,
            // the register transpose, sixteen stores of panel rows. Rows past `width` are
            // zero vectors, so their columns of the panel come out zero.
            for half in 0..2 {
                let s0 = 16 * half;
                let rows = width.saturating_sub(s0).min(16);
                let mut q = 0;
                while q < kc {
                    let count = (kc - q).min(16);
                    let mask = first_lanes(count);
                    let mut m = [_mm512_setzero_ps(); 16];
                    for (s, m) in m.iter_mut().enumerate().take(rows) {
                        // SAFETY: row `c0 + s0 + s < c0 + width` of `x`, the mask's terms from
                        // `k0 + q` (`k0 + q + count <= k0 + kc`) are inside `x`.
                        *m = _mm512_maskz_loadu_ps(mask, x.add((c0 + s0 + s) * ldx + k0 + q));
                    }
                    if rows > 0 {
                        transpose(&mut m);
                    }
                    for (t, m) in m.iter().enumerate().take(count) {
                        // SAFETY: the panel's row `q + t < kc`, columns `s0..s0 + 16`.
                        _mm512_storeu_ps(panel.add((q + t) * NR + s0), *m);
                    }
                    q += 16;
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
            let out = if block + 1 == blocks {
                out
            } else {
                out.partial()
            };
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
    oriented(rows_first(n, o), n, i, o, x, w, b, out);
}

/// Whether [`rows_tanh`] computes the forward product of a `tanh` layer of `n` samples, `i`
/// inputs and `o` outputs, fused: where [`rows_first`] orients it as `Z = X·Wᵀ`. Transposed
/// tiles hold a sample's outputs in a vector of `MR ≤ 12` lanes, so `tanh` on them wastes
/// lanes, and the product followed by a pass of `tanh` over the output measured faster
/// there (32 × 64 × 64: 1.1×).
pub(super) fn fuses_tanh(n: usize, i: usize, o: usize) -> bool {
    i > 0 && rows_first(n, o)
}

/// The forward product of a `tanh` layer, `out = tanh(X·Wᵀ + 1·bᵀ)`, as `Z = X·Wᵀ` (whatever
/// [`rows_first`] says: [`fuses_tanh`] says where the back end calls it), with the `tanh` of
/// each finished tile taken in registers; the sums themselves go to `sums` too if it is given
/// (a layer in training keeps them). The bits of [`affine`] followed by [`lanes16::tanh`] over
/// `out`; 1.04-1.10× faster than those two at 64 × 64 and 256 × 256, batches 100 and 256.
///
/// # Safety
///
/// As for [`affine`], with `i > 0`; `sums`, if given, addresses `n × o` values that do not
/// overlap `out`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn rows_tanh(
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    sums: Option<*mut f32>,
    out: *mut f32,
) {
    let src = Source::Transposed { x: w, ldx: i };
    let dst = Out::Rows {
        c: out,
        ldc: o,
        bias: Some(b),
        finish: Finish::Tanh { sums },
    };
    // SAFETY: `A = X` is `n × i` (row stride `i`), `B = Wᵀ` is `i × o`, `Z` (and the sums, if
    // given) is `n × o`.
    gemm(n, o, i, x, i, 1, src, dst);
}

/// [`affine`] for `i > 0`, as `Z = X·Wᵀ` if `rows`, else as `Zᵀ = W·Xᵀ`.
///
/// # Safety
///
/// As for [`affine`].
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn oriented(
    rows: bool,
    n: usize,
    i: usize,
    o: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    if rows {
        let src = Source::Transposed { x: w, ldx: i };
        let dst = Out::Rows {
            c: out,
            ldc: o,
            bias: Some(b),
            finish: Finish::Sum,
        };
        // SAFETY: `A = X` is `n × i` (row stride `i`), `B = Wᵀ` is `i × o`, `Z` is `n × o`.
        gemm(n, o, i, x, i, 1, src, dst);
    } else {
        let src = Source::Transposed { x, ldx: i };
        let dst = Out::Transposed { z: out, ldz: o, b };
        // SAFETY: `A = W` is `o × i` (row stride `i`), `B = Xᵀ` is `i × n`, `Zᵀ` is `o × n`.
        gemm(o, n, i, w, i, 1, src, dst);
    }
}

/// Whether the forward product of `n` samples and `o` outputs runs as `Z = X·Wᵀ` (panels of
/// `Wᵀ`, rows of `X` broadcast, `Z` written row by row) rather than as `Zᵀ = W·Xᵀ` (panels of
/// `Xᵀ`, rows of `W` broadcast, tiles transposed into `Z`). Both sum each output's terms in
/// the same order and add the bias the same way, so the choice never changes a bit (a test
/// holds them to that); it only changes what is packed (`o·i` values of `W` or `n·i` of
/// `X`) and whether the tiles are transposed.
///
/// Rows first when there are no more outputs than samples and either at most 16 of them (one
/// vector of the panel: the tiles of one vector, 1.6-2× faster than the transposed product at
/// 10 to 16 outputs) or the last panel of outputs more than half full (a panel is 32 outputs
/// wide): measured 1.24× faster on the deep tanh network's 64 × 64 layer at batch 256 and as
/// fast (±2%) on the wide layers at batch 256. With fewer samples than outputs (batch 32 on a
/// 256- or 1024-wide layer) the transposed product is 1.3-1.45× faster.
fn rows_first(n: usize, o: usize) -> bool {
    o <= n && (o <= 16 || o.is_multiple_of(NR) || o % NR > NR / 2)
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
    let dst = Out::Rows {
        c,
        ldc: k,
        bias: None,
        finish: Finish::Sum,
    };
    // SAFETY: `C` is `m × k`, the sum runs over `p`.
    gemm(m, k, p, a, ars, acs, src, dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both orientations of the forward product give the same bits, at shapes that cover the
    /// tails of the packed transpose (rows mod 16, terms mod 16), of panels (mod 32) and of
    /// tiles (mod 12, 4), and two blocks of the sum; and by rows with `tanh` taken on the
    /// finished tiles, the bits of the product followed by `tanh`, with the sums beside them.
    #[test]
    fn both_orientations_of_the_forward_product_give_the_same_bits() {
        if super::super::avx512::Avx512::detect().is_none() {
            return;
        }
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|k| (((k * 2_654_435_761 + seed) % 1_000_003) as f32 / 500_001.5) - 1.0)
                .collect()
        };
        for (n, i, o) in [
            (1, 1, 1),
            (7, 3, 5),
            (33, 17, 31),
            (64, 64, 64),
            (45, 70, 49),
            (100, 15, 40),
            (29, 600, 18),
            (256, 64, 10),
            (40, 1100, 33),
            (130, 200, 13),
            (47, 33, 200),
            (200, 700, 16),
        ] {
            let (x, w, b) = (values(n * i, 1), values(o * i, 2), values(o, 3));
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut by_rows = vec![f32::NAN; n * o];
            let mut transposed = vec![f32::NAN; n * o];
            // By rows again, with `tanh` on the finished tiles, with and without the sums.
            let (mut tanh, mut alone) = (vec![f32::NAN; n * o], vec![f32::NAN; n * o]);
            let mut sums = vec![f32::NAN; n * o];
            // SAFETY: AVX-512F is available (detected above); the buffers hold `n × i`,
            // `o × i`, `o` and `n × o` values.
            unsafe {
                let (x, w, b) = (x.as_ptr(), w.as_ptr(), b.as_ptr());
                oriented(true, n, i, o, x, w, b, by_rows.as_mut_ptr());
                oriented(false, n, i, o, x, w, b, transposed.as_mut_ptr());
                let z = Some(sums.as_mut_ptr());
                rows_tanh(n, i, o, x, w, b, z, tanh.as_mut_ptr());
                rows_tanh(n, i, o, x, w, b, None, alone.as_mut_ptr());
            }
            let mut want = by_rows.clone();
            // SAFETY: AVX-512F is available.
            unsafe { lanes16::tanh(&mut want) };
            assert_eq!(bits(&sums), bits(&by_rows), "sums, {n} x {i} x {o}");
            assert_eq!(bits(&tanh), bits(&want), "tanh, {n} x {i} x {o}");
            assert_eq!(bits(&alone), bits(&want), "tanh alone, {n} x {i} x {o}");
            assert_eq!(bits(&by_rows), bits(&transposed), "shape {n} x {i} x {o}");
        }
    }
}
