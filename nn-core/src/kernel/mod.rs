//! The arithmetic under [`Dense`](crate::dense::Dense): the three matrix products of a layer, the
//! activations over a slice, and the momentum update.
//!
//! All matrices are row-major. `n` is the batch size, `i` a layer's inputs, `o` its outputs.
//!
//! | product | formula | used for |
//! | --- | --- | --- |
//! | [`affine`] | `Z = X·Wᵀ + 1·bᵀ` | the forward pass |
//! | [`weight_grad`] | `∂W = Δᵀ·X`, `∂b = Σ_rows Δ` | the weight and bias gradients |
//! | [`input_grad`] | `∂X = Δ·W` | the gradient passed to the layer below |
//!
//! And every activation, forward and backward, over a slice (a whole batch at once, or one row
//! for softmax), each with the accuracy its docs state and the tests assert against f64:
//!
//! | activation | forward | backward | x86 back ends vs. portable |
//! | --- | --- | --- | --- |
//! | sigmoid | [`logistic_in_place`] | [`logistic_backward`] | ≤ 4 ulp; backward same bits |
//! | tanh | [`tanh_in_place`] | [`tanh_backward`] | ≤ 2 ulp; backward same bits |
//! | relu | [`relu_in_place`] | [`relu_backward`] | same bits |
//! | softplus | [`softplus_in_place`] | [`softplus_backward`] | ≤ 2 ulp, ≤ 4 ulp |
//! | leaky relu | [`leaky_relu_in_place`] | [`leaky_relu_backward`] | same bits |
//! | gelu (tanh form) | [`gelu_in_place`] | [`gelu_backward`] | ≤ [`GELU_ULP`] + 2κ ulp (κ the condition number) |
//! | silu | [`silu_in_place`] | [`silu_backward`] | ≤ [`SILU_ULP`] + 2κ ulp |
//! | softmax | [`softmax_in_place`], [`softmax_rows`] | [`softmax_backward`], [`softmax_backward_rows`] | ≤ `4 + n/8 + \|zᵢ - m\|` ulp |
//! | cross-entropy | [`log_sum_exp`] | | ≤ `4 + n/8` ulp of `max(\|lse\|, 1)` |
//!
//! The portable back end computes each exactly as the scalar code always has (`tanh`,
//! [`math::logistic`](crate::math::logistic), [`math::softplus`](crate::math::softplus), the
//! in-order softmax), its `e^x`, `tanh` and logarithms by the `libm` crate with `std` and
//! without, so that it gives the same bits on every platform and in a `no_std` firmware; the two x86 back ends give each other's bits for every elementwise
//! activation (sixteen lanes run the same operations as eight).
//!
//! # Back ends
//!
//! Every kernel has one implementation a back end, behind one private trait, and the back end
//! is chosen once, the first time a kernel runs, from the CPU's features:
//!
//! | back end | CPU | where |
//! | --- | --- | --- |
//! | `avx512` | x86-64 with AVX-512F (and AVX2, FMA) | register-tiled sixteen-lane kernels |
//! | `avx2` | x86-64 with AVX2 and FMA | the same tiling in eight lanes |
//! | `portable` | any other | plain loops the compiler vectorises for the baseline target |
//!
//! [`backend_name`] says which one runs; `NN_KERNEL=portable` in the environment makes a
//! process run the portable one (to compare speeds, or to get the bits of a CPU without AVX).
//! Without nn-core's `std` feature, which can neither ask the CPU nor read the environment, the
//! choice is made at compile time: the AVX-512 back end if the crate is compiled with
//! `avx512f`, `avx2` and `fma` enabled (`-C target-feature` or `-C target-cpu`), the AVX2 one
//! with `avx2` and `fma`, the portable one otherwise.
//!
//! The two x86 back ends live in the private `x86` module, the only place in nn-core with
//! `unsafe`. So a default `cargo build --release`, without `-C target-cpu`, runs the fast code
//! on a machine that has it. A batch of one row takes the same kernels, which then are plain
//! matrix-vector products: there is no packing or setup to amortise.
//!
//! Every product sums in an order fixed by the shapes alone, so the same inputs give the same
//! bits on one machine, run after run. The three back ends sum in different orders (and the
//! SIMD ones fuse each multiply-add), so CPUs with AVX-512F, with only AVX2 and FMA, and with
//! neither give results that differ by f32 rounding. Nothing allocates.
//!
//! # Panics
//!
//! [`affine`], [`weight_grad`] and [`input_grad`] panic if a slice is shorter than the matrix
//! its dimensions describe (as slice indexing does); [`Dense`](crate::dense::Dense) always passes
//! slices of the right length.

pub mod conv;
pub(crate) mod double;
pub mod pool;
mod portable;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86;

#[cfg(feature = "std")]
use std::sync::OnceLock;

/// One implementation of every kernel: the portable loops, or the SIMD code of one x86 ISA.
///
/// Each method has the contract of the public function of the same name in this module
/// (shapes, overwriting, the sum order fixed by the shapes), and must check its slices itself
/// (the `check_*` functions below): a back end is sound for any arguments.
trait Backend: Sync {
    /// The back end's name, as [`backend_name`] reports it.
    fn name(&self) -> &'static str;

    /// See [`affine`].
    #[allow(clippy::too_many_arguments)]
    fn affine(
        &self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        out: &mut [f32],
    );

    /// See [`affine_tanh`]. By default the back end's own [`affine`](Backend::affine), then
    /// its [`tanh`](Backend::tanh) over the output: the bits every override must give.
    #[allow(clippy::too_many_arguments)]
    fn affine_tanh(
        &self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        sums: Option<&mut [f32]>,
        out: &mut [f32],
    ) {
        affine_then_tanh(self, n, i, o, x, w, b, sums, out);
    }

    /// See [`weight_grad`].
    #[allow(clippy::too_many_arguments)]
    fn weight_grad(
        &self,
        n: usize,
        i: usize,
        o: usize,
        x: &[f32],
        delta: &[f32],
        gw: &mut [f32],
        gb: &mut [f32],
    );

    /// See [`input_grad`].
    #[allow(clippy::too_many_arguments)]
    fn input_grad(&self, n: usize, i: usize, o: usize, delta: &[f32], w: &[f32], dx: &mut [f32]);

    /// See [`momentum`].
    fn momentum(&self, lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]);

    /// See [`momentum_outer`]; the slices are checked by the caller ([`check_outer`]).
    fn momentum_outer(
        &self,
        lr: f32,
        mu: f32,
        w: &mut [f32],
        v: &mut [f32],
        delta: &[f32],
        x: &[f32],
    );

    /// See [`logistic_in_place`].
    fn logistic(&self, v: &mut [f32]);

    /// See [`gelu_in_place`].
    fn gelu(&self, v: &mut [f32]);

    /// See [`gelu_backward`].
    fn gelu_backward(&self, z: &[f32], g: &mut [f32]);

    /// See [`silu_in_place`].
    fn silu(&self, v: &mut [f32]);

    /// See [`silu_backward`].
    fn silu_backward(&self, z: &[f32], g: &mut [f32]);

    /// See [`leaky_relu_in_place`].
    fn leaky_relu(&self, v: &mut [f32], slope: f32);

    /// See [`leaky_relu_backward`].
    fn leaky_relu_backward(&self, z: &[f32], g: &mut [f32], slope: f32);

    /// See [`logistic_backward`].
    fn logistic_backward(&self, a: &[f32], g: &mut [f32]);

    /// See [`tanh_in_place`].
    fn tanh(&self, v: &mut [f32]);

    /// See [`tanh_backward`].
    fn tanh_backward(&self, a: &[f32], g: &mut [f32]);

    /// See [`relu_in_place`].
    fn relu(&self, v: &mut [f32]);

    /// See [`relu_backward`].
    fn relu_backward(&self, z: &[f32], g: &mut [f32]);

    /// See [`softplus_in_place`].
    fn softplus(&self, v: &mut [f32]);

    /// See [`softplus_backward`].
    fn softplus_backward(&self, z: &[f32], g: &mut [f32]);

    /// See [`softmax_in_place`].
    fn softmax(&self, v: &mut [f32]);

    /// See [`softmax_backward`].
    fn softmax_backward(&self, a: &[f32], g: &mut [f32]);

    /// See [`softmax_rows`].
    fn softmax_rows(&self, v: &mut [f32], width: usize);

    /// See [`softmax_backward_rows`].
    fn softmax_backward_rows(&self, a: &[f32], g: &mut [f32], width: usize);

    /// See [`log_sum_exp`].
    fn log_sum_exp(&self, z: &[f32]) -> f32;

    /// The strided product `C = A·B` (or `C += A·B`) under the convolution kernels; see
    /// [`conv::Strided`]. The default is the portable loops.
    fn strided_product(&self, s: &conv::Strided, a: &[f32], b: &[f32], c: &mut [f32]) {
        conv::strided_product(s, a, b, c);
    }

    /// The lane-wise dot products under the convolutions' weight gradient; see
    /// [`conv::LaneDots`]. The default is the portable loops.
    fn lane_dots(
        &self,
        d: &conv::LaneDots,
        a: &[f32],
        b: &[f32],
        part: &mut [f32],
        out: &mut [f32],
    ) {
        conv::lane_dots(d, a, b, part, out);
    }

    /// Max pooling of one sample with 2x2 windows and stride 2, as `pool::max2x2` (the
    /// default) describes.
    fn max2x2(&self, g: &pool::Pool2d, x: &[f32], out: &mut [f32], argmax: &mut [u32]) {
        pool::max2x2(g, x, out, argmax);
    }
}

/// The back end of this process, chosen on the first call: the widest the CPU has, or the
/// portable one if the environment variable `NN_KERNEL` is `portable` (to compare the two, or
/// to get a CPU without AVX's bits on one with it).
#[cfg(feature = "std")]
#[inline]
fn backend() -> &'static dyn Backend {
    static CHOSEN: OnceLock<&'static dyn Backend> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        if std::env::var_os("NN_KERNEL").is_some_and(|v| v == "portable") {
            return &portable::Portable;
        }
        chosen_at_compile_time_or_detected()
    })
}

