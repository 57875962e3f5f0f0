//! 2-D convolution over channel-major images (PyTorch's `NCHW`, one sample after another): the
//! forward pass and the three gradients of a convolution layer.
//!
//! | function | formula |
//! | --- | --- |
//! | [`conv2d_forward`] | `out[n][o][y][x] = b[o] + Σ_{c,i,j} w[o][c][i][j]·x[n][c][y·s+i-p][x·s+j-p]` |
//! | [`conv2d_backward`] | `∂w[o][c][i][j] = Σ_{n,y,x} δ[n][o][y][x]·x[n][c][y·s+i-p][x·s+j-p]`, `∂b[o] = Σ_{n,y,x} δ[n][o][y][x]`, `∂x` (the transpose) |
//!
//! Pixels outside the image (the padding) read as zero. The weights are laid out
//! `[out][in][kh][kw]`, as `torch.nn.Conv2d.weight`.
//!
//! # How it is computed
//!
//! Every path ends in one of two register-tiled kernels of the kernel back end (`avx512`,
//! `avx2` or `portable`, chosen at run time as for the dense products; the `avx2` one is the
//! portable loops compiled with AVX2):
//!
//! - a strided product `C = A·B` whose vectors run along the rows of `B`, with the rows of `B`
//!   at arbitrary *filter-tap offsets* (AVX-512: 6 rows by 64 columns a tile);
//! - lane-wise dot products `Σ a·b` kept as sixteen partial sums a result, over several
//!   samples a call (AVX-512: 4 by 6 or 6 by 4 results a tile).
//!
//! **Stride 1** (LeNet, and most convolutions) never unrolls the input. Each sample is copied
//! into a zero-padded image, and row `(c, i, j)` of the unrolled input is that image read from
//! tap `(i, j)` on, so the rows of `B` are the image itself at offsets `c·H'W' + i·W' + j`. The
//! output is computed in the padded image's row stride ("wide" rows: the last `kw - 1` values of
//! each row are discarded when the output is compacted and the bias added):
//!
//! - forward: `out = W·B`, the strided product;
//! - `∂W[o][q] = Σ_n Σ_u δwide[o][u]·image[tap(q) + u]`, the lane-wise dot products, eight
//!   samples a call;
//! - `∂x`, from `SCATTER_CHANNELS` (4) input channels on: for each tap `(i, j)`, the strided
//!   product `w[·][·][i][j]ᵀ·δ` added onto the padded input's layout at that tap's offset, then
//!   the padding cropped; with fewer channels (whose products would be one row a channel), a
//!   stride-1 convolution of `δ` padded by `k - 1 - pad` with the filters flipped and
//!   transposed, `w'[c][o][i][j] = w[o][c][kh-1-i][kw-1-j]`.
//!
//! **Larger strides** (and a padding of `k` or more, for `∂x`) unroll each sample (`im2col`,
//! `[K × P]` for `K = in_channels·kh·kw` weights a filter and `P` output pixels): forward
//! `out = W·cols`; `∂W` by the dense product [`affine`](super::affine) on the unrolled rows
//! (dot products along the pixels) if a channel has at least `DOT_PIXELS` (256) output pixels,
//! else by the strided product on the input unrolled the other way round (`[P × K]`); `∂x` as
//! `Wᵀ·δ` then `col2im`, which adds each entry back onto the pixel it was read from.
//!
//! Why, in figures (LeNet's convolutions at batch 32, shortest of 300 runs, 2-vCPU AMD EPYC Zen
//! 5 with AVX-512, loaded): forward, conv1 48 µs and conv2 97 µs from the padded image against
//! 95 µs and 171 µs unrolled into the strided product, and 139 µs and 169 µs unrolled into the
//! dense [`input_grad`](super::input_grad) (whose 8-row tiles leave conv1's 6 filters one row
//! at a time); weight gradient, conv1 62 µs and conv2 108 µs as lane-wise dots against 116 µs
//! and 240 µs unrolled into [`affine`](super::affine) and 343 µs and 205 µs unrolled into the
//! strided product; conv2's input gradient 125 µs scattered tap by tap against 153 µs as a
//! convolution of the padded `δ` (which does 2.5 times the multiply-adds) and 177 µs by
//! `col2im`, conv1's 220 µs scattered against 105 µs as a convolution. Unrolling a sample cost
//! as much as its product: 60% of conv1's unrolled forward pass was spent copying.
//!
//! Every sum runs in an order fixed by the shapes alone, so the same inputs give the same bits
//! run after run on one machine; the back ends differ from each other by f32 rounding. Nothing
//! allocates: the caller passes a scratch slice of at least [`Conv2d::scratch_len`] values.
//!
//! # Panics
//!
//! [`conv2d_forward`] and [`conv2d_backward`] panic, with a message that names the slice and
//! the length it needs, if the geometry is empty (a stride or a kernel of zero, a kernel larger
//! than the padded input) or if a slice is shorter than the geometry and the batch say. The
//! layers built on them always pass slices of the right length.

use super::{backend, Backend};

/// Geometry of a 2-D convolution over channel-major images (PyTorch's NCHW, one sample after
/// another): `in_channels × in_height × in_width` in, `out_channels` filters of
/// `in_channels × kernel_height × kernel_width` weights, moved `stride` pixels at a time over
/// the input padded with `pad` zeros on every side.
///
/// ```
/// use nn_core::kernel::conv::Conv2d;
/// // LeNet's first layer: 6 filters of 5x5 over a 28x28 image padded by 2.
/// let g = Conv2d { in_channels: 1, in_height: 28, in_width: 28, out_channels: 6,
///                  kernel_height: 5, kernel_width: 5, stride: 1, pad: 2 };
/// assert_eq!((g.out_height(), g.out_width()), (28, 28));
/// assert_eq!((g.input_len(), g.output_len(), g.weight_len()), (784, 6 * 784, 150));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2d {
    /// Channels of the input image.
    pub in_channels: usize,
    /// Height of the input image, in pixels.
    pub in_height: usize,
    /// Width of the input image, in pixels.
    pub in_width: usize,
    /// Filters, so channels of the output.
    pub out_channels: usize,
    /// Height of a filter.
    pub kernel_height: usize,
    /// Width of a filter.
    pub kernel_width: usize,
    /// Pixels the filter moves between two outputs, along both axes (at least 1).
    pub stride: usize,
    /// Zeros added on every side of the input.
    pub pad: usize,
}

/// Outputs along one axis: `(input + 2·pad - kernel) / stride + 1` rounded down, PyTorch's rule;
/// zero if the stride or kernel is zero or the kernel is larger than the padded input.
pub(super) const fn out_dim(input: usize, pad: usize, kernel: usize, stride: usize) -> usize {
    let padded = input + 2 * pad;
    if stride == 0 || kernel == 0 || kernel > padded {
        0
    } else {
        (padded - kernel) / stride + 1
    }
}

impl Conv2d {
    /// Height of the output: `(in_height + 2·pad - kernel_height) / stride + 1`, rounded down
    /// as PyTorch does (0 for an empty geometry: a stride or kernel of zero, or a kernel taller
    /// than the padded input).
    pub const fn out_height(&self) -> usize {
        out_dim(self.in_height, self.pad, self.kernel_height, self.stride)
    }

    /// Width of the output, by the rule of [`out_height`](Self::out_height).
    pub const fn out_width(&self) -> usize {
        out_dim(self.in_width, self.pad, self.kernel_width, self.stride)
    }

    /// Values of one input sample: `in_channels·in_height·in_width`.
    pub const fn input_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    /// Values of one output sample: `out_channels·out_height·out_width`.
    pub const fn output_len(&self) -> usize {
        self.out_channels * self.out_height() * self.out_width()
    }

