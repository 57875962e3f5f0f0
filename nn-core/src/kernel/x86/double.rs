//! The `f64` products of [`kernel::double`](crate::kernel::double) for AVX2 + FMA and for
//! AVX-512F, with the same bits as its portable loops.
//!
//! Written once (the `products!` macro) over an eight-lane vector type: two 256-bit registers
//! for AVX2, one 512-bit register for AVX-512F. The tiling is that of the portable bodies
//! (`affine`: a tile of `R` rows of `X` times `J` rows of `W`, eight lanes along the sum; the
//! gradients: `M` output rows times a strip of columns, a broadcast element of `Δ` a row), and
//! so is the arithmetic, lane for lane: each product is rounded, then added (never `mul_add`:
//! the vector `vmulpd`, `vaddpd` round as the scalar `*` and `+` do), the lanes of a dot
//! product are added in the portable loops' tree and its last `i mod 8` products by [`dot_finish`], the
//! gradients' sums run in order of the summed index from 0. So every variant gives the
//! portable loops' bits, on every CPU: an `f64` network computes the same numbers everywhere.
//!
//! Why intrinsics rather than the portable bodies compiled with `#[target_feature]`: compiled
//! for AVX2 or AVX-512, those bodies came out anywhere from 45 GMAC/s to 6 GMAC/s depending on
//! the tile's shape (the compiler's unroller and SLP vectoriser kept the accumulators in
//! registers for some shapes and spilled or split them into 128-bit halves for others), while
//! the same loops over vector types always keep them in registers.
//!
//! `unsafe`: the `#[target_feature]` functions are called only through a [`Products`], which
//! holds the back end's token ([`Avx2Fma`], [`Avx512`]) that only its `detect` makes after
//! seeing the features; the loads and stores go through raw pointers, inside the matrices that
//! each entry point checks its slices hold (`SAFETY` notes at each).

use core::arch::x86_64::*;

use super::avx2::Avx2Fma;
use super::avx512::Avx512;
use crate::kernel::check;
use crate::kernel::double::{bias_grad, dot_finish, scaled_strip, LANES};

/// Rows of `X` (and of `out`) that `affine` takes at a time: every tile of weight rows runs
/// past these rows before the next block starts, so that they stay in L2 (64 rows of 784
/// inputs are 400 KB).
const ROW_BLOCK: usize = 64;

/// The `f64` products this CPU runs fastest, with the proof that it has their features.
#[derive(Clone, Copy, Debug)]
pub(in crate::kernel) enum Products {
    /// AVX2 and FMA: eight lanes in two 256-bit registers.
    Avx2(&'static Avx2Fma),
    /// AVX-512F: eight lanes in one 512-bit register.
    Avx512(&'static Avx512),
}

impl Products {
    /// The widest variant this CPU has (at run time with `std`, from the target features
    /// without), if it has AVX2 and FMA.
    pub(in crate::kernel) fn detect() -> Option<Self> {
        if let Some(cpu) = Avx512::detect() {
            return Some(Self::Avx512(cpu));
        }
        Avx2Fma::detect().map(Self::Avx2)
    }

    /// [`affine`](crate::kernel::double::affine) in this variant.
    ///
    /// # Panics
    ///
    /// If a slice is shorter than its matrix.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::kernel) fn affine(
        self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f64],
        w: &[f64],
        b: &[f64],
        out: &mut [f64],
    ) {
        check(x.len(), n, i);
        check(w.len(), o, i);
        check(b.len(), 1, o);
        check(out.len(), n, o);
        let (x, w, b, out) = (x.as_ptr(), w.as_ptr(), b.as_ptr(), out.as_mut_ptr());
        match self {
            // SAFETY: the token proves that the CPU has AVX2 and FMA (detected); the slices
            // hold the matrices (checked above).
            Self::Avx2(cpu) => unsafe { avx2::affine(cpu, n, i, o, x, w, b, out) },
            // SAFETY: the token proves that the CPU has AVX-512F, AVX2 and FMA (detected); the
            // slices hold the matrices (checked above).
            Self::Avx512(cpu) => unsafe { avx512::affine(cpu, n, i, o, x, w, b, out) },
        }
    }