/// Without `std`, which can neither ask the CPU nor cache an answer: the back end the crate was
/// compiled for (`-C target-feature=+avx2,+fma`, `+avx512f`, or a `-C target-cpu` that has
/// them), the portable one otherwise. The choice is a constant, so the compiler sees through it.
#[cfg(not(feature = "std"))]
#[inline]
fn backend() -> &'static dyn Backend {
    chosen_at_compile_time_or_detected()
}

/// The x86 back end `detect` finds (at run time with `std`, from the target features without),
/// else the portable one.
#[inline]
fn chosen_at_compile_time_or_detected() -> &'static dyn Backend {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = x86::detect() {
        return cpu;
    }
    &portable::Portable
}

/// The name of the back end the kernels run on in this process: `"avx512"`, `"avx2"` or
/// `"portable"` (see the [module docs](self)).
///
/// ```
/// let name = nn_core::kernel::backend_name();
/// assert!(["avx512", "avx2", "portable"].contains(&name));
/// ```
pub fn backend_name() -> &'static str {
    backend().name()
}

/// `len ≥ rows·cols`, without overflow.
fn holds(len: usize, rows: usize, cols: usize) -> bool {
    rows.checked_mul(cols).is_some_and(|need| len >= need)
}

/// [`affine_tanh`] unfused, on back end `cpu`: its [`affine`](Backend::affine) into the sums
/// (or the output), the sums copied to the output, then its [`tanh`](Backend::tanh) over the
/// output's first `n × o` values. The default of [`Backend::affine_tanh`], and what the x86
/// back ends do where they do not fuse.
#[allow(clippy::too_many_arguments)]
fn affine_then_tanh<B: Backend + ?Sized>(
    cpu: &B,
    n: usize,
    i: usize,
    o: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    sums: Option<&mut [f32]>,
    out: &mut [f32],
) {
    check(out.len(), n, o);
    let out = &mut out[..n * o];
    match sums {
        Some(z) => {
            cpu.affine(n, i, o, x, w, b, z);
            out.copy_from_slice(&z[..n * o]);
        }
        None => cpu.affine(n, i, o, x, w, b, out),
    }
    cpu.tanh(out);
}

/// Panics unless a slice of `len` values holds a `rows × cols` matrix.
#[track_caller]
fn check(len: usize, rows: usize, cols: usize) {
    assert!(
        holds(len, rows, cols),
        "a kernel slice of {len} values is smaller than {rows} × {cols}"
    );
}

/// The precondition of [`affine`], which every back end checks on entry.
#[track_caller]
fn check_affine(n: usize, i: usize, o: usize, x: &[f32], w: &[f32], b: &[f32], out: &[f32]) {
    check(x.len(), n, i);
    check(w.len(), o, i);
    check(b.len(), 1, o);
    check(out.len(), n, o);
}

/// The precondition of [`weight_grad`], which every back end checks on entry.
#[track_caller]
fn check_weight_grad(
    n: usize,
    i: usize,
    o: usize,
    x: &[f32],
    delta: &[f32],
    gw: &[f32],
    gb: &[f32],
) {
    check(x.len(), n, i);
    check(delta.len(), n, o);
    check(gw.len(), o, i);
    check(gb.len(), 1, o);
}

/// The precondition of [`input_grad`], which every back end checks on entry.
#[track_caller]
fn check_input_grad(n: usize, i: usize, o: usize, delta: &[f32], w: &[f32], dx: &[f32]) {
    check(delta.len(), n, o);
    check(w.len(), o, i);
    check(dx.len(), n, i);
}

/// `gb[j] = Σ_r delta[r][j]`, summed in order of rows; shared by every back end.
fn bias_grad(n: usize, o: usize, delta: &[f32], gb: &mut [f32]) {
    let gb = &mut gb[..o];
    gb.fill(0.0);
    for ds in delta.chunks_exact(o.max(1)).take(n) {
        for (b, &d) in gb.iter_mut().zip(ds) {
            *b += d;
        }
    }
}

/// Lanes of independent accumulators in [`dot`]: enough to fill a 256-bit register and hide the
/// latency of the adds.
const LANES: usize = 8;
/// The dot product `Σ a[k]·b[k]`, summed in eight independent partial sums so that it
/// vectorises without reordering a single running sum.
///
/// ```
/// assert_eq!(nn_core::kernel::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for k in 0..LANES {
            acc[k] += xa[k] * xb[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    let half = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (half[0] + half[2]) + (half[1] + half[3]) + tail
}

/// `y += alpha · x`.
///
/// ```
/// let mut y = [1.0, 1.0];
/// nn_core::kernel::axpy(2.0, &[1.0, -1.0], &mut y);
/// assert_eq!(y, [3.0, -1.0]);
/// ```
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Forward product `out = X·Wᵀ + 1·bᵀ`: `x` is `n × i`, `w` is `o × i`, `b` has `o` values and
/// `out` is `n × o`; `out[r][j] = b[j] + Σ_k x[r][k]·w[j][k]`.
///
/// ```
/// // X = [[1, 2], [3, 4]], W = [[1, 0], [1, -1]], b = [0.5, 0]: Z = X·Wᵀ + b.
/// let mut z = [0.0; 4];
/// nn_core::kernel::affine(2, 2, 2, &[1.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 1.0, -1.0], &[0.5, 0.0], &mut z);
/// assert_eq!(z, [1.5, -1.0, 3.5, -1.0]);
/// ```
#[inline]
pub fn affine(n: usize, i: usize, o: usize, x: &[f32], w: &[f32], b: &[f32], out: &mut [f32]) {
    backend().affine(n, i, o, x, w, b, out);
}

/// The forward product of a `tanh` layer: `out = tanh(X·Wᵀ + 1·bᵀ)`, shapes as for
/// [`affine`], and the sums `X·Wᵀ + 1·bᵀ` themselves into `sums` if it is given (a layer in
/// training keeps them for its backward pass).
///
/// The bits of [`affine`] followed by [`tanh_in_place`] over the first `n × o` values of
/// `out` (and `sums` gets [`affine`]'s), on every back end; the AVX-512 back end takes the
/// `tanh` of each tile of a packed product while it is still in registers, which saves a pass
/// over the output.
///
/// ```
/// let (x, w, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 1.0, -1.0], [0.5, 0.0]);
/// let (mut z, mut a) = ([0.0; 4], [0.0; 4]);
/// nn_core::kernel::affine_tanh(2, 2, 2, &x, &w, &b, Some(&mut z), &mut a);
/// assert_eq!(z, [1.5, -1.0, 3.5, -1.0]);
/// let mut want = z;
/// nn_core::kernel::tanh_in_place(&mut want);
/// assert_eq!(a, want);
/// ```
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn affine_tanh(
    n: usize,
    i: usize,
    o: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    sums: Option<&mut [f32]>,
    out: &mut [f32],
) {
    backend().affine_tanh(n, i, o, x, w, b, sums, out);
}

/// Weight gradient `gw = Δᵀ·X` and bias gradient `gb = Σ_rows Δ`, overwriting both: `delta` is
/// `n × o`, `x` is `n × i`, `gw` is `o × i`; `gw[j][k] = Σ_r delta[r][j]·x[r][k]` and
/// `gb[j] = Σ_r delta[r][j]`.
///
/// ```
/// // One sample: the outer product δ·xᵀ.
/// let (mut gw, mut gb) = ([0.0; 6], [0.0; 2]);
/// nn_core::kernel::weight_grad(1, 3, 2, &[1.0, 2.0, 3.0], &[2.0, -1.0], &mut gw, &mut gb);
/// assert_eq!(gw, [2.0, 4.0, 6.0, -1.0, -2.0, -3.0]);
/// assert_eq!(gb, [2.0, -1.0]);
/// ```
#[inline]
pub fn weight_grad(
    n: usize,
    i: usize,
    o: usize,
    x: &[f32],
    delta: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
) {
    backend().weight_grad(n, i, o, x, delta, gw, gb);
}

/// Input gradient `dx = Δ·W`, overwriting `dx`: `delta` is `n × o`, `w` is `o × i`, `dx` is
/// `n × i`; `dx[r][k] = Σ_j delta[r][j]·w[j][k]`.
///
/// ```
/// // One sample: Wᵀ·δ.
/// let mut dx = [0.0; 3];
/// nn_core::kernel::input_grad(1, 3, 2, &[2.0, -1.0], &[1.0, 2.0, 3.0, 0.0, 1.0, 1.0], &mut dx);
/// assert_eq!(dx, [2.0, 3.0, 5.0]);
/// ```
#[inline]
pub fn input_grad(n: usize, i: usize, o: usize, delta: &[f32], w: &[f32], dx: &mut [f32]) {
    backend().input_grad(n, i, o, delta, w, dx);
}

/// The logistic function `1 / (1 + e^-z)` of every value, in place: what
/// [`Sigmoid`](crate::activation::Sigmoid) does to a layer's weighted sums. The scalar function is
/// [`math::logistic`](crate::math::logistic).
///
/// On the x86 back ends, whole groups of eight values take a SIMD `e^x` accurate to about
/// one ulp, so they may differ from [`math::logistic`](crate::math::logistic) in the last bit
/// or two; the values past the last whole group, and every value on the portable back end,
/// take [`math::logistic`](crate::math::logistic) itself. Either way the two-sided form keeps
/// every result finite and in `[0, 1]`.
///
/// ```
/// let mut v = [0.0f32; 9];
/// nn_core::kernel::logistic_in_place(&mut v);
/// assert!(v.iter().all(|&s| s == 0.5));
/// ```
#[inline]
pub fn logistic_in_place(v: &mut [f32]) {
    backend().logistic(v);
}

/// The chain rule through the logistic function, in place: `g ← g·s(1 - s)` with `s` the
/// function's output `a` (what [`Sigmoid`](crate::activation::Sigmoid)'s backward pass does). Works on the
/// shorter of the two slices.
///
/// The same bits on every back end (the same arithmetic, in wider vectors).
///
/// ```
/// let mut g = [1.0f32, 2.0];
/// nn_core::kernel::logistic_backward(&[0.5, 0.25], &mut g);
/// assert_eq!(g, [0.25, 0.375]);
/// ```
#[inline]
pub fn logistic_backward(a: &[f32], g: &mut [f32]) {
    backend().logistic_backward(a, g);
}

