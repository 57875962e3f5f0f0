//! 2-D max and average pooling over channel-major images (PyTorch's `NCHW`, one sample after
//! another), forward and backward, without padding.
//!
//! A window of `window_height × window_width` pixels moves `stride` pixels at a time over each
//! channel; the output has `(in - window) / stride + 1` pixels along each axis, rounded down as
//! PyTorch's `MaxPool2d`/`AvgPool2d` do (the last rows or columns that no whole window covers
//! are left out). Channels are pooled independently, so the output has as many as the input.
//!
//! These are plain safe loops on every CPU, but for max pooling with 2x2 windows and stride 2,
//! which the AVX-512 back end runs sixteen windows a step (LeNet's first pooling, batch 32:
//! 14 µs against 34 µs, shortest of 300 runs). A pooling layer reads each input once and does
//! one comparison or addition a value. Nothing allocates.
//!
//! # Panics
//!
//! Every function panics, with a message that names the slice and the length it needs, if the
//! geometry is empty (a stride or window of zero, a window larger than the input) or a slice is
//! shorter than the geometry and the batch say; [`maxpool2d_backward`] also panics on an
//! `argmax` entry outside the sample.

use super::conv::{check_len, out_dim};

/// Geometry of a 2-D pooling over channel-major images: `channels × in_height × in_width` in,
/// windows of `window_height × window_width` moved `stride` pixels at a time.
///
/// ```
/// use nn_core::kernel::pool::Pool2d;
/// // LeNet's first pooling: 2x2 windows, stride 2, over 6 channels of 28x28.
/// let g = Pool2d { channels: 6, in_height: 28, in_width: 28,
///                  window_height: 2, window_width: 2, stride: 2 };
/// assert_eq!((g.out_height(), g.out_width(), g.output_len()), (14, 14, 6 * 196));
/// // The floor rule: a 3x3 window with stride 3 over 28 leaves the last pixel out.
/// let g = Pool2d { window_height: 3, window_width: 3, stride: 3, ..g };
/// assert_eq!(g.out_height(), 9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2d {
    /// Channels, of the input and of the output.
    pub channels: usize,
    /// Height of the input, in pixels.
    pub in_height: usize,
    /// Width of the input, in pixels.
    pub in_width: usize,
    /// Height of a window.
    pub window_height: usize,
    /// Width of a window.
    pub window_width: usize,
    /// Pixels a window moves between two outputs, along both axes (at least 1).
    pub stride: usize,
}

impl Pool2d {
    /// Height of the output: `(in_height - window_height) / stride + 1` rounded down, as
    /// PyTorch does (0 for an empty geometry: a stride or window of zero, or a window taller
    /// than the input).
    pub const fn out_height(&self) -> usize {
        out_dim(self.in_height, 0, self.window_height, self.stride)
    }

    /// Width of the output, by the rule of [`out_height`](Self::out_height).
    pub const fn out_width(&self) -> usize {
        out_dim(self.in_width, 0, self.window_width, self.stride)
    }

    /// Values of one input sample: `channels·in_height·in_width`.
    pub const fn input_len(&self) -> usize {
        self.channels * self.in_height * self.in_width
    }

    /// Values of one output sample: `channels·out_height·out_width`.
    pub const fn output_len(&self) -> usize {
        self.channels * self.out_height() * self.out_width()
    }

    /// Panics unless the geometry has at least one output pixel.
    #[track_caller]
    fn check(&self, kernel: &str) {
        assert!(
            self.stride > 0
                && self.window_height > 0
                && self.window_width > 0
                && self.out_height() > 0
                && self.out_width() > 0,
            "{kernel}: empty geometry {self:?} (the stride and window must be at least 1 and \
             the window no larger than the input)"
        );
    }

    /// Checks the geometry and the input and output slices of `n` samples.
    #[track_caller]
    fn check_slices(&self, kernel: &str, n: usize, input: usize, output: usize) {
        self.check(kernel);
        let (i, o) = if kernel.ends_with("forward") {
            ("x", "out")
        } else {
            ("dx", "delta")
        };
        check_len(kernel, i, input, n, self.input_len());
        check_len(kernel, o, output, n, self.output_len());
    }
}