    /// [`weight_grad`](crate::kernel::double::weight_grad) in this variant.
    ///
    /// # Panics
    ///
    /// If a slice is shorter than its matrix.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::kernel) fn weight_grad(
        self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f64],
        delta: &[f64],
        gw: &mut [f64],
        gb: &mut [f64],
    ) {
        check(x.len(), n, i);
        check(delta.len(), n, o);
        check(gw.len(), o, i);
        check(gb.len(), 1, o);
        bias_grad(n, o, delta, gb);
        // ∂W = Δᵀ·X: `c = ∂W` (o × i), `a(m, p) = Δ[p][m]`, `bm = X` (n × i).
        match self {
            // SAFETY: the token proves that the CPU has AVX2 and FMA (detected); the slices
            // hold Δ (n × o), X (n × i) and ∂W (o × i) (checked above).
            Self::Avx2(cpu) => unsafe { avx2::scaled_rows(cpu, o, n, i, delta, 1, o, x, gw) },
            // SAFETY: as above, for AVX-512F, AVX2 and FMA.
            Self::Avx512(cpu) => unsafe { avx512::scaled_rows(cpu, o, n, i, delta, 1, o, x, gw) },
        }
    }

    /// [`input_grad`](crate::kernel::double::input_grad) in this variant.
    ///
    /// # Panics
    ///
    /// If a slice is shorter than its matrix.
    pub(in crate::kernel) fn input_grad(
        self,
        n: usize,
        i: usize,
        o: usize,
        delta: &[f64],
        w: &[f64],
        dx: &mut [f64],
    ) {
        check(delta.len(), n, o);
        check(w.len(), o, i);
        check(dx.len(), n, i);
        // ∂X = Δ·W: `c = ∂X` (n × i), `a(m, p) = Δ[m][p]`, `bm = W` (o × i).
        match self {
            // SAFETY: the token proves that the CPU has AVX2 and FMA (detected); the slices
            // hold Δ (n × o), W (o × i) and ∂X (n × i) (checked above).
            Self::Avx2(cpu) => unsafe { avx2::scaled_rows(cpu, n, o, i, delta, o, 1, w, dx) },
            // SAFETY: as above, for AVX-512F, AVX2 and FMA.
            Self::Avx512(cpu) => unsafe { avx512::scaled_rows(cpu, n, o, i, delta, o, 1, w, dx) },
        }
    }
}

