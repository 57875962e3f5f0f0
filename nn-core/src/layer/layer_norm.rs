//! Layer normalisation: each sample normalised over all its `N` values, then scaled and shifted
//! value by value by learned `γ` and `β` (PyTorch's `nn.LayerNorm(shape)` over the whole sample,
//! `[n]` or `[c, h, w]`). The same in training and at inference.
//!
//! | step | formula |
//! | --- | --- |
//! | forward | `μ = Σx/N`, `σ² = Σ(x - μ)²/N`, `x̂ = (x - μ)/√(σ² + ε)`, `a = γ ⊙ x̂ + β` |
//! | backward | `∂L/∂β = Σ g`, `∂L/∂γ = Σ g ⊙ x̂` (over the batch), `∂L/∂x = 1/(N·√(σ² + ε))·(N·ĝ - Σĝ - x̂·Σ ĝ ⊙ x̂)` with `ĝ = g ⊙ γ` |
//!
//! with `g = ∂L/∂a` and `ε = 1e-5`.

use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};

use super::Aux;
use super::{filled, zeroed, Backward, Layer};
use crate::baked::LayerNormRef;

/// Layer normalisation of `N` values a sample.
pub struct LayerNorm<N> {
    gamma: Box<[f32]>,
    beta: Box<[f32]>,
    width: PhantomData<N>,
}

impl<N: ArrayLength> LayerNorm<N> {
    /// A fresh layer, as PyTorch makes one: `γ = 1`, `β = 0`.
    pub fn new() -> Self {
        Self {
            gamma: filled(N::USIZE, 1.0),
            beta: zeroed(N::USIZE),
            width: PhantomData,
        }
    }

    /// Every value zero (the starting value of a gradient).
    pub fn zeros() -> Self {
        Self {
            gamma: zeroed(N::USIZE),
            beta: zeroed(N::USIZE),
            width: PhantomData,
        }
    }

    /// The scale `γ`, one per value.
    pub fn weight(&self) -> &[f32] {
        &self.gamma
    }

    /// The shift `β`, one per value.
    pub fn bias(&self) -> &[f32] {
        &self.beta
    }

    /// The parameters: `γ`, then `β`.
    pub fn parameters(&self) -> [&[f32]; 2] {
        [&self.gamma, &self.beta]
    }

    /// The parameters, mutable: `γ`, then `β`.
    pub fn parameters_mut(&mut self) -> [&mut [f32]; 2] {
        [&mut self.gamma, &mut self.beta]
    }

    /// The layer as a view of its own tensors: what its forward pass runs.
    fn view(&self) -> LayerNormRef<'_, N> {
        LayerNormRef {
            gamma: &self.gamma,
            beta: &self.beta,
            width: PhantomData,
        }
    }
}

impl<N: ArrayLength> Default for LayerNorm<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: ArrayLength> Layer for LayerNorm<N> {
    type In = N;
    type Out = N;

    /// As in training.
    fn forward_rows(
        &self,
        x: &[GenericArray<f32, N>],
        out: &mut [GenericArray<f32, N>],
        _: &mut Aux,
    ) {
        self.view().forward_rows(x, out);
    }

    /// `x̂` in `z`, each sample's `1/√(σ² + ε)` in `aux.stats`.
    fn forward_train(
        &self,
        x: &[GenericArray<f32, N>],
        z: &mut [GenericArray<f32, N>],
        a: &mut [GenericArray<f32, N>],
        aux: &mut Aux,
    ) {
        for (i, ((x, z), a)) in x.iter().zip(z.iter_mut()).zip(a.iter_mut()).enumerate() {
            let (mu, k) = LayerNormRef::<N>::moments(x);
            aux.stats[i] = k;
            for ((((h, a), &x), &g), &b) in z
                .iter_mut()
                .zip(a.iter_mut())
                .zip(x.iter())
                .zip(&*self.gamma)
                .zip(&*self.beta)
            {
                *h = (x - mu) * k;
                *a = g * *h + b;
            }
        }
    }
}

impl<N: ArrayLength, L> Backward<L> for LayerNorm<N> {
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
        grad.gamma.fill(0.0);
        grad.beta.fill(0.0);
        for (g, h) in delta.iter().zip(&z[..n]) {
            for (((dg, db), &g), &h) in grad
                .gamma
                .iter_mut()
                .zip(grad.beta.iter_mut())
                .zip(g)
                .zip(h)
            {
                *dg += g * h;
                *db += g;
            }
        }
        let Some(dx) = dx else { return };
        let len = N::USIZE as f32;
        for (i, ((dx, g), h)) in dx.iter_mut().zip(delta.iter_mut()).zip(&z[..n]).enumerate() {
            // ĝ = g ⊙ γ, in place.
            for (g, &gamma) in g.iter_mut().zip(&*self.gamma) {
                *g *= gamma;
            }
            let sum: f32 = g.iter().sum();
            let dot: f32 = g.iter().zip(h).map(|(g, h)| g * h).sum();
            let k = aux.stats[i] / len;
            for ((dx, &g), &h) in dx.iter_mut().zip(g.iter()).zip(h) {
                *dx = k * (len * g - sum - h * dot);
            }
        }
    }
}

impl<N> Clone for LayerNorm<N> {
    fn clone(&self) -> Self {
        Self {
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            width: PhantomData,
        }
    }
}

impl<N> PartialEq for LayerNorm<N> {
    fn eq(&self, other: &Self) -> bool {
        self.gamma == other.gamma && self.beta == other.beta
    }
}

impl<N: ArrayLength> fmt::Debug for LayerNorm<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerNorm({})", N::USIZE)
    }
}
