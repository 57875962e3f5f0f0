//! The arithmetic and structural operations: products, elementwise arithmetic, reductions,
//! concatenation and broadcasting, each forward beside its local derivative.

use super::{Op, Scalar, Shape, Tape, TapeError, Var};

impl<T: Scalar> Tape<T> {
    /// Matrix times vector: `oᵢ = Σⱼ Mᵢⱼ xⱼ`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `x` is a vector as long as `m` has columns.
    pub fn matvec(&mut self, m: Var, x: Var) -> Result<Var, TapeError> {
        let (sm, sx) = (self.shape(m)?, self.shape(x)?);
        if !sx.is_vector() || sx.rows != sm.cols {
            return Err(TapeError::ShapeMismatch {
                op: "matvec",
                left: sm,
                right: sx,
                rule: "expected a vector as long as the matrix has columns",
            });
        }
        let (mv, xv) = (&self.values[m.0], &self.values[x.0]);
        let out = if sm.cols == 0 {
            vec![T::ZERO; sm.rows]
        } else {
            mv.chunks_exact(sm.cols)
                .map(|row| row.iter().zip(xv).map(|(&m, &x)| m * x).sum())
                .collect()
        };
        Ok(self.push(out, Shape::vector(sm.rows), Op::MatVec(m, x)))
    }

