//! Plain scalar convolution and pooling, to the contract of `nn::kernel::conv` and
//! `nn::kernel::pool` (the same geometry types and function signatures): what the layers ran on
//! before those kernels landed, kept as an independent reference for tests.
//!
//! Every image is channel-major (`[channels][height][width]`), a batch is images one after
//! another, and a convolution's weights are `[out][in][kh][kw]`, as in PyTorch.

/// The geometry of a 2-D convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Input rows.
    pub in_height: usize,
    /// Input columns.
    pub in_width: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel rows.
    pub kernel_height: usize,
    /// Kernel columns.
    pub kernel_width: usize,
    /// The step between windows.
    pub stride: usize,
    /// The zeros on every side.
    pub pad: usize,
}

impl Conv2d {
    /// Output rows: `(in + 2·pad - kernel) / stride + 1`.
    pub const fn out_height(&self) -> usize {
        (self.in_height + 2 * self.pad - self.kernel_height) / self.stride + 1
    }

    /// Output columns.
    pub const fn out_width(&self) -> usize {
        (self.in_width + 2 * self.pad - self.kernel_width) / self.stride + 1
    }

    /// Values of one input image.
    pub const fn input_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    /// Values of one output image.
    pub const fn output_len(&self) -> usize {
        self.out_channels * self.out_height() * self.out_width()
    }

    /// Values of the weight tensor `[out, in, kh, kw]`.
    pub const fn weight_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel_height * self.kernel_width
    }

    /// Scratch values for a batch: none for this direct convolution.
    pub const fn scratch_len(&self, batch: usize) -> usize {
        let _ = batch;
        0
    }
}

/// The outputs `o` whose input position `o·stride + k - pad` lies in `0..len` (of `out` outputs),
/// as a range: the rows (or columns) kernel offset `k` reaches.
fn reach(k: usize, pad: usize, stride: usize, len: usize, out: usize) -> core::ops::Range<usize> {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = (len + pad).saturating_sub(k).div_ceil(stride).min(out);
    lo..hi.max(lo)
}

/// `out = W ⋆ x + b` for `n` images, offset by offset: for each filter, channel and kernel
/// position, a scaled row of the input is added to each output row it reaches.
pub fn conv2d_forward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    _scratch: &mut [f32],
) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let (kh, kw, s, p) = (g.kernel_height, g.kernel_width, g.stride, g.pad);
    let (h, wd) = (g.in_height, g.in_width);
    for i in 0..n {
        let x = &x[i * g.input_len()..(i + 1) * g.input_len()];
        let out = &mut out[i * g.output_len()..(i + 1) * g.output_len()];
        for f in 0..g.out_channels {
            let plane = &mut out[f * oh * ow..(f + 1) * oh * ow];
            plane.fill(b[f]);
            for c in 0..g.in_channels {
                let image = &x[c * h * wd..(c + 1) * h * wd];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let wv = w[((f * g.in_channels + c) * kh + ky) * kw + kx];
                        let cols = reach(kx, p, s, wd, ow);
                        for oy in reach(ky, p, s, h, oh) {
                            let row = &image[(oy * s + ky - p) * wd..][..wd];
                            let dst = &mut plane[oy * ow..(oy + 1) * ow];
                            for ox in cols.clone() {
                                dst[ox] += wv * row[ox * s + kx - p];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// From `delta = ∂L/∂out`: `gw = Σ δ ⋆ x`, `gb = Σ δ` (overwritten), and `dx = Wᵀ ⋆ δ` if asked.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &Conv2d,
    n: usize,
    x: &[f32],
    w: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    mut dx: Option<&mut [f32]>,
    _scratch: &mut [f32],
) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let (kh, kw, s, p) = (g.kernel_height, g.kernel_width, g.stride, g.pad);
    let (h, wd) = (g.in_height, g.in_width);
    gw.fill(0.0);
    gb.fill(0.0);
    if let Some(dx) = dx.as_deref_mut() {
        dx[..n * g.input_len()].fill(0.0);
    }
    for i in 0..n {
        let xi = &x[i * g.input_len()..(i + 1) * g.input_len()];
        let di = &delta[i * g.output_len()..(i + 1) * g.output_len()];
        for f in 0..g.out_channels {
            let plane = &di[f * oh * ow..(f + 1) * oh * ow];
            gb[f] += plane.iter().sum::<f32>();
            for c in 0..g.in_channels {
                let image = &xi[c * h * wd..(c + 1) * h * wd];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let wi = ((f * g.in_channels + c) * kh + ky) * kw + kx;
                        let cols = reach(kx, p, s, wd, ow);
                        let mut sum = 0.0;
                        for oy in reach(ky, p, s, h, oh) {
                            let y = oy * s + ky - p;
                            let d = &plane[oy * ow..(oy + 1) * ow];
                            let row = &image[y * wd..(y + 1) * wd];
                            for ox in cols.clone() {
                                sum += d[ox] * row[ox * s + kx - p];
                            }
                            if let Some(dx) = dx.as_deref_mut() {
                                let base = i * g.input_len() + c * h * wd + y * wd;
                                let dst = &mut dx[base..base + wd];
                                for ox in cols.clone() {
                                    dst[ox * s + kx - p] += w[wi] * d[ox];
                                }
                            }
                        }
                        gw[wi] += sum;
                    }
                }
            }
        }
    }
}

/// The geometry of a 2-D pooling, each channel alone, windows that fit whole (PyTorch's floor
/// rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2d {
    /// Channels.
    pub channels: usize,
    /// Input rows.
    pub in_height: usize,
    /// Input columns.
    pub in_width: usize,
    /// Window rows.
    pub window_height: usize,
    /// Window columns.
    pub window_width: usize,
    /// The step between windows.
    pub stride: usize,
}