/// The three products over an eight-lane vector type `V` (in the invoking module, with
/// `#[target_feature]` methods `zero`, `load`, `store`, `mul_add` and `scale_add`), every
/// function compiled for `$feat`. `$token` is the back end's token type; `($r, $j)` is the
/// `affine` tile for batches, `$j1` the number of weight rows a lone row takes at a time,
/// `($m, $nv)` the gradients' tile: `$m` rows of `$nv` vectors (eight columns each).
macro_rules! products {
    ($feat:literal, $token:ty, ($r:literal, $j:literal), $j1:literal, ($m:literal, $nv:literal)) => {
        /// `out = X·Wᵀ + 1·bᵀ`, as the portable body tiles it: blocks of [`ROW_BLOCK`] rows;
        /// in each, tiles of `J` weight rows (staying in L1) against tiles of `R` rows; leftover
        /// weight rows by two, then one, leftover rows one by one. A lone row (`n == 1`) takes
        /// `$j1` weight rows a tile, as many independent sums as a batch's tile.
        ///
        /// # Safety
        ///
        /// The CPU has the features; `x`, `w`, `b` and `out` address `n × i`, `o × i`, `o` and
        /// `n × o` values.
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn affine(
            _cpu: &$token,
            n: usize,
            i: usize,
            o: usize,
            x: *const f64,
            w: *const f64,
            b: *const f64,
            out: *mut f64,
        ) {
            if i == 0 {
                // No products: every row is `b`, copied (as the portable loops do, so that a
                // `-0.0` bias stays `-0.0`).
                for r in 0..n {
                    // SAFETY: row `r < n` of `out` and the `o` values of `b`.
                    unsafe { core::ptr::copy_nonoverlapping(b, out.add(r * o), o) };
                }
                return;
            }
            // SAFETY (every call below): a tile of rows `r..r + R` and weight rows
            // `j..j + J` has `r + R <= n` and `j + J <= o`, inside the matrices.
            let mut r0 = 0;
            while r0 < n {
                let rows = ROW_BLOCK.min(n - r0);
                let mut j0 = 0;
                if rows == 1 {
                    while j0 + $j1 <= o {
                        unsafe { columns::<1, $j1>(r0, rows, j0, i, o, x, w, b, out) };
                        j0 += $j1;
                    }
                }
                while j0 + $j <= o {
                    unsafe { columns::<$r, $j>(r0, rows, j0, i, o, x, w, b, out) };
                    j0 += $j;
                }
                while j0 + 2 <= o {
                    unsafe { columns::<$r, 2>(r0, rows, j0, i, o, x, w, b, out) };
                    j0 += 2;
                }
                if j0 < o {
                    unsafe { columns::<$r, 1>(r0, rows, j0, i, o, x, w, b, out) };
                }
                r0 += rows;
            }
        }

        /// Outputs `j0..j0 + J` of rows `r0..r0 + rows` of [`affine`], in tiles of `R` rows,
        /// then one by one.
        ///
        /// # Safety
        ///
        /// As for [`affine`], with `r0 + rows <= n` and `j0 + J <= o`.
        #[inline]
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn columns<const R: usize, const J: usize>(
            r0: usize,
            rows: usize,
            j0: usize,
            i: usize,
            o: usize,
            x: *const f64,
            w: *const f64,
            b: *const f64,
            out: *mut f64,
        ) {
            let end = r0 + rows;
            let mut r = r0;
            // SAFETY: rows `r..r + R <= end <= n` and weight rows `j0..j0 + J <= o`.
            unsafe {
                while r + R <= end {
                    dot_tile::<R, J>(
                        i,
                        x.add(r * i),
                        w.add(j0 * i),
                        b.add(j0),
                        out.add(r * o + j0),
                        o,
                    );
                    r += R;
                }
                while r < end {
                    dot_tile::<1, J>(
                        i,
                        x.add(r * i),
                        w.add(j0 * i),
                        b.add(j0),
                        out.add(r * o + j0),
                        o,
                    );
                    r += 1;
                }
            }
        }

        /// `out[m][j] = b[j] + Σ_k x[m][k]·w[j][k]` for a tile of `R` rows (`i` apart) and `J`
        /// weight rows (`i` apart), outputs `os` apart: eight lanes along `k`, then
        /// [`dot_finish`].
        ///
        /// # Safety
        ///
        /// The CPU has the features; `x` holds `R` rows and `w` `J` rows of `i` values, `b` `J`
        /// values, `out` `R` rows of `J` values `os` apart.
        #[inline]
        #[target_feature(enable = $feat)]
        unsafe fn dot_tile<const R: usize, const J: usize>(
            i: usize,
            x: *const f64,
            w: *const f64,
            b: *const f64,
            out: *mut f64,
            os: usize,
        ) {
            let mut acc = [[V::zero(); J]; R];
            let head = i - i % LANES;
            let mut k = 0;
            while k < head {
                // SAFETY: `k + LANES <= i`, inside every row.
                unsafe {
                    let mut wv = [V::zero(); J];
                    for (j, v) in wv.iter_mut().enumerate() {
                        *v = V::load(w.add(j * i + k));
                    }
                    for (m, acc) in acc.iter_mut().enumerate() {
                        let xv = V::load(x.add(m * i + k));
                        for (acc, wv) in acc.iter_mut().zip(&wv) {
                            *acc = acc.mul_add(xv, *wv);
                        }
                    }
                }
                k += LANES;
            }
            for (m, acc) in acc.iter().enumerate() {
                for (j, acc) in acc.iter().enumerate() {
                    // SAFETY: row `m < R` of `x`, row `j < J` of `w`, each `i` values from its
                    // start; `b` holds `J` values and `out` `R` rows of `J` values `os` apart.
                    unsafe {
                        let xt = core::slice::from_raw_parts(x.add(m * i + head), i - head);
                        let wt = core::slice::from_raw_parts(w.add(j * i + head), i - head);
                        *out.add(m * os + j) = *b.add(j) + dot_finish(acc.lanes(), xt, wt);
                    }
                }
            }
        }

        /// `c[m][k] = Σ_p a(m, p)·bm[p][k]`, summed in order of `p` from 0, overwriting `c`
        /// (`a(m, p) = a[m·a_row + p·a_col]`, `bm` is `terms × cols`, `c` is `rows × cols`):
        /// strips of `8·$nv` columns, then eight, in tiles of `M` rows (then one), each strip of
        /// `bm` staying in L1 while the row tiles run past it; the last `cols mod 8` columns by
        /// the portable loops (the same sums).
        ///
        /// # Safety
        ///
        /// The CPU has the features; `a` holds every `a(m, p)`, `bm` and `c` their matrices.
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn scaled_rows(
            _cpu: &$token,
            rows: usize,
            terms: usize,
            cols: usize,
            a: &[f64],
            a_row: usize,
            a_col: usize,
            bm: &[f64],
            c: &mut [f64],
        ) {
            let (ap, bp, cp) = (a.as_ptr(), bm.as_ptr(), c.as_mut_ptr());
            let mut k0 = 0;
            // SAFETY (both loops): columns `k0..k0 + C <= cols` of every row.
            while k0 + $nv * LANES <= cols {
                unsafe { strip::<$nv, $m>(rows, terms, cols, k0, ap, a_row, a_col, bp, cp) };
                k0 += $nv * LANES;
            }
            while k0 + LANES <= cols {
                unsafe { strip::<1, $m>(rows, terms, cols, k0, ap, a_row, a_col, bp, cp) };
                k0 += LANES;
            }
            while k0 < cols {
                scaled_strip::<$m, 1>(rows, terms, cols, k0, a, a_row, a_col, bm, c);
                k0 += 1;
            }
        }

        /// Columns `k0..k0 + 8·V` of [`scaled_rows`] in tiles of `M` rows, then one by one.
        ///
        /// # Safety
        ///
        /// As for [`scaled_rows`], with `k0 + 8·V <= cols`.
        #[inline]
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn strip<const NV: usize, const M: usize>(
            rows: usize,
            terms: usize,
            cols: usize,
            k0: usize,
            a: *const f64,
            a_row: usize,
            a_col: usize,
            bm: *const f64,
            c: *mut f64,
        ) {
            let mut m0 = 0;
            // SAFETY: rows `m0..m0 + M <= rows` (then `m0 < rows`).
            unsafe {
                while m0 + M <= rows {
                    scaled_tile::<NV, M>(
                        terms,
                        cols,
                        a.add(m0 * a_row),
                        a_row,
                        a_col,
                        bm.add(k0),
                        c.add(m0 * cols + k0),
                    );
                    m0 += M;
                }
                while m0 < rows {
                    scaled_tile::<NV, 1>(
                        terms,
                        cols,
                        a.add(m0 * a_row),
                        a_row,
                        a_col,
                        bm.add(k0),
                        c.add(m0 * cols + k0),
                    );
                    m0 += 1;
                }
            }
        }

        /// One tile of [`scaled_rows`]: `M` rows of `NV` vectors, `a` at the tile's first row,
        /// `bm` and `c` at its first column.
        ///
        /// # Safety
        ///
        /// The CPU has the features; `a(m, p)` for `m < M`, `p < terms`, `NV·8` values of
        /// each row of `bm` (`cols` apart) and of `c` (`cols` apart) are inside their slices.
        #[inline]
        #[target_feature(enable = $feat)]
        unsafe fn scaled_tile<const NV: usize, const M: usize>(
            terms: usize,
            cols: usize,
            a: *const f64,
            a_row: usize,
            a_col: usize,
            bm: *const f64,
            c: *mut f64,
        ) {
            let mut acc = [[V::zero(); NV]; M];
            for p in 0..terms {
                // SAFETY: row `p < terms` of `bm`, `NV·8` values; `a(m, p)` with `m < M`.
                unsafe {
                    let mut row = [V::zero(); NV];
                    for (v, row) in row.iter_mut().enumerate() {
                        *row = V::load(bm.add(p * cols + v * LANES));
                    }
                    for (m, acc) in acc.iter_mut().enumerate() {
                        let s = *a.add(m * a_row + p * a_col);
                        for (acc, row) in acc.iter_mut().zip(&row) {
                            *acc = acc.scale_add(s, *row);
                        }
                    }
                }
            }
            for (m, acc) in acc.iter().enumerate() {
                for (v, acc) in acc.iter().enumerate() {
                    // SAFETY: row `m < M` of `c`, `NV·8` values.
                    unsafe { acc.store(c.add(m * cols + v * LANES)) };
                }
            }
        }
    };
}