    pub(super) fn same_shape(&self, op: &'static str, a: Var, b: Var) -> Result<Shape, TapeError> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        if sa != sb {
            return Err(TapeError::ShapeMismatch {
                op,
                left: sa,
                right: sb,
                rule: "expected the same shape",
            });
        }
        Ok(sa)
    }

    fn zip_with(&self, a: Var, b: Var, f: impl Fn(T, T) -> T) -> Vec<T> {
        self.values[a.0]
            .iter()
            .zip(&self.values[b.0])
            .map(|(&a, &b)| f(a, b))
            .collect()
    }

    fn map(&self, a: Var, f: impl Fn(T) -> T) -> Vec<T> {
        self.values[a.0].iter().map(|&a| f(a)).collect()
    }

    /// Elementwise sum `a + b` (a bias added to a weighted sum; a residual block's skip,
    /// `x + f(x)`).
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `b` have the same shape.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var, TapeError> {
        let shape = self.same_shape("add", a, b)?;
        let out = self.zip_with(a, b, |a, b| a + b);
        Ok(self.push(out, shape, Op::Add(a, b)))
    }

    /// Elementwise difference `a - b`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `b` have the same shape.
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var, TapeError> {
        let shape = self.same_shape("sub", a, b)?;
        let out = self.zip_with(a, b, |a, b| a - b);
        Ok(self.push(out, shape, Op::Sub(a, b)))
    }

    /// Elementwise product `a ⊙ b`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] unless `a` and `b` have the same shape.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var, TapeError> {
        let shape = self.same_shape("mul", a, b)?;
        let out = self.zip_with(a, b, |a, b| a * b);
        Ok(self.push(out, shape, Op::Mul(a, b)))
    }

    /// `k·a` for a constant `k`.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn scale(&mut self, a: Var, k: T) -> Result<Var, TapeError> {
        let shape = self.shape(a)?;
        let out = self.map(a, |a| k * a);
        Ok(self.push(out, shape, Op::Scale(a, k)))
    }

    /// `a + k` for a constant `k` (the `ε` of a normalisation).
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn offset(&mut self, a: Var, k: T) -> Result<Var, TapeError> {
        let shape = self.shape(a)?;
        let out = self.map(a, |a| a + k);
        Ok(self.push(out, shape, Op::Offset(a)))
    }

    /// `1/√a` elementwise (a normalisation's `1/√(σ² + ε)`).
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn rsqrt(&mut self, a: Var) -> Result<Var, TapeError> {
        let shape = self.shape(a)?;
        let out = self.map(a, |a| T::ONE / a.sqrt());
        Ok(self.push(out, shape, Op::Rsqrt(a)))
    }

    /// The sum of all values of `a`: a scalar.
    ///
    /// # Errors
    ///
    /// [`TapeError::UnknownVar`] if `a` is not on this tape.
    pub fn sum(&mut self, a: Var) -> Result<Var, TapeError> {
        let s = self.value(a)?.iter().copied().sum();
        Ok(self.push(vec![s], Shape::SCALAR, Op::Sum(a)))
    }

    /// The mean of scalars (a batch's per-sample losses): `Σ sᵢ / n`.
    ///
    /// # Errors
    ///
    /// [`TapeError::EmptyMean`] for no values, [`TapeError::NotScalar`] if one is not a scalar.
    pub fn mean(&mut self, scalars: &[Var]) -> Result<Var, TapeError> {
        if scalars.is_empty() {
            return Err(TapeError::EmptyMean);
        }
        let mut total = T::ZERO;
        for &s in scalars {
            let shape = self.shape(s)?;
            if shape != Shape::SCALAR {
                return Err(TapeError::NotScalar { op: "mean", shape });
            }
            total += self.values[s.0][0];
        }
        let mean = total / T::from_usize(scalars.len());
        Ok(self.push(vec![mean], Shape::SCALAR, Op::Mean(scalars.to_vec())))
    }

    /// `Σ wᵢ vᵢ` of values of one shape with constant weights: several losses summed into one
    /// objective (`[(digit, 1.0), (even, 0.5)]`), or a mean over a batch of vectors.
    ///
    /// ```
    /// use nn_core::tape::Tape;
    ///
    /// let mut tape = Tape::new();
    /// let (a, b) = (tape.leaf(&[2.0]), tape.leaf(&[4.0]));
    /// let total = tape.weighted_sum(&[(a, 1.0), (b, 0.5)])?;
    /// assert_eq!(tape.value(total)?, &[4.0]);
    /// tape.backward(total)?;
    /// assert_eq!((tape.grad(a)?, tape.grad(b)?), (&[1.0][..], &[0.5][..]));
    /// # Ok::<(), nn_core::tape::TapeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TapeError::NoOperands`] for no terms, [`TapeError::ShapeMismatch`] unless they all
    /// have the first one's shape.
    pub fn weighted_sum(&mut self, terms: &[(Var, T)]) -> Result<Var, TapeError> {
        let Some(&(first, _)) = terms.first() else {
            return Err(TapeError::NoOperands { op: "weighted_sum" });
        };
        let shape = self.shape(first)?;
        for &(v, _) in terms {
            self.same_shape("weighted_sum", first, v)?;
        }
        let mut out = vec![T::ZERO; self.values[first.0].len()];
        for &(v, w) in terms {
            for (o, &x) in out.iter_mut().zip(&self.values[v.0]) {
                *o += w * x;
            }
        }
        Ok(self.push(out, shape, Op::WeightedSum(terms.to_vec())))
    }

    /// The vectors `parts` one after the other: the outputs of parallel branches joined. For
    /// images stored channel-major (see [`Image`](super::Image)) of one height and width this
    /// is the concatenation along the channels (`torch.cat(dim=1)` of one sample).
    ///
    /// # Errors
    ///
    /// [`TapeError::NoOperands`] for no parts, [`TapeError::ShapeMismatch`] if one is not a
    /// vector.
    pub fn concat(&mut self, parts: &[Var]) -> Result<Var, TapeError> {
        if parts.is_empty() {
            return Err(TapeError::NoOperands { op: "concat" });
        }
        let mut out = Vec::new();
        for &p in parts {
            let shape = self.shape(p)?;
            if !shape.is_vector() {
                return Err(TapeError::ShapeMismatch {
                    op: "concat",
                    left: shape,
                    right: Shape::vector(out.len()),
                    rule: "expected vectors",
                });
            }
            out.extend_from_slice(&self.values[p.0]);
        }
        let len = out.len();
        Ok(self.push(out, Shape::vector(len), Op::Concat(parts.to_vec())))
    }

    /// The sum of each channel's values of a channel-major vector of `channels` channels: a
    /// vector of `channels` values (per-channel statistics of an image). A flat vector of `n`
    /// features is `n` channels of one value each.
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] unless `a` is a vector whose length `channels` divides.
    pub fn channel_sum(&mut self, a: Var, channels: usize) -> Result<Var, TapeError> {
        let len = self.vector_len("channel_sum", a)?;
        if channels == 0 || len == 0 || len % channels != 0 {
            return Err(TapeError::Geometry {
                op: "channel_sum",
                detail: format!("{len} values do not split into {channels} channels"),
            });
        }
        let spatial = len / channels;
        let out = self.values[a.0]
            .chunks_exact(spatial)
            .map(|c| c.iter().copied().sum())
            .collect();
        Ok(self.push(out, Shape::vector(channels), Op::ChannelSum(a, channels)))
    }

    /// Each value of the vector `a` repeated `spatial` times, in place: per-channel values (a
    /// mean, a scale) spread over a channel-major image's pixels, or a scalar over a vector.
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] unless `a` is a vector (or scalar).
    pub fn broadcast(&mut self, a: Var, spatial: usize) -> Result<Var, TapeError> {
        let len = self.vector_len("broadcast", a)?;
        let out: Vec<T> = self.values[a.0]
            .iter()
            .flat_map(|&v| core::iter::repeat_n(v, spatial))
            .collect();
        Ok(self.push(out, Shape::vector(len * spatial), Op::Broadcast(a, spatial)))
    }

    /// The length of the vector `a`, or an error naming `op`.
    pub(super) fn vector_len(&self, op: &'static str, a: Var) -> Result<usize, TapeError> {
        let shape = self.shape(a)?;
        if !shape.is_vector() {
            return Err(TapeError::Geometry {
                op,
                detail: format!("expected a vector, found {shape}"),
            });
        }
        Ok(shape.rows)
    }
}

