//! What every network `network!` declares has in common, for code that is generic over networks
//! (training loops, optimizers, the gradient check, weight files).
//!
//! A generated network implements [`Network`], and [`Trainable<L>`] for every loss `L` that fits its
//! output layer. Its inherent methods do the same things with literal array sizes in their
//! signatures, which is what most users call.

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, vec::Vec};
#[cfg(feature = "alloc")]
use core::marker::PhantomData;

#[cfg(feature = "alloc")]
use generic_array::{ArrayLength, GenericArray};

use crate::activation::Activation;
use crate::error::Error;
#[cfg(feature = "alloc")]
pub use crate::layer::{Aux, AuxLens};
use crate::model::{LayerShape, Node};
use crate::scalar::Scalar;

/// A network declared with `network!`: its shape, its parameters and its forward pass.
pub trait Network: Sized {
    /// The number of inputs.
    const INPUT: usize;
    /// The number of outputs.
    const OUTPUT: usize;
    /// The network's structure: each layer's name, kind, input and output shape, first hidden
    /// layer to output layer. Everything that needs the structure at run time reads this.
    const LAYERS: &'static [LayerShape];
    /// The declaration as `network!` reads it, e.g. `784 -> 16 sigmoid -> 10 softmax`, with
    /// layer names where they are not the default `layerN`.
    const DECLARATION: &'static str;
    /// The wiring of a network that is not a plain chain (residual blocks, concatenations,
    /// heads), as the nodes of its trunk, each naming its layers by their index in
    /// [`LAYERS`](Network::LAYERS); see [`nn_model::Node`](crate::model::Node). Empty for a
    /// chain, where each layer reads the one before it.
    const GRAPH: &'static [Node] = &[];

    /// The number type of the weights, the inputs and outputs, the gradients and the loss:
    /// `f32`, or `f64` where the declaration says so (`struct Net: f64 3 -> 1 linear;`).
    type Scalar: Scalar;
    /// One input sample, `[Scalar; INPUT]`.
    type Input: Copy + AsRef<[Self::Scalar]> + AsMut<[Self::Scalar]> + 'static;
    /// One output (or target) sample, `[Scalar; OUTPUT]`.
    type Output: Copy + AsRef<[Self::Scalar]> + AsMut<[Self::Scalar]> + 'static;
    /// The output layer's activation.
    type OutputActivation: Activation;

    /// A network of the same shape with every weight and bias zero: the starting value of a
    /// gradient or of an optimizer's state.
    fn zeros() -> Self;

    /// The parameters as slices, two per layer in order: weights (row-major `[out][in]`), then
    /// biases.
    fn parameters(&self) -> impl Iterator<Item = &[Self::Scalar]>;

    /// The parameters as mutable slices, in the order of [`parameters`](Network::parameters).
    fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]>;

    /// Every tensor a weights file holds, in PyTorch's `state_dict` order: each layer's
    /// parameters, then its buffers (batch normalisation's `running_mean`, `running_var` and
    /// `num_batches_tracked`, the last as a count in an `f32`). The same as
    /// [`parameters`](Network::parameters) for a network without buffers.
    fn state(&self) -> impl Iterator<Item = &[Self::Scalar]> {
        self.parameters()
    }

    /// [`state`](Network::state), mutable.
    fn state_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        self.parameters_mut()
    }

    /// Folds the statistics a training step observed into the network's running statistics:
    /// for each batch normalisation layer, `running = 0.9·running + 0.1·batch` (PyTorch's
    /// momentum 0.1) and one more batch tracked. `step` is the gradient the step was computed
    /// in, which carries the batch's mean and unbiased variance in its running-statistics
    /// slots. Every [`Optimizer`](crate::optim::Optimizer) calls this after updating the parameters,
    /// so running statistics change only in training steps. A network without batch
    /// normalisation has nothing to fold. With [`DataParallel`](crate::parallel::DataParallel), the
    /// statistics are those of the calling thread's chunk of the batch, as PyTorch's
    /// `nn.DataParallel` keeps the first replica's.
    fn fold_statistics(&mut self, step: &Self) {
        let _ = step;
    }

    /// The forward pass of one sample.
    fn forward(&self, input: &Self::Input) -> Self::Output;

    /// The forward pass of a batch, into `outputs`, using `workspace` for the hidden layers.
    ///
    /// # Errors
    ///
    /// [`Error::BatchMismatch`] if `outputs` does not have one row per input.
    #[cfg(feature = "alloc")]
    fn forward_batch(
        &self,
        inputs: &[Self::Input],
        outputs: &mut [Self::Output],
        workspace: &mut Workspace<Self>,
    ) -> Result<(), Error>;

    /// The number of parameters (weights and biases).
    fn parameter_count() -> usize {
        crate::model::parameter_count(Self::LAYERS)
    }
}