    /// Weights: `out_channels·in_channels·kernel_height·kernel_width`, laid out
    /// `[out][in][kh][kw]` as `nn.Conv2d.weight`.
    pub const fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// Weights of one filter, the rows of the unrolled input: `in_channels·kh·kw`.
    const fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_height * self.kernel_width
    }

    /// Output pixels of one channel: `out_height·out_width`.
    const fn pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Scratch values [`conv2d_forward`] and [`conv2d_backward`] need for `batch` samples.
    ///
    /// With stride 1, the largest of: the padded input and one sample's output in its row
    /// stride (forward); those for up to eight samples and sixteen partial sums a weight (weight
    /// gradient); `δ` in the padded input's row stride and the padded input gradient, or for
    /// fewer than four input channels the flipped filters, the padded `δ` and one sample's input
    /// gradient in its row stride (input gradient). With a larger stride, one sample's unrolled input, one sample's
    /// weight gradient and a row of zeros. So it grows with the batch up to eight samples, and
    /// no further.
    ///
    /// ```
    /// use nn_core::kernel::conv::Conv2d;
    /// let g = Conv2d { in_channels: 6, in_height: 14, in_width: 14, out_channels: 16,
    ///                  kernel_height: 5, kernel_width: 5, stride: 1, pad: 0 };
    /// assert_eq!(g.scratch_len(8), g.scratch_len(256)); // 255 KiB
    /// assert_eq!(g.scratch_len(1), 6 * 14 * 14 + 16 * (136 + 150 * 16)); // 163 KiB
    /// ```
    pub const fn scratch_len(&self, batch: usize) -> usize {
        let unrolled = (self.pixels() + self.out_channels + 1) * self.patch_len();
        if self.stride != 1 {
            return unrolled;
        }
        let forward = self.in_channels * self.padded_len() + self.out_channels * self.wide_len();
        let group = if batch < GROUP {
            if batch == 0 {
                1
            } else {
                batch
            }
        } else {
            GROUP
        };
        let weights = group
            * (self.in_channels * self.padded_len() + self.out_channels * self.wide_len())
            + self.out_channels * self.patch_len() * LANES;
        let inputs = match self.delta_pad() {
            Some(_) => {
                self.weight_len()
                    + self.out_channels * self.delta_padded_len()
                    + self.in_channels * self.wide_input_len()
            }
            None => unrolled,
        };
        max(max(forward, weights), inputs)
    }

    /// Height and width of the input with its padding.
    const fn padded(&self) -> (usize, usize) {
        (self.in_height + 2 * self.pad, self.in_width + 2 * self.pad)
    }

    /// Values of one channel of the padded input.
    const fn padded_len(&self) -> usize {
        self.padded().0 * self.padded().1
    }

    /// Values of one channel of the output in the padded input's row stride (the "wide" rows
    /// of the stride-1 forward pass): `(out_h - 1)·padded_w + out_w`.
    const fn wide_len(&self) -> usize {
        match self.out_height() {
            0 => 0,
            oh => (oh - 1) * self.padded().1 + self.out_width(),
        }
    }

    /// Padding of `δ` for the input gradient as a convolution (stride 1): `kh - 1 - pad` and
    /// `kw - 1 - pad`, if the padding is no wider than that.
    const fn delta_pad(&self) -> Option<(usize, usize)> {
        if self.stride == 1 && self.pad < self.kernel_height && self.pad < self.kernel_width {
            Some((
                self.kernel_height - 1 - self.pad,
                self.kernel_width - 1 - self.pad,
            ))
        } else {
            None
        }
    }

    /// Height and width of one channel of the padded `δ` (zero if there is none).
    const fn delta_padded(&self) -> (usize, usize) {
        match self.delta_pad() {
            Some((ph, pw)) => (self.out_height() + 2 * ph, self.out_width() + 2 * pw),
            None => (0, 0),
        }
    }

    /// Values of one channel of the padded `δ`.
    const fn delta_padded_len(&self) -> usize {
        self.delta_padded().0 * self.delta_padded().1
    }

    /// Values of one channel of the input gradient in the padded `δ`'s row stride.
    const fn wide_input_len(&self) -> usize {
        match self.delta_pad() {
            Some(_) if self.in_height > 0 => {
                (self.in_height - 1) * self.delta_padded().1 + self.in_width
            }
            _ => 0,
        }
    }

    /// Panics unless the geometry has at least one output pixel.
    #[track_caller]
    fn check(&self) {
        assert!(
            self.stride > 0
                && self.kernel_height > 0
                && self.kernel_width > 0
                && self.out_height() > 0
                && self.out_width() > 0,
            "conv2d: empty geometry {self:?} (the stride and kernel must be at least 1 and the \
             kernel no larger than the padded input)"
        );
    }
}

/// The larger of two sizes, in a `const fn`.
const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Panics unless the slice `what` of `len` values holds `rows` blocks of `each` values.
#[track_caller]
pub(super) fn check_len(kernel: &str, what: &str, len: usize, rows: usize, each: usize) {
    let need = rows.checked_mul(each);
    assert!(
        need.is_some_and(|need| len >= need),
        "{kernel}: `{what}` has {len} values, but {rows} × {each} are needed"
    );
}

/// The shape of a strided product `C = A·B` (or `C += A·B`): `A` is `m × k` with element
/// `(r, q)` at `a[r·ars + q·acs]` (so a transposed `A` costs nothing), `C` is `m × n` with row
/// stride `cs`, and `B` is `k × n` with contiguous rows that start at offsets made of three
/// strides: row `q = (t·taps.0 + i)·taps.1 + j` starts at `t·bs + i·taps_stride.0 + j·taps_stride.1`.
///
/// With `taps = (1, 1)` that is a plain row stride `bs`. With the filter's `(kh, kw)` and the
/// strides of a padded image's rows and pixels, row `(c, i, j)` of `B` is the image read from
/// filter tap `(i, j)` on: the unrolled input of a convolution with stride 1, never written out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strided {
    /// Rows of `A` and `C`.
    pub(super) m: usize,
    /// Columns of `B` and `C`.
    pub(super) n: usize,
    /// Columns of `A`, rows of `B`: the length of each sum (a multiple of `taps.0·taps.1`).
    pub(super) k: usize,
    /// Distance in `a` between two rows of `A`.
    pub(super) ars: usize,
    /// Distance in `a` between two columns of `A`.
    pub(super) acs: usize,
    /// Distance in `b` between two groups of `taps.0·taps.1` rows of `B`.
    pub(super) bs: usize,
    /// Rows of `B` a group is made of: `taps.0 × taps.1`.
    pub(super) taps: (usize, usize),
    /// Distances in `b` between the rows of a group, along `taps.0` and along `taps.1`.
    pub(super) taps_stride: (usize, usize),
    /// Distance in `c` between two rows of `C`.
    pub(super) cs: usize,
    /// Add the product to `C` rather than overwrite it.
    pub(super) accumulate: bool,
}

impl Strided {
    /// A product whose `B` has rows `bs` values apart.
    #[allow(clippy::too_many_arguments)]
    pub(super) const fn plain(
        m: usize,
        n: usize,
        k: usize,
        (ars, acs): (usize, usize),
        bs: usize,
        cs: usize,
        accumulate: bool,
    ) -> Self {
        Strided {
            m,
            n,
            k,
            ars,
            acs,
            bs,
            taps: (1, 1),
            taps_stride: (0, 0),
            cs,
            accumulate,
        }
    }

    /// Rows of `B` in a group: `taps.0·taps.1`.
    pub(super) const fn group(&self) -> usize {
        self.taps.0 * self.taps.1
    }

    /// Panics unless `a`, `b` and `c` hold the matrices the shape describes (every back end
    /// checks this on entry, so a product is sound for any arguments).
    #[track_caller]
    pub(super) fn check(&self, a: usize, b: usize, c: usize) {
        let last = |count: usize, stride: usize| (count - 1).checked_mul(stride);
        let holds = |len: usize, rows: usize, rs: usize, cols: usize, col_s: usize| {
            rows == 0
                || cols == 0
                || last(rows, rs)
                    .zip(last(cols, col_s))
                    .and_then(|(r, c)| r.checked_add(c))
                    .is_some_and(|end| end < len)
        };
        let group = self.group();
        let b_holds = group > 0 && self.k.is_multiple_of(group) && {
            // The last row of `B` starts at the largest offset: every index is at most it.
            let groups = self.k / group;
            let tap = last(self.taps.0, self.taps_stride.0)
                .zip(last(self.taps.1, self.taps_stride.1))
                .and_then(|(i, j)| i.checked_add(j));
            self.k == 0
                || self.n == 0
                || tap
                    .zip(last(groups, self.bs))
                    .and_then(|(t, g)| t.checked_add(g)?.checked_add(self.n - 1))
                    .is_some_and(|end| end < b)
        };
        assert!(
            holds(a, self.m, self.ars, self.k, self.acs)
                && b_holds
                && holds(c, self.m, self.cs, self.n, 1)
                && (self.m <= 1 || self.n <= self.cs),
            "strided product {self:?}: a slice is too short (a: {a}, b: {b}, c: {c} values)"
        );
    }
}

/// The portable strided product (and the default of [`Backend::strided_product`]): each row of
/// `C` a sum of scaled rows of `B`, summed in order of `q`. Inlined into the AVX2 back end,
/// which compiles it with AVX2 enabled.
#[inline(always)]
pub(super) fn strided_product(s: &Strided, a: &[f32], b: &[f32], c: &mut [f32]) {
    s.check(a.len(), b.len(), c.len());
    if s.n == 0 {
        return;
    }
    let ((th, tw), (si, sj)) = (s.taps, s.taps_stride);
    for r in 0..s.m {
        let row = &mut c[r * s.cs..r * s.cs + s.n];
        if !s.accumulate {
            row.fill(0.0);
        }
        let mut q = 0;
        for t in 0..s.k / s.group() {
            for i in 0..th {
                for j in 0..tw {
                    let scale = a[r * s.ars + q * s.acs];
                    let start = t * s.bs + i * si + j * sj;
                    for (c, &b) in row.iter_mut().zip(&b[start..start + s.n]) {
                        *c += scale * b;
                    }
                    q += 1;
                }
            }
        }
    }
}

/// Lanes of the partial sums of [`LaneDots`]: one AVX-512 vector.
pub(super) const LANES: usize = 16;