/// Max pooling over `n` samples: `out[n][c][y][x]` is the largest of the window's pixels
/// `x[n][c][y·s + i][x·s + j]` (`i < window_height`, `j < window_width`), and
/// `argmax[n][c][y][x]` the index within the sample (`(c·in_height + row)·in_width + col`) of
/// the pixel that won: the first in row-major order on ties, the first NaN if there is one
/// (which then is the output, as PyTorch's `MaxPool2d` propagates NaN). [`maxpool2d_backward`]
/// reads `argmax`.
///
/// `x` holds `n` samples of [`Pool2d::input_len`] values, `out` and `argmax` `n` samples of
/// [`Pool2d::output_len`] (both overwritten).
///
/// # Panics
///
/// On an empty geometry, a slice shorter than the geometry and `n` say, or a sample of more
/// than `u32::MAX` values.
///
/// ```
/// use nn_core::kernel::pool::{maxpool2d_forward, Pool2d};
/// let g = Pool2d { channels: 1, in_height: 2, in_width: 4, window_height: 2, window_width: 2, stride: 2 };
/// let x = [1.0, 5.0, 2.0, 2.0,
///          3.0, 4.0, 0.0, 2.0];
/// let (mut out, mut argmax) = ([0.0; 2], [0; 2]);
/// maxpool2d_forward(&g, 1, &x, &mut out, &mut argmax);
/// assert_eq!(out, [5.0, 2.0]);
/// assert_eq!(argmax, [1, 2]); // the first 2 of the second window
/// ```
pub fn maxpool2d_forward(g: &Pool2d, n: usize, x: &[f32], out: &mut [f32], argmax: &mut [u32]) {
    maxpool_forward_on(super::backend(), g, n, x, out, argmax);
}

/// [`maxpool2d_forward`] on the back end `cpu`.
#[track_caller]
fn maxpool_forward_on(
    cpu: &dyn super::Backend,
    g: &Pool2d,
    n: usize,
    x: &[f32],
    out: &mut [f32],
    argmax: &mut [u32],
) {
    const K: &str = "maxpool2d_forward";
    g.check_slices(K, n, x.len(), out.len());
    check_len(K, "argmax", argmax.len(), n, g.output_len());
    assert!(
        u32::try_from(g.input_len()).is_ok(),
        "{K}: a sample of {} values does not fit the u32 indices of `argmax`",
        g.input_len()
    );
    let (h, w, s) = (g.in_height, g.in_width, g.stride);
    let (oh, ow) = (g.out_height(), g.out_width());
    let (wh, ww) = (g.window_height, g.window_width);
    for ((xs, os), ams) in x
        .chunks_exact(g.input_len())
        .zip(out.chunks_exact_mut(g.output_len()))
        .zip(argmax.chunks_exact_mut(g.output_len()))
        .take(n)
    {
        if (wh, ww, s) == (2, 2, 2) {
            cpu.max2x2(g, xs, os, ams);
            continue;
        }
        for c in 0..g.channels {
            let base = c * h * w;
            for y in 0..oh {
                // The output row holds the best value so far of each window, its index row the
                // pixel it came from; the window's pixels go by in row-major order, each over
                // the whole output row (so the loop runs along the row, not the window).
                let k = (c * oh + y) * ow;
                let (best, at) = (&mut os[k..k + ow], &mut ams[k..k + ow]);
                let top = base + y * s * w;
                for ((xo, b), a) in best.iter_mut().enumerate().zip(at.iter_mut()) {
                    *b = xs[top + xo * s];
                    // Fits: `top + xo·s < input_len ≤ u32::MAX` (asserted above).
                    *a = (top + xo * s) as u32;
                }
                for i in 0..wh {
                    let row = top + i * w;
                    let src = &xs[row..row + (ow - 1) * s + ww];
                    for j in usize::from(i == 0)..ww {
                        for (xo, (b, a)) in best.iter_mut().zip(at.iter_mut()).enumerate() {
                            let v = src[xo * s + j];
                            // Selects, not branches: which pixel wins is data, and a
                            // mispredicted branch a pixel cost more than the rest.
                            let take = wins(v, *b);
                            *b = if take { v } else { *b };
                            *a = if take { (row + xo * s + j) as u32 } else { *a };
                        }
                    }
                }
            }
        }
    }
}

