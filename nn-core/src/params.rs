//! Where a [`Dense`](crate::dense::Dense) layer keeps its weights and biases: one type, two
//! layouts chosen by the crate's features.
//!
//! | features | layout | why |
//! | --- | --- | --- |
//! | `alloc` (and `std`, the default) | one block on the heap, `O × I` weights then `O` biases | a network is a few pointers however wide its layers; the block is allocated zeroed in one go, never built on the stack |
//! | neither | inline: `O` rows of `I` weights, then `O` biases, in the layer itself | no heap: a network is a plain value a firmware crate puts in a `static`, built at compile time by [`Dense::from_arrays`](crate::dense::Dense::from_arrays) |
//!
//! Both layouts hand out the same slices (row-major weights, biases), so every kernel, gradient
//! and weight file sees one layout.

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
    /// The weights, then the biases, in one block. Kept flat so that it is allocated zeroed on
    /// the heap in one go: a boxed `GenericArray` of rows is built a row at a time through the
    /// stack, which overflows it for rows of a few hundred thousand inputs in a debug build.
    block: Box<[T]>,
    /// The widths, which the flat block does not carry.
    shape: PhantomData<(I, O)>,
}

#[cfg(feature = "alloc")]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Params<I, O, T> {
    /// The number of weights, `O × I`: where the biases start in the block.
    const WEIGHTS: usize = O::USIZE * I::USIZE;

    /// Every weight and bias zero, allocated directly on the heap.
    pub(crate) fn zeros() -> Self {
        Self {
            block: vec![T::ZERO; Self::WEIGHTS + O::USIZE].into_boxed_slice(),
            shape: PhantomData,
        }
    }

    /// The weights (row-major) and the biases.
    #[inline]
    pub(crate) fn split(&self) -> (&[T], &[T]) {
        self.block.split_at(Self::WEIGHTS)
    }

    /// The weights (row-major) and the biases, mutable.
    #[inline]
    pub(crate) fn split_mut(&mut self) -> (&mut [T], &mut [T]) {
        self.block.split_at_mut(Self::WEIGHTS)
    }
}

#[cfg(feature = "alloc")]
impl<I: ArrayLength, O: ArrayLength, T: Scalar> Clone for Params<I, O, T> {
    fn clone(&self) -> Self {
        Self {
            block: self.block.clone(),
            shape: PhantomData,
        }
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