impl Pool2d {
    /// Output rows: `(in - window) / stride + 1`.
    pub const fn out_height(&self) -> usize {
        (self.in_height - self.window_height) / self.stride + 1
    }

    /// Output columns.
    pub const fn out_width(&self) -> usize {
        (self.in_width - self.window_width) / self.stride + 1
    }

    /// Values of one input image.
    pub const fn input_len(&self) -> usize {
        self.channels * self.in_height * self.in_width
    }

    /// Values of one output image.
    pub const fn output_len(&self) -> usize {
        self.channels * self.out_height() * self.out_width()
    }

    /// The flat input indices of output `(c, oy, ox)`'s window, row by row.
    fn window(&self, c: usize, oy: usize, ox: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.window_height).flat_map(move |ky| {
            (0..self.window_width).map(move |kx| {
                (c * self.in_height + oy * self.stride + ky) * self.in_width + ox * self.stride + kx
            })
        })
    }

    /// Each output's `(image, channel, row, column)` with its flat index.
    fn outputs(&self, n: usize) -> impl Iterator<Item = (usize, usize, usize, usize, usize)> + '_ {
        let (oh, ow) = (self.out_height(), self.out_width());
        (0..n).flat_map(move |i| {
            (0..self.channels).flat_map(move |c| {
                (0..oh).flat_map(move |oy| {
                    (0..ow).map(move |ox| {
                        (
                            i,
                            c,
                            oy,
                            ox,
                            i * self.output_len() + (c * oh + oy) * ow + ox,
                        )
                    })
                })
            })
        })
    }
}

/// The largest value of each window, and its input index (within the image) in `argmax`; the
/// first of equal values wins.
pub fn maxpool2d_forward(g: &Pool2d, n: usize, x: &[f32], out: &mut [f32], argmax: &mut [u32]) {
    for (i, c, oy, ox, o) in g.outputs(n) {
        let xi = &x[i * g.input_len()..(i + 1) * g.input_len()];
        let mut window = g.window(c, oy, ox);
        let Some(first) = window.next() else { continue };
        let (mut best, mut at) = (xi[first], first);
        for k in window {
            if xi[k] > best {
                best = xi[k];
                at = k;
            }
        }
        out[o] = best;
        argmax[o] = at as u32;
    }
}

/// `dx` gets each output's gradient at its window's maximum (overwritten first).
pub fn maxpool2d_backward(g: &Pool2d, n: usize, delta: &[f32], argmax: &[u32], dx: &mut [f32]) {
    dx[..n * g.input_len()].fill(0.0);
    for (i, _, _, _, o) in g.outputs(n) {
        dx[i * g.input_len() + argmax[o] as usize] += delta[o];
    }
}

/// The mean of each window.
pub fn avgpool2d_forward(g: &Pool2d, n: usize, x: &[f32], out: &mut [f32]) {
    let area = (g.window_height * g.window_width) as f32;
    for (i, c, oy, ox, o) in g.outputs(n) {
        let xi = &x[i * g.input_len()..(i + 1) * g.input_len()];
        out[o] = g.window(c, oy, ox).map(|k| xi[k]).sum::<f32>() / area;
    }
}

/// `dx` gets each output's gradient spread evenly over its window (overwritten first).
pub fn avgpool2d_backward(g: &Pool2d, n: usize, delta: &[f32], dx: &mut [f32]) {
    let area = (g.window_height * g.window_width) as f32;
    dx[..n * g.input_len()].fill(0.0);
    for (i, c, oy, ox, o) in g.outputs(n) {
        for k in g.window(c, oy, ox) {
            dx[i * g.input_len() + k] += delta[o] / area;
        }
    }
}
