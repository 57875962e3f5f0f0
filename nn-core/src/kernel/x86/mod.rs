//! The two x86-64 back ends, AVX2 + FMA ([`avx2`]) and AVX-512F ([`avx512`]), and what they
//! share: the feature detection and the prefetch helpers here, the eight-lane math (`e^x`,
//! `ln(1 + t)`, the horizontal sum) and the activations in [`lanes`]; their sixteen-lane
//! versions, for the AVX-512F back end, in [`lanes16`].
//!
//! This is the one module of nn-core that uses `unsafe`, for two reasons only:
//!
//! - calling a `#[target_feature(enable = "avx2,fma")]` (or `"avx512f,..."`) function is
//!   `unsafe` unless the caller was compiled with those features, which a default
//!   `cargo build --release` (plain x86-64) is not. Each back end is a token type
//!   ([`avx2::Avx2Fma`], [`avx512::Avx512`]) that only its `detect` makes, after
//!   `is_x86_feature_detected!` has seen the features, so every call through it is sound;
//! - the inner loops load and store through raw pointers, so that no bounds check sits between
//!   two FMAs. Every method of a back end checks once, on entry, that each slice holds the
//!   matrix its dimensions describe (the parent module's `check_*` functions); every pointer
//!   below stays inside those bounds (each `SAFETY` comment says why).
//!
//! The shapes are those of [`super`]: `n` samples, `i` inputs, `o` outputs, all row-major.
//!
//! - `affine`, `Z = X·Wᵀ + b`: both operands are contiguous along the sum, so each output is a
//!   dot product. A tile of `R` rows of `X` times `J` rows of `W` keeps `R·J` accumulators in
//!   registers and loads `R + J` vectors for `R·J` FMAs.
//! - `weight_grad` (`Δᵀ·X`) and `input_grad` (`Δ·W`): the sum runs over rows of the right
//!   operand, so each output row is a sum of scaled rows. A tile of `M` output rows times two
//!   vectors of columns keeps `M·2` accumulators, broadcasting one element of `Δ` a row.
//! - batches' products where measured faster ([`packed::for_affine`],
//!   [`packed::for_weight_grad`], [`packed::for_input_grad`]) run, on AVX-512, the packed
//!   kernels of [`packed`]: one operand packed into a 32-column panel that stays in L1, 12 × 32
//!   tiles of accumulators (16 × 16 for a panel of at most 16 columns), the sum blocked by at
//!   most 512 terms, and the forward product computed as `X·Wᵀ` or transposed, as `W·Xᵀ`,
//!   whichever packs less (the same bits either way).
//!
//! Sum order: every output is summed in a fixed order that depends only on the shapes, so a run
//! is reproducible bit for bit on one machine. It is not the order of the portable loops (lanes
//! of eight or sixteen, fused multiply-adds), so results differ from those of a CPU without
//! AVX2/FMA by f32 rounding.