/// The shape of a set of dot products kept as lane-wise partial sums: for each row `r < m` of
/// `A` (`a[r·ars..][..len]`) and each row `q < n` of `B` (rows at the tap offsets of
/// [`Strided`]: `q = (t·taps.0 + i)·taps.1 + j` starts at `t·bs + i·taps_stride.0 +
/// j·taps_stride.1`), `part[(r·n + q)·16 + l] += Σ_t Σ_{u ≡ l mod 16} a_t[r][u]·b_t[q][u]` (or
/// `=` unless `accumulate`), over `samples` pairs `a_t`, `b_t` that lie `sample_step` apart.
///
/// Summed over the samples of a batch (several at a time, several calls) and then over the
/// lanes, that
/// is the weight gradient of a convolution with stride 1: `A` the rows of `δ`, `B` the padded
/// image read at each filter tap. Keeping sixteen lanes a product, not one sum, leaves a
/// back end's accumulators in vectors between calls and puts off the horizontal sums to the end.
#[derive(Debug, Clone, Copy)]
pub(super) struct LaneDots {
    /// Rows of `A`.
    pub(super) m: usize,
    /// Rows of `B` (a multiple of `taps.0·taps.1`).
    pub(super) n: usize,
    /// Length of each dot product.
    pub(super) len: usize,
    /// Distance in `a` between two rows of `A`.
    pub(super) ars: usize,
    /// Distance in `b` between two groups of rows of `B`.
    pub(super) bs: usize,
    /// Rows of `B` a group, `taps.0 × taps.1`.
    pub(super) taps: (usize, usize),
    /// Distances in `b` between the rows of a group.
    pub(super) taps_stride: (usize, usize),
    /// Add to the partial sums in `part` rather than overwrite them.
    pub(super) accumulate: bool,
    /// Pairs of `A` and `B` summed into the same partial sums (samples), at least 1.
    pub(super) samples: usize,
    /// Distances in `a` and in `b` between two samples.
    pub(super) sample_step: (usize, usize),
    /// Sum each product's lanes into `out[r·n + q]` at the end (the last call of a batch),
    /// rather than leave them in `part`.
    pub(super) finish: bool,
}

impl LaneDots {
    /// Where row `q` of `B` starts.
    #[inline(always)]
    pub(super) const fn offset(&self, q: usize) -> usize {
        let (th, tw) = self.taps;
        (q / (th * tw)) * self.bs
            + (q / tw % th) * self.taps_stride.0
            + (q % tw) * self.taps_stride.1
    }

    /// Panics unless `a`, `b` and `part` hold what the shape describes (every back end checks
    /// this on entry).
    #[track_caller]
    pub(super) fn check(&self, a: usize, b: usize, part: usize, out: usize) {
        let (th, tw) = self.taps;
        let group = th * tw;
        let fits = |start: Option<usize>, len: usize| {
            start
                .and_then(|s| s.checked_add(self.len))
                .is_some_and(|end| end <= len)
        };
        let (a_step, b_step) = self.sample_step;
        let later = |step: usize| (self.samples - 1).checked_mul(step);
        let ok = group > 0
            && self.samples > 0
            && self.n.is_multiple_of(group)
            && (self.m == 0
                || fits(
                    (self.m - 1)
                        .checked_mul(self.ars)
                        .zip(later(a_step))
                        .and_then(|(r, s)| r.checked_add(s)),
                    a,
                ))
            && (self.n == 0 || {
                let groups = self.n / group;
                let last = (groups - 1)
                    .checked_mul(self.bs)
                    .zip((th - 1).checked_mul(self.taps_stride.0))
                    .zip((tw - 1).checked_mul(self.taps_stride.1))
                    .and_then(|((g, i), j)| g.checked_add(i)?.checked_add(j));
                fits(
                    last.zip(later(b_step)).and_then(|(l, s)| l.checked_add(s)),
                    b,
                )
            })
            && self
                .m
                .checked_mul(self.n)
                .and_then(|mn| mn.checked_mul(LANES))
                .is_some_and(|need| need <= part)
            && (!self.finish || self.m.checked_mul(self.n).is_some_and(|need| need <= out));
        assert!(
            ok,
            "lane dots {self:?}: a slice is too short (a: {a}, b: {b}, part: {part}, out: {out} \
             values)"
        );
    }
}

/// The portable lane-wise dot products (and the default of [`Backend::lane_dots`]), sixteen
/// lanes in step. Inlined into the AVX2 back end, which compiles it with AVX2 enabled.
#[inline(always)]
pub(super) fn lane_dots(d: &LaneDots, a: &[f32], b: &[f32], part: &mut [f32], out: &mut [f32]) {
    d.check(a.len(), b.len(), part.len(), out.len());
    let (a_step, b_step) = d.sample_step;
    for r in 0..d.m {
        for q in 0..d.n {
            let acc = &mut part[(r * d.n + q) * LANES..][..LANES];
            if !d.accumulate {
                acc.fill(0.0);
            }
            for t in 0..d.samples {
                let ar = &a[t * a_step + r * d.ars..][..d.len];
                let br = &b[t * b_step + d.offset(q)..][..d.len];
                let (mut ca, mut cb) = (ar.chunks_exact(LANES), br.chunks_exact(LANES));
                for (x, y) in (&mut ca).zip(&mut cb) {
                    for l in 0..LANES {
                        acc[l] += x[l] * y[l];
                    }
                }
                for ((acc, x), y) in acc.iter_mut().zip(ca.remainder()).zip(cb.remainder()) {
                    *acc += x * y;
                }
            }
            if d.finish {
                out[r * d.n + q] = lane_sum(acc);
            }
        }
    }
}

/// The output pixels `x` along one axis whose input `x·stride + offset - pad` lies in
/// `0..input`: `first..end` (empty if none).
#[inline]
fn inside(
    outputs: usize,
    input: usize,
    offset: usize,
    pad: usize,
    stride: usize,
) -> (usize, usize) {
    // x·s + offset ≥ pad  ⇔  x ≥ ceil((pad - offset) / s)
    let first = pad.saturating_sub(offset).div_ceil(stride).min(outputs);
    // x·s + offset - pad ≤ input - 1  ⇔  x ≤ (input - 1 + pad - offset) / s
    let end = match (input + pad).checked_sub(offset + 1) {
        Some(top) => (top / stride + 1).min(outputs),
        None => 0,
    };
    (first, end.max(first))
}

/// Unrolls one sample `x` (`C × H × W`) into `cols` (`K × P`): row `(c, i, j)`, column
/// `(y, x)` holds `x[c][y·s + i - p][x·s + j - p]`, or zero outside the image.
fn im2col(g: &Conv2d, x: &[f32], cols: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let (h, w, s, p) = (g.in_height, g.in_width, g.stride, g.pad);
    let mut rows = cols.chunks_exact_mut(oh * ow);
    for c in 0..g.in_channels {
        let image = &x[c * h * w..(c + 1) * h * w];
        for i in 0..g.kernel_height {
            let (y0, y1) = inside(oh, h, i, p, s);
            for j in 0..g.kernel_width {
                let (x0, x1) = inside(ow, w, j, p, s);
                let row = rows.next().expect("cols holds K rows");
                row[..y0 * ow].fill(0.0);
                row[y1 * ow..].fill(0.0);
                for y in y0..y1 {
                    let out = &mut row[y * ow..(y + 1) * ow];
                    out[..x0].fill(0.0);
                    out[x1..].fill(0.0);
                    let src = &image[(y * s + i - p) * w..][..w];
                    if s == 1 {
                        let start = x0 + j - p;
                        out[x0..x1].copy_from_slice(&src[start..start + (x1 - x0)]);
                    } else {
                        for (xo, v) in (x0..x1).zip(&mut out[x0..x1]) {
                            *v = src[xo * s + j - p];
                        }
                    }
                }
            }
        }
    }
}

/// `dst ← src[..dst.len()]`, in moves of a length known at compile time for the runs of up to
/// eight values a filter row makes (a `memcpy` call for each cost more than the copy).
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    #[inline(always)]
    fn run<const L: usize>(dst: &mut [f32], src: &[f32]) {
        dst[..L].copy_from_slice(&src[..L]);
    }
    match dst.len() {
        0 => {}
        1 => run::<1>(dst, src),
        2 => run::<2>(dst, src),
        3 => run::<3>(dst, src),
        4 => run::<4>(dst, src),
        5 => run::<5>(dst, src),
        6 => run::<6>(dst, src),
        7 => run::<7>(dst, src),
        8 => run::<8>(dst, src),
        len => dst.copy_from_slice(&src[..len]),
    }
}

/// Unrolls one sample `x` the other way round, into `cols` (`P × K`): row `(y, x)`, column
/// `(c, i, j)`, the same values as [`im2col`].
fn im2col_t(g: &Conv2d, x: &[f32], cols: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let (h, w, s, p) = (g.in_height, g.in_width, g.stride, g.pad);
    let (kh, kw) = (g.kernel_height, g.kernel_width);
    let k = g.patch_len();
    for y in 0..oh {
        for xo in 0..ow {
            let row = &mut cols[(y * ow + xo) * k..][..k];
            // The filter's columns `j` that land inside the image at this output pixel.
            // (input column `xo·s + j - p`, inside `0..w`).
            let j0 = p.saturating_sub(xo * s).min(kw);
            let j1 = (w + p).saturating_sub(xo * s).min(kw).max(j0);
            for c in 0..g.in_channels {
                for i in 0..kh {
                    let out = &mut row[(c * kh + i) * kw..][..kw];
                    let iy = (y * s + i).wrapping_sub(p);
                    if iy >= h {
                        out.fill(0.0);
                        continue;
                    }
                    if j0 > 0 || j1 < kw {
                        out[..j0].fill(0.0);
                        out[j1..].fill(0.0);
                    }
                    let start = c * h * w + iy * w + xo * s + j0 - p;
                    copy_short(&mut out[j0..j1], &x[start..]);
                }
            }
        }
    }
}

