//! Batch normalisation: each channel normalised over the batch (and, for an image, over its
//! height and width), then scaled and shifted by learned `γ` and `β`, as PyTorch's
//! `nn.BatchNorm1d` (flat input: each value is a channel) and `nn.BatchNorm2d` (image input).
//!
//! For channel `c` over the `m` values it has in the batch (`m = batch × height × width`):
//!
//! | step | formula |
//! | --- | --- |
//! | training forward | `μ = Σx/m`, `σ² = Σ(x - μ)²/m`, `x̂ = (x - μ)/√(σ² + ε)`, `a = γ·x̂ + β` |
//! | inference forward | `x̂ = (x - running_mean)/√(running_var + ε)`, `a = γ·x̂ + β` |
//! | backward | `∂L/∂β = Σg`, `∂L/∂γ = Σg·x̂`, `∂L/∂x = γ/(m·√(σ² + ε))·(m·g - ∂L/∂β - x̂·∂L/∂γ)` |
//!
//! with `g = ∂L/∂a` and `ε = 1e-5`. The running statistics start at mean 0, variance 1 and
//! move with momentum 0.1 toward each training batch's mean and unbiased variance
//! (`σ²·m/(m - 1)`), once per optimizer step ([`BatchNorm::fold_statistics`]).

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};

use super::Aux;
use super::{filled, zeroed, Backward, Layer};
use crate::baked::BatchNormRef;
use crate::model::{BATCH_NORM_MOMENTUM, NORM_EPSILON};

/// Batch normalisation of `N` values a sample in `C` channels (`N / C` values each, channel-major).
///
/// Its gradient (a value of the same type) carries `∂L/∂γ` and `∂L/∂β` in its parameters and
/// the batch's mean and unbiased variance in its running-statistics slots, which
/// [`fold_statistics`](Self::fold_statistics) folds into the layer.
pub struct BatchNorm<N, const C: usize> {
    gamma: Box<[f32]>,
    beta: Box<[f32]>,
    running_mean: Box<[f32]>,
    running_var: Box<[f32]>,
    /// `num_batches_tracked`, counted in an `f32` so that it sits in the network's state beside
    /// the other tensors (exact up to 2²⁴ steps); a weight file holds it as `I64`, as PyTorch
    /// does.
    tracked: [f32; 1],
    width: PhantomData<N>,
}

impl<N: ArrayLength, const C: usize> BatchNorm<N, C> {
    /// The values of one channel in one sample.
    const SPATIAL: usize = {
        assert!(
            C > 0 && N::USIZE % C == 0,
            "a channel count that does not divide the width"
        );
        N::USIZE / C
    };

    /// A fresh layer, as PyTorch makes one: `γ = 1`, `β = 0`, running mean 0 and variance 1.
    pub fn new() -> Self {
        Self {
            gamma: filled(C, 1.0),
            beta: zeroed(C),
            running_mean: zeroed(C),
            running_var: filled(C, 1.0),
            tracked: [0.0],
            width: PhantomData,
        }
    }

    /// Every parameter zero (the starting value of a gradient), the running statistics at their
    /// start (mean 0, variance 1, no batch tracked): a gradient's running-statistics slots are
    /// overwritten by each backward pass, and a network of zeros infers with neutral ones.
    pub fn zeros() -> Self {
        Self {
            gamma: zeroed(C),
            beta: zeroed(C),
            running_mean: zeroed(C),
            running_var: filled(C, 1.0),
            tracked: [0.0],
            width: PhantomData,
        }
    }

    /// The scale `γ`, one per channel.
    pub fn weight(&self) -> &[f32] {
        &self.gamma
    }

    /// The shift `β`, one per channel.
    pub fn bias(&self) -> &[f32] {
        &self.beta
    }

    /// The running mean, one per channel.
    pub fn running_mean(&self) -> &[f32] {
        &self.running_mean
    }

    /// The running (unbiased) variance, one per channel.
    pub fn running_var(&self) -> &[f32] {
        &self.running_var
    }

    /// The number of training steps folded in (PyTorch's `num_batches_tracked`).
    pub fn batches_tracked(&self) -> u64 {
        // A count of steps: whole, not negative, within u64 (a file's value is truncated).
        self.tracked[0].max(0.0) as u64
    }

    /// The running statistics, mutable: mean, then variance.
    pub fn running_mut(&mut self) -> [&mut [f32]; 2] {
        [&mut self.running_mean, &mut self.running_var]
    }

    /// Sets the number of training steps folded in.
    pub fn set_batches_tracked(&mut self, batches: u64) {
        self.tracked = [batches as f32];
    }

    /// Every tensor a file holds, in PyTorch's `state_dict` order: `weight` (`γ`), `bias`
    /// (`β`), `running_mean`, `running_var`, `num_batches_tracked`.
    pub fn state(&self) -> [&[f32]; 5] {
        [
            &self.gamma,
            &self.beta,
            &self.running_mean,
            &self.running_var,
            &self.tracked,
        ]
    }

    /// [`state`](Self::state), mutable.
    pub fn state_mut(&mut self) -> [&mut [f32]; 5] {
        [
            &mut self.gamma,
            &mut self.beta,
            &mut self.running_mean,
            &mut self.running_var,
            &mut self.tracked,
        ]
    }

    /// The parameters: `γ`, then `β`.
    pub fn parameters(&self) -> [&[f32]; 2] {
        [&self.gamma, &self.beta]
    }

    /// The parameters, mutable: `γ`, then `β`.
    pub fn parameters_mut(&mut self) -> [&mut [f32]; 2] {
        [&mut self.gamma, &mut self.beta]
    }