#[cfg(feature = "alloc")]
/// A network that can be trained with the loss `L`: every layer has a gradient and `L` fits the
/// output layer.
pub trait Trainable<L>: Network {
    /// Computes the gradient of the mean loss over a batch with respect to every weight and
    /// bias, writing it into `grads` (overwriting it), and returns the mean loss.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyBatch`] for no samples, [`Error::BatchMismatch`] if `targets` does not have
    /// one row per input.
    fn gradient_batch(
        &self,
        loss: L,
        inputs: &[Self::Input],
        targets: &[Self::Output],
        grads: &mut Self,
        workspace: &mut Workspace<Self>,
    ) -> Result<Self::Scalar, Error>;

    /// The mean loss over a batch, without gradients.
    ///
    /// # Errors
    ///
    /// As for [`gradient_batch`](Trainable::gradient_batch).
    fn loss_batch(
        &self,
        loss: L,
        inputs: &[Self::Input],
        targets: &[Self::Output],
        workspace: &mut Workspace<Self>,
    ) -> Result<Self::Scalar, Error>;
}

#[cfg(feature = "alloc")]
/// The old name of [`Trainable`].
#[deprecated(since = "0.2.0", note = "renamed to `Trainable`")]
pub trait Train<L>: Trainable<L> {}

#[cfg(feature = "alloc")]
#[allow(deprecated)]
impl<L, N: Trainable<L>> Train<L> for N {}

/// Checks that a batch has samples and one target row per input; returns its size.
///
/// # Errors
///
/// [`Error::EmptyBatch`] or [`Error::BatchMismatch`].
pub fn check_batch(inputs: usize, targets: usize) -> Result<usize, Error> {
    if inputs != targets {
        return Err(Error::BatchMismatch { inputs, targets });
    }
    if inputs == 0 {
        return Err(Error::EmptyBatch);
    }
    Ok(inputs)
}

/// Checks that a batch's outputs have one row per input (an empty batch is fine); returns its
/// size.
///
/// # Errors
///
/// [`Error::BatchMismatch`].
pub fn check_outputs(inputs: usize, outputs: usize) -> Result<usize, Error> {
    if inputs != outputs {
        return Err(Error::BatchMismatch {
            inputs,
            targets: outputs,
        });
    }
    Ok(inputs)
}

#[cfg(feature = "alloc")]
/// One layer's buffers in a [`Workspace`]: weighted sums, outputs and deltas, each
/// `capacity × width` values, and what its kind needs besides ([`Aux`]). A
/// [`Layer`](crate::nested::Layer) of the user's own gets one per entry of its `LAYERS`.
#[derive(Debug, Clone, Default)]
pub struct LayerBuffers<T = f32> {
    /// Weighted sums `z` (a dropout layer's mask, a norm layer's normalised input `x̂`).
    pub z: Vec<T>,
    /// Outputs `a = f(z)`.
    pub a: Vec<T>,
    /// Deltas `∂L/∂z` (and, before the activation's backward, `∂L/∂a`).
    pub d: Vec<T>,
    /// What the layer's kind keeps besides.
    pub aux: Aux,
}

