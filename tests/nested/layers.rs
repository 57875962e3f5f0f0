//! Two layers of a user's own, implementing `nn::Layer`, shared by the nesting tests: a
//! per-feature learnable scale and a parameter-free normalisation, each with its backward
//! written by hand (which the tests check against finite differences).

use core::marker::PhantomData;

use nn::generic_array::{ArrayLength, GenericArray};
use nn::model::{LayerKind, LayerShape, Shape, TensorRole, TensorShape};
use nn::network::LayerBuffers;

/// `y = scale ⊙ x` over `N` features, `scale` learned (starting at 1, as PyTorch's
/// `nn.Parameter(torch.ones(n))` would). `∂L/∂scale = Σ_batch ∂L/∂y ⊙ x`, `∂L/∂x = scale ⊙ ∂L/∂y`.
#[derive(Debug, Clone, PartialEq)]
pub struct MyScale<N: ArrayLength> {
    /// One factor per feature.
    pub scale: Vec<f32>,
    width: PhantomData<N>,
}

impl<N: ArrayLength> MyScale<N> {
    fn filled(value: f32) -> Self {
        Self {
            scale: vec![value; N::USIZE],
            width: PhantomData,
        }
    }
}

impl<N: ArrayLength> nn::Layer for MyScale<N> {
    type In = N;
    type Out = N;
    const LAYERS: &'static [LayerShape] = &[LayerShape::new(
        "",
        LayerKind::Custom {
            name: "MyScale",
            tensors: &[TensorShape::new(TensorRole::Named("scale"), &[N::USIZE])],
            scratch: 0,
        },
        Shape::Flat(N::USIZE),
        Shape::Flat(N::USIZE),
    )];

    fn new(seed: u64) -> Self {
        // Not quite 1, so that the gradient check sees a scale that matters.
        Self {
            scale: (0..N::USIZE)
                .map(|i| 1.0 + 0.1 * ((seed as usize + i) % 5) as f32)
                .collect(),
            width: PhantomData,
        }
    }
    fn zeros() -> Self {
        Self::filled(0.0)
    }
    fn parameters(&self) -> impl Iterator<Item = &[f32]> {
        core::iter::once(&self.scale[..])
    }
    fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        core::iter::once(&mut self.scale[..])
    }
    fn forward_rows(&self, x: &[GenericArray<f32, N>], buffers: &mut [LayerBuffers]) {
        let (_, out, _) = buffers[0].rows::<N>(x.len());
        for (x, y) in x.iter().zip(out) {
            for ((y, x), s) in y.iter_mut().zip(x).zip(&self.scale) {
                *y = s * x;
            }
        }
    }
    fn backward_rows(
        &self,
        x: &[GenericArray<f32, N>],
        buffers: &mut [LayerBuffers],
        grads: &mut Self,
        dx: Option<&mut [GenericArray<f32, N>]>,
    ) {
        let (_, _, dy) = buffers[0].rows::<N>(x.len());
        grads.scale.fill(0.0);
        for (x, dy) in x.iter().zip(dy.iter()) {
            for ((g, x), dy) in grads.scale.iter_mut().zip(x).zip(dy) {
                *g += dy * x;
            }
        }
        if let Some(dx) = dx {
            for (dx, dy) in dx.iter_mut().zip(dy.iter()) {
                for ((dx, dy), s) in dx.iter_mut().zip(dy).zip(&self.scale) {
                    *dx = s * dy;
                }
            }
        }
    }
}

/// Each sample divided by its length, `y = x / r` with `r = √(ε + Σ x²)`: no parameters, one
/// value of scratch per sample (`r`, kept by the forward pass for the backward).
/// `∂L/∂x = (∂L/∂y - y (y · ∂L/∂y)) / r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MyNormalize<N>(PhantomData<N>);

/// The `ε` under the root.
pub const EPSILON: f32 = 1e-6;

impl<N: ArrayLength> nn::Layer for MyNormalize<N> {
    type In = N;
    type Out = N;
    const LAYERS: &'static [LayerShape] = &[LayerShape::new(
        "",
        LayerKind::Custom {
            name: "MyNormalize",
            tensors: &[],
            scratch: 1,
        },
        Shape::Flat(N::USIZE),
        Shape::Flat(N::USIZE),
    )];

    fn new(_seed: u64) -> Self {
        Self(PhantomData)
    }
    fn zeros() -> Self {
        Self(PhantomData)
    }
    fn parameters(&self) -> impl Iterator<Item = &[f32]> {
        core::iter::empty()
    }
    fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        core::iter::empty()
    }
    fn forward_rows(&self, x: &[GenericArray<f32, N>], buffers: &mut [LayerBuffers]) {
        let (_, out, _, aux) = buffers[0].parts::<N>(x.len());
        for ((x, y), r) in x.iter().zip(out).zip(aux.scratch.iter_mut()) {
            *r = (EPSILON + x.iter().map(|v| v * v).sum::<f32>()).sqrt();
            for (y, x) in y.iter_mut().zip(x) {
                *y = x / *r;
            }
        }
    }
    fn backward_rows(
        &self,
        x: &[GenericArray<f32, N>],
        buffers: &mut [LayerBuffers],
        _grads: &mut Self,
        dx: Option<&mut [GenericArray<f32, N>]>,
    ) {
        let Some(dx) = dx else { return };
        let (_, out, dy, aux) = buffers[0].parts::<N>(x.len());
        for (((dx, y), dy), r) in dx
            .iter_mut()
            .zip(out.iter())
            .zip(dy.iter())
            .zip(&aux.scratch)
        {
            let dot: f32 = y.iter().zip(dy).map(|(y, d)| y * d).sum();
            for ((dx, y), dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = (dy - y * dot) / r;
            }
        }
    }
}