/// The hyperbolic tangent of every value, in place: what [`Tanh`](crate::activation::Tanh) does to a
/// layer's weighted sums.
///
/// The portable back end takes `f32::tanh` of each value. The x86 back ends compute eight
/// (or sixteen) values at a time: `|z| < 0.625` by an odd polynomial (Cephes' `tanhf`), above
/// it `1 - 2 / (e^{2|z|} + 1)` with a SIMD `e^{2|z|} + 1` of its own (shorter than `e^x`'s, as
/// tanh needs no more), the sign put back last. Every result is within **2 ulp** of the exact
/// `tanh` (asserted by the tests on a sweep of `[-20, 20]`, tiny and subnormal values,
/// pseudo-random values and the extremes; the largest error measured there is 1.12 ulp, and
/// 1.89 ulp for `f32::tanh`; over every float of `[0, 10]`, 1.20 ulp, by an ignored test);
/// `±0` keep their sign, `tanh(±∞) = ±1`, NaN stays NaN.
///
/// ```
/// let mut v = [0.0f32, 1000.0, -1000.0, 1e-30];
/// nn_core::kernel::tanh_in_place(&mut v);
/// assert_eq!(v, [0.0, 1.0, -1.0, 1e-30]);
/// ```
#[inline]
pub fn tanh_in_place(v: &mut [f32]) {
    backend().tanh(v);
}

/// The chain rule through tanh, in place: `g ← g·(1 - t²)` with `t` the function's output `a`
/// (what [`Tanh`](crate::activation::Tanh)'s backward pass does). Works on the shorter of the two slices.
///
/// The same bits on every back end.
///
/// ```
/// let mut g = [1.0f32, 2.0];
/// nn_core::kernel::tanh_backward(&[0.0, 0.5], &mut g);
/// assert_eq!(g, [1.0, 1.5]);
/// ```
#[inline]
pub fn tanh_backward(a: &[f32], g: &mut [f32]) {
    backend().tanh_backward(a, g);
}

/// `max(0, z)` of every value, in place: what [`Relu`](crate::activation::Relu) does (a NaN becomes 0, as
/// `f32::max` makes it). The same bits on every back end.
///
/// ```
/// let mut v = [-3.0f32, 0.0, 2.5];
/// nn_core::kernel::relu_in_place(&mut v);
/// assert_eq!(v, [0.0, 0.0, 2.5]);
/// ```
#[inline]
pub fn relu_in_place(v: &mut [f32]) {
    backend().relu(v);
}

/// The chain rule through relu, in place: `g ← 0` where `z ≤ 0`, unchanged elsewhere (what
/// [`Relu`](crate::activation::Relu)'s backward pass does). Works on the shorter of the two slices; the
/// same bits on every back end.
///
/// ```
/// let mut g = [1.0f32, 2.0, 3.0];
/// nn_core::kernel::relu_backward(&[-1.0, 0.0, 0.5], &mut g);
/// assert_eq!(g, [0.0, 0.0, 3.0]);
/// ```
#[inline]
pub fn relu_backward(z: &[f32], g: &mut [f32]) {
    backend().relu_backward(z, g);
}

/// Softplus `ln(1 + e^z)` of every value, in place: what [`Softplus`](crate::activation::Softplus) does.
///
/// The portable back end takes [`math::softplus`](crate::math::softplus) of each value. The x86
/// back ends compute eight at a time in the same stable form `max(z, 0) + ln(1 + e^-|z|)`, with
/// the SIMD `e^x` and a SIMD `ln(1 + t)` (Cephes' `logf` polynomial on `u = 1 + t`, corrected by
/// `(t - (u - 1))/u`). Every result is within **2 ulp** of the exact value, or two subnormal
/// steps where it is subnormal (asserted by the tests on the sweep of [`tanh_in_place`]; the
/// largest error measured there is 1.57 ulp, and 1.14 ulp for the scalar function);
/// `softplus(-1000) = 0`, `softplus(1000) = 1000`, NaN stays NaN.
///
/// ```
/// let mut v = [0.0f32, 1000.0, -1000.0];
/// nn_core::kernel::softplus_in_place(&mut v);
/// assert!((v[0] - 2f32.ln()).abs() < 1e-7);
/// assert_eq!(v[1..], [1000.0, 0.0]);
/// ```
#[inline]
pub fn softplus_in_place(v: &mut [f32]) {
    backend().softplus(v);
}

/// The chain rule through softplus, in place: `g ← g·σ(z)` with `σ` the logistic function
/// (what [`Softplus`](crate::activation::Softplus)'s backward pass does). Works on the shorter of the two
/// slices.
///
/// The portable back end uses [`math::logistic`](crate::math::logistic); the x86 back ends the
/// SIMD logistic of [`logistic_in_place`], eight values at a time. Either way each result is
/// within **4 ulp** of `g·σ(z)` computed exactly (asserted by the tests).
///
/// ```
/// let mut g = [2.0f32, 1.0];
/// nn_core::kernel::softplus_backward(&[0.0, -1000.0], &mut g);
/// assert_eq!(g, [1.0, 0.0]);
/// ```
#[inline]
pub fn softplus_backward(z: &[f32], g: &mut [f32]) {
    backend().softplus_backward(z, g);
}

/// Softmax of one row, in place: `aᵢ = e^(zᵢ - m) / Σⱼ e^(zⱼ - m)` with `m = max z` (what
/// [`Softmax`](crate::activation::Softmax) does to each sample).
///
/// The portable back end sums in order with `f32::exp`; the x86 back ends take the SIMD `e^x`
/// eight values at a time and sum in eight lanes. Each result is within
/// **`4 + n/8 + |zᵢ - m|` ulp** of the exact value for a row of `n` (or as many subnormal steps
/// where it is subnormal; asserted on every back end by the tests for rows of 1 to 70 values,
/// scores up to ±1000). The last term is the rounding of `zᵢ - m` itself, which `e^x` magnifies
/// in any f32 softmax, the portable one included. A row with a NaN is all NaN.
///
/// ```
/// let mut p = [1000.0f32, -1000.0, 0.0];
/// nn_core::kernel::softmax_in_place(&mut p);
/// assert_eq!(p, [1.0, 0.0, 0.0]);
/// ```
#[inline]
pub fn softmax_in_place(v: &mut [f32]) {
    backend().softmax(v);
}

/// The chain rule through the softmax of one row, in place: `gᵢ ← aᵢ (gᵢ - Σⱼ aⱼ gⱼ)`, with `a`
/// the softmax's output (what [`Softmax`](crate::activation::Softmax)'s backward pass does). Works on the
/// shorter of the two slices.
///
/// The x86 back ends sum `Σⱼ aⱼ gⱼ` in eight lanes with fused multiply-adds, so the results
/// may differ from the portable back end's by f32 rounding: each is within
/// `(n + 4)·ε·aᵢ·(|gᵢ| + Σⱼ aⱼ|gⱼ|)` of the exact value (asserted by the tests).
///
/// ```
/// let mut g = [1.0f32, 0.0];
/// nn_core::kernel::softmax_backward(&[0.5, 0.5], &mut g);
/// assert_eq!(g, [0.25, -0.25]);
/// ```
#[inline]
pub fn softmax_backward(a: &[f32], g: &mut [f32]) {
    backend().softmax_backward(a, g);
}

/// [`softmax_in_place`] on every row of a batch laid out row after row, `width` values a row
/// (what [`Softmax`](crate::activation::Softmax) does to a batch); values past the last whole row are left
/// alone. Each row gets the bits [`softmax_in_place`] gives it.
///
/// On the x86 back ends, rows narrower than a vector are not taken in order: each row ends in
/// a masked store, and this CPU makes a load wait for an earlier masked store whose vector it
/// overlaps, even where the lanes do not (no store forwarding), so rows of 10 taken in order
/// ran one at a time, 2× slower than the scalar loop. Rows at least a vector apart are taken in
/// turn instead (rows 0, 2, 4, ..., then 1, 3, 5, ... for rows of 10), and overlap.
///
/// ```
/// let mut p = [0.0f32, 0.0, 1000.0, -1000.0];
/// nn_core::kernel::softmax_rows(&mut p, 2);
/// assert_eq!(p, [0.5, 0.5, 1.0, 0.0]);
/// ```
#[inline]
pub fn softmax_rows(v: &mut [f32], width: usize) {
    backend().softmax_rows(v, width);
}

/// [`softmax_backward`] on every row of a batch laid out row after row, `width` values a row,
/// in the order of [`softmax_rows`]; values past the last whole row of the shorter slice are
/// left alone. Each row gets the bits [`softmax_backward`] gives it.
///
/// ```
/// let mut g = [1.0f32, 0.0, 0.0, 1.0];
/// nn_core::kernel::softmax_backward_rows(&[0.5, 0.5, 0.5, 0.5], &mut g, 2);
/// assert_eq!(g, [0.25, -0.25, -0.25, 0.25]);
/// ```
#[inline]
pub fn softmax_backward_rows(a: &[f32], g: &mut [f32], width: usize) {
    backend().softmax_backward_rows(a, g, width);
}

/// GELU in its tanh form (PyTorch's `nn.GELU(approximate='tanh')`) of every value, in place:
/// what [`Gelu`](crate::activation::Gelu) does to a layer's weighted sums.
///
/// The portable back end computes [`Gelu::function`](crate::activation::Gelu::function),
/// `z/2 · (1 + tanh u)` with `u = √(2/π)·(z + 0.044715·z³)`, libm's `tanhf` (so the bits a
/// firmware gets); below about `z = -3` that form loses its relative accuracy to the
/// cancellation in `1 + tanh u`. The x86 back ends compute the same function as `z·σ(2u)`
/// (`(1 + tanh u)/2 = σ(2u)`), sixteen or eight values at a time with the SIMD `e^x`, within
/// `GELU_ULP + 2κ` ulp of the f64 function, where `κ = |z·gelu'(z)/gelu(z)|` is its condition
/// number (1 near zero, about 160 at `z = -7`: below zero the function is so steep that the
/// rounding of an f32 argument alone costs `κ/2` ulp), and give each other's bits.
///
/// ```
/// let mut v = [0.0f32, 10.0, -10.0];
/// nn_core::kernel::gelu_in_place(&mut v);
/// assert_eq!(v[..2], [0.0, 10.0]);
/// assert!(v[2] <= 0.0 && v[2] > -1e-20);
/// ```
#[inline]
pub fn gelu_in_place(v: &mut [f32]) {
    backend().gelu(v);
}