/// AVX2 + FMA: eight lanes in two `__m256d`.
mod avx2 {
    use super::*;

    /// Eight `f64` lanes: lanes 0-3 in the first register, 4-7 in the second.
    #[derive(Clone, Copy)]
    struct V(__m256d, __m256d);

    impl V {
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn zero() -> Self {
            V(_mm256_setzero_pd(), _mm256_setzero_pd())
        }

        /// # Safety
        ///
        /// `p` addresses eight values.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load(p: *const f64) -> Self {
            // SAFETY: eight values from `p` (the caller's promise).
            unsafe { V(_mm256_loadu_pd(p), _mm256_loadu_pd(p.add(4))) }
        }

        /// # Safety
        ///
        /// `p` addresses eight values.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store(self, p: *mut f64) {
            // SAFETY: eight values from `p` (the caller's promise).
            unsafe {
                _mm256_storeu_pd(p, self.0);
                _mm256_storeu_pd(p.add(4), self.1);
            }
        }

        /// `self + x·w`, the product rounded before the sum.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn mul_add(self, x: Self, w: Self) -> Self {
            V(
                _mm256_add_pd(self.0, _mm256_mul_pd(x.0, w.0)),
                _mm256_add_pd(self.1, _mm256_mul_pd(x.1, w.1)),
            )
        }

        /// `self + s·row`, the product rounded before the sum.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn scale_add(self, s: f64, row: Self) -> Self {
            let s = _mm256_set1_pd(s);
            V(
                _mm256_add_pd(self.0, _mm256_mul_pd(s, row.0)),
                _mm256_add_pd(self.1, _mm256_mul_pd(s, row.1)),
            )
        }

        /// The eight lanes in order.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn lanes(self) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            // SAFETY: `out` holds eight values.
            unsafe { self.store(out.as_mut_ptr()) };
            out
        }
    }

    products!("avx2,fma", Avx2Fma, (2, 2), 4, (4, 1));
}

