//! The image operations: 2-D convolution and max and average pooling over one channel-major
//! image, in plain loops (the tape's own, independent of the kernels `network!` calls).

use super::{Op, Scalar, Shape, Tape, TapeError, Var};

/// The shape of an image stored as a vector, channel-major (`[channels][height][width]`, as a
/// contiguous PyTorch tensor of one sample lies in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Image {
    /// The number of channels.
    pub channels: usize,
    /// The number of rows.
    pub height: usize,
    /// The number of columns.
    pub width: usize,
}

impl Image {
    /// `channels × height × width`.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// The number of values.
    pub fn len(self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether it holds no values.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The values of one channel: `height × width`.
    pub fn spatial(self) -> usize {
        self.height * self.width
    }

    /// The image `crate::model::Shape` describes, if it is one.
    pub fn from_shape(shape: crate::model::Shape) -> Option<Self> {
        match shape {
            crate::model::Shape::Image {
                channels,
                height,
                width,
            } => Some(Self::new(channels, height, width)),
            crate::model::Shape::Flat(_) => None,
        }
    }
}

/// How a kernel or a pooling window moves over an image: its `[height, width]`, the step
/// between windows and the zeros added on every side (0 for pooling). Only the windows that
/// fit whole are kept (PyTorch's floor rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// `[height, width]`.
    pub size: [usize; 2],
    /// The step between windows, in both directions.
    pub stride: usize,
    /// The zeros added on every side.
    pub pad: usize,
}

impl Window {
    /// The image a window of this geometry gives over `input` with `channels` output channels:
    /// `(in + 2·pad - size) / stride + 1` along each axis, rounded down.
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] for a stride or size of 0, or a window larger than the padded
    /// input.
    pub fn output(
        self,
        op: &'static str,
        input: Image,
        channels: usize,
    ) -> Result<Image, TapeError> {
        let [kh, kw] = self.size;
        let (h, w) = (input.height + 2 * self.pad, input.width + 2 * self.pad);
        if self.stride == 0 || kh == 0 || kw == 0 || h < kh || w < kw {
            return Err(TapeError::Geometry {
                op,
                detail: format!(
                    "a {kh}x{kw} window with stride {} and pad {} does not fit {}x{}",
                    self.stride, self.pad, input.height, input.width
                ),
            });
        }
        Ok(Image::new(
            channels,
            (h - kh) / self.stride + 1,
            (w - kw) / self.stride + 1,
        ))
    }
}

impl<T: Scalar> Tape<T> {
    fn image_input(&self, op: &'static str, x: Var, image: Image) -> Result<(), TapeError> {
        let len = self.vector_len(op, x)?;
        if len != image.len() {
            return Err(TapeError::Geometry {
                op,
                detail: format!(
                    "{len} values are not a {}x{}x{} image ({} values)",
                    image.channels,
                    image.height,
                    image.width,
                    image.len()
                ),
            });
        }
        Ok(())
    }

    /// A 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) of the image `x` with the
    /// filters `w`, a `filters × (channels·kh·kw)` matrix (each row a filter laid out
    /// `[channel][row][column]`, as `Conv2d.weight`):
    /// `o[f][y][x] = Σ_{c,i,j} w[f][c][i][j]·x[c][y·s+i-p][x·s+j-p]`, pixels in the padding
    /// reading as 0. No bias: add one with [`broadcast`](Self::broadcast) and
    /// [`add`](Self::add).
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] unless `x` holds `image`'s values, `w` has
    /// `image.channels·kh·kw` columns and the window fits.
    pub fn conv2d(
        &mut self,
        x: Var,
        w: Var,
        image: Image,
        window: Window,
    ) -> Result<Var, TapeError> {
        self.image_input("conv2d", x, image)?;
        let ws = self.shape(w)?;
        let [kh, kw] = window.size;
        if ws.cols != image.channels * kh * kw {
            return Err(TapeError::Geometry {
                op: "conv2d",
                detail: format!(
                    "filters of {} values cannot be {}x{kh}x{kw} kernels",
                    ws.cols, image.channels
                ),
            });
        }
        let out = window.output("conv2d", image, ws.rows)?;
        let mut o = vec![T::ZERO; out.len()];
        let (xv, wv) = (&self.values[x.0], &self.values[w.0]);
        for_each_tap(image, window, out, |oi, xi, wi| o[oi] += wv[wi] * xv[xi]);
        Ok(self.push(o, Shape::vector(out.len()), Op::Conv(x, w, image, window)))
    }

    /// Max pooling of each channel of the image `x` alone: each output the largest value of
    /// its window (the first one in row-major order on a tie).
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] unless `x` holds `image`'s values, the window fits and its
    /// `pad` is 0.
    pub fn max_pool(&mut self, x: Var, image: Image, window: Window) -> Result<Var, TapeError> {
        let out = self.pool_output("max_pool", x, image, window)?;
        let xv = &self.values[x.0];
        let mut argmax: Vec<Option<usize>> = vec![None; out.len()];
        for_each_window(image, window, out, |oi, xi| {
            if argmax[oi].is_none_or(|best| xv[xi] > xv[best]) {
                argmax[oi] = Some(xi);
            }
        });
        // Every window holds at least one pixel (the window's size is checked above).
        let argmax: Vec<usize> = argmax.into_iter().map(|a| a.unwrap_or(0)).collect();
        let o = argmax.iter().map(|&i| xv[i]).collect();
        Ok(self.push(o, Shape::vector(out.len()), Op::MaxPool(x, argmax)))
    }

    /// Average pooling of each channel of the image `x` alone: each output the mean of its
    /// window's `kh·kw` values.
    ///
    /// # Errors
    ///
    /// As for [`max_pool`](Self::max_pool).
    pub fn avg_pool(&mut self, x: Var, image: Image, window: Window) -> Result<Var, TapeError> {
        let out = self.pool_output("avg_pool", x, image, window)?;
        let xv = &self.values[x.0];
        let k = T::ONE / T::from_usize(window.size[0] * window.size[1]);
        let mut o = vec![T::ZERO; out.len()];
        for_each_window(image, window, out, |oi, xi| o[oi] += k * xv[xi]);
        Ok(self.push(o, Shape::vector(out.len()), Op::AvgPool(x, image, window)))
    }

    fn pool_output(
        &self,
        op: &'static str,
        x: Var,
        image: Image,
        window: Window,
    ) -> Result<Image, TapeError> {
        self.image_input(op, x, image)?;
        if window.pad != 0 {
            return Err(TapeError::Geometry {
                op,
                detail: format!("pooling takes no padding, found pad {}", window.pad),
            });
        }
        window.output(op, image, image.channels)
    }
}