/// Whether `v` takes the place of `best` in a window: larger, or the first NaN (`v > best` is
/// false for a NaN on either side, so a NaN `best` keeps its place). `&` and `|`, not `&&` and
/// `||`: no branches.
#[inline(always)]
fn wins(v: f32, best: f32) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// [`maxpool2d_forward`] of one sample with 2x2 windows and stride 2, the common case, one
/// output row from two input rows in branch-free steps (the same winners, in the same order
/// of the window's pixels, as the general loop). The default of `Backend::max2x2`; the
/// AVX-512 back end has its own, sixteen windows a step (compiling this loop with AVX-512
/// enabled made it slower: 1.7 µs against 1.0 µs a LeNet sample).
pub(super) fn max2x2(g: &Pool2d, xs: &[f32], os: &mut [f32], ams: &mut [u32]) {
    let (h, w) = (g.in_height, g.in_width);
    let (oh, ow) = (g.out_height(), g.out_width());
    for c in 0..g.channels {
        for y in 0..oh {
            let top = c * h * w + 2 * y * w;
            let (r0, r1) = (&xs[top..top + 2 * ow], &xs[top + w..top + w + 2 * ow]);
            let k = (c * oh + y) * ow;
            let (best, at) = (&mut os[k..k + ow], &mut ams[k..k + ow]);
            for (xo, (((b, a), p), q)) in best
                .iter_mut()
                .zip(at.iter_mut())
                .zip(r0.chunks_exact(2))
                .zip(r1.chunks_exact(2))
                .enumerate()
            {
                // Fits: indices are below `input_len ≤ u32::MAX` (asserted by the caller).
                let i0 = (top + 2 * xo) as u32;
                let i1 = i0 + w as u32;
                let (mut v, mut i) = (p[0], i0);
                for (u, iu) in [(p[1], i0 + 1), (q[0], i1), (q[1], i1 + 1)] {
                    let take = wins(u, v);
                    v = if take { u } else { v };
                    i = if take { iu } else { i };
                }
                *b = v;
                *a = i;
            }
        }
    }
}

/// The backward pass of max pooling: each `delta[n][k]` (`∂L/∂out`) goes to the input pixel
/// `argmax[n][k]` that won its window in [`maxpool2d_forward`], summed where windows overlap
/// (a stride below the window); every other pixel of `dx` gets zero. `dx` holds `n` samples of
/// [`Pool2d::input_len`] values (overwritten), `delta` and `argmax` `n` samples of
/// [`Pool2d::output_len`].
///
/// # Panics
///
/// On an empty geometry, a slice shorter than the geometry and `n` say, or an `argmax` entry
/// that is not an index within a sample.
///
/// ```
/// use nn_core::kernel::pool::{maxpool2d_backward, Pool2d};
/// let g = Pool2d { channels: 1, in_height: 2, in_width: 4, window_height: 2, window_width: 2, stride: 2 };
/// let mut dx = [9.0; 8];
/// maxpool2d_backward(&g, 1, &[0.5, -1.0], &[1, 2], &mut dx);
/// assert_eq!(dx, [0.0, 0.5, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// ```
pub fn maxpool2d_backward(g: &Pool2d, n: usize, delta: &[f32], argmax: &[u32], dx: &mut [f32]) {
    const K: &str = "maxpool2d_backward";
    g.check_slices(K, n, dx.len(), delta.len());
    check_len(K, "argmax", argmax.len(), n, g.output_len());
    let il = g.input_len();
    for ((ds, ams), dxs) in delta
        .chunks_exact(g.output_len())
        .zip(argmax.chunks_exact(g.output_len()))
        .zip(dx.chunks_exact_mut(il))
        .take(n)
    {
        dxs.fill(0.0);
        for (&d, &at) in ds.iter().zip(ams) {
            let at = at as usize;
            assert!(
                at < il,
                "{K}: `argmax` names pixel {at}, but a sample has {il}"
            );
            dxs[at] += d;
        }
    }
}