/// The local derivative of [`matvec`](Tape::matvec), `g` being the gradient arriving at its
/// output: `∂Mᵢⱼ += gᵢ xⱼ`, `∂xⱼ += Σᵢ Mᵢⱼ gᵢ`.
pub(super) fn matvec_backward<T: Scalar>(
    m: Var,
    x: Var,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let (mv, xv) = (&values[m.0], &values[x.0]);
    // x is a vector as long as m has columns (checked when recorded).
    let cols = xv.len();
    if cols == 0 {
        return;
    }
    for (row, &gi) in grads[m.0].chunks_exact_mut(cols).zip(g) {
        for (dm, &xj) in row.iter_mut().zip(xv) {
            *dm += gi * xj;
        }
    }
    let dx = &mut grads[x.0];
    for (mrow, &gi) in mv.chunks_exact(cols).zip(g) {
        for (dx, &mij) in dx.iter_mut().zip(mrow) {
            *dx += mij * gi;
        }
    }
}

/// The local derivative of [`add`](Tape::add) (`sign` 1) and [`sub`](Tape::sub) (`sign` -1):
/// `∂a += g`, `∂b += sign·g`.
pub(super) fn add_backward<T: Scalar>(a: Var, b: Var, sign: T, g: &[T], grads: &mut [Vec<T>]) {
    for (v, k) in [(a, T::ONE), (b, sign)] {
        for (d, &g) in grads[v.0].iter_mut().zip(g) {
            *d += k * g;
        }
    }
}

/// The local derivative of [`mul`](Tape::mul): `∂a += g ⊙ b`, `∂b += g ⊙ a`.
pub(super) fn mul_backward<T: Scalar>(
    a: Var,
    b: Var,
    values: &[Vec<T>],
    g: &[T],
    grads: &mut [Vec<T>],
) {
    for (v, other) in [(a, b), (b, a)] {
        for ((d, &g), &o) in grads[v.0].iter_mut().zip(g).zip(&values[other.0]) {
            *d += g * o;
        }
    }
}

/// The local derivative of [`scale`](Tape::scale) (and of [`offset`](Tape::offset), `k = 1`):
/// `∂a += k·g`.
pub(super) fn scale_backward<T: Scalar>(a: Var, k: T, g: &[T], grads: &mut [Vec<T>]) {
    for (d, &g) in grads[a.0].iter_mut().zip(g) {
        *d += k * g;
    }
}

/// The local derivative of [`rsqrt`](Tape::rsqrt), from its output `o = a^(-1/2)`:
/// `∂a += g·(-1/2)·a^(-3/2) = -g·o³/2`.
pub(super) fn rsqrt_backward<T: Scalar>(a: Var, out: &[T], g: &[T], grads: &mut [Vec<T>]) {
    let half = T::from_f32(0.5);
    for ((d, &g), &o) in grads[a.0].iter_mut().zip(g).zip(out) {
        *d -= half * g * o * o * o;
    }
}

/// The local derivative of [`sum`](Tape::sum): `∂aₖ += g`.
pub(super) fn sum_backward<T: Scalar>(a: Var, g: &[T], grads: &mut [Vec<T>]) {
    for d in &mut grads[a.0] {
        *d += g[0];
    }
}

/// The local derivative of [`mean`](Tape::mean): `∂sᵢ += g / n`.
pub(super) fn mean_backward<T: Scalar>(scalars: &[Var], g: &[T], grads: &mut [Vec<T>]) {
    let share = g[0] / T::from_usize(scalars.len());
    for v in scalars {
        grads[v.0][0] += share;
    }
}

/// The local derivative of [`weighted_sum`](Tape::weighted_sum): `∂vᵢ += wᵢ g` (a value listed
/// twice gets both shares).
pub(super) fn weighted_sum_backward<T: Scalar>(terms: &[(Var, T)], g: &[T], grads: &mut [Vec<T>]) {
    for &(v, w) in terms {
        for (d, &g) in grads[v.0].iter_mut().zip(g) {
            *d += w * g;
        }
    }
}

/// The local derivative of [`concat`](Tape::concat): each part gets its slice of `g`.
pub(super) fn concat_backward<T: Scalar>(parts: &[Var], g: &[T], grads: &mut [Vec<T>]) {
    let mut at = 0;
    for p in parts {
        let len = grads[p.0].len();
        for (d, &g) in grads[p.0].iter_mut().zip(&g[at..at + len]) {
            *d += g;
        }
        at += len;
    }
}

/// The local derivative of [`channel_sum`](Tape::channel_sum): `∂a += gₖ` on every value of
/// channel `k`.
pub(super) fn channel_sum_backward<T: Scalar>(
    a: Var,
    channels: usize,
    g: &[T],
    grads: &mut [Vec<T>],
) {
    let spatial = grads[a.0].len() / channels;
    for (chunk, &g) in grads[a.0].chunks_exact_mut(spatial).zip(g) {
        for d in chunk {
            *d += g;
        }
    }
}

/// The local derivative of [`broadcast`](Tape::broadcast): `∂aₖ +=` the sum of `g` over the
/// `spatial` copies of `aₖ`.
pub(super) fn broadcast_backward<T: Scalar>(a: Var, spatial: usize, g: &[T], grads: &mut [Vec<T>]) {
    if spatial == 0 {
        return;
    }
    for (d, chunk) in grads[a.0].iter_mut().zip(g.chunks_exact(spatial)) {
        *d += chunk.iter().copied().sum();
    }
}