/// Calls `f(output index, input index, weight index)` for every product of a convolution of
/// `image` by `window` into `out`, skipping the taps that fall in the padding.
fn for_each_tap(image: Image, window: Window, out: Image, mut f: impl FnMut(usize, usize, usize)) {
    let [kh, kw] = window.size;
    let (s, p) = (window.stride, window.pad);
    for filter in 0..out.channels {
        for oy in 0..out.height {
            for ox in 0..out.width {
                let oi = (filter * out.height + oy) * out.width + ox;
                for c in 0..image.channels {
                    for i in 0..kh {
                        let Some(y) = (oy * s + i).checked_sub(p).filter(|&y| y < image.height)
                        else {
                            continue;
                        };
                        for j in 0..kw {
                            let Some(x) = (ox * s + j).checked_sub(p).filter(|&x| x < image.width)
                            else {
                                continue;
                            };
                            let xi = (c * image.height + y) * image.width + x;
                            let wi = ((filter * image.channels + c) * kh + i) * kw + j;
                            f(oi, xi, wi);
                        }
                    }
                }
            }
        }
    }
}

/// Calls `f(output index, input index)` for every pixel of every pooling window of `image`
/// (no padding) into `out`, in row-major order within each window.
fn for_each_window(image: Image, window: Window, out: Image, mut f: impl FnMut(usize, usize)) {
    let [kh, kw] = window.size;
    let s = window.stride;
    for c in 0..out.channels {
        for oy in 0..out.height {
            for ox in 0..out.width {
                let oi = (c * out.height + oy) * out.width + ox;
                for i in 0..kh {
                    for j in 0..kw {
                        let xi = (c * image.height + oy * s + i) * image.width + ox * s + j;
                        f(oi, xi);
                    }
                }
            }
        }
    }
}

/// The local derivative of [`conv2d`](Tape::conv2d): for every product `o += w·x` of the
/// forward pass, `∂w += g_o·x` and `∂x += g_o·w`.
pub(super) fn conv2d_backward<T: Scalar>(
    x: Var,
    w: Var,
    image: Image,
    window: Window,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let filters = values[w.0].len() / (image.channels * window.size[0] * window.size[1]);
    // The geometry was checked when the node was recorded.
    let Ok(out) = window.output("conv2d", image, filters) else {
        return;
    };
    let (xv, wv) = (&values[x.0], &values[w.0]);
    let mut dw = vec![T::ZERO; wv.len()];
    let mut dx = vec![T::ZERO; xv.len()];
    for_each_tap(image, window, out, |oi, xi, wi| {
        dw[wi] += g[oi] * xv[xi];
        dx[xi] += g[oi] * wv[wi];
    });
    for (v, local) in [(w, dw), (x, dx)] {
        for (d, l) in grads[v.0].iter_mut().zip(local) {
            *d += l;
        }
    }
}

/// The local derivative of [`max_pool`](Tape::max_pool): each window's gradient goes to its
/// maximum.
pub(super) fn max_pool_backward<T: Scalar>(
    x: Var,
    argmax: &[usize],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let dx = &mut grads[x.0];
    for (&i, &g) in argmax.iter().zip(g) {
        dx[i] += g;
    }
}

/// The local derivative of [`avg_pool`](Tape::avg_pool): `∂x += g / (kh·kw)` over each window.
pub(super) fn avg_pool_backward<T: Scalar>(
    x: Var,
    image: Image,
    window: Window,
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let Ok(out) = window.output("avg_pool", image, image.channels) else {
        return;
    };
    let k = T::ONE / T::from_usize(window.size[0] * window.size[1]);
    let dx = &mut grads[x.0];
    for_each_window(image, window, out, |oi, xi| dx[xi] += k * g[oi]);
}