/// AVX-512F: eight lanes in one `__m512d`.
mod avx512 {
    use super::*;

    /// Eight `f64` lanes.
    #[derive(Clone, Copy)]
    struct V(__m512d);

    impl V {
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn zero() -> Self {
            V(_mm512_setzero_pd())
        }

        /// # Safety
        ///
        /// `p` addresses eight values.
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn load(p: *const f64) -> Self {
            // SAFETY: eight values from `p` (the caller's promise).
            unsafe { V(_mm512_loadu_pd(p)) }
        }

        /// # Safety
        ///
        /// `p` addresses eight values.
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn store(self, p: *mut f64) {
            // SAFETY: eight values from `p` (the caller's promise).
            unsafe { _mm512_storeu_pd(p, self.0) }
        }

        /// `self + x·w`, the product rounded before the sum.
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn mul_add(self, x: Self, w: Self) -> Self {
            V(_mm512_add_pd(self.0, _mm512_mul_pd(x.0, w.0)))
        }

        /// `self + s·row`, the product rounded before the sum.
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn scale_add(self, s: f64, row: Self) -> Self {
            V(_mm512_add_pd(
                self.0,
                _mm512_mul_pd(_mm512_set1_pd(s), row.0),
            ))
        }

        /// The eight lanes in order.
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn lanes(self) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            // SAFETY: `out` holds eight values.
            unsafe { self.store(out.as_mut_ptr()) };
            out
        }
    }

    products!("avx512f,avx2,fma", Avx512, (4, 4), 8, (4, 2));
}