/// The chain rule through [`gelu_in_place`], `g ← g·gelu'(z)`: on the x86 back ends
/// `gelu'(z) = s + 2z·s(1 - s)·u'` with `s = σ(2u)` and `s(1 - s)` from one `e^-|2u|` (no
/// cancellation), `u' = √(2/π)·(1 + 3·0.044715·z²)`, within `GELU_ULP + 2κ'` ulp of
/// `|g|·(|s| + |2z·s(1 - s)·u'|)`, the size of the terms the derivative sums (it crosses zero
/// near `z = -0.75`), `κ'` the derivative's condition number; the portable one computes
/// [`Gelu::derivative`](crate::activation::Gelu::derivative).
#[inline]
pub fn gelu_backward(z: &[f32], g: &mut [f32]) {
    backend().gelu_backward(z, g);
}

/// SiLU (swish), `z·σ(z)`, of every value, in place: what [`Silu`](crate::activation::Silu)
/// does. The portable back end with [`math::logistic`](crate::math::logistic); the x86 ones
/// with the SIMD logistic of [`logistic_in_place`], within `SILU_ULP + 2κ` ulp of the f64
/// function (`κ = |1 + z(1 - σ(z))|`, its condition number), and each other's bits.
///
/// ```
/// let mut v = [0.0f32, 100.0];
/// nn_core::kernel::silu_in_place(&mut v);
/// assert_eq!(v, [0.0, 100.0]);
/// ```
#[inline]
pub fn silu_in_place(v: &mut [f32]) {
    backend().silu(v);
}

/// The chain rule through [`silu_in_place`], `g ← g·(s + z·s(1 - s))` with `s = σ(z)`: on the
/// x86 back ends within `SILU_ULP + 2κ'` ulp of `|g|·(s + |z|·s(1 - s))` (the derivative
/// crosses zero near `z = -1.28`), `κ'` its condition number.
#[inline]
pub fn silu_backward(z: &[f32], g: &mut [f32]) {
    backend().silu_backward(z, g);
}

/// Leaky relu of every value, in place: `z` for `z > 0`, else `slope·z` (what
/// [`LeakyRelu`](crate::activation::LeakyRelu) does). One loop compiled into every back end:
/// the same bits everywhere.
///
/// ```
/// let mut v = [-2.0f32, 0.0, 3.0];
/// nn_core::kernel::leaky_relu_in_place(&mut v, 0.5);
/// assert_eq!(v, [-1.0, 0.0, 3.0]);
/// ```
#[inline]
pub fn leaky_relu_in_place(v: &mut [f32], slope: f32) {
    backend().leaky_relu(v, slope);
}

/// The chain rule through [`leaky_relu_in_place`]: `g ← slope·g` where `z ≤ 0`.
#[inline]
pub fn leaky_relu_backward(z: &[f32], g: &mut [f32], slope: f32) {
    backend().leaky_relu_backward(z, g, slope);
}

/// The x86 back ends' [`gelu_in_place`] and [`gelu_backward`] are within this many ulp, plus
/// twice the function's condition number, of the f64 function (the backward of the size of its
/// terms); the kernel tests assert it over a sweep of 8,000 inputs (the worst measured: 55% of
/// the allowance forward, 71% backward).
pub const GELU_ULP: f64 = 8.0;

/// The x86 back ends' [`silu_in_place`] and [`silu_backward`] are within this many ulp, plus
/// twice the condition number, of the f64 function (the backward of the size of its terms;
/// the worst measured: 39% and 37% of the allowance).
pub const SILU_ULP: f64 = 6.0;

/// The log-sum-exp `ln Σᵢ e^zᵢ` of a row, computed as `m + ln Σᵢ e^(zᵢ - m)` with `m = max z`
/// so that it never overflows: what [`CrossEntropy`](crate::loss::CrossEntropy) takes of a row of
/// scores. `-∞` for an empty row.
///
/// The x86 back ends take the SIMD `e^x` eight values at a time and sum in eight lanes; the
/// result is within **`4 + n/8` ulp of `max(|lse|, 1)`** for a row of `n` (asserted by the tests
/// for rows of 1 to 70 values, scores up to ±1000).
///
/// ```
/// let lse = nn_core::kernel::log_sum_exp(&[1000.0, 1000.0]);
/// assert_eq!(lse, 1000.0 + 2f32.ln());
/// ```
#[inline]
pub fn log_sum_exp(z: &[f32]) -> f32 {
    backend().log_sum_exp(z)
}

/// One step of gradient descent with momentum on a slice of weights `w`, their velocities `v`
/// and gradients `g`: `v ← α·g + μ·v`, then `w ← w - v` (what [`Momentum`](crate::optim::Momentum)
/// does to every parameter). Works on the shortest of the three slices.
///
/// The same bits on every CPU: the SIMD back ends run the same arithmetic, eight or sixteen
/// weights at once.
///
/// ```
/// let (mut w, mut v) = ([1.0f32, 2.0], [0.5f32, 0.0]);
/// nn_core::kernel::momentum(0.5, 0.5, &mut w, &mut v, &[1.0, -2.0]);
/// assert_eq!(v, [0.75, -1.0]);
/// assert_eq!(w, [0.25, 3.0]);
/// ```
#[inline]
pub fn momentum(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
    backend().momentum(lr, mu, w, v, g);
}

/// [`momentum`] of a layer's weights `w` (`o × i`, row-major) and velocity `v` from the
/// gradient of one sample, `g = δ·xᵀ` (`delta` has `o` values, `x` has `i`), computed value by
/// value as it is used and never stored: `v ← lr·δⱼxₖ + mu·v`, `w ← w - v`.
///
/// Each `δⱼxₖ` is rounded exactly as [`weight_grad`] rounds it at batch 1 on the same back end
/// (`0 + δⱼ·xₖ` on the portable one, `fma(δⱼ, xₖ, 0)` on the x86 ones, which differ in the sign
/// of a zero and in an underflow), so `weight_grad(1, ..)` followed by [`momentum`] gives the
/// same bits: the fused step of [`FusedStep`](crate::optim::FusedStep), which spares writing and
/// reading the gradient (50 KB for the seminar's first layer).
///
/// ```
/// let (mut w, mut v) = ([1.0, 1.0, 1.0, 1.0], [0.0; 4]);
/// nn_core::kernel::momentum_outer(0.5, 0.9, &mut w, &mut v, &[1.0, -2.0], &[2.0, 0.0]);
/// assert_eq!(v, [1.0, 0.0, -2.0, 0.0]);
/// assert_eq!(w, [0.0, 1.0, 3.0, 1.0]);
/// ```
///
/// # Panics
///
/// If `w` or `v` is shorter than `delta.len() × x.len()`.
#[inline]
pub fn momentum_outer(lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], delta: &[f32], x: &[f32]) {
    check_outer(w.len(), v.len(), delta.len(), x.len());
    backend().momentum_outer(lr, mu, w, v, delta, x);
}