/// The `Backend` impl of an x86 back end, written once for both.
///
/// `$token` is the back end's token type (only its `detect` makes one), `$name` the name
/// `backend_name()` reports, `$lanes` the module of its vector activations, `$conv` the module
/// of its convolution and pooling kernels. The products call the invoking module's own
/// `affine`, `weight_grad`, `input_grad` and `momentum` (raw-pointer, `#[target_feature]`
/// functions with the same signatures in both back ends; each chooses its own tiling).
/// Every method checks its slices once (the parent module's `check_*`), then calls the
/// `#[target_feature]` code, which is sound because `self` proves the features.
macro_rules! x86_backend {
    ($token:ty, $name:literal, $lanes:ident, $conv:ident) => {
        impl Backend for $token {
            fn name(&self) -> &'static str {
                $name
            }

            fn affine(
                &self,
                n: usize,
                i: usize,
                o: usize,
                x: &[f32],
                w: &[f32],
                b: &[f32],
                out: &mut [f32],
            ) {
                check_affine(n, i, o, x, w, b, out);
                // SAFETY: `self` proves the features; the slices hold the matrices (checked
                // above).
                unsafe {
                    affine(
                        n,
                        i,
                        o,
                        x.as_ptr(),
                        w.as_ptr(),
                        b.as_ptr(),
                        out.as_mut_ptr(),
                    )
                }
            }

            fn affine_tanh(
                &self,
                n: usize,
                i: usize,
                o: usize,
                x: &[f32],
                w: &[f32],
                b: &[f32],
                mut sums: Option<&mut [f32]>,
                out: &mut [f32],
            ) {
                check_affine(n, i, o, x, w, b, out);
                if let Some(z) = &sums {
                    check(z.len(), n, o);
                }
                let z = sums.as_deref_mut().map(<[f32]>::as_mut_ptr);
                // SAFETY: `self` proves the features; the slices hold the matrices (checked
                // above), and `sums` is a slice apart from `out`.
                let fused = unsafe {
                    fused_tanh(
                        n,
                        i,
                        o,
                        x.as_ptr(),
                        w.as_ptr(),
                        b.as_ptr(),
                        z,
                        out.as_mut_ptr(),
                    )
                };
                if !fused {
                    crate::kernel::affine_then_tanh(self, n, i, o, x, w, b, sums, out);
                }
            }

            fn weight_grad(
                &self,
                n: usize,
                i: usize,
                o: usize,
                x: &[f32],
                delta: &[f32],
                gw: &mut [f32],
                gb: &mut [f32],
            ) {
                check_weight_grad(n, i, o, x, delta, gw, gb);
                bias_grad(n, o, delta, gb);
                // SAFETY: `self` proves the features; the slices hold Δ (n × o), X (n × i) and
                // ∂W (o × i) (checked above).
                unsafe { weight_grad(n, i, o, delta.as_ptr(), x.as_ptr(), gw.as_mut_ptr()) }
            }

            fn input_grad(
                &self,
                n: usize,
                i: usize,
                o: usize,
                delta: &[f32],
                w: &[f32],
                dx: &mut [f32],
            ) {
                check_input_grad(n, i, o, delta, w, dx);
                // SAFETY: `self` proves the features; the slices hold Δ (n × o), W (o × i) and
                // ∂X (n × i) (checked above).
                unsafe { input_grad(n, i, o, delta.as_ptr(), w.as_ptr(), dx.as_mut_ptr()) }
            }

            fn momentum(&self, lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
                // SAFETY: `self` proves the features; the function is safe code otherwise.
                unsafe { momentum(lr, mu, w, v, g) }
            }

            fn momentum_outer(
                &self,
                lr: f32,
                mu: f32,
                w: &mut [f32],
                v: &mut [f32],
                delta: &[f32],
                x: &[f32],
            ) {
                // SAFETY: `self` proves the features; the function is safe code otherwise.
                unsafe { momentum_outer(lr, mu, w, v, delta, x) }
            }

            // SAFETY, for every activation below: `self` proves the features the `$lanes`
            // functions are compiled for; they read and write only within their slices.
            fn logistic(&self, v: &mut [f32]) {
                unsafe { $lanes::logistic(v) }
            }

            fn logistic_backward(&self, a: &[f32], g: &mut [f32]) {
                unsafe { $lanes::logistic_backward(a, g) }
            }

            fn tanh(&self, v: &mut [f32]) {
                unsafe { $lanes::tanh(v) }
            }

            fn gelu(&self, v: &mut [f32]) {
                unsafe { $lanes::gelu(v) }
            }

            fn gelu_backward(&self, z: &[f32], g: &mut [f32]) {
                unsafe { $lanes::gelu_backward(z, g) }
            }

            fn silu(&self, v: &mut [f32]) {
                unsafe { $lanes::silu(v) }
            }

            fn silu_backward(&self, z: &[f32], g: &mut [f32]) {
                unsafe { $lanes::silu_backward(z, g) }
            }

            fn leaky_relu(&self, v: &mut [f32], slope: f32) {
                unsafe { $lanes::leaky_relu(v, slope) }
            }

            fn leaky_relu_backward(&self, z: &[f32], g: &mut [f32], slope: f32) {
                unsafe { $lanes::leaky_relu_backward(z, g, slope) }
            }

            fn tanh_backward(&self, a: &[f32], g: &mut [f32]) {
                unsafe { $lanes::tanh_backward(a, g) }
            }

            fn relu(&self, v: &mut [f32]) {
                unsafe { $lanes::relu(v) }
            }

            fn relu_backward(&self, z: &[f32], g: &mut [f32]) {
                unsafe { $lanes::relu_backward(z, g) }
            }

            fn softplus(&self, v: &mut [f32]) {
                unsafe { $lanes::softplus(v) }
            }

            fn softplus_backward(&self, z: &[f32], g: &mut [f32]) {
                unsafe { $lanes::softplus_backward(z, g) }
            }

            fn softmax(&self, v: &mut [f32]) {
                unsafe { $lanes::softmax(v) }
            }

            fn softmax_backward(&self, a: &[f32], g: &mut [f32]) {
                unsafe { $lanes::softmax_backward(a, g) }
            }

            fn softmax_rows(&self, v: &mut [f32], width: usize) {
                unsafe { $lanes::softmax_rows(v, width) }
            }

            fn softmax_backward_rows(&self, a: &[f32], g: &mut [f32], width: usize) {
                unsafe { $lanes::softmax_backward_rows(a, g, width) }
            }

            fn log_sum_exp(&self, z: &[f32]) -> f32 {
                unsafe { $lanes::log_sum_exp(z) }
            }

            // SAFETY, for the convolutions' kernels below: `self` proves the features the
            // `conv::$conv` functions are compiled for; they check their slices themselves.
            fn strided_product(
                &self,
                s: &crate::kernel::conv::Strided,
                a: &[f32],
                b: &[f32],
                c: &mut [f32],
            ) {
                unsafe { crate::kernel::x86::conv::$conv::strided_product(s, a, b, c) }
            }

            fn lane_dots(
                &self,
                d: &crate::kernel::conv::LaneDots,
                a: &[f32],
                b: &[f32],
                part: &mut [f32],
                out: &mut [f32],
            ) {
                unsafe { crate::kernel::x86::conv::$conv::lane_dots(d, a, b, part, out) }
            }

            fn max2x2(
                &self,
                g: &crate::kernel::pool::Pool2d,
                x: &[f32],
                out: &mut [f32],
                argmax: &mut [u32],
            ) {
                unsafe { crate::kernel::x86::conv::$conv::max2x2(g, x, out, argmax) }
            }
        }
    };
}