/// Average pooling over `n` samples: `out[n][c][y][x]` is the mean of the window's
/// `window_height·window_width` pixels `x[n][c][y·s + i][x·s + j]` (summed in row-major order,
/// then multiplied by the reciprocal of the count). Every window lies inside the input (there is
/// no padding), so every mean is over the whole window, as PyTorch's `AvgPool2d` with its
/// defaults.
///
/// `x` holds `n` samples of [`Pool2d::input_len`] values, `out` `n` samples of
/// [`Pool2d::output_len`] (overwritten).
///
/// # Panics
///
/// On an empty geometry, or a slice shorter than the geometry and `n` say.
///
/// ```
/// use nn_core::kernel::pool::{avgpool2d_forward, Pool2d};
/// let g = Pool2d { channels: 1, in_height: 2, in_width: 4, window_height: 2, window_width: 2, stride: 2 };
/// let x = [1.0, 5.0, 2.0, 2.0,
///          3.0, 3.0, 0.0, 4.0];
/// let mut out = [0.0; 2];
/// avgpool2d_forward(&g, 1, &x, &mut out);
/// assert_eq!(out, [3.0, 2.0]);
/// ```
pub fn avgpool2d_forward(g: &Pool2d, n: usize, x: &[f32], out: &mut [f32]) {
    const K: &str = "avgpool2d_forward";
    g.check_slices(K, n, x.len(), out.len());
    let (h, w, s) = (g.in_height, g.in_width, g.stride);
    let (oh, ow) = (g.out_height(), g.out_width());
    let (wh, ww) = (g.window_height, g.window_width);
    let scale = 1.0 / (wh * ww) as f32;
    for (xs, os) in x
        .chunks_exact(g.input_len())
        .zip(out.chunks_exact_mut(g.output_len()))
        .take(n)
    {
        for c in 0..g.channels {
            let base = c * h * w;
            for y in 0..oh {
                let orow = &mut os[(c * oh + y) * ow..][..ow];
                for (xo, o) in orow.iter_mut().enumerate() {
                    let first = base + y * s * w + xo * s;
                    let mut total = 0.0f32;
                    for i in 0..wh {
                        for &v in &xs[first + i * w..first + i * w + ww] {
                            total += v;
                        }
                    }
                    *o = total * scale;
                }
            }
        }
    }
}

