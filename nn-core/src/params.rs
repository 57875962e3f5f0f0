//! Where a [`Dense`](crate::dense::Dense) layer keeps its weights and biases: one type, two
//! layouts chosen by the crate's features.
//!
//! | features | layout | why |
//! | --- | --- | --- |
//! | `alloc` (and `std`, the default) | one block on the heap, `O × I` weights then `O` biases | a network is a few pointers however wide its layers; the block is allocated zeroed in one go, never built on the stack |
//! | neither | inline: `O` rows of `I` weights, then `O` biases, in the layer itself | no heap: a network is a plain value a firmware crate puts in a `static`, built at compile time by [`Dense::from_arrays`](crate::dense::Dense::from_arrays) |
//!
//! Both layouts hand out the same slices (row-major weights, biases), so every kernel, gradient
//! and weight file sees one layout. On the heap the weights start on a cache line (64 bytes).

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, vec};
#[cfg(feature = "alloc")]
use core::marker::PhantomData;

use generic_array::ArrayLength;

use crate::scalar::Scalar;
#[cfg(not(feature = "alloc"))]
use generic_array::{typenum::Const, GenericArray, IntoArrayLength};

/// The weights (`O × I`, row-major `[out][in]`) and biases (`O`) of a dense layer.
#[cfg(feature = "alloc")]
pub(crate) struct Params<I: ArrayLength, O: ArrayLength, T: Scalar = f32> {
    /// The weights, then the biases, in one block, from its first cache line boundary
    /// ([`LINE`] bytes, which the allocator alone does not promise: it aligns to 16) on; the
    /// block holds up to a line more than it needs. Kept flat so that it is allocated zeroed on
    /// the heap in one go: a boxed `GenericArray` of rows is built a row at a time through the
    /// stack, which overflows it for rows of a few hundred thousand inputs in a debug build.
    block: Box<[T]>,
    /// The widths, which the flat block does not carry.
    shape: PhantomData<(I, O)>,
}

/// The alignment of a layer's weights, in bytes: a cache line, so that a kernel's 64-byte load
/// of a row that is a multiple of sixteen floats long touches one line, not two.
#[cfg(feature = "alloc")]
const LINE: usize = 64;

#[cfg(feature = "alloc")]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Params<I, O, T> {
    /// The number of weights, `O × I`: where the biases start in the block.
    const WEIGHTS: usize = O::USIZE * I::USIZE;

    /// The number of weights and biases.
    const LEN: usize = Self::WEIGHTS + O::USIZE;

    /// Every weight and bias zero, allocated directly on the heap, the weights from a cache
    /// line boundary on (the block holds up to one line more than it needs).
    pub(crate) fn zeros() -> Self {
        let slack = LINE / core::mem::size_of::<T>() - 1;
        Self {
            block: vec![T::ZERO; Self::LEN + slack].into_boxed_slice(),
            shape: PhantomData,
        }
    }

    /// Where the weights start in the block: the values from its start to the next line
    /// boundary (the block is aligned to its values, so the distance is a whole number of them,
    /// at most the slack `zeros` added). Computed from the address, which the block keeps for
    /// its life, so that the layer stays two words.
    #[inline]
    fn start(&self) -> usize {
        ((self.block.as_ptr() as usize).wrapping_neg() % LINE) / core::mem::size_of::<T>()
    }

    /// The weights (row-major) and the biases.
    #[inline]
    pub(crate) fn split(&self) -> (&[T], &[T]) {
        let start = self.start();
        self.block[start..start + Self::LEN].split_at(Self::WEIGHTS)
    }

    /// The weights (row-major) and the biases, mutable.
    #[inline]
    pub(crate) fn split_mut(&mut self) -> (&mut [T], &mut [T]) {
        let start = self.start();
        self.block[start..start + Self::LEN].split_at_mut(Self::WEIGHTS)
    }
}