/// Adds `cols` (`K × P`, the layout of [`im2col`]) back onto the pixels of `dx` (`C × H × W`)
/// they were read from; the padding's entries are dropped. `dx` must start zeroed.
fn col2im(g: &Conv2d, cols: &[f32], dx: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let (h, w, s, p) = (g.in_height, g.in_width, g.stride, g.pad);
    let mut rows = cols.chunks_exact(oh * ow);
    for c in 0..g.in_channels {
        let image = &mut dx[c * h * w..(c + 1) * h * w];
        for i in 0..g.kernel_height {
            let (y0, y1) = inside(oh, h, i, p, s);
            for j in 0..g.kernel_width {
                let (x0, x1) = inside(ow, w, j, p, s);
                let row = rows.next().expect("cols holds K rows");
                for y in y0..y1 {
                    let src = &row[y * ow..(y + 1) * ow];
                    let dst = &mut image[(y * s + i - p) * w..][..w];
                    if s == 1 {
                        let start = x0 + j - p;
                        for (d, v) in dst[start..start + (x1 - x0)].iter_mut().zip(&src[x0..x1]) {
                            *d += v;
                        }
                    } else {
                        for (xo, v) in (x0..x1).zip(&src[x0..x1]) {
                            dst[xo * s + j - p] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Checks the geometry and the slices of [`conv2d_forward`].
#[track_caller]
fn check_forward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    out: &[f32],
    scratch: &[f32],
) {
    const K: &str = "conv2d_forward";
    g.check();
    check_len(K, "x", x.len(), n, g.input_len());
    check_len(K, "w", w.len(), 1, g.weight_len());
    check_len(K, "b", b.len(), 1, g.out_channels);
    check_len(K, "out", out.len(), n, g.output_len());
    check_len(K, "scratch", scratch.len(), 1, g.scratch_len(n));
}

/// The forward pass of a convolution over `n` samples: for every sample, channel `o` and output
/// pixel `(y, x)`,
///
/// `out[n][o][y][x] = b[o] + Σ_{c,i,j} w[o][c][i][j]·x[n][c][y·s+i-p][x·s+j-p]`
///
/// (zero outside the image). `x` holds `n` samples of [`Conv2d::input_len`] values, `w`
/// [`Conv2d::weight_len`] values `[out][in][kh][kw]`, `b` one value a filter, `out` `n` samples
/// of [`Conv2d::output_len`] (overwritten), `scratch` at least [`Conv2d::scratch_len`] values
/// (its contents are overwritten and mean nothing afterwards). Slices may be longer; the values
/// past what the geometry needs are not touched (`out`) or not read.
///
/// # Panics
///
/// If the geometry is empty (a stride or kernel of zero, a kernel larger than the padded input)
/// or a slice is shorter than the geometry and `n` say; the message names the slice.
///
/// ```
/// use nn_core::kernel::conv::{conv2d_forward, Conv2d};
/// // One 3x3 image, one 2x2 filter of ones, no padding: sums of 2x2 windows, plus the bias.
/// let g = Conv2d { in_channels: 1, in_height: 3, in_width: 3, out_channels: 1,
///                  kernel_height: 2, kernel_width: 2, stride: 1, pad: 0 };
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut out, mut scratch) = ([0.0; 4], vec![0.0; g.scratch_len(1)]);
/// conv2d_forward(&g, 1, &x, &[1.0; 4], &[0.5], &mut out, &mut scratch);
/// assert_eq!(out, [12.5, 16.5, 24.5, 28.5]);
/// ```
pub fn conv2d_forward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    forward_on(backend(), g, n, x, w, b, out, scratch);
}

/// [`conv2d_forward`] on the back end `cpu`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn forward_on(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    check_forward(g, n, x, w, b, out, scratch);
    if g.stride == 1 {
        return forward_padded(cpu, g, n, x, w, b, out, scratch);
    }
    let (k, p, o) = (g.patch_len(), g.pixels(), g.out_channels);
    let cols = &mut scratch[..k * p];
    let product = Strided::plain(o, p, k, (k, 1), p, p, true);
    for (xs, os) in x
        .chunks_exact(g.input_len())
        .zip(out.chunks_exact_mut(g.output_len()))
        .take(n)
    {
        im2col(g, xs, cols);
        for (row, &bias) in os.chunks_exact_mut(p).zip(b) {
            row.fill(bias);
        }
        cpu.strided_product(&product, &w[..o * k], cols, os);
    }
}

/// Input channels from which the stride-1 input gradient is scattered tap by tap
/// ([`input_grad_scattered`]) rather than computed as a convolution of the padded `δ` with the
/// flipped filters: the scattered form does no multiply-adds on the padding, but its products
/// have a row a channel and sums as short as the filters are many. LeNet's second convolution
/// (6 channels, batch 32): 125 µs scattered against 153 µs as a convolution; its first (1
/// channel): 220 µs against 105 µs.
const SCATTER_CHANNELS: usize = 4;

/// Samples the stride-1 weight gradient pads and sums at a time, so that the partial sums are
/// loaded and stored once a group rather than once a sample (LeNet's second convolution,
/// batch 32: 108 µs with groups of 8 samples, 156 µs one sample at a time).
const GROUP: usize = 8;

/// Output pixels from which [`conv2d_backward`] sums the weight gradient as dot products
/// along the pixels (the dense forward product, [`Backend::affine`]) rather than as scaled rows
/// of the transposed unrolled input: at LeNet's first convolution (784 pixels, 25 weights a
/// filter) the dot products took a third of the time, at its second (100 pixels, 150 weights)
/// the scaled rows did.
const DOT_PIXELS: usize = 256;

/// The sum of the sixteen lanes of one [`LaneDots`] product in the portable back end, pairwise: `l[i] + l[i + 8]`, then
/// those four apart, two apart, one apart (in a few vector adds).
#[inline]
fn lane_sum(l: &[f32]) -> f32 {
    let l: &[f32; LANES] = l.try_into().expect("sixteen lanes");
    let eight: [f32; 8] = core::array::from_fn(|i| l[i] + l[i + 8]);
    let four: [f32; 4] = core::array::from_fn(|i| eight[i] + eight[i + 4]);
    (four[0] + four[2]) + (four[1] + four[3])
}

/// `Σ v`, in sixteen independent partial sums (so that it vectorises), then those in a fixed
/// tree, then the tail in order.
pub(super) fn sum(v: &[f32]) -> f32 {
    const L: usize = 16;
    let mut acc = [0.0f32; L];
    let mut chunks = v.chunks_exact(L);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let mut width = L;
    while width > 1 {
        width /= 2;
        for t in 0..width {
            acc[t] += acc[t + width];
        }
    }
    chunks.remainder().iter().fold(acc[0], |s, x| s + x)
}

/// Copies each channel of `x` (`C × H × W`) into the middle of `padded` (`C × (H + 2·ph) ×
/// (W + 2·pw)`), whose borders must be zero already (they are never written here).
fn pad_into(
    channels: usize,
    (h, w): (usize, usize),
    (ph, pw): (usize, usize),
    x: &[f32],
    padded: &mut [f32],
) {
    let (hh, ww) = (h + 2 * ph, w + 2 * pw);
    for (src, dst) in x
        .chunks_exact(h * w)
        .zip(padded.chunks_exact_mut(hh * ww))
        .take(channels)
    {
        for (row, out) in src.chunks_exact(w).zip(dst[ph * ww..].chunks_exact_mut(ww)) {
            out[pw..pw + w].copy_from_slice(row);
        }
    }
}

/// The convolution of `n` samples `x` with stride 1, as the strided product of the filters
/// `w` (`[F × K]`) with the padded image read at each filter tap (see [`Strided`]), written in
/// the padded image's row stride ("wide" rows, whose last `kw - 1` values are discarded), then
/// compacted into `out` with the bias `b` added. Shared by the forward pass and the input
/// gradient (the convolution of the padded `δ` with the flipped filters).
#[allow(clippy::too_many_arguments)]
fn convolve_padded(
    cpu: &dyn Backend,
    (channels, h, wd): (usize, usize, usize),
    (filters, kh, kw): (usize, usize, usize),
    (ph, pw): (usize, usize),
    n: usize,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let (hh, ww) = (h + 2 * ph, wd + 2 * pw);
    let (oh, ow) = (hh - kh + 1, ww - kw + 1);
    let wide_len = (oh - 1) * ww + ow;
    let (padded, rest) = scratch.split_at_mut(channels * hh * ww);
    let wide = &mut rest[..filters * wide_len];
    padded.fill(0.0);
    let k = channels * kh * kw;
    let product = Strided {
        m: filters,
        n: wide_len,
        k,
        ars: k,
        acs: 1,
        bs: hh * ww,
        taps: (kh, kw),
        taps_stride: (ww, 1),
        cs: wide_len,
        accumulate: false,
    };
    for (xs, os) in x
        .chunks_exact(channels * h * wd)
        .zip(out.chunks_exact_mut(filters * oh * ow))
        .take(n)
    {
        pad_into(channels, (h, wd), (ph, pw), xs, padded);
        cpu.strided_product(&product, &w[..filters * k], padded, wide);
        for (f, (channel, wide)) in os
            .chunks_exact_mut(oh * ow)
            .zip(wide.chunks_exact(wide_len))
            .enumerate()
        {
            let bias = b.map_or(0.0, |b| b[f]);
            for (row, src) in channel.chunks_exact_mut(ow).zip(wide.chunks(ww)) {
                for (o, &v) in row.iter_mut().zip(src) {
                    *o = v + bias;
                }
            }
        }
    }
}

/// [`conv2d_forward`] for stride 1: [`convolve_padded`], no unrolled input.
#[allow(clippy::too_many_arguments)]
fn forward_padded(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let image = (g.in_channels, g.in_height, g.in_width);
    let filters = (g.out_channels, g.kernel_height, g.kernel_width);
    convolve_padded(
        cpu,
        image,
        filters,
        (g.pad, g.pad),
        n,
        x,
        w,
        Some(b),
        out,
        scratch,
    );
}

/// The weight gradient for any stride: each sample unrolled, then dot products along the pixels
/// (many pixels) or scaled rows of the transposed unrolled input (few); see [`DOT_PIXELS`].
fn weight_grad_unrolled(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    x: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    scratch: &mut [f32],
) {
    let (k, p, o) = (g.patch_len(), g.pixels(), g.out_channels);
    let (il, ol) = (g.input_len(), g.output_len());
    gw.fill(0.0);

    let (cols, rest) = scratch.split_at_mut(k * p);
    for (xs, ds) in x.chunks_exact(il).zip(delta.chunks_exact(ol)).take(n) {
        if p >= DOT_PIXELS {
            // Long sums: dot products of rows of δ and rows of the unrolled input ([K × P]),
            // by the forward dense product, then added on.
            im2col(g, xs, cols);
            let (part, zeros) = rest[..o * k + k].split_at_mut(o * k);
            zeros.fill(0.0);
            cpu.affine(o, p, k, ds, cols, zeros, part);
            for (gw, part) in gw.iter_mut().zip(&*part) {
                *gw += part;
            }
        } else {
            // Short sums: scaled rows of the input unrolled the other way round ([P × K]).
            im2col_t(g, xs, cols);
            let product = Strided::plain(o, k, p, (p, 1), k, k, true);
            cpu.strided_product(&product, ds, cols, gw);
        }
    }
}

/// The weight gradient with stride 1, from the padded image as [`convolve_padded`] reads it:
/// `∂w[o][q] = Σ_n Σ_u δwide[o][u]·padded[tap(q) + u]`, with `δ` written in the padded image's
/// row stride (zeros in the columns past each row), by [`Backend::lane_dots`] into sixteen
/// lanes a weight over the batch ([`GROUP`] samples a call), each weight's lanes summed at the
/// end of the last call.
fn weight_grad_padded(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    x: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    scratch: &mut [f32],
) {
    let (k, o, c_in) = (g.patch_len(), g.out_channels, g.in_channels);
    let (oh, ow) = (g.out_height(), g.out_width());
    let ((hh, ww), wide_len) = (g.padded(), g.wide_len());
    let group = n.clamp(1, GROUP);
    let (padded, rest) = scratch.split_at_mut(group * c_in * hh * ww);
    let (wide, rest) = rest.split_at_mut(group * o * wide_len);
    let part = &mut rest[..o * k * LANES];
    padded.fill(0.0);
    wide.fill(0.0);
    if n == 0 {
        gw.fill(0.0);
        return;
    }
    let mut dots = LaneDots {
        m: o,
        n: k,
        len: wide_len,
        ars: wide_len,
        bs: hh * ww,
        taps: (g.kernel_height, g.kernel_width),
        taps_stride: (ww, 1),
        accumulate: false,
        samples: group,
        sample_step: (o * wide_len, c_in * hh * ww),
        finish: false,
    };
    let (il, ol) = (g.input_len(), g.output_len());
    let groups = n.div_ceil(group);
    for (r, (xs, ds)) in x[..n * il]
        .chunks(group * il)
        .zip(delta[..n * ol].chunks(group * ol))
        .enumerate()
    {
        dots.accumulate = r > 0;
        dots.finish = r + 1 == groups;
        dots.samples = xs.len() / il;
        for ((xs, ds), (padded, wide)) in xs.chunks_exact(il).zip(ds.chunks_exact(ol)).zip(
            padded
                .chunks_exact_mut(c_in * hh * ww)
                .zip(wide.chunks_exact_mut(o * wide_len)),
        ) {
            pad_into(c_in, (g.in_height, g.in_width), (g.pad, g.pad), xs, padded);
            for (channel, wide) in ds
                .chunks_exact(oh * ow)
                .zip(wide.chunks_exact_mut(wide_len))
            {
                for (row, dst) in channel.chunks_exact(ow).zip(wide.chunks_mut(ww)) {
                    dst[..ow].copy_from_slice(row);
                }
            }
        }
        cpu.lane_dots(&dots, wide, padded, part, gw);
    }
}

/// The input gradient with stride 1, tap by tap: for each filter tap `(i, j)`,
/// `dxwide[c][tap + u] += Σ_o w[o][c][i][j]·δwide[o][u]`, one strided product a tap into the
/// padded input's layout (`δ` written in its row stride, zeros in the columns past each row,
/// which add nothing), then the padding cropped off.
#[allow(clippy::too_many_arguments)]
fn input_grad_scattered(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    w: &[f32],
    delta: &[f32],
    dx: &mut [f32],
    scratch: &mut [f32],
) {
    let (o, c_in, kh, kw) = (
        g.out_channels,
        g.in_channels,
        g.kernel_height,
        g.kernel_width,
    );
    let (h, wd, p) = (g.in_height, g.in_width, g.pad);
    let (oh, ow) = (g.out_height(), g.out_width());
    let ((hh, ww), wide_len) = (g.padded(), g.wide_len());
    let (wide, rest) = scratch.split_at_mut(o * wide_len);
    let image = &mut rest[..c_in * hh * ww];
    wide.fill(0.0);
    for (ds, dxs) in delta
        .chunks_exact(g.output_len())
        .zip(dx.chunks_exact_mut(g.input_len()))
        .take(n)
    {
        for (channel, wide) in ds
            .chunks_exact(oh * ow)
            .zip(wide.chunks_exact_mut(wide_len))
        {
            for (row, dst) in channel.chunks_exact(ow).zip(wide.chunks_mut(ww)) {
                dst[..ow].copy_from_slice(row);
            }
        }
        image.fill(0.0);
        for i in 0..kh {
            for j in 0..kw {
                // A(c, o) = w[o][c][i][j]: from `i·kw + j` on, `kh·kw` apart along `c` and
                // `C·kh·kw` along `o`.
                let tap = i * kw + j;
                let product = Strided::plain(
                    c_in,
                    wide_len,
                    o,
                    (kh * kw, c_in * kh * kw),
                    wide_len,
                    hh * ww,
                    true,
                );
                cpu.strided_product(&product, &w[tap..], wide, &mut image[i * ww + j..]);
            }
        }
        for (src, dst) in image
            .chunks_exact(hh * ww)
            .zip(dxs.chunks_exact_mut(h * wd))
        {
            for (row, out) in src[p * ww..].chunks(ww).zip(dst.chunks_exact_mut(wd)) {
                out.copy_from_slice(&row[p..p + wd]);
            }
        }
    }
}

/// Checks the geometry and the slices of [`conv2d_backward`].
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn check_backward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    delta: &[f32],
    gw: &[f32],
    gb: &[f32],
    dx: Option<&[f32]>,
    scratch: &[f32],
) {
    const K: &str = "conv2d_backward";
    g.check();
    check_len(K, "x", x.len(), n, g.input_len());
    check_len(K, "w", w.len(), 1, g.weight_len());
    check_len(K, "delta", delta.len(), n, g.output_len());
    check_len(K, "gw", gw.len(), 1, g.weight_len());
    check_len(K, "gb", gb.len(), 1, g.out_channels);
    if let Some(dx) = dx {
        check_len(K, "dx", dx.len(), n, g.input_len());
    }
    check_len(K, "scratch", scratch.len(), 1, g.scratch_len(n));
}

/// The backward pass of a convolution over `n` samples, from `delta = ∂L/∂out` (`n` samples of
/// [`Conv2d::output_len`]) and the forward pass's input `x` and weights `w`:
///
/// - `gw[o][c][i][j] = Σ_{n,y,x} delta[n][o][y][x]·x[n][c][y·s+i-p][x·s+j-p]` (overwritten);
/// - `gb[o] = Σ_{n,y,x} delta[n][o][y][x]` (overwritten);
/// - if `dx` is given, `dx[n][c][h][w] = Σ delta[n][o][y][x]·w[o][c][i][j]` over every
///   `(o, y, x, i, j)` with `y·s+i-p = h` and `x·s+j-p = w` (overwritten; pass `None` for a
///   first layer, whose input gradient nothing reads).
///
/// `scratch` holds at least [`Conv2d::scratch_len`] values, as for [`conv2d_forward`].
///
/// # Panics
///
/// As [`conv2d_forward`]: an empty geometry, or a slice shorter than the geometry and `n` say.
///
/// ```
/// use nn_core::kernel::conv::{conv2d_backward, Conv2d};
/// // The 3x3 image and 2x2 filter of `conv2d_forward`'s example, with ∂L/∂out all ones.
/// let g = Conv2d { in_channels: 1, in_height: 3, in_width: 3, out_channels: 1,
///                  kernel_height: 2, kernel_width: 2, stride: 1, pad: 0 };
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut gw, mut gb, mut dx) = ([0.0; 4], [0.0], [0.0; 9]);
/// let mut scratch = vec![0.0; g.scratch_len(1)];
/// conv2d_backward(&g, 1, &x, &[1.0; 4], &[1.0; 4], &mut gw, &mut gb, Some(&mut dx), &mut scratch);
/// assert_eq!(gw, [12.0, 16.0, 24.0, 28.0]); // the sum of each filter tap's window
/// assert_eq!(gb, [4.0]);
/// assert_eq!(dx, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]); // windows covering each pixel
/// ```
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    backward_on(backend(), g, n, x, w, delta, gw, gb, dx, scratch);
}