/// The backward pass of average pooling: each `delta[n][c][y][x]` (`∂L/∂out`), times the
/// reciprocal of the window's pixel count, goes to every pixel of its window, summed where
/// windows overlap; pixels no window covers get zero. `dx` holds `n` samples of
/// [`Pool2d::input_len`] values (overwritten), `delta` `n` samples of [`Pool2d::output_len`].
///
/// # Panics
///
/// On an empty geometry, or a slice shorter than the geometry and `n` say.
///
/// ```
/// use nn_core::kernel::pool::{avgpool2d_backward, Pool2d};
/// let g = Pool2d { channels: 1, in_height: 2, in_width: 4, window_height: 2, window_width: 2, stride: 2 };
/// let mut dx = [9.0; 8];
/// avgpool2d_backward(&g, 1, &[4.0, -8.0], &mut dx);
/// assert_eq!(dx, [1.0, 1.0, -2.0, -2.0, 1.0, 1.0, -2.0, -2.0]);
/// ```
pub fn avgpool2d_backward(g: &Pool2d, n: usize, delta: &[f32], dx: &mut [f32]) {
    const K: &str = "avgpool2d_backward";
    g.check_slices(K, n, dx.len(), delta.len());
    let (h, w, s) = (g.in_height, g.in_width, g.stride);
    let (oh, ow) = (g.out_height(), g.out_width());
    let (wh, ww) = (g.window_height, g.window_width);
    let scale = 1.0 / (wh * ww) as f32;
    for (ds, dxs) in delta
        .chunks_exact(g.output_len())
        .zip(dx.chunks_exact_mut(g.input_len()))
        .take(n)
    {
        dxs.fill(0.0);
        for c in 0..g.channels {
            let base = c * h * w;
            for y in 0..oh {
                let drow = &ds[(c * oh + y) * ow..][..ow];
                for (xo, &d) in drow.iter().enumerate() {
                    let share = d * scale;
                    let first = base + y * s * w + xo * s;
                    for i in 0..wh {
                        for v in &mut dxs[first + i * w..first + i * w + ww] {
                            *v += share;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut data = nn_test_support::Data(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        (0..len).map(|_| data.signed()).collect()
    }

    const fn geometry(c: usize, h: usize, w: usize, wh: usize, ww: usize, s: usize) -> Pool2d {
        Pool2d {
            channels: c,
            in_height: h,
            in_width: w,
            window_height: wh,
            window_width: ww,
            stride: s,
        }
    }

    /// Odd sizes, non-square windows, strides below, at and above the window (overlapping
    /// windows, gaps), floors that drop rows and columns, and LeNet's two poolings.
    const CASES: &[(Pool2d, usize)] = &[
        (geometry(1, 1, 1, 1, 1, 1), 1),
        (geometry(1, 5, 5, 2, 2, 2), 1),
        (geometry(3, 7, 6, 3, 2, 1), 2),
        (geometry(2, 9, 11, 3, 3, 2), 3),
        (geometry(2, 8, 7, 2, 3, 3), 1),
        (geometry(1, 6, 6, 6, 6, 1), 2),
        (geometry(6, 28, 28, 2, 2, 2), 2),
        (geometry(16, 10, 10, 2, 2, 2), 3),
        (geometry(2, 4, 4, 2, 2, 2), 0),
    ];

    /// For each output, the window's input indices within a sample, row-major.
    fn windows(g: &Pool2d) -> Vec<Vec<usize>> {
        let mut all = Vec::new();
        for c in 0..g.channels {
            for y in 0..g.out_height() {
                for x in 0..g.out_width() {
                    let mut at = Vec::new();
                    for i in 0..g.window_height {
                        for j in 0..g.window_width {
                            let (r, col) = (y * g.stride + i, x * g.stride + j);
                            at.push((c * g.in_height + r) * g.in_width + col);
                        }
                    }
                    all.push(at);
                }
            }
        }
        all
    }

    #[test]
    fn max_pooling_matches_the_direct_loops_and_routes_the_gradient_to_the_winner() {
        for (t, &(g, n)) in CASES.iter().enumerate() {
            // Values on a coarse grid, so that ties occur.
            let x: Vec<f32> = values(n * g.input_len(), t as u64)
                .iter()
                .map(|v| (v * 4.0).round())
                .collect();
            let d = values(n * g.output_len(), 50 + t as u64);
            let mut out = vec![f32::NAN; n * g.output_len()];
            let mut argmax = vec![u32::MAX; n * g.output_len()];
            maxpool2d_forward(&g, n, &x, &mut out, &mut argmax);
            let mut dx_want = vec![0.0f64; n * g.input_len()];
            for r in 0..n {
                let xs = &x[r * g.input_len()..];
                for (k, at) in windows(&g).iter().enumerate() {
                    let best = at.iter().map(|&a| xs[a]).fold(f32::NEG_INFINITY, f32::max);
                    let first = *at.iter().find(|&&a| xs[a] == best).unwrap();
                    let o = r * g.output_len() + k;
                    assert_eq!((out[o], argmax[o]), (best, first as u32), "{g:?} [{o}]");
                    dx_want[r * g.input_len() + first] += f64::from(d[o]);
                }
            }
            let mut dx = vec![f32::NAN; n * g.input_len()];
            maxpool2d_backward(&g, n, &d, &argmax, &mut dx);
            for (k, (&got, &want)) in dx.iter().zip(&dx_want).enumerate() {
                // At most (window / stride)² overlapping windows add into one pixel.
                let tol = 4.0 * f64::from(f32::EPSILON) * want.abs().max(1.0) * 9.0;
                assert!(
                    (f64::from(got) - want).abs() <= tol,
                    "{g:?} dx[{k}]: {got} for {want}"
                );
            }
        }
    }

    /// Every back end's 2x2 pooling gives the portable bits (values and winners), at widths
    /// around its vectors (outputs a row from 1 to 40: masked tails, two and three vectors),
    /// with ties and NaNs.
    #[test]
    fn every_back_end_s_2x2_pooling_gives_the_portable_bits() {
        let mut cpus: Vec<&'static dyn crate::kernel::Backend> =
            vec![&crate::kernel::portable::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(cpu) = crate::kernel::x86::Avx2Fma::detect() {
                cpus.push(cpu);
            }
            if let Some(cpu) = crate::kernel::x86::Avx512::detect() {
                cpus.push(cpu);
            }
        }
        for (t, (c, h, w)) in [
            (1, 2, 2),
            (2, 5, 7),
            (3, 28, 28),
            (2, 10, 33),
            (1, 4, 80),
            (16, 10, 10),
        ]
        .into_iter()
        .enumerate()
        {
            let g = geometry(c, h, w, 2, 2, 2);
            let mut x: Vec<f32> = values(g.input_len(), 300 + t as u64)
                .iter()
                .map(|v| (v * 3.0).round())
                .collect();
            for k in (0..x.len()).step_by(7) {
                x[k] = f32::NAN;
            }
            let run = |cpu: &dyn crate::kernel::Backend| {
                let (mut out, mut am) = (vec![7.0f32; g.output_len()], vec![7u32; g.output_len()]);
                maxpool_forward_on(cpu, &g, 1, &x, &mut out, &mut am);
                (out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), am)
            };
            let want = run(&crate::kernel::portable::Portable);
            for &cpu in &cpus {
                assert!(run(cpu) == want, "{} {g:?}", cpu.name());
            }
        }
    }

    #[test]
    fn max_pooling_propagates_nan_and_breaks_ties_by_the_first_pixel() {
        let g = geometry(1, 2, 2, 2, 2, 1);
        let (mut out, mut argmax) = ([0.0], [0]);
        maxpool2d_forward(
            &g,
            1,
            &[1.0, f32::NAN, 3.0, f32::NAN],
            &mut out,
            &mut argmax,
        );
        assert!(out[0].is_nan());
        assert_eq!(argmax, [1]);
        maxpool2d_forward(&g, 1, &[f32::NAN, 5.0, 3.0, 1.0], &mut out, &mut argmax);
        assert!(out[0].is_nan());
        assert_eq!(argmax, [0]);
        maxpool2d_forward(&g, 1, &[2.0, 7.0, 7.0, 7.0], &mut out, &mut argmax);
        assert_eq!((out, argmax), ([7.0], [1]));
        maxpool2d_forward(&g, 1, &[f32::NEG_INFINITY; 4], &mut out, &mut argmax);
        assert_eq!((out, argmax), ([f32::NEG_INFINITY], [0]));
    }

    #[test]
    fn average_pooling_matches_the_f64_reference() {
        for (t, &(g, n)) in CASES.iter().enumerate() {
            let x = values(n * g.input_len(), 100 + t as u64);
            let d = values(n * g.output_len(), 150 + t as u64);
            let count = (g.window_height * g.window_width) as f64;
            let mut out = vec![f32::NAN; n * g.output_len()];
            avgpool2d_forward(&g, n, &x, &mut out);
            let mut dx_want = vec![0.0f64; n * g.input_len()];
            for r in 0..n {
                for (k, at) in windows(&g).iter().enumerate() {
                    let xs = &x[r * g.input_len()..];
                    let sum: f64 = at.iter().map(|&a| f64::from(xs[a])).sum();
                    let mag: f64 = at.iter().map(|&a| f64::from(xs[a]).abs()).sum();
                    let o = r * g.output_len() + k;
                    let tol = (count + 2.0) * f64::from(f32::EPSILON) * mag / count;
                    let err = (f64::from(out[o]) - sum / count).abs();
                    assert!(err <= tol, "{g:?} out[{o}]: {} for {}", out[o], sum / count);
                    for &a in at {
                        dx_want[r * g.input_len() + a] += f64::from(d[o]) / count;
                    }
                }
            }
            let mut dx = vec![f32::NAN; n * g.input_len()];
            avgpool2d_backward(&g, n, &d, &mut dx);
            for (k, (&got, &want)) in dx.iter().zip(&dx_want).enumerate() {
                let tol = 40.0 * f64::from(f32::EPSILON) * want.abs().max(1.0);
                assert!(
                    (f64::from(got) - want).abs() <= tol,
                    "{g:?} dx[{k}]: {got} for {want}"
                );
            }
        }
    }

    /// The backward passes against central differences of the forward passes, with
    /// `L = Σ r·out` (so `∂L/∂out = r`); the inputs of max pooling are spread apart, so that a
    /// small step never changes a window's winner.
    #[test]
    fn backward_matches_finite_differences_of_forward() {
        let g = geometry(2, 7, 6, 3, 2, 2);
        let n = 2;
        let mut x: Vec<f32> = (0..n * g.input_len()).map(|k| k as f32 * 0.1).collect();
        // A fixed shuffle, so that winners sit anywhere in their windows.
        let order = values(x.len(), 7);
        let mut idx: Vec<usize> = (0..x.len()).collect();
        idx.sort_by(|&a, &b| order[a].total_cmp(&order[b]));
        x = idx.iter().map(|&k| x[k]).collect();
        let r = values(n * g.output_len(), 8);
        let h = 0.01f32;
        let max_loss = |x: &[f32]| {
            let (mut out, mut am) = (vec![0.0; n * g.output_len()], vec![0; n * g.output_len()]);
            maxpool2d_forward(&g, n, x, &mut out, &mut am);
            out.iter()
                .zip(&r)
                .map(|(&o, &r)| f64::from(o) * f64::from(r))
                .sum::<f64>()
        };
        let avg_loss = |x: &[f32]| {
            let mut out = vec![0.0; n * g.output_len()];
            avgpool2d_forward(&g, n, x, &mut out);
            out.iter()
                .zip(&r)
                .map(|(&o, &r)| f64::from(o) * f64::from(r))
                .sum::<f64>()
        };
        let (mut out, mut am) = (vec![0.0; n * g.output_len()], vec![0; n * g.output_len()]);
        maxpool2d_forward(&g, n, &x, &mut out, &mut am);
        let (mut dmax, mut davg) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        maxpool2d_backward(&g, n, &r, &am, &mut dmax);
        avgpool2d_backward(&g, n, &r, &mut davg);
        for k in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[k] += h;
            xm[k] -= h;
            for (what, loss, grad) in [
                ("max", &max_loss as &dyn Fn(&[f32]) -> f64, &dmax),
                ("avg", &avg_loss, &davg),
            ] {
                let fd = (loss(&xp) - loss(&xm)) / (2.0 * f64::from(h));
                let err = (f64::from(grad[k]) - fd).abs();
                assert!(
                    err <= 2e-3 * (1.0 + fd.abs()),
                    "{what} dx[{k}]: backward {}, finite differences {fd}",
                    grad[k]
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "maxpool2d_forward: `argmax` has 3 values, but 1 × 4 are needed")]
    fn a_short_argmax_panics_with_its_name_and_length() {
        let g = geometry(1, 4, 4, 2, 2, 2);
        maxpool2d_forward(&g, 1, &[0.0; 16], &mut [0.0; 4], &mut [0; 3]);
    }

    #[test]
    #[should_panic(expected = "avgpool2d_backward: `dx` has 15 values, but 2 × 8 are needed")]
    fn a_short_input_gradient_panics_with_its_name_and_length() {
        let g = geometry(2, 2, 2, 2, 2, 2);
        avgpool2d_backward(&g, 2, &[0.0; 4], &mut [0.0; 15]);
    }

    #[test]
    #[should_panic(expected = "avgpool2d_forward: `out` has 1 values, but 1 × 2 are needed")]
    fn a_short_output_panics_with_its_name_and_length() {
        let g = geometry(2, 2, 2, 2, 2, 2);
        avgpool2d_forward(&g, 1, &[0.0; 8], &mut [0.0; 1]);
    }

    #[test]
    #[should_panic(expected = "maxpool2d_backward: `argmax` names pixel 16, but a sample has 16")]
    fn an_argmax_outside_the_sample_panics() {
        let g = geometry(1, 4, 4, 2, 2, 2);
        maxpool2d_backward(&g, 1, &[0.0; 4], &[0, 1, 2, 16], &mut [0.0; 16]);
    }

    #[test]
    #[should_panic(expected = "maxpool2d_forward: empty geometry")]
    fn a_window_larger_than_the_input_panics() {
        let g = geometry(1, 2, 2, 3, 3, 1);
        assert_eq!(g.output_len(), 0);
        maxpool2d_forward(&g, 1, &[0.0; 4], &mut [], &mut []);
    }
}