#[cfg(feature = "alloc")]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Clone for Params<I, O, T> {
    /// A new block, aligned on its own line boundary, with the same values.
    fn clone(&self) -> Self {
        let mut copy = Self::zeros();
        let ((w, b), (cw, cb)) = (self.split(), copy.split_mut());
        cw.copy_from_slice(w);
        cb.copy_from_slice(b);
        copy
    }
}

/// The weights (`O` rows of `I`) and biases (`O`) of a dense layer, inline: no heap.
#[cfg(not(feature = "alloc"))]
pub(crate) struct Params<I: ArrayLength, O: ArrayLength, T: Scalar = f32> {
    /// One row of weights a neuron.
    weights: GenericArray<GenericArray<T, I>, O>,
    /// One bias a neuron.
    bias: GenericArray<T, O>,
}

#[cfg(not(feature = "alloc"))]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Params<I, O, T> {
    /// Every weight and bias zero. The value is as large as the layer: a wide one belongs in a
    /// `static`, built by [`from_arrays`](Self::from_arrays), not on a small stack.
    pub(crate) fn zeros() -> Self {
        Self {
            weights: GenericArray::default(),
            bias: GenericArray::default(),
        }
    }

    /// The weights (row-major) and the biases.
    #[inline]
    pub(crate) fn split(&self) -> (&[T], &[T]) {
        (GenericArray::slice_from_chunks(&self.weights), &self.bias)
    }

    /// The weights (row-major) and the biases, mutable.
    #[inline]
    pub(crate) fn split_mut(&mut self) -> (&mut [T], &mut [T]) {
        (
            GenericArray::slice_from_chunks_mut(&mut self.weights),
            &mut self.bias,
        )
    }

    /// The parameters from plain arrays, at compile time if asked: `weights[neuron][input]`
    /// and `bias[neuron]`.
    pub(crate) const fn from_arrays<const IN: usize, const OUT: usize>(
        weights: &[[T; IN]; OUT],
        bias: &[T; OUT],
    ) -> Self
    where
        Const<IN>: IntoArrayLength<ArrayLength = I>,
        Const<OUT>: IntoArrayLength<ArrayLength = O>,
    {
        let mut rows = [const { GenericArray::<T, I>::from_array([T::ZERO; IN]) }; OUT];
        let mut k = 0;
        while k < OUT {
            // `replace` and `forget`: a `const fn` cannot drop a value of a generic type.
            core::mem::forget(core::mem::replace(
                &mut rows[k],
                GenericArray::from_array(weights[k]),
            ));
            k += 1;
        }
        Self {
            weights: GenericArray::from_array(rows),
            bias: GenericArray::from_array(*bias),
        }
    }
}

#[cfg(not(feature = "alloc"))]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Clone for Params<I, O, T> {
    fn clone(&self) -> Self {
        Self {
            weights: self.weights.clone(),
            bias: self.bias.clone(),
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use generic_array::typenum::{U10, U784};

    /// The weights start on a 64-byte boundary, in f32 and f64, in a clone and after the value
    /// moves, and the slices are the layer's: `O × I` weights, `O` biases, values kept by the
    /// clone; the layer stays two words.
    #[test]
    fn the_weights_start_on_a_cache_line() {
        fn check<T: Scalar>() {
            for _ in 0..8 {
                let mut p = Params::<U784, U10, T>::zeros();
                let (w, b) = p.split_mut();
                assert_eq!((w.len(), b.len()), (7840, 10));
                assert_eq!(w.as_ptr() as usize % LINE, 0);
                w[7839] = T::ONE;
                b[0] = T::ONE;
                let copy = [p.clone()];
                let (w, b) = copy[0].split();
                assert_eq!(w.as_ptr() as usize % LINE, 0);
                assert!(w[7839] == T::ONE && b[0] == T::ONE && w[0] == T::ZERO);
            }
        }
        check::<f32>();
        check::<f64>();
        assert_eq!(
            core::mem::size_of::<Params<U784, U10>>(),
            2 * core::mem::size_of::<usize>()
        );
    }
}