/// [`conv2d_backward`] on the back end `cpu`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn backward_on(
    cpu: &dyn Backend,
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    check_backward(g, n, x, w, delta, gw, gb, dx.as_deref(), scratch);
    let (k, p, o) = (g.patch_len(), g.pixels(), g.out_channels);
    let (il, ol) = (g.input_len(), g.output_len());
    let (w, gw, gb) = (&w[..o * k], &mut gw[..o * k], &mut gb[..o]);

    // ∂b: the sum of each channel of δ, in order of samples, then pixels.
    gb.fill(0.0);
    for ds in delta.chunks_exact(ol).take(n) {
        for (b, row) in gb.iter_mut().zip(ds.chunks_exact(p)) {
            *b += sum(row);
        }
    }

    // ∂W = Σ_n δ_n·colsₙᵀ, [O × P] by [P × K].
    if g.stride == 1 {
        weight_grad_padded(cpu, g, n, x, delta, gw, scratch);
    } else {
        weight_grad_unrolled(cpu, g, n, x, delta, gw, scratch);
    }

    let Some(dx) = dx else { return };
    if g.stride == 1 && (g.in_channels >= SCATTER_CHANNELS || g.delta_pad().is_none()) {
        return input_grad_scattered(cpu, g, n, w, delta, dx, scratch);
    }
    if let Some(delta_pad) = g.delta_pad() {
        // ∂x as a convolution with stride 1: of δ padded by `k - 1 - pad` with the filters
        // flipped and transposed, `w'[c][o][i][j] = w[o][c][kh-1-i][kw-1-j]`.
        let (kh, kw, c_in) = (g.kernel_height, g.kernel_width, g.in_channels);
        let (flipped, rest) = scratch.split_at_mut(o * k);
        for (c, filter) in flipped.chunks_exact_mut(o * kh * kw).enumerate() {
            for (f, taps) in filter.chunks_exact_mut(kh * kw).enumerate() {
                let src = &w[(f * c_in + c) * kh * kw..][..kh * kw];
                for (t, v) in taps.iter_mut().rev().zip(src) {
                    *t = *v;
                }
            }
        }
        let image = (o, g.out_height(), g.out_width());
        let filters = (c_in, kh, kw);
        convolve_padded(
            cpu, image, filters, delta_pad, n, delta, flipped, None, dx, rest,
        );
        return;
    }
    // ∂x: dcols = Wᵀ·δ_n ([K × O] by [O × P]), then col2im.
    let cols = &mut scratch[..k * p];
    let product = Strided::plain(k, p, o, (1, k), p, p, false);
    for (ds, dxs) in delta.chunks_exact(ol).zip(dx.chunks_exact_mut(il)).take(n) {
        cpu.strided_product(&product, w, ds, cols);
        dxs.fill(0.0);
        col2im(g, cols, dxs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::portable::Portable;

    /// `len` values in `[-1, 1)` from the tests' xorshift generator.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut data = nn_test_support::Data(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        (0..len).map(|_| data.signed()).collect()
    }

    /// Every back end this CPU has, by name (the dispatched functions run separately).
    fn backends() -> Vec<&'static dyn Backend> {
        let mut all: Vec<&'static dyn Backend> = vec![&Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(cpu) = super::super::x86::Avx2Fma::detect() {
                all.push(cpu);
            }
            if let Some(cpu) = super::super::x86::Avx512::detect() {
                all.push(cpu);
            }
        }
        all
    }

    #[allow(clippy::too_many_arguments)]
    const fn geometry(
        in_channels: usize,
        in_height: usize,
        in_width: usize,
        out_channels: usize,
        kernel_height: usize,
        kernel_width: usize,
        stride: usize,
        pad: usize,
    ) -> Conv2d {
        Conv2d {
            in_channels,
            in_height,
            in_width,
            out_channels,
            kernel_height,
            kernel_width,
            stride,
            pad,
        }
    }

    /// Geometries and batch sizes: odd sizes, non-square kernels and images, strides 1 to 3,
    /// padding 0 to 3 (wider than half the kernel too), 1x1 kernels, a kernel as large as the
    /// padded input, both ways of summing the weight gradient (fewer and more than
    /// `DOT_PIXELS` output pixels), and LeNet's two convolutions.
    const CASES: &[(Conv2d, usize)] = &[
        (geometry(1, 1, 1, 1, 1, 1, 1, 0), 1),
        (geometry(1, 5, 5, 1, 3, 3, 1, 0), 1),
        (geometry(1, 5, 7, 3, 3, 2, 1, 1), 2),
        (geometry(3, 7, 5, 5, 3, 3, 2, 1), 3),
        (geometry(2, 9, 8, 4, 2, 3, 3, 2), 1),
        (geometry(3, 6, 6, 2, 1, 1, 1, 0), 2),
        (geometry(2, 5, 5, 7, 1, 1, 2, 1), 1),
        (geometry(1, 4, 3, 2, 6, 5, 1, 1), 2),
        (geometry(2, 3, 3, 3, 3, 3, 1, 3), 1),
        (geometry(4, 11, 13, 17, 5, 3, 2, 2), 2),
        (geometry(5, 10, 10, 9, 4, 4, 3, 0), 3),
        (geometry(3, 19, 17, 5, 3, 3, 1, 1), 2),
        (geometry(4, 9, 7, 3, 3, 2, 1, 1), 2),
        (geometry(5, 6, 8, 2, 2, 2, 1, 2), 1),
        (geometry(2, 33, 35, 3, 4, 3, 2, 1), 1),
        (geometry(1, 28, 28, 6, 5, 5, 1, 2), 2),
        (geometry(6, 14, 14, 16, 5, 5, 1, 0), 3),
        (geometry(1, 3, 3, 2, 2, 2, 1, 0), 0),
    ];

    /// An f64 reference value and a bound on the rounding error of any f32 summation order of
    /// its terms: `(k + 2)·ε·Σ|terms|`.
    #[derive(Default, Clone, Copy)]
    struct Want {
        value: f64,
        magnitude: f64,
        terms: usize,
    }

    impl Want {
        fn add(&mut self, t: f64) {
            self.value += t;
            self.magnitude += t.abs();
            self.terms += 1;
        }
    }

    fn assert_close(what: &str, got: &[f32], want: &[Want]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            let tol = (w.terms as f64 + 2.0) * f64::from(f32::EPSILON) * w.magnitude;
            let err = (f64::from(*g) - w.value).abs();
            assert!(
                err <= tol,
                "{what} [{k}]: got {g}, want {} (error {err:e}, bound {tol:e})",
                w.value
            );
        }
    }

    /// The convolution and its gradients straight from the formulas, in f64 direct loops.
    struct Reference {
        out: Vec<Want>,
        gw: Vec<Want>,
        gb: Vec<Want>,
        dx: Vec<Want>,
    }

    fn reference(g: &Conv2d, n: usize, x: &[f32], w: &[f32], b: &[f32], d: &[f32]) -> Reference {
        let f = f64::from;
        let (c_in, h, wd) = (g.in_channels, g.in_height, g.in_width);
        let (o_n, kh, kw) = (g.out_channels, g.kernel_height, g.kernel_width);
        let (oh, ow, s, p) = (g.out_height(), g.out_width(), g.stride, g.pad);
        let mut out = vec![Want::default(); n * g.output_len()];
        let mut gw = vec![Want::default(); g.weight_len()];
        let mut gb = vec![Want::default(); o_n];
        let mut dx = vec![Want::default(); n * g.input_len()];
        for r in 0..n {
            for o in 0..o_n {
                for y in 0..oh {
                    for xo in 0..ow {
                        let oi = r * g.output_len() + (o * oh + y) * ow + xo;
                        out[oi].add(f(b[o]));
                        gb[o].add(f(d[oi]));
                        for c in 0..c_in {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (iy, ix) = (
                                        (y * s + i) as isize - p as isize,
                                        (xo * s + j) as isize - p as isize,
                                    );
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xi = r * g.input_len()
                                        + (c * h + iy as usize) * wd
                                        + ix as usize;
                                    let wi = ((o * c_in + c) * kh + i) * kw + j;
                                    out[oi].add(f(w[wi]) * f(x[xi]));
                                    gw[wi].add(f(d[oi]) * f(x[xi]));
                                    dx[xi].add(f(d[oi]) * f(w[wi]));
                                }
                            }
                        }
                    }
                }
            }
        }
        Reference { out, gw, gb, dx }
    }

    type Forward = dyn Fn(&Conv2d, usize, &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
    type Backward = dyn Fn(
        &Conv2d,
        usize,
        &[f32],
        &[f32],
        &[f32],
        &mut [f32],
        &mut [f32],
        Option<&mut [f32]>,
        &mut [f32],
    );

    /// Runs one implementation on every case against the f64 reference, into buffers filled
    /// with NaN first (so every output must be written and no stale scratch may leak in).
    fn check_against_reference(name: &str, forward: &Forward, backward: &Backward) {
        for (t, &(g, n)) in CASES.iter().enumerate() {
            let seed = 10 * t as u64;
            let x = values(n * g.input_len(), seed);
            let w = values(g.weight_len(), seed + 1);
            let b = values(g.out_channels, seed + 2);
            let d = values(n * g.output_len(), seed + 3);
            let want = reference(&g, n, &x, &w, &b, &d);
            let what = |k: &str| format!("{name} {k} {g:?} n = {n}");

            let mut scratch = vec![f32::NAN; g.scratch_len(n)];
            let mut out = vec![f32::NAN; n * g.output_len()];
            forward(&g, n, &x, &w, &b, &mut out, &mut scratch);
            assert_close(&what("forward"), &out, &want.out);

            scratch.fill(f32::NAN);
            let (mut gw, mut gb) = (
                vec![f32::NAN; g.weight_len()],
                vec![f32::NAN; g.out_channels],
            );
            let mut dx = vec![f32::NAN; n * g.input_len()];
            backward(
                &g,
                n,
                &x,
                &w,
                &d,
                &mut gw,
                &mut gb,
                Some(&mut dx),
                &mut scratch,
            );
            assert_close(&what("gw"), &gw, &want.gw);
            assert_close(&what("gb"), &gb, &want.gb);
            assert_close(&what("dx"), &dx, &want.dx);

            // Without `dx`, the same weight gradients, bit for bit.
            let (mut gw2, mut gb2) = (
                vec![f32::NAN; g.weight_len()],
                vec![f32::NAN; g.out_channels],
            );
            backward(&g, n, &x, &w, &d, &mut gw2, &mut gb2, None, &mut scratch);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&gw2), bits(&gw), "{}", what("gw without dx"));
            assert_eq!(bits(&gb2), bits(&gb), "{}", what("gb without dx"));
        }
    }

    #[test]
    fn portable_convolution_matches_the_f64_reference() {
        check_against_reference(
            "portable",
            &|g, n, x, w, b, out, s| forward_on(&Portable, g, n, x, w, b, out, s),
            &|g, n, x, w, d, gw, gb, dx, s| backward_on(&Portable, g, n, x, w, d, gw, gb, dx, s),
        );
    }

    #[test]
    fn every_back_end_s_convolution_matches_the_f64_reference() {
        for cpu in backends() {
            check_against_reference(
                cpu.name(),
                &|g, n, x, w, b, out, s| forward_on(cpu, g, n, x, w, b, out, s),
                &|g, n, x, w, d, gw, gb, dx, s| backward_on(cpu, g, n, x, w, d, gw, gb, dx, s),
            );
        }
    }

    #[test]
    fn dispatched_convolution_matches_the_f64_reference() {
        check_against_reference("dispatched", &conv2d_forward, &conv2d_backward);
    }

    /// The AVX2 back end runs the portable loops of the two convolution kernels compiled with
    /// AVX2 (no fused multiply-add), so it gives the portable bits, except where a larger stride
    /// sums the weight gradient with the dense [`Backend::affine`] (whose AVX2 kernel fuses).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_back_end_gives_the_portable_bits() {
        let Some(avx2) = super::super::x86::Avx2Fma::detect() else {
            eprintln!("no AVX2 and FMA on this CPU: nothing to check");
            return;
        };
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for &(g, n) in CASES {
            if g.stride != 1 && g.pixels() >= DOT_PIXELS {
                continue;
            }
            let x = values(n * g.input_len(), 1);
            let w = values(g.weight_len(), 2);
            let b = values(g.out_channels, 3);
            let d = values(n * g.output_len(), 4);
            let run = |cpu: &dyn Backend| {
                let mut scratch = vec![0.0; g.scratch_len(n)];
                let mut out = vec![0.0; n * g.output_len()];
                forward_on(cpu, &g, n, &x, &w, &b, &mut out, &mut scratch);
                let (mut gw, mut gb) = (vec![0.0; g.weight_len()], vec![0.0; g.out_channels]);
                let mut dx = vec![0.0; n * g.input_len()];
                backward_on(
                    cpu,
                    &g,
                    n,
                    &x,
                    &w,
                    &d,
                    &mut gw,
                    &mut gb,
                    Some(&mut dx),
                    &mut scratch,
                );
                [bits(&out), bits(&gw), bits(&gb), bits(&dx)]
            };
            assert!(run(avx2) == run(&Portable), "{g:?} n = {n}");
        }
    }

    /// `L = Σ r·out` for fixed random `r`, in f64 from the f32 outputs.
    fn loss(g: &Conv2d, n: usize, x: &[f32], w: &[f32], b: &[f32], r: &[f32]) -> f64 {
        let mut out = vec![0.0; n * g.output_len()];
        let mut scratch = vec![0.0; g.scratch_len(n)];
        conv2d_forward(g, n, x, w, b, &mut out, &mut scratch);
        out.iter()
            .zip(r)
            .map(|(&o, &r)| f64::from(o) * f64::from(r))
            .sum()
    }

    /// The backward pass against central differences of the forward pass: with
    /// `L = Σ r·out`, `∂L/∂out = r`, and every parameter and input the convolution is linear in
    /// gets `(L(v + h) - L(v - h)) / 2h`.
    #[test]
    fn backward_matches_finite_differences_of_forward() {
        let h = 0.25f32;
        for &(g, n) in &[
            (geometry(2, 5, 6, 3, 3, 2, 2, 1), 2),
            (geometry(1, 7, 7, 2, 5, 5, 1, 2), 1),
            (geometry(3, 6, 5, 2, 2, 2, 1, 0), 3),
        ] {
            let x = values(n * g.input_len(), 1);
            let w = values(g.weight_len(), 2);
            let b = values(g.out_channels, 3);
            let r = values(n * g.output_len(), 4);
            let (mut gw, mut gb) = (vec![0.0; g.weight_len()], vec![0.0; g.out_channels]);
            let mut dx = vec![0.0; n * g.input_len()];
            let mut scratch = vec![0.0; g.scratch_len(n)];
            conv2d_backward(
                &g,
                n,
                &x,
                &w,
                &r,
                &mut gw,
                &mut gb,
                Some(&mut dx),
                &mut scratch,
            );
            let close = |what: &str, k: usize, analytic: f32, numeric: f64| {
                let err = (f64::from(analytic) - numeric).abs();
                assert!(
                    err <= 1e-4 * (1.0 + numeric.abs()),
                    "{g:?} {what}[{k}]: backward {analytic}, finite differences {numeric}"
                );
            };
            let central = |lp: f64, lm: f64| (lp - lm) / (2.0 * f64::from(h));
            for k in 0..w.len() {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[k] += h;
                wm[k] -= h;
                let fd = central(loss(&g, n, &x, &wp, &b, &r), loss(&g, n, &x, &wm, &b, &r));
                close("gw", k, gw[k], fd);
            }
            for k in 0..b.len() {
                let (mut bp, mut bm) = (b.clone(), b.clone());
                bp[k] += h;
                bm[k] -= h;
                let fd = central(loss(&g, n, &x, &w, &bp, &r), loss(&g, n, &x, &w, &bm, &r));
                close("gb", k, gb[k], fd);
            }
            for k in 0..x.len() {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[k] += h;
                xm[k] -= h;
                let fd = central(loss(&g, n, &xp, &w, &b, &r), loss(&g, n, &xm, &w, &b, &r));
                close("dx", k, dx[k], fd);
            }
        }
    }

    #[test]
    fn samples_past_the_batch_and_values_past_the_geometry_are_left_alone() {
        let g = geometry(2, 6, 5, 3, 3, 3, 1, 1);
        let n = 2;
        let x = values((n + 1) * g.input_len(), 5);
        let w = values(g.weight_len(), 6);
        let b = values(g.out_channels, 7);
        let mut out = vec![7.0; (n + 1) * g.output_len()];
        let mut scratch = vec![0.0; g.scratch_len(n) + 3];
        conv2d_forward(&g, n, &x, &w, &b, &mut out, &mut scratch);
        assert!(out[n * g.output_len()..].iter().all(|&v| v == 7.0));
        let d = values(n * g.output_len(), 8);
        let (mut gw, mut gb) = (vec![7.0; g.weight_len() + 2], vec![7.0; g.out_channels + 2]);
        let mut dx = vec![7.0; (n + 1) * g.input_len()];
        conv2d_backward(
            &g,
            n,
            &x,
            &w,
            &d,
            &mut gw,
            &mut gb,
            Some(&mut dx),
            &mut scratch,
        );
        assert!(gw[g.weight_len()..].iter().all(|&v| v == 7.0));
        assert!(gb[g.out_channels..].iter().all(|&v| v == 7.0));
        assert!(dx[n * g.input_len()..].iter().all(|&v| v == 7.0));
    }

    #[test]
    fn the_same_inputs_give_the_same_bits() {
        let g = geometry(6, 14, 14, 16, 5, 5, 1, 0);
        let n = 3;
        let x = values(n * g.input_len(), 9);
        let w = values(g.weight_len(), 10);
        let b = values(g.out_channels, 11);
        let run = || {
            let mut out = vec![0.0; n * g.output_len()];
            let mut scratch = vec![f32::NAN; g.scratch_len(n)];
            conv2d_forward(&g, n, &x, &w, &b, &mut out, &mut scratch);
            out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    const LENET1: Conv2d = geometry(1, 28, 28, 6, 5, 5, 1, 2);

    #[test]
    #[should_panic(expected = "conv2d_forward: `x` has 783 values, but 1 × 784 are needed")]
    fn a_short_input_panics_with_its_name_and_length() {
        let g = LENET1;
        let mut out = vec![0.0; g.output_len()];
        let mut scratch = vec![0.0; g.scratch_len(1)];
        conv2d_forward(
            &g,
            1,
            &[0.0; 783],
            &[0.0; 150],
            &[0.0; 6],
            &mut out,
            &mut scratch,
        );
    }

    #[test]
    #[should_panic(expected = "conv2d_backward: `scratch` has 10 values, but 1 × 8776 are needed")]
    fn a_short_scratch_panics_with_its_name_and_length() {
        let g = LENET1;
        let (mut gw, mut gb) = ([0.0; 150], [0.0; 6]);
        let d = vec![0.0; g.output_len()];
        conv2d_backward(
            &g,
            1,
            &[0.0; 784],
            &[0.0; 150],
            &d,
            &mut gw,
            &mut gb,
            None,
            &mut [0.0; 10],
        );
    }

    #[test]
    #[should_panic(expected = "conv2d_backward: `dx` has 700 values, but 1 × 784 are needed")]
    fn a_short_input_gradient_panics_with_its_name_and_length() {
        let g = LENET1;
        let (mut gw, mut gb, mut dx) = ([0.0; 150], [0.0; 6], [0.0; 700]);
        let d = vec![0.0; g.output_len()];
        let mut scratch = vec![0.0; g.scratch_len(1)];
        conv2d_backward(
            &g,
            1,
            &[0.0; 784],
            &[0.0; 150],
            &d,
            &mut gw,
            &mut gb,
            Some(&mut dx),
            &mut scratch,
        );
    }

    #[test]
    #[should_panic(expected = "conv2d: empty geometry")]
    fn a_kernel_larger_than_the_padded_input_panics() {
        let g = geometry(1, 3, 3, 1, 4, 4, 1, 0);
        assert_eq!((g.out_height(), g.output_len()), (0, 0));
        conv2d_forward(&g, 1, &[0.0; 9], &[0.0; 16], &[0.0], &mut [], &mut []);
    }

    #[test]
    #[should_panic(expected = "conv2d: empty geometry")]
    fn a_stride_of_zero_panics() {
        let g = Conv2d {
            stride: 0,
            ..LENET1
        };
        conv2d_forward(&g, 1, &[0.0; 784], &[0.0; 150], &[0.0; 6], &mut [], &mut []);
    }

    #[test]
    fn the_output_size_follows_pytorch_s_floor_rule() {
        // torch.nn.Conv2d(1, 1, 3, stride=2, padding=1) on 1x8x7 gives 1x4x4.
        let g = geometry(1, 8, 7, 1, 3, 3, 2, 1);
        assert_eq!((g.out_height(), g.out_width()), (4, 4));
        let g = geometry(6, 14, 14, 16, 5, 5, 1, 0);
        assert_eq!(
            (g.out_height(), g.out_width(), g.output_len()),
            (10, 10, 1600)
        );
        // Eight samples' padded input and wide rows of δ ((10 - 1)·14 + 10 a filter), then 16
        // lanes a weight.
        assert_eq!(g.scratch_len(256), 8 * (6 * 196 + 16 * 136) + 16 * 150 * 16);
        assert_eq!(g.scratch_len(8), g.scratch_len(256));
        assert_eq!(g.scratch_len(1), 6 * 196 + 16 * 136 + 16 * 150 * 16);
        assert_eq!(g.scratch_len(0), g.scratch_len(1));
        let g = geometry(6, 14, 14, 16, 5, 5, 2, 0);
        assert_eq!(g.scratch_len(3), (25 + 16 + 1) * 150);
    }

    /// The strided product with rows of `B` at filter-tap offsets: groups of `2 × 3` rows of a
    /// padded image, against f64, and the bound its check puts on `B`.
    #[test]
    fn every_back_end_s_tapped_product_matches_the_f64_reference() {
        // 3 channels of a 9 x 21 padded image, taps 2 x 3, 7 filters, 130 columns (wide rows).
        let (ch, hh, ww, th, tw, m) = (3, 9, 21, 2, 3, 7);
        let n = (hh - th) * ww + (ww - tw + 1);
        let k = ch * th * tw;
        let s = Strided {
            m,
            n,
            k,
            ars: k,
            acs: 1,
            bs: hh * ww,
            taps: (th, tw),
            taps_stride: (ww, 1),
            cs: n,
            accumulate: false,
        };
        let a = values(m * k, 1);
        let b = values(ch * hh * ww, 2);
        for cpu in backends() {
            let mut c = vec![f32::NAN; m * n];
            cpu.strided_product(&s, &a, &b, &mut c);
            for r in 0..m {
                let want: Vec<Want> = (0..n)
                    .map(|col| {
                        let mut w = Want::default();
                        for q in 0..k {
                            let (t, i, j) = (q / (th * tw), q / tw % th, q % tw);
                            let at = t * hh * ww + i * ww + j + col;
                            w.add(f64::from(a[r * k + q]) * f64::from(b[at]));
                        }
                        w
                    })
                    .collect();
                assert_close(
                    &format!("{} tapped row {r}", cpu.name()),
                    &c[r * n..(r + 1) * n],
                    &want,
                );
            }
            let short = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                cpu.strided_product(&s, &a, &b[..b.len() - 1], &mut c)
            }));
            assert!(short.is_err(), "{}", cpu.name());
        }
    }

    /// Every back end checks the strided product's slices itself, whoever calls it.
    #[test]
    fn every_back_end_refuses_a_short_strided_product() {
        let s = Strided::plain(3, 5, 4, (4, 1), 5, 5, false);
        for cpu in backends() {
            let run = |a: usize, b: usize, c: usize| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    cpu.strided_product(&s, &vec![0.0; a], &vec![0.0; b], &mut vec![0.0; c])
                }))
                .is_err()
            };
            assert!(!run(12, 20, 15), "{}", cpu.name());
            assert!(
                run(11, 20, 15) && run(12, 19, 15) && run(12, 20, 14),
                "{}",
                cpu.name()
            );
        }
    }

    /// The strided product of every back end against f64, at shapes around the tiles (rows by
    /// 1, 2, 4, 6; columns by sixteen lanes, up to four vectors), with strided `A` both ways,
    /// padded rows of `B` and `C`, and both modes.
    #[test]
    fn every_back_end_s_strided_product_matches_the_f64_reference() {
        let shapes = [
            (1, 1, 1),
            (6, 64, 25),
            (7, 65, 3),
            (5, 17, 9),
            (16, 100, 150),
            (25, 784, 6),
            (3, 130, 300),
            (13, 47, 1),
            (2, 0, 3),
            (4, 5, 0),
        ];
        for cpu in backends() {
            for (t, &(m, n, k)) in shapes.iter().enumerate() {
                for (transposed, accumulate) in [(false, false), (true, true), (false, true)] {
                    let (ars, acs) = if transposed { (1, m) } else { (k, 1) };
                    let (bs, cs) = (n + 3, n + 1);
                    let s = Strided::plain(m, n, k, (ars, acs), bs, cs, accumulate);
                    let a = values(m * k, 100 + t as u64);
                    let b = values(k * bs, 200 + t as u64);
                    let c0 = values(m * cs, 300 + t as u64);
                    let mut c = c0.clone();
                    cpu.strided_product(&s, &a, &b, &mut c);
                    for r in 0..m {
                        let mut want: Vec<Want> = (0..n)
                            .map(|col| {
                                let mut w = Want::default();
                                if accumulate {
                                    w.add(f64::from(c0[r * cs + col]));
                                }
                                w
                            })
                            .collect();
                        for q in 0..k {
                            for (col, w) in want.iter_mut().enumerate() {
                                w.add(f64::from(a[r * ars + q * acs]) * f64::from(b[q * bs + col]));
                            }
                        }
                        let what = format!("{} {m}x{n}x{k} {s:?} row {r}", cpu.name());
                        assert_close(&what, &c[r * cs..r * cs + n], &want);
                        assert_eq!(
                            c[r * cs + n..(r + 1) * cs],
                            c0[r * cs + n..(r + 1) * cs],
                            "{what}: padding"
                        );
                    }
                }
            }
        }
    }
}