/// Panics unless the weights and the velocity hold `o × i` values for `o` deltas and `i`
/// inputs.
#[inline]
pub(crate) fn check_outer(w: usize, v: usize, o: usize, i: usize) {
    let len = o.saturating_mul(i);
    assert!(
        w >= len && v >= len,
        "momentum_outer: weights {w} and velocity {v} for {o} × {i}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|k| k as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|k| 1.0 - k as f32 * 0.25).collect();
        let want: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        assert!((f64::from(dot(&a, &b)) - want).abs() < 1e-3);
    }

    /// Shapes `(n, i, o)`: ones, odd sizes around the SIMD widths (8, 16, and the AVX-512
    /// kernels' blocks of 32 columns) and tiles (2, 4, 8, 16), and the seminar network's layers
    /// at batch 1, 32 and 256.
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 3, 17),
        (3, 17, 1),
        (17, 33, 3),
        (5, 7, 9),
        (3, 24, 5),
        (4, 8, 8),
        (2, 15, 11),
        (5, 48, 33),
        (9, 50, 19),
        (1, 47, 35),
        (3, 31, 12),
        (1, 784, 16),
        (1, 16, 10),
        (2, 784, 16),
        (32, 784, 16),
        (33, 16, 10),
        (32, 16, 16),
        (256, 784, 16),
        // Past the AVX-512 packed kernels' thresholds (`x86/packed.rs`): tails of rows
        // (mod 12, 4), of columns (mod 32, 16) and of the sum (blocks of at most 512), one, two
        // and three blocks; the forward product packed (the first five, and 130 samples over
        // 70 inputs), the gradients packed for rows of 1024 inputs and for a 1 MB `W`.
        (37, 300, 67),
        (70, 65, 97),
        (33, 513, 64),
        (64, 64, 48),
        (45, 33, 50),
        (50, 1100, 48),
        (130, 70, 50),
        // The forward product by rows (`Z = X·Wᵀ`: 64 × 64 at batch 256 as in the deep
        // network, a last panel of 17 outputs), short sums packed (the seminar network's
        // 16 × 16 and 16 × 10 layers at batch 256, 8 outputs), the gradients of a layer of
        // 1024 inputs and 10 outputs packed.
        (256, 64, 64),
        (97, 40, 49),
        (256, 16, 16),
        (256, 16, 10),
        (35, 9, 8),
        (40, 1024, 10),
        // Tiles of one vector: 10 to 16 outputs at batch 128 and up (rows first), a last
        // panel of at most 16 samples (transposed).
        (130, 200, 13),
        (256, 64, 10),
        (47, 33, 200),
        (33, 1024, 50),
        (13, 1024, 600),
        (40, 1001, 262),
        (0, 5, 3),
        (3, 0, 2),
    ];

    /// `len` values in `[-1, 1)` from the tests' xorshift generator.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut data = nn_test_support::Data(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        (0..len).map(|_| data.signed()).collect()
    }

    /// An f64 reference value and the sum of the absolute values of its terms, which bounds the
    /// rounding error of any f32 summation order: `|got - want| ≤ (k + 2)·ε·Σ|terms|`.
    struct Want {
        value: f64,
        magnitude: f64,
        terms: usize,
    }

    fn sum_of(terms: impl Iterator<Item = f64>) -> Want {
        let (mut value, mut magnitude, mut count) = (0.0, 0.0, 0);
        for t in terms {
            value += t;
            magnitude += t.abs();
            count += 1;
        }
        Want {
            value,
            magnitude,
            terms: count,
        }
    }

    fn assert_close(what: &str, shape: (usize, usize, usize), got: &[f32], want: &[Want]) {
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            let tol = (w.terms as f64 + 2.0) * f64::from(f32::EPSILON) * w.magnitude;
            let err = (f64::from(*g) - w.value).abs();
            assert!(
                err <= tol,
                "{what} {shape:?} [{k}]: got {g}, want {} (error {err:e}, bound {tol:e})",
                w.value
            );
        }
    }

    /// The three products of one shape, in f64 straight from their formulas.
    struct Reference {
        z: Vec<Want>,
        gw: Vec<Want>,
        gb: Vec<Want>,
        dx: Vec<Want>,
    }

    fn reference(
        (n, i, o): (usize, usize, usize),
        x: &[f32],
        w: &[f32],
        b: &[f32],
        d: &[f32],
    ) -> Reference {
        let f = f64::from;
        let mut z = Vec::new();
        for r in 0..n {
            for j in 0..o {
                let products = (0..i).map(|k| f(x[r * i + k]) * f(w[j * i + k]));
                z.push(sum_of(core::iter::once(f(b[j])).chain(products)));
            }
        }
        let mut gw = Vec::new();
        for j in 0..o {
            for k in 0..i {
                gw.push(sum_of((0..n).map(|r| f(d[r * o + j]) * f(x[r * i + k]))));
            }
        }
        let gb = (0..o)
            .map(|j| sum_of((0..n).map(|r| f(d[r * o + j]))))
            .collect();
        let mut dx = Vec::new();
        for r in 0..n {
            for k in 0..i {
                dx.push(sum_of((0..o).map(|j| f(d[r * o + j]) * f(w[j * i + k]))));
            }
        }
        Reference { z, gw, gb, dx }
    }

    /// Runs one back end's three products on every shape against the f64 reference, into
    /// buffers filled with NaN first (so every output must be written).
    fn check_products(name: &str, cpu: &dyn Backend) {
        for (s, &shape) in SHAPES.iter().enumerate() {
            let (n, i, o) = shape;
            let seed = 4 * s as u64;
            let x = values(n * i, seed);
            let w = values(o * i, seed + 1);
            let b = values(o, seed + 2);
            let d = values(n * o, seed + 3);
            let want = reference(shape, &x, &w, &b, &d);

            let mut z = vec![f32::NAN; n * o];
            cpu.affine(n, i, o, &x, &w, &b, &mut z);
            assert_close(&format!("{name} affine"), shape, &z, &want.z);

            // The fused `tanh` layer: the product's bits, then the back end's own `tanh`'s.
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut want_a = z.clone();
            cpu.tanh(&mut want_a);
            let (mut sums, mut a) = (vec![f32::NAN; n * o], vec![f32::NAN; n * o]);
            cpu.affine_tanh(n, i, o, &x, &w, &b, Some(&mut sums), &mut a);
            assert_eq!(bits(&sums), bits(&z), "{name} affine_tanh sums {shape:?}");
            assert_eq!(bits(&a), bits(&want_a), "{name} affine_tanh {shape:?}");
            let mut a = vec![f32::NAN; n * o];
            cpu.affine_tanh(n, i, o, &x, &w, &b, None, &mut a);
            assert_eq!(
                bits(&a),
                bits(&want_a),
                "{name} affine_tanh alone {shape:?}"
            );

            let (mut gw, mut gb) = (vec![f32::NAN; o * i], vec![f32::NAN; o]);
            cpu.weight_grad(n, i, o, &x, &d, &mut gw, &mut gb);
            assert_close(&format!("{name} weight_grad"), shape, &gw, &want.gw);
            assert_close(&format!("{name} bias_grad"), shape, &gb, &want.gb);

            let mut dx = vec![f32::NAN; n * i];
            cpu.input_grad(n, i, o, &d, &w, &mut dx);
            assert_close(&format!("{name} input_grad"), shape, &dx, &want.dx);
        }
    }

    /// The dispatched public functions, as a back end, so that the same checks run through
    /// them.
    struct Dispatched;

    impl Backend for Dispatched {
        fn name(&self) -> &'static str {
            "dispatched"
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
            affine(n, i, o, x, w, b, out);
        }
        fn affine_tanh(
            &self,
            n: usize,
            i: usize,
            o: usize,
            x: &[f32],
            w: &[f32],
            b: &[f32],
            sums: Option<&mut [f32]>,
            out: &mut [f32],
        ) {
            affine_tanh(n, i, o, x, w, b, sums, out);
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
            weight_grad(n, i, o, x, delta, gw, gb);
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
            input_grad(n, i, o, delta, w, dx);
        }
        fn momentum(&self, lr: f32, mu: f32, w: &mut [f32], v: &mut [f32], g: &[f32]) {
            momentum(lr, mu, w, v, g);
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
            momentum_outer(lr, mu, w, v, delta, x);
        }
        fn logistic(&self, v: &mut [f32]) {
            logistic_in_place(v);
        }
        fn gelu(&self, v: &mut [f32]) {
            gelu_in_place(v);
        }
        fn gelu_backward(&self, z: &[f32], g: &mut [f32]) {
            gelu_backward(z, g);
        }
        fn silu(&self, v: &mut [f32]) {
            silu_in_place(v);
        }
        fn silu_backward(&self, z: &[f32], g: &mut [f32]) {
            silu_backward(z, g);
        }
        fn leaky_relu(&self, v: &mut [f32], slope: f32) {
            leaky_relu_in_place(v, slope);
        }
        fn leaky_relu_backward(&self, z: &[f32], g: &mut [f32], slope: f32) {
            leaky_relu_backward(z, g, slope);
        }
        fn logistic_backward(&self, a: &[f32], g: &mut [f32]) {
            logistic_backward(a, g);
        }
        fn tanh(&self, v: &mut [f32]) {
            tanh_in_place(v);
        }
        fn tanh_backward(&self, a: &[f32], g: &mut [f32]) {
            tanh_backward(a, g);
        }
        fn relu(&self, v: &mut [f32]) {
            relu_in_place(v);
        }
        fn relu_backward(&self, z: &[f32], g: &mut [f32]) {
            relu_backward(z, g);
        }
        fn softplus(&self, v: &mut [f32]) {
            softplus_in_place(v);
        }
        fn softplus_backward(&self, z: &[f32], g: &mut [f32]) {
            softplus_backward(z, g);
        }
        fn softmax(&self, v: &mut [f32]) {
            softmax_in_place(v);
        }
        fn softmax_backward(&self, a: &[f32], g: &mut [f32]) {
            softmax_backward(a, g);
        }
        fn softmax_rows(&self, v: &mut [f32], width: usize) {
            softmax_rows(v, width);
        }
        fn softmax_backward_rows(&self, a: &[f32], g: &mut [f32], width: usize) {
            softmax_backward_rows(a, g, width);
        }
        fn log_sum_exp(&self, z: &[f32]) -> f32 {
            log_sum_exp(z)
        }
    }

    /// Every back end this CPU can run, by name, the dispatched functions first.
    fn backends() -> Vec<&'static dyn Backend> {
        let mut all: Vec<&'static dyn Backend> = vec![&Dispatched, &portable::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(cpu) = x86::Avx2Fma::detect() {
                all.push(cpu);
            } else {
                eprintln!("no AVX2 and FMA on this CPU: the avx2 back end is not checked");
            }
            if let Some(cpu) = x86::Avx512::detect() {
                all.push(cpu);
            } else {
                eprintln!("no AVX-512F on this CPU: the avx512 back end is not checked");
            }
        }
        all
    }

    #[test]
    fn portable_products_match_the_f64_reference() {
        check_products("portable", &portable::Portable);
    }

    #[test]
    fn dispatched_products_match_the_f64_reference() {
        check_products("dispatched", &Dispatched);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_products_match_the_f64_reference() {
        let Some(cpu) = x86::Avx2Fma::detect() else {
            eprintln!("no AVX2 and FMA on this CPU: nothing to check");
            return;
        };
        check_products("avx2", cpu);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_products_match_the_f64_reference() {
        let Some(cpu) = x86::Avx512::detect() else {
            eprintln!("no AVX-512F on this CPU: nothing to check");
            return;
        };
        check_products("avx512", cpu);
    }

    #[test]
    fn the_chosen_back_end_is_the_widest_this_cpu_has() {
        #[cfg(target_arch = "x86_64")]
        let want = if x86::Avx512::detect().is_some() {
            "avx512"
        } else if x86::Avx2Fma::detect().is_some() {
            "avx2"
        } else {
            "portable"
        };
        #[cfg(not(target_arch = "x86_64"))]
        let want = "portable";
        assert_eq!(backend_name(), want);
    }

    #[test]
    fn logistic_matches_the_f64_formula_within_a_few_ulp() {
        // Dense values over [-20, 20] (every exponent branch of e^x), the tails down to
        // subnormal results, the extremes and zero; 8k + 3 of them, so a tail takes the scalar
        // path too.
        let mut z: Vec<f32> = (0..4000).map(|k| (k as f32 - 2000.0) * 0.01).collect();
        z.extend([
            -1000.0, -104.0, -103.5, -100.0, -90.0, -87.5, -50.0, 50.0, 88.5, 1000.0,
        ]);
        z.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            f32::MIN_POSITIVE,
            17.0,
            -17.0,
            0.5,
            -0.5,
        ]);
        assert_eq!(z.len() % 8, 3);
        for cpu in backends() {
            let name = cpu.name();
            let mut s = z.clone();
            cpu.logistic(&mut s);
            for (&z, &s) in z.iter().zip(&s) {
                let want = 1.0 / (1.0 + (-f64::from(z)).exp());
                let ulp = f64::from(f32::EPSILON) * want;
                let tol = (4.0 * ulp).max(f64::from(f32::from_bits(1))); // or one subnormal step
                assert!(
                    (f64::from(s) - want).abs() <= tol && (0.0..=1.0).contains(&s),
                    "{name}: logistic({z}) = {s:e}, want {want:e}"
                );
            }
            let at = |z: f32| {
                let mut v = [z; 8];
                cpu.logistic(&mut v);
                v[0]
            };
            assert_eq!(
                (at(0.0), at(-1000.0), at(1000.0)),
                (0.5, 0.0, 1.0),
                "{name}"
            );
            assert!(
                at(-100.0) > 0.0,
                "{name}: logistic(-100) is tiny but positive"
            );
            assert!(at(f32::NAN).is_nan(), "{name}");
        }
    }

    /// The portable back end is the scalar function, bit for bit; the two x86 back ends give
    /// each other's bits (the same eight-lane code), and the scalar function's past the last
    /// group of eight.
    #[test]
    fn logistic_bits_are_the_scalar_function_s_where_promised() {
        let z: Vec<f32> = values(1003, 21).iter().map(|v| 30.0 * v).collect();
        let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let scalar: Vec<f32> = z.iter().map(|&z| crate::math::logistic(z)).collect();
        let run = |cpu: &dyn Backend| {
            let mut s = z.clone();
            cpu.logistic(&mut s);
            bits(&s)
        };
        assert_eq!(run(&portable::Portable), bits(&scalar));
        let simd: Vec<Vec<u32>> = backends()
            .into_iter()
            .filter(|cpu| !["portable", "dispatched"].contains(&cpu.name()))
            .map(run)
            .collect();
        for s in &simd {
            assert_eq!(s, &simd[0]);
            assert_eq!(s[1000..], bits(&scalar[1000..]));
        }
    }

    /// The error of `got` in units in the last place of the f32 nearest `want` (below the
    /// normal range, the subnormal step `2^-149`).
    fn ulp_error(got: f32, want: f64) -> f64 {
        if got.is_nan() || want.is_nan() {
            return if got.is_nan() && want.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if f64::from(got) == want {
            return 0.0;
        }
        let exponent = if want == 0.0 {
            -126.0
        } else {
            want.abs().log2().floor().max(-126.0)
        };
        (f64::from(got) - want).abs() / 2f64.powf(exponent - 23.0)
    }

    /// Inputs for the activations' accuracy sweeps: dense over `[-20, 20]`, tiny and
    /// subnormal values of both signs, the extremes, infinities, NaN and pseudo-random values
    /// over `[-30, 30)`; 8k + 5 of them, so that every back end's tail takes some.
    fn sweep() -> Vec<f32> {
        let mut z: Vec<f32> = (0..4001).map(|k| (k as f32 - 2000.0) * 0.01).collect();
        for e in -45..=1 {
            let t = 10f32.powi(e);
            z.extend([t, -t, 3.7 * t, -3.7 * t]);
        }
        z.extend([
            0.0,
            -0.0,
            f32::from_bits(1),
            -f32::from_bits(1),
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            0.624_999_9,
            0.625,
            -0.625,
            9.0,
            -9.0,
            30.0,
            -30.0,
            44.0,
            88.0,
            88.5,
            -87.5,
            -100.0,
            100.0,
            -103.5,
            -104.0,
            -200.0,
            1000.0,
            -1000.0,
            1e30,
            -1e30,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        z.extend(values(3000, 31).iter().map(|v| 30.0 * v));
        while z.len() % 8 != 5 {
            z.push(0.3);
        }
        z
    }

    /// Runs an elementwise kernel of every back end over [`sweep`] and returns, per back end,
    /// its largest error in ulp against the f64 function `want` (NaN where `want` is NaN must
    /// come out NaN); checks that the portable back end gives the bits of `scalar`.
    fn max_ulp(
        kernel: impl Fn(&dyn Backend, &mut [f32]),
        scalar: impl Fn(f32) -> f32,
        want: impl Fn(f64) -> f64,
    ) -> Vec<(&'static str, f64, f32)> {
        let z = sweep();
        let mut worst = Vec::new();
        for cpu in backends() {
            let mut v = z.clone();
            kernel(cpu, &mut v);
            if cpu.name() == "portable" {
                for (&z, &got) in z.iter().zip(&v) {
                    assert_eq!(got.to_bits(), scalar(z).to_bits(), "portable at {z}");
                }
            }
            let (mut err, mut at) = (0.0f64, 0.0f32);
            for (&z, &got) in z.iter().zip(&v) {
                let e = ulp_error(got, want(f64::from(z)));
                if e > err {
                    (err, at) = (e, z);
                }
            }
            worst.push((cpu.name(), err, at));
        }
        worst
    }

    /// The bound [`tanh_in_place`] states.
    const TANH_ULP: f64 = 2.0;
    /// The bound [`softplus_in_place`] states.
    const SOFTPLUS_ULP: f64 = 2.0;

    #[test]
    fn tanh_is_within_its_stated_ulp_of_the_f64_function() {
        let worst = max_ulp(|cpu, v| cpu.tanh(v), crate::math::tanh, f64::tanh);
        eprintln!("tanh, largest error (ulp, at): {worst:?}");
        for (name, err, at) in worst {
            assert!(err <= TANH_ULP, "{name}: tanh({at}) is {err} ulp off");
        }
        for cpu in backends() {
            let mut v = [
                0.0f32,
                -0.0,
                1e-30,
                -1e-30,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                0.5,
                2.0,
            ];
            cpu.tanh(&mut v);
            assert!(
                v[0].is_sign_positive() && v[1].is_sign_negative(),
                "{}: {v:?}",
                cpu.name()
            );
            assert_eq!(v[2..6], [1e-30, -1e-30, 1.0, -1.0], "{}", cpu.name());
            assert!(v[6].is_nan(), "{}", cpu.name());
        }
        x86_back_ends_agree_bit_for_bit(|cpu, v| cpu.tanh(v));
    }

    /// Every float of `[0, 10]` (past it tanh is 1): the SIMD back ends' tanh against the f64
    /// function, for the exhaustive figure [`tanh_in_place`] quotes. Ignored: 15 s in
    /// release (`cargo test --release -p nn-core -- --ignored tanh_over_every_float`).
    #[test]
    #[ignore = "exhaustive, about 15 s in release"]
    fn tanh_over_every_float_of_0_to_10_is_within_its_stated_ulp() {
        let end = 10.0f32.to_bits();
        let mut worst = vec![(0.0f64, 0.0f32); backends().len()];
        let mut chunk = Vec::with_capacity(1 << 16);
        let mut out = Vec::with_capacity(1 << 16);
        let mut bits = 0u32;
        while bits <= end {
            chunk.clear();
            chunk.extend((bits..=end.min(bits + (1 << 16) - 1)).map(f32::from_bits));
            let want: Vec<f64> = chunk.iter().map(|&z| f64::from(z).tanh()).collect();
            for (cpu, worst) in backends().into_iter().zip(&mut worst) {
                if cpu.name() == "portable" {
                    continue;
                }
                out.clear();
                out.extend_from_slice(&chunk);
                cpu.tanh(&mut out);
                for ((&got, &want), &z) in out.iter().zip(&want).zip(&chunk) {
                    let e = ulp_error(got, want);
                    if e > worst.0 {
                        *worst = (e, z);
                    }
                }
            }
            bits += 1 << 16;
        }
        eprintln!("tanh over [0, 10], largest error (ulp, at): {worst:?}");
        for (e, z) in worst {
            assert!(e <= TANH_ULP, "tanh({z}) is {e} ulp off");
        }
    }

    /// The x86 back ends run the same operations in eight and sixteen lanes for the
    /// elementwise activations: the same bits over [`sweep`].
    fn x86_back_ends_agree_bit_for_bit(kernel: impl Fn(&dyn Backend, &mut [f32])) {
        let simd: Vec<Vec<u32>> = backends()
            .into_iter()
            .filter(|cpu| !["portable", "dispatched"].contains(&cpu.name()))
            .map(|cpu| {
                let mut v = sweep();
                kernel(cpu, &mut v);
                v.iter().map(|x| x.to_bits()).collect()
            })
            .collect();
        for s in &simd {
            assert_eq!(s, &simd[0]);
        }
    }

    #[test]
    fn softplus_is_within_its_stated_ulp_of_the_f64_function() {
        let want = |z: f64| z.max(0.0) + (-z.abs()).exp().ln_1p();
        let worst = max_ulp(|cpu, v| cpu.softplus(v), crate::math::softplus, want);
        eprintln!("softplus, largest error (ulp, at): {worst:?}");
        for (name, err, at) in worst {
            assert!(
                err <= SOFTPLUS_ULP,
                "{name}: softplus({at}) is {err} ulp off"
            );
        }
        for cpu in backends() {
            let mut v = [-1000.0f32, 1000.0, -100.0, f32::NAN, f32::NEG_INFINITY];
            cpu.softplus(&mut v);
            assert_eq!(v[..2], [0.0, 1000.0], "{}", cpu.name());
            assert!(
                v[2] > 0.0 && v[3].is_nan() && v[4] == 0.0,
                "{}: {v:?}",
                cpu.name()
            );
        }
        x86_back_ends_agree_bit_for_bit(|cpu, v| cpu.softplus(v));
        let g = values(sweep().len(), 61);
        x86_back_ends_agree_bit_for_bit(|cpu, v| {
            let z = v.to_vec();
            v.copy_from_slice(&g);
            cpu.softplus_backward(&z, v);
        });
    }

    /// The f64 GELU (tanh form) and its derivative's two terms `(s, 2z·s(1 - s)·u')`.
    fn gelu64(z: f64) -> (f64, f64, f64) {
        let c = (2.0 / core::f64::consts::PI).sqrt();
        let u = c * (z + 0.044_715 * z * z * z);
        let s = 1.0 / (1.0 + (-2.0 * u).exp());
        let du = c * (1.0 + 3.0 * 0.044_715 * z * z);
        (z * s, s, 2.0 * z * s * (1.0 - s) * du)
    }

    /// The f64 SiLU and its derivative's terms `(s, z·s(1 - s))`.
    fn silu64(z: f64) -> (f64, f64, f64) {
        let s = 1.0 / (1.0 + (-z).exp());
        (z * s, s, z * s * (1.0 - s))
    }

    /// The size of one ulp of the f32 nearest `v` (the subnormal step below the normal range).
    fn ulp_of(v: f64) -> f64 {
        let exponent = if v == 0.0 {
            -126.0
        } else {
            v.abs().log2().floor().max(-126.0)
        };
        2f64.powf(exponent - 23.0)
    }

    /// Checks an activation's forward and backward on every back end over [`sweep`]. The x86
    /// ones: within `bound + 2κ` ulp of the f64 function, where `κ = |z·f'(z)/f(z)|` is its
    /// relative condition number (the ulp an f32 argument's own rounding turns into: GELU's
    /// grows as `z³` below zero, so no f32 code does better there), plus the `|z|` subnormal
    /// steps of a logistic that underflows; the backward likewise, of the size of its terms
    /// `|g|·(|t₁| + |t₂|)` (it crosses zero), with the condition number of the derivative.
    /// They give each other's bits. The portable back end gives the bits of the scalar function
    /// and derivative.
    #[allow(clippy::type_complexity)]
    fn check_smooth_activation(
        what: &str,
        forward: impl Fn(&dyn Backend, &mut [f32]),
        backward: impl Fn(&dyn Backend, &[f32], &mut [f32]),
        scalar: impl Fn(f32) -> f32,
        scalar_derivative: impl Fn(f32) -> f32,
        want: impl Fn(f64) -> (f64, f64, f64),
        bound: f64,
    ) {
        let z = sweep();
        let g0: Vec<f32> = values(z.len(), 71).iter().map(|g| 3.0 * g).collect();
        let subnormal = f64::from(f32::from_bits(1));
        let derivative = |z: f64| {
            let (_, t1, t2) = want(z);
            t1 + t2
        };
        for cpu in backends() {
            let mut v = z.clone();
            forward(cpu, &mut v);
            let mut g = g0.clone();
            backward(cpu, &z, &mut g);
            if cpu.name() == "portable" {
                for ((&z, &got), (&g0, &dg)) in z.iter().zip(&v).zip(g0.iter().zip(&g)) {
                    assert_eq!(got.to_bits(), scalar(z).to_bits(), "{what} portable at {z}");
                    assert_eq!(
                        dg.to_bits(),
                        (g0 * scalar_derivative(z)).to_bits(),
                        "{what}' at {z}"
                    );
                }
                continue;
            }
            let (mut worst, mut worst_back) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
            for ((&z, &got), (&g0, &dg)) in z.iter().zip(&v).zip(g0.iter().zip(&g)) {
                let (zf, g64) = (f64::from(z), f64::from(g0));
                let (f, t1, t2) = want(zf);
                if !z.is_finite() || !f.is_finite() {
                    assert!(
                        ulp_error(got, f) == 0.0 || (got.is_nan() && f.is_nan()),
                        "{}: {what}({z}) = {got}, want {f}",
                        cpu.name()
                    );
                    continue;
                }
                let kappa = if f == 0.0 {
                    1.0
                } else {
                    (zf * (t1 + t2) / f).abs()
                };
                let allowed = bound + 2.0 * kappa + 2.0 * zf.abs() * subnormal / ulp_of(f);
                let err = ulp_error(got, f) / allowed;
                if err > worst.0 {
                    worst = (err, z);
                }
                let size = g64.abs() * (t1.abs() + t2.abs());
                let h = 1e-6 * zf.abs().max(1.0);
                let slope = (derivative(zf + h) - derivative(zf - h)) / (2.0 * h);
                let kappa = if size == 0.0 {
                    1.0
                } else {
                    (zf * g64 * slope).abs() / size
                };
                let allowed =
                    bound + 2.0 * kappa + 2.0 * (zf * g64).abs() * subnormal / ulp_of(size);
                let err = (f64::from(dg) - g64 * (t1 + t2)).abs() / ulp_of(size) / allowed;
                if err > worst_back.0 {
                    worst_back = (err, z);
                }
            }
            eprintln!(
                "{what} {}: share of the allowed error, forward {worst:?}, backward {worst_back:?}",
                cpu.name()
            );
            assert!(
                worst.0 <= 1.0,
                "{}: {what}({}) is off by {} of its bound",
                cpu.name(),
                worst.1,
                worst.0
            );
            assert!(
                worst_back.0 <= 1.0,
                "{}: {what}'({}) is off by {} of its bound",
                cpu.name(),
                worst_back.1,
                worst_back.0
            );
        }
        x86_back_ends_agree_bit_for_bit(&forward);
        x86_back_ends_agree_bit_for_bit(|cpu, v| {
            let z = v.to_vec();
            v.copy_from_slice(&g0);
            backward(cpu, &z, v);
        });
    }

    #[test]
    fn gelu_is_within_its_stated_ulp_of_the_f64_function() {
        check_smooth_activation(
            "gelu",
            |cpu, v| cpu.gelu(v),
            |cpu, z, g| cpu.gelu_backward(z, g),
            crate::activation::Gelu::function,
            crate::activation::Gelu::derivative,
            gelu64,
            GELU_ULP,
        );
    }

    #[test]
    fn silu_is_within_its_stated_ulp_of_the_f64_function() {
        check_smooth_activation(
            "silu",
            |cpu, v| cpu.silu(v),
            |cpu, z, g| cpu.silu_backward(z, g),
            |z| z * crate::math::logistic(z),
            |z| {
                let s = crate::math::logistic(z);
                s * (1.0 + z * (1.0 - s))
            },
            silu64,
            SILU_ULP,
        );
    }

    #[test]
    fn leaky_relu_gives_the_same_bits_on_every_back_end() {
        let z = sweep();
        let g0 = values(z.len(), 81);
        for cpu in backends() {
            let mut v = z.clone();
            cpu.leaky_relu(&mut v, 0.2);
            let mut g = g0.clone();
            cpu.leaky_relu_backward(&z, &mut g, 0.2);
            for ((&z, &got), (&g0, &dg)) in z.iter().zip(&v).zip(g0.iter().zip(&g)) {
                let (want, want_g) = if z <= 0.0 {
                    (z * 0.2, g0 * 0.2)
                } else {
                    (z, g0)
                };
                assert_eq!(got.to_bits(), want.to_bits(), "{} at {z}", cpu.name());
                assert_eq!(dg.to_bits(), want_g.to_bits(), "{} at {z}", cpu.name());
            }
        }
    }

    #[test]
    fn softplus_backward_is_within_4_ulp_of_g_times_the_logistic() {
        let z = sweep();
        let g0: Vec<f32> = values(z.len(), 41).iter().map(|g| 3.0 * g).collect();
        for cpu in backends() {
            let mut g = g0.clone();
            cpu.softplus_backward(&z, &mut g);
            for ((&z, &g0), &got) in z.iter().zip(&g0).zip(&g) {
                let want = f64::from(g0) / (1.0 + (-f64::from(z)).exp());
                let err = ulp_error(got, want);
                assert!(
                    err <= 4.0,
                    "{}: {g0}·σ({z}) = {got:e}, want {want:e}",
                    cpu.name()
                );
            }
            if cpu.name() == "portable" {
                for ((&z, &g0), &got) in z.iter().zip(&g0).zip(&g) {
                    assert_eq!(got.to_bits(), (g0 * crate::math::logistic(z)).to_bits());
                }
            }
        }
    }

    /// The backward passes of sigmoid and tanh and relu both ways are the portable loops on
    /// every back end, so the same bits, and those loops are the formulas.
    #[test]
    fn the_exact_elementwise_kernels_give_the_portable_bits_everywhere() {
        let z = sweep();
        let a: Vec<f32> = values(z.len(), 51);
        let g0: Vec<f32> = values(z.len(), 52);
        let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        type Kernel = fn(&dyn Backend, &[f32], &[f32], &mut [f32]);
        type Formula = fn(f32, f32, f32) -> f32;
        let kernels: [(&str, Kernel, Formula); 4] = [
            (
                "logistic_backward",
                |c, _, a, g| c.logistic_backward(a, g),
                |_, s, g| g * (s * (1.0 - s)),
            ),
            (
                "tanh_backward",
                |c, _, a, g| c.tanh_backward(a, g),
                |_, t, g| g * (1.0 - t * t),
            ),
            (
                "relu_backward",
                |c, z, _, g| c.relu_backward(z, g),
                |z, _, g| if z <= 0.0 { 0.0 } else { g },
            ),
            (
                "relu",
                |c, z, _, g| {
                    g.copy_from_slice(z);
                    c.relu(g)
                },
                |z, _, _| z.max(0.0),
            ),
        ];
        for (name, kernel, formula) in kernels {
            let want: Vec<f32> = z
                .iter()
                .zip(&a)
                .zip(&g0)
                .map(|((&z, &a), &g)| formula(z, a, g))
                .collect();
            for cpu in backends() {
                let mut g = g0.clone();
                kernel(cpu, &z, &a, &mut g);
                assert_eq!(bits(&g), bits(&want), "{} {name}", cpu.name());
            }
        }
    }

    /// Rows for the softmax and log-sum-exp checks: widths 1 to 70, scores at three scales.
    fn rows() -> Vec<Vec<f32>> {
        let mut rows = Vec::new();
        for (k, width) in (1..=70).enumerate() {
            for (s, scale) in [1.0f32, 30.0, 1000.0].into_iter().enumerate() {
                let v = values(width, 100 + 3 * k as u64 + s as u64);
                rows.push(v.iter().map(|v| scale * v).collect());
            }
        }
        rows.push(vec![100.0, 0.0]);
        rows.push(vec![-1000.0, 1000.0, -1000.0]);
        rows.push(vec![0.0; 37]);
        rows
    }

    #[test]
    fn softmax_is_within_its_stated_ulp_of_the_f64_function() {
        for cpu in backends() {
            for row in rows() {
                let n = row.len();
                let m = row
                    .iter()
                    .map(|&z| f64::from(z))
                    .fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = row.iter().map(|&z| (f64::from(z) - m).exp()).sum();
                let mut a = row.clone();
                cpu.softmax(&mut a);
                for (&z, &got) in row.iter().zip(&a) {
                    let bound = 4.0 + n as f64 / 8.0 + (f64::from(z) - m).abs();
                    let want = (f64::from(z) - m).exp() / sum;
                    let err = ulp_error(got, want);
                    assert!(
                        err <= bound,
                        "{} softmax, n = {n}: {got:e} for {want:e} ({err} ulp)",
                        cpu.name()
                    );
                }
            }
            let mut a = [1.0f32, f32::NAN, 2.0];
            cpu.softmax(&mut a);
            assert!(a.iter().all(|a| a.is_nan()), "{}: {a:?}", cpu.name());
        }
    }

    /// The batch kernels give every row the bits of the one-row kernels, whatever order they
    /// take the rows in, and leave a partial last row alone.
    #[test]
    fn softmax_rows_give_each_row_the_bits_of_the_one_row_kernels() {
        let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for cpu in backends() {
            for (width, n) in [1usize, 2, 3, 7, 8, 9, 10, 15, 16, 17, 33, 64]
                .into_iter()
                .flat_map(|w| [(w, 13), (w, 37)])
            {
                let mut z: Vec<f32> = values(n * width + 3, width as u64)
                    .iter()
                    .map(|v| 20.0 * v)
                    .collect();
                // Rows of sixteen at a time (the AVX-512 kernel for rows of at most 16 values)
                // meet the special values too: NaN, ±∞, a huge value, in rows of the blocks.
                if n == 37 {
                    for (r, special) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38]
                        .into_iter()
                        .enumerate()
                    {
                        z[(5 * r + 1) * width + r % width] = special;
                    }
                }
                let mut rows = z.clone();
                cpu.softmax_rows(&mut rows, width);
                let mut one = z.clone();
                let whole = z.len() / width * width;
                one[..whole]
                    .chunks_exact_mut(width)
                    .for_each(|r| cpu.softmax(r));
                assert_eq!(
                    bits(&rows),
                    bits(&one),
                    "{} softmax_rows, width {width}",
                    cpu.name()
                );
                assert_eq!(bits(&rows[whole..]), bits(&z[whole..]));

                let g0 = values(n * width + 3, 7 + width as u64);
                let mut g = g0.clone();
                cpu.softmax_backward_rows(&one, &mut g, width);
                let mut want = g0.clone();
                for (a, g) in one.chunks_exact(width).zip(want.chunks_exact_mut(width)) {
                    cpu.softmax_backward(a, g);
                }
                assert_eq!(
                    bits(&g),
                    bits(&want),
                    "{} softmax_backward_rows, width {width}",
                    cpu.name()
                );
            }
            let mut empty: [f32; 0] = [];
            cpu.softmax_rows(&mut empty, 0);
            let mut v = [1.0f32, 2.0];
            cpu.softmax_rows(&mut v, 0);
            cpu.softmax_backward_rows(&[0.5, 0.5], &mut v, 0);
            assert_eq!(v, [1.0, 2.0], "{}: width 0 has no rows", cpu.name());
        }
    }

    #[test]
    fn log_sum_exp_is_within_its_stated_ulp_of_the_f64_function() {
        for cpu in backends() {
            for row in rows() {
                let n = row.len();
                let m = row
                    .iter()
                    .map(|&z| f64::from(z))
                    .fold(f64::NEG_INFINITY, f64::max);
                let want = m + row
                    .iter()
                    .map(|&z| (f64::from(z) - m).exp())
                    .sum::<f64>()
                    .ln();
                let got = cpu.log_sum_exp(&row);
                let err =
                    (f64::from(got) - want).abs() / (f64::from(f32::EPSILON) * want.abs().max(1.0));
                let bound = 4.0 + n as f64 / 8.0;
                assert!(
                    err <= bound,
                    "{} lse, n = {n}: {got} for {want} ({err} ulp)",
                    cpu.name()
                );
            }
            assert_eq!(cpu.log_sum_exp(&[]), f32::NEG_INFINITY, "{}", cpu.name());
            assert_eq!(
                cpu.log_sum_exp(&[1000.0, 1000.0]),
                1000.0 + 2f32.ln(),
                "{}",
                cpu.name()
            );
        }
    }

    #[test]
    fn softmax_backward_is_within_its_stated_bound_of_the_jacobian_product() {
        for cpu in backends() {
            for (k, row) in rows().into_iter().enumerate() {
                let n = row.len();
                let mut a = row.clone();
                portable::softmax(&mut a);
                let g0 = values(n, 500 + k as u64);
                let mut g = g0.clone();
                cpu.softmax_backward(&a, &mut g);
                let f = |x: f32| f64::from(x);
                let dot: f64 = a.iter().zip(&g0).map(|(&a, &g)| f(a) * f(g)).sum();
                let mag: f64 = a.iter().zip(&g0).map(|(&a, &g)| f(a) * f(g).abs()).sum();
                for ((&a, &g0), &got) in a.iter().zip(&g0).zip(&g) {
                    let want = f(a) * (f(g0) - dot);
                    let tol = (n as f64 + 4.0) * f(f32::EPSILON) * f(a) * (f(g0).abs() + mag)
                        + f(f32::from_bits(1));
                    assert!(
                        (f(got) - want).abs() <= tol,
                        "{} softmax_backward, n = {n}: {got} for {want}",
                        cpu.name()
                    );
                }
            }
        }
    }

    #[test]
    fn momentum_is_the_slide_formula_bit_for_bit() {
        // 1,003 values: whole groups of eight and sixteen and a tail.
        let g = values(1003, 11);
        let (lr, mu) = (0.1f32, 0.9f32);
        let (mut want_w, mut want_v) = (values(1003, 12), values(1003, 13));
        for ((w, v), g) in want_w.iter_mut().zip(&mut want_v).zip(&g) {
            *v = lr * g + mu * *v;
            *w -= *v;
        }
        let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for cpu in backends() {
            let (mut w, mut v) = (values(1003, 12), values(1003, 13));
            cpu.momentum(lr, mu, &mut w, &mut v, &g);
            assert_eq!(bits(&v), bits(&want_v), "{}", cpu.name());
            assert_eq!(bits(&w), bits(&want_w), "{}", cpu.name());
        }
    }

    #[test]
    fn momentum_outer_is_the_batch_one_weight_gradient_then_momentum_bit_for_bit() {
        // Odd widths (whole groups of eight and sixteen and tails), zeros of both signs in the
        // inputs and the deltas (0 + (-0) is +0, fma(d, x, 0) of an exact -0 too), products
        // that underflow (where the back ends' roundings differ), and a second step on a
        // velocity that is not zero.
        let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for &(o, i) in &[(1, 1), (3, 37), (16, 784), (5, 16), (2, 0)] {
            let mut x = values(i, 21);
            let mut delta = values(o, 22);
            for (k, x) in x.iter_mut().enumerate() {
                match k % 5 {
                    0 => *x = 0.0,
                    1 => *x = -0.0,
                    2 => *x *= 1e-30,
                    _ => {}
                }
            }
            if o > 2 {
                delta[1] = -0.0;
                delta[2] = 1e-15;
            }
            let (lr, mu) = (0.1f32, 0.9f32);
            for cpu in backends() {
                let (mut want_w, mut want_v) = (values(o * i, 23), vec![0.0f32; o * i]);
                let (mut w, mut v) = (want_w.clone(), want_v.clone());
                let (mut gw, mut gb) = (vec![0.0f32; o * i], vec![0.0f32; o]);
                for _ in 0..2 {
                    cpu.weight_grad(1, i, o, &x, &delta, &mut gw, &mut gb);
                    cpu.momentum(lr, mu, &mut want_w, &mut want_v, &gw);
                    cpu.momentum_outer(lr, mu, &mut w, &mut v, &delta, &x);
                    assert_eq!(bits(&v), bits(&want_v), "{} {o}x{i}: velocity", cpu.name());
                    assert_eq!(bits(&w), bits(&want_w), "{} {o}x{i}: weights", cpu.name());
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "momentum_outer")]
    fn momentum_outer_refuses_a_short_velocity() {
        let (mut w, mut v) = ([0.0f32; 6], [0.0f32; 5]);
        momentum_outer(0.1, 0.9, &mut w, &mut v, &[1.0, 2.0], &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn products_leave_rows_past_the_batch_alone() {
        let (n, i, o) = (3, 17, 5);
        let (x, w, b) = (values(n * i, 1), values(o * i, 2), values(o, 3));
        let mut z = vec![7.0f32; (n + 2) * o];
        affine(n, i, o, &x, &w, &b, &mut z);
        assert!(z[n * o..].iter().all(|&v| v == 7.0));
        let d = values(n * o, 4);
        let mut dx = vec![7.0f32; (n + 1) * i];
        input_grad(n, i, o, &d, &w, &mut dx);
        assert!(dx[n * i..].iter().all(|&v| v == 7.0));
    }

    #[test]
    #[should_panic]
    fn a_short_slice_panics_instead_of_reading_past_it() {
        let mut z = [0.0f32; 4];
        affine(2, 3, 2, &[0.0; 5], &[0.0; 6], &[0.0; 2], &mut z);
    }

    /// Every back end checks its slices itself, whoever calls it.
    #[test]
    fn every_back_end_refuses_a_short_slice() {
        for cpu in backends() {
            let name = cpu.name();
            let run = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let short =
                run(&|| cpu.affine(2, 3, 2, &[0.0; 5], &[0.0; 6], &[0.0; 2], &mut [0.0; 4]));
            assert!(short.is_err(), "{name} affine");
            let short = run(&|| {
                cpu.weight_grad(2, 3, 2, &[0.0; 6], &[0.0; 4], &mut [0.0; 5], &mut [0.0; 2])
            });
            assert!(short.is_err(), "{name} weight_grad");
            let short = run(&|| cpu.input_grad(2, 3, 2, &[0.0; 4], &[0.0; 6], &mut [0.0; 5]));
            assert!(short.is_err(), "{name} input_grad");
        }
    }
}