mod avx2;
mod avx512;
mod conv;
pub(super) mod double;
mod lanes;
mod lanes16;
#[cfg(feature = "std")]
mod packed;
mod pool;
mod single;

use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};

use super::Backend;
#[cfg(test)]
pub(super) use {avx2::Avx2Fma, avx512::Avx512};

/// The widest x86 back end this CPU has, if it has one (`std` caches the feature tests).
pub(super) fn detect() -> Option<&'static dyn Backend> {
    if let Some(cpu) = avx512::Avx512::detect() {
        return Some(cpu);
    }
    avx2::Avx2Fma::detect().map(|cpu| cpu as &dyn Backend)
}

/// Calls `f(r)` for every row `r < n` of a batch of rows `width` values long, in an order in
/// which each row is at least `reach` values past the row before it (rows `0, s, 2s, ...`, then
/// `1, 1 + s, ...`, with `s = ⌈reach / width⌉`), so that a masked store at the end of one row
/// does not overlap the vector the next row loads first: this CPU makes such a load wait for the
/// store (see [`crate::kernel::softmax_rows`]). Safe code.
#[inline]
fn rows_apart(n: usize, width: usize, reach: usize, mut f: impl FnMut(usize)) {
    let step = reach.div_ceil(width.max(1)).max(1);
    for first in 0..step.min(n) {
        let mut r = first;
        while r < n {
            f(r);
            r += step;
        }
    }
}

/// How many tiles of rows ahead `affine` prefetches the rows of `X`: of 1, 2, 4 and 8 tried
/// on the peers harness's streamed batches, 2 was as fast as any and 8 the slowest.
const PREFETCH_TILES: usize = 2;

/// The first of the `R` rows of `X` (`n × i`, row-major) that `affine` prefetches while it
/// sums the tile of rows from `r0`: the tile [`PREFETCH_TILES`] tiles on, if `X` has one and
/// this is the `first` pass over `X` (later passes find `X` in L2 already).
///
/// The rows go to L2 (`_MM_HINT_T1`): prefetching them into L1 measured the same, both for
/// batches streamed from memory and for batches already in cache, and L2 leaves L1 to the tile
/// of `W`.
///
/// # Safety
///
/// `x` addresses `n` rows of `i` values.
#[inline]
unsafe fn prefetch_rows<const R: usize>(
    n: usize,
    i: usize,
    x: *const f32,
    r0: usize,
    first: bool,
) -> Option<*const f32> {
    let ahead = r0 + PREFETCH_TILES * R;
    // SAFETY: rows `ahead..ahead + R <= n` are inside `X`.
    (first && ahead + R <= n).then(|| unsafe { x.add(ahead * i) })
}

/// Prefetches (into L1) every cache line of the first `len` values from `x`: the rows of `X`
/// that `affine` sums first, which no tile before them prefetches. Issued together, their
/// misses overlap. For a lone row (batch 1) this made inference 7% faster on a row streamed
/// from memory and 15% faster on one already in cache (A/B runs of the peers harness and of
/// `benches/seminar.rs`, alternated); the training step did not change.
///
/// # Safety
///
/// `x` addresses at least `len` values.
#[inline]
unsafe fn prefetch_head(x: *const f32, len: usize) {
    // One prefetch every sixteen values (64 bytes, a cache line).
    for c in (0..len).step_by(16) {
        // SAFETY: `c < len`; a prefetch only hints the cache and never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(x.add(c).cast()) };
    }
}
