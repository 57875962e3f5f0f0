//! Dropout: `a = m ⊙ x` with a random mask `m` while training, `a = x` at inference.
//!
//! | step | formula |
//! | --- | --- |
//! | training forward | `mᵢ = 0` with probability `p`, else `1/(1 - p)`; `a = m ⊙ x` |
//! | inference forward | `a = x` |
//! | backward | `∂L/∂x = m ⊙ ∂L/∂a` |
//!
//! The scaling by `1/(1 - p)` (inverted dropout, as PyTorch's `nn.Dropout`) keeps each value's
//! expectation the same in both modes. Each sample of each training step gets a fresh mask, drawn
//! from a generator seeded by the workspace (see [`Workspace`](crate::network::Workspace)).

use core::fmt;
use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};
use rand::{RngExt, SeedableRng};

use super::Aux;
use super::{Backward, Layer};

/// A dropout layer over `N` values with rate `p` (the probability of zeroing a value).
///
/// ```
/// use nn_core::layer::{Dropout, Layer};
/// use nn_core::layer::Aux;
/// use nn_core::generic_array::GenericArray;
/// use nn_core::typenum::U4;
///
/// let drop = Dropout::<U4>::new(0.5);
/// let x = [GenericArray::from_array([1.0, 2.0, 3.0, 4.0])];
/// let (mut z, mut a) = ([GenericArray::default()], [GenericArray::default()]);
/// drop.forward_train(&x, &mut z, &mut a, &mut Aux::default());
/// // Each value is dropped or doubled.
/// assert!(a[0].iter().zip(&x[0]).all(|(a, x)| *a == 0.0 || *a == 2.0 * x));
/// let mut out = [GenericArray::default()];
/// drop.forward_rows(&x, &mut out, &mut Aux::default());
/// assert_eq!(out, x);
/// ```
pub struct Dropout<N> {
    rate: f32,
    width: PhantomData<N>,
}

impl<N: ArrayLength> Dropout<N> {
    /// A dropout layer with rate `rate`; `network!` checks that `0 ≤ rate < 1`. A rate outside
    /// that range is clamped into it (below 0 drops nothing, 1 or more keeps almost nothing), so
    /// the layer never divides by zero.
    pub fn new(rate: f32) -> Self {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0 - f32::EPSILON)
        };
        Self {
            rate,
            width: PhantomData,
        }
    }

    /// The probability of zeroing a value.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The layer's parameters: none.
    pub fn parameters(&self) -> [&[f32]; 0] {
        []
    }

    /// The layer's parameters, mutable: none.
    pub fn parameters_mut(&mut self) -> [&mut [f32]; 0] {
        []
    }
}

impl<N: ArrayLength> Layer for Dropout<N> {
    type In = N;
    type Out = N;

    #[inline]
    fn forward_rows(
        &self,
        x: &[GenericArray<f32, N>],
        out: &mut [GenericArray<f32, N>],
        _: &mut Aux,
    ) {
        let n = x.len();
        GenericArray::slice_from_chunks_mut(&mut out[..n])
            .copy_from_slice(GenericArray::slice_from_chunks(x));
    }

    /// Draws the mask into `z` (`0` or `1/(1 - p)`), then `a = z ⊙ x`.
    #[inline]
    fn forward_train(
        &self,
        x: &[GenericArray<f32, N>],
        z: &mut [GenericArray<f32, N>],
        a: &mut [GenericArray<f32, N>],
        aux: &mut Aux,
    ) {
        let n = x.len();
        let mask = GenericArray::slice_from_chunks_mut(&mut z[..n]);
        let keep = 1.0 / (1.0 - self.rate);
        let mut rng = crate::__private::SeedRng::seed_from_u64(aux.seed);
        for m in mask.iter_mut() {
            *m = if rng.random::<f32>() < self.rate {
                0.0
            } else {
                keep
            };
        }
        let x = GenericArray::slice_from_chunks(x);
        let a = GenericArray::slice_from_chunks_mut(&mut a[..n]);
        for ((a, x), m) in a.iter_mut().zip(x).zip(&*mask) {
            *a = x * m;
        }
    }
}

impl<N: ArrayLength, L> Backward<L> for Dropout<N> {
    /// `∂L/∂x = m ⊙ ∂L/∂a`; no parameters.
    #[inline]
    fn backward_rows(
        &self,
        _x: &[GenericArray<f32, N>],
        z: &[GenericArray<f32, N>],
        _a: &[GenericArray<f32, N>],
        delta: &mut [GenericArray<f32, N>],
        _aux: &mut Aux,
        _grad: &mut Self,
        dx: Option<&mut [GenericArray<f32, N>]>,
    ) {
        let Some(dx) = dx else { return };
        let n = delta.len();
        let dx = GenericArray::slice_from_chunks_mut(&mut dx[..n]);
        let d = GenericArray::slice_from_chunks(delta);
        let m = GenericArray::slice_from_chunks(&z[..n]);
        for ((dx, d), m) in dx.iter_mut().zip(d).zip(m) {
            *dx = d * m;
        }
    }
}

impl<N> Clone for Dropout<N> {
    fn clone(&self) -> Self {
        Self {
            rate: self.rate,
            width: PhantomData,
        }
    }
}

impl<N> PartialEq for Dropout<N> {
    fn eq(&self, other: &Self) -> bool {
        self.rate == other.rate
    }
}

impl<N: ArrayLength> fmt::Debug for Dropout<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout({}, p = {})", N::USIZE, self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use typenum::U1024;

    fn mask(seed: u64, rate: f32) -> Vec<f32> {
        let d = Dropout::<U1024>::new(rate);
        let x = [GenericArray::from_array([1.0f32; 1024])];
        let (mut z, mut a) = ([GenericArray::default()], [GenericArray::default()]);
        let mut aux = Aux {
            seed,
            ..Aux::default()
        };
        d.forward_train(&x, &mut z, &mut a, &mut aux);
        a[0].to_vec()
    }

    #[test]
    fn same_seed_same_bits_and_the_rate_holds() {
        assert_eq!(mask(7, 0.25), mask(7, 0.25));
        assert_ne!(mask(7, 0.25), mask(8, 0.25));
        let m = mask(3, 0.25);
        let dropped = m.iter().filter(|&&v| v == 0.0).count();
        // 1024 draws at p = 0.25: 256 expected, standard deviation 13.9.
        assert!((200..312).contains(&dropped), "{dropped}");
        assert!(m.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
        assert!(mask(3, 0.0).iter().all(|&v| v == 1.0));
    }

    #[test]
    fn backward_masks_the_gradient() {
        let d = Dropout::<U1024>::new(0.5);
        let x = [GenericArray::from_array([1.0f32; 1024])];
        let (mut z, mut a) = ([GenericArray::default()], [GenericArray::default()]);
        let mut aux = Aux::default();
        d.forward_train(&x, &mut z, &mut a, &mut aux);
        let mut delta = [GenericArray::from_array([3.0f32; 1024])];
        let mut dx = [GenericArray::default()];
        let mut g = d.clone();
        <Dropout<U1024> as Backward<()>>::backward_rows(
            &d,
            &x,
            &z,
            &a,
            &mut delta,
            &mut aux,
            &mut g,
            Some(&mut dx),
        );
        for (dx, a) in dx[0].iter().zip(&a[0]) {
            assert_eq!(*dx, 3.0 * a);
        }
        assert_eq!(Dropout::<U1024>::new(1.5).rate(), 1.0 - f32::EPSILON);
    }
}