#[cfg(feature = "alloc")]
impl<T> LayerBuffers<T> {
    /// This layer's weighted sums, outputs and deltas for `n` samples, as typed rows.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn rows<W: ArrayLength>(
        &mut self,
        n: usize,
    ) -> (
        &mut [GenericArray<T, W>],
        &mut [GenericArray<T, W>],
        &mut [GenericArray<T, W>],
    ) {
        let len = n * W::USIZE;
        (
            GenericArray::chunks_from_slice_mut(&mut self.z[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.a[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.d[..len]).0,
        )
    }

    /// [`rows`](Self::rows) and the layer's [`Aux`] buffers, for the layer kinds that need them.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn parts<W: ArrayLength>(
        &mut self,
        n: usize,
    ) -> (
        &mut [GenericArray<T, W>],
        &mut [GenericArray<T, W>],
        &mut [GenericArray<T, W>],
        &mut Aux,
    ) {
        let len = n * W::USIZE;
        (
            GenericArray::chunks_from_slice_mut(&mut self.z[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.a[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.d[..len]).0,
            &mut self.aux,
        )
    }
}

#[cfg(feature = "alloc")]
/// One block's buffers in a [`Workspace`] (a residual block's or a concatenation's, see
/// [`Node`](crate::model::Node)): its output rows (`x + f(x)`, or the branches' outputs joined),
/// their gradient, and a scratch of its input's width where the backward pass sums the input
/// gradients of several branches.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct BlockBuffers {
    /// The block's output.
    pub out: Vec<f32>,
    /// The gradient of the loss with respect to the output.
    pub grad: Vec<f32>,
    /// One branch's input gradient, before it is added to the others'.
    pub scratch: Vec<f32>,
}

#[cfg(feature = "alloc")]
impl BlockBuffers {
    /// The output rows and their gradient's for `n` samples of width `W`.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn rows<W: ArrayLength>(
        &mut self,
        n: usize,
    ) -> (&mut [GenericArray<f32, W>], &mut [GenericArray<f32, W>]) {
        let len = n * W::USIZE;
        (
            GenericArray::chunks_from_slice_mut(&mut self.out[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.grad[..len]).0,
        )
    }

    /// [`rows`](Self::rows) and the scratch rows of the block's input width `V`.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn parts<W: ArrayLength, V: ArrayLength>(
        &mut self,
        n: usize,
    ) -> (
        &mut [GenericArray<f32, W>],
        &mut [GenericArray<f32, W>],
        &mut [GenericArray<f32, V>],
    ) {
        let len = n * W::USIZE;
        (
            GenericArray::chunks_from_slice_mut(&mut self.out[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.grad[..len]).0,
            GenericArray::chunks_from_slice_mut(&mut self.scratch[..n * V::USIZE]).0,
        )
    }
}

#[cfg(feature = "alloc")]
/// The buffers a network's batch forward and backward passes work in: for each layer, room for
/// the weighted sums, outputs and deltas of a batch.
///
/// Create one per network and reuse it across steps. It grows to the largest batch it has seen
/// and never shrinks, so after the first step of a given size, a training step allocates
/// nothing.
///
/// It also holds the training mode's randomness: dropout masks come from a seeded generator
/// (xoshiro256++), reseeded for each layer and each training step from the workspace's seed
/// ([`set_seed`](Self::set_seed), 0 by default) and its step count. The same seed and the same
/// sequence of calls give the same masks, bit for bit. Each `gradient_batch` starts a new step
/// (fresh masks for every sample); `loss_batch` uses the masks of the latest step, so it
/// evaluates the very function whose gradient that step computed.
pub struct Workspace<N: Network> {
    layers: Box<[LayerBuffers<N::Scalar>]>,
    blocks: Box<[BlockBuffers]>,
    /// Where the heads' input gradients are summed (empty without heads).
    heads: Vec<f32>,
    /// Each head's targets, copied out of the caller's rows (none without heads).
    targets: Box<[Vec<f32>]>,
    capacity: usize,
    seed: u64,
    step: u64,
    /// Whether the next gradient leaves the first layer's weight gradient to the optimizer
    /// (`train_step`).
    defer_first: bool,
    network: PhantomData<fn() -> N>,
}

#[cfg(feature = "alloc")]
impl<N: Network> Workspace<N> {
    /// An empty workspace; it allocates on first use.
    pub fn new() -> Self {
        Self {
            layers: N::LAYERS.iter().map(|_| LayerBuffers::default()).collect(),
            blocks: (0..crate::model::block_count(N::GRAPH))
                .map(|_| BlockBuffers::default())
                .collect(),
            heads: Vec::new(),
            targets: crate::model::heads(N::GRAPH)
                .map_or(&[][..], |h| h.heads)
                .iter()
                .map(|_| Vec::new())
                .collect(),
            capacity: 0,
            seed: 0,
            step: 0,
            defer_first: false,
            network: PhantomData,
        }
    }

    /// Sets the seed of the dropout masks (and starts counting steps again).
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.step = 0;
    }

    /// The seed of the dropout masks.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The seed layer `layer`'s (counting from 0) dropout mask is drawn from in the current
    /// training step: after a `gradient_batch`, the seed of the masks it used. The tape reads it
    /// to replay those masks ([`Mode::Training`](crate::tape::Mode::Training)).
    pub fn mask_seed(&self, layer: usize) -> u64 {
        mask_seed(self.seed, self.step, layer)
    }

    /// Starts a new training step: fresh dropout masks from here on. Called by the code
    /// `network!` writes at the start of each gradient computation of a network with dropout.
    #[doc(hidden)]
    pub fn next_step(&mut self) {
        self.step = self.step.wrapping_add(1);
    }

    /// A workspace with room for batches of up to `batch` samples.
    pub fn with_capacity(batch: usize) -> Self {
        let mut ws = Self::new();
        ws.reserve(batch);
        ws
    }

    /// The largest batch the workspace holds without growing.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Grows the buffers to hold batches of `batch` samples (no-op if they already do).
    #[inline]
    pub fn reserve(&mut self, batch: usize) {
        if batch > self.capacity {
            self.grow(batch);
        }
    }

    /// [`reserve`](Self::reserve)'s work, out of line: a batch that fits (every step after the
    /// first) then costs one comparison, not the register saves of the whole loop.
    #[inline(never)]
    fn grow(&mut self, batch: usize) {
        for (buf, layer) in self.layers.iter_mut().zip(N::LAYERS) {
            let w = layer.output.len();
            buf.z.resize(batch * w, N::Scalar::ZERO);
            buf.a.resize(batch * w, N::Scalar::ZERO);
            buf.d.resize(batch * w, N::Scalar::ZERO);
            buf.aux.reserve(Aux::lens(layer, batch));
        }
        let mut blocks = self.blocks.iter_mut();
        crate::model::for_each_block(N::GRAPH, &mut |block| {
            if let Some(buf) = blocks.next() {
                let w = block.output.len();
                buf.out.resize(batch * w, 0.0);
                buf.grad.resize(batch * w, 0.0);
                buf.scratch.resize(batch * block.scratch_len(), 0.0);
            }
        });
        if let Some(heads) = crate::model::heads(N::GRAPH) {
            self.heads.resize(batch * heads.input.len(), 0.0);
            for (targets, head) in self.targets.iter_mut().zip(heads.heads) {
                targets.resize(batch * head.output.len(), 0.0);
            }
        }
        self.capacity = batch;
    }

    /// Whether the gradient being computed leaves the first layer's weight gradient to the
    /// optimizer (set by a network's `train_step` around its gradient; read by the code
    /// `network!` writes).
    #[doc(hidden)]
    pub fn defers_first_weights(&self) -> bool {
        self.defer_first
    }

    /// Sets [`defers_first_weights`](Self::defers_first_weights). Used by the code `network!`
    /// writes.
    #[doc(hidden)]
    pub fn defer_first_weights(&mut self, defer: bool) {
        self.defer_first = defer;
    }

    /// The deltas `∂L/∂z` of layer `layer` (counting from 0) for the first `n` samples of the
    /// last gradient, row-major `n × width`; empty for a layer or a batch the workspace does
    /// not hold. A network's `train_step` hands its first layer's to the optimizer.
    #[doc(hidden)]
    pub fn deltas(&self, layer: usize, n: usize) -> &[N::Scalar] {
        let width = N::LAYERS.get(layer).map_or(0, |l| l.output.len());
        self.layers
            .get(layer)
            .and_then(|buf| buf.d.get(..n * width))
            .unwrap_or(&[])
    }

    /// The weighted sums `z` of layer `layer` (counting from 0) for the first `n` samples of
    /// the last training or loss pass, row-major `n × width`; empty for a layer or a batch the
    /// workspace does not hold. The gradient check reads them to see relu's kinks.
    pub(crate) fn weighted_sums(&self, layer: usize, n: usize) -> &[N::Scalar] {
        let width = N::LAYERS.get(layer).map_or(0, |l| l.output.len());
        self.layers
            .get(layer)
            .and_then(|buf| buf.z.get(..n * width))
            .unwrap_or(&[])
    }

    /// The layers' and the blocks' buffers, the heads' scratch (empty without heads) and each
    /// head's target buffer, sized for `batch` samples. Used by the code `network!` writes for
    /// a graph network.
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    pub fn graph<const K: usize, const B: usize, const H: usize>(
        &mut self,
        batch: usize,
    ) -> (
        &mut [LayerBuffers<N::Scalar>; K],
        &mut [BlockBuffers; B],
        &mut [f32],
        &mut [Vec<f32>; H],
    ) {
        const {
            assert!(
                B == crate::model::block_count(N::GRAPH),
                "a workspace is used with another block count"
            )
        };
        self.layers::<K>(batch);
        let trunk = crate::model::heads(N::GRAPH).map_or(0, |h| h.input.len());
        let (Ok(layers), Ok(blocks), Ok(targets)) = (
            <&mut [LayerBuffers<N::Scalar>; K]>::try_from(&mut self.layers[..]),
            <&mut [BlockBuffers; B]>::try_from(&mut self.blocks[..]),
            <&mut [Vec<f32>; H]>::try_from(&mut self.targets[..]),
        ) else {
            // `new` makes one entry per layer, block and head, and the generated code asks
            // for as many.
            unreachable!("a workspace holds one buffer set per layer, block and head")
        };
        (layers, blocks, &mut self.heads[..batch * trunk], targets)
    }

    /// The layers' buffers, sized for `batch` samples. Used by the code `network!` writes.
    #[doc(hidden)]
    pub fn layers<const K: usize>(&mut self, batch: usize) -> &mut [LayerBuffers<N::Scalar>; K] {
        const {
            assert!(
                K == N::LAYERS.len(),
                "a workspace is used with another layer count"
            )
        };
        self.reserve(batch);
        let (seed, step) = (self.seed, self.step);
        for (k, buf) in self.layers.iter_mut().enumerate() {
            buf.aux.seed = mask_seed(seed, step, k);
        }
        match <&mut [LayerBuffers<N::Scalar>; K]>::try_from(&mut self.layers[..]) {
            Ok(layers) => layers,
            // `new` makes one entry per layer and `K` is checked above.
            Err(_) => unreachable!("a workspace holds one buffer set per layer"),
        }
    }
}

#[cfg(feature = "alloc")]
/// The seed of layer `layer`'s dropout mask in training step `step` of a workspace seeded with
/// `seed`: the three mixed by SplitMix64's finaliser, so neighbouring steps and layers get
/// unrelated streams.
fn mask_seed(seed: u64, step: u64, layer: usize) -> u64 {
    let mut x = seed
        ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (layer as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(feature = "alloc")]
impl<N: Network> Default for Workspace<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "alloc")]
impl<N: Network> Clone for Workspace<N> {
    fn clone(&self) -> Self {
        Self {
            layers: self.layers.clone(),
            blocks: self.blocks.clone(),
            heads: self.heads.clone(),
            targets: self.targets.clone(),
            capacity: self.capacity,
            seed: self.seed,
            step: self.step,
            defer_first: self.defer_first,
            network: PhantomData,
        }
    }
}

#[cfg(feature = "alloc")]
impl<N: Network> core::fmt::Debug for Workspace<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workspace")
            .field("capacity", &self.capacity)
            .field("layers", &N::DECLARATION)
            .finish()
    }
}