    /// `running ← (1 - 0.1)·running + 0.1·batch` from the batch statistics `step` carries (see
    /// the type's docs), and one more batch tracked.
    pub fn fold_statistics(&mut self, step: &Self) {
        let m = BATCH_NORM_MOMENTUM;
        for (r, b) in self.running_mean.iter_mut().zip(&*step.running_mean) {
            *r = (1.0 - m) * *r + m * b;
        }
        for (r, b) in self.running_var.iter_mut().zip(&*step.running_var) {
            *r = (1.0 - m) * *r + m * b;
        }
        self.tracked[0] += step.tracked[0];
    }

    /// The layer as a view of its own tensors: what its inference pass runs.
    fn view(&self) -> BatchNormRef<'_, N, C> {
        let _ = Self::SPATIAL;
        BatchNormRef {
            gamma: &self.gamma,
            beta: &self.beta,
            mean: &self.running_mean,
            var: &self.running_var,
            width: PhantomData,
        }
    }
}

impl<N: ArrayLength, const C: usize> Default for BatchNorm<N, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: ArrayLength, const C: usize> Layer for BatchNorm<N, C> {
    type In = N;
    type Out = N;

    /// With the running statistics.
    fn forward_rows(
        &self,
        x: &[GenericArray<f32, N>],
        out: &mut [GenericArray<f32, N>],
        _: &mut Aux,
    ) {
        self.view().forward_rows(x, out);
    }

    /// With the batch's statistics, kept in `aux.stats` (mean, then biased variance, per
    /// channel); `x̂` in `z`.
    fn forward_train(
        &self,
        x: &[GenericArray<f32, N>],
        z: &mut [GenericArray<f32, N>],
        a: &mut [GenericArray<f32, N>],
        aux: &mut Aux,
    ) {
        let n = x.len();
        let s = Self::SPATIAL;
        let x = GenericArray::slice_from_chunks(x);
        let m = (n * s) as f64;
        let (mean, var) = aux.stats[..2 * C].split_at_mut(C);
        for c in 0..C {
            let values = || {
                x.chunks_exact(N::USIZE)
                    .flat_map(move |row| &row[c * s..(c + 1) * s])
                    .map(|&v| f64::from(v))
            };
            let mu = values().sum::<f64>() / m;
            let sq: f64 = values().map(|v| (v - mu) * (v - mu)).sum();
            mean[c] = mu as f32;
            var[c] = (sq / m) as f32;
        }
        let batch = BatchNormRef::<N, C> {
            mean,
            var,
            ..self.view()
        };
        batch.normalise(
            x,
            GenericArray::slice_from_chunks_mut(&mut a[..n]),
            Some(GenericArray::slice_from_chunks_mut(&mut z[..n])),
        );
    }
}

impl<N: ArrayLength, const C: usize, L> Backward<L> for BatchNorm<N, C> {
    fn backward_rows(
        &self,
        _x: &[GenericArray<f32, N>],
        z: &[GenericArray<f32, N>],
        _a: &[GenericArray<f32, N>],
        delta: &mut [GenericArray<f32, N>],
        aux: &mut Aux,
        grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, N>]>,
    ) {
        let n = delta.len();
        let s = Self::SPATIAL;
        let m = n * s;
        let xhat = GenericArray::slice_from_chunks(&z[..n]);
        let g = GenericArray::slice_from_chunks(delta);
        let (mean, var) = aux.stats[..2 * C].split_at(C);
        for c in 0..C {
            let (mut db, mut dg) = (0.0f64, 0.0f64);
            for (gr, hr) in g.chunks_exact(N::USIZE).zip(xhat.chunks_exact(N::USIZE)) {
                for j in c * s..(c + 1) * s {
                    db += f64::from(gr[j]);
                    dg += f64::from(gr[j]) * f64::from(hr[j]);
                }
            }
            grad.beta[c] = db as f32;
            grad.gamma[c] = dg as f32;
            grad.running_mean[c] = mean[c];
            grad.running_var[c] = if m > 1 {
                (f64::from(var[c]) * m as f64 / (m - 1) as f64) as f32
            } else {
                var[c]
            };
        }
        grad.tracked = [1.0];
        let Some(dx) = dx else { return };
        let dx = GenericArray::slice_from_chunks_mut(&mut dx[..n]);
        for (c, &v) in var.iter().enumerate() {
            let k = 1.0 / (v + NORM_EPSILON).sqrt();
            let scale = self.gamma[c] * k / m as f32;
            let (db, dg) = (grad.beta[c], grad.gamma[c]);
            for ((dr, gr), hr) in dx
                .chunks_exact_mut(N::USIZE)
                .zip(g.chunks_exact(N::USIZE))
                .zip(xhat.chunks_exact(N::USIZE))
            {
                for j in c * s..(c + 1) * s {
                    dr[j] = scale * (m as f32 * gr[j] - db - hr[j] * dg);
                }
            }
        }
    }
}

impl<N, const C: usize> Clone for BatchNorm<N, C> {
    fn clone(&self) -> Self {
        Self {
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            running_mean: self.running_mean.clone(),
            running_var: self.running_var.clone(),
            tracked: self.tracked,
            width: PhantomData,
        }
    }
}

impl<N, const C: usize> PartialEq for BatchNorm<N, C> {
    fn eq(&self, other: &Self) -> bool {
        self.gamma == other.gamma
            && self.beta == other.beta
            && self.running_mean == other.running_mean
            && self.running_var == other.running_var
            && self.tracked == other.tracked
    }
}

impl<N: ArrayLength, const C: usize> fmt::Debug for BatchNorm<N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchNorm({} in {C} channels)", N::USIZE)
    }
}
