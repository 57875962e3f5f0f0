//! Each layer kind of `network!` on the tape, built from the tape's operations, in inference or
//! training mode.

use rand::{RngExt, SeedableRng};

use super::{Function, Image, Scalar, Tape, TapeError, Var, Window};
use crate::model::{LayerKind, LayerShape, PoolKind, TensorShape, NORM_EPSILON};

/// Which forward pass a layer records: the one `forward` runs, or the one the training paths
/// (`gradient_batch`, `loss_batch`) run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// Inference: dropout passes its input through, batch normalisation uses the running
    /// statistics. Each sample is computed alone.
    Inference,
    /// Training: dropout multiplies by the mask its layer draws, and batch normalisation uses
    /// the statistics of the samples given together (the batch).
    ///
    /// `mask_seeds[k]` is the seed of layer `k`'s mask (counting the recorded layers from 0):
    /// from [`Workspace::mask_seed`](crate::network::Workspace::mask_seed) after a
    /// `gradient_batch`, the tape draws the very masks that step used (the same generator, the
    /// same order, sample after sample), so both compute the same function. Only dropout
    /// layers read their seed.
    Training {
        /// One seed per layer, by the layer's position.
        mask_seeds: &'a [u64],
    },
}

/// What a layer keeps on the tape: its parameters (and buffers) as leaves, and what its
/// forward pass needs to know.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Dense {
        weight: Var,
        bias: Var,
        function: Function,
    },
    Conv {
        weight: Var,
        bias: Var,
        function: Function,
        image: Image,
        window: Window,
        spatial: usize,
    },
    Pool {
        kind: PoolKind,
        image: Image,
        window: Window,
    },
    Dropout {
        rate: f32,
    },
    BatchNorm {
        gamma: Var,
        beta: Var,
        running_mean: Var,
        running_var: Var,
        channels: usize,
        spatial: usize,
    },
    LayerNorm {
        gamma: Var,
        beta: Var,
    },
}

/// One layer of a network, recorded on a tape: the piece a [`TapeNetwork`](super::TapeNetwork)
/// (or a graph of layers) is made of.
///
/// Each kind is recorded with the tape's operations (`g` below is the layer's input, one
/// vector a sample):
///
/// | kind | recorded as |
/// | --- | --- |
/// | dense | `f(W·x + b)`: [`matvec`](Tape::matvec), [`add`](Tape::add), [`apply`](Tape::apply) |
/// | conv | `f(W ⋆ x + broadcast(b))`: [`conv2d`](Tape::conv2d), [`broadcast`](Tape::broadcast), `add`, `apply` |
/// | maxpool, avgpool | [`max_pool`](Tape::max_pool), [`avg_pool`](Tape::avg_pool) |
/// | dropout | inference: the input itself; training: `x ⊙ m`, the mask `m` a leaf (see [`Mode`]) |
/// | batchnorm, training | over the batch: `μ = Σᵢ channel_sum(xᵢ) / m`, `dᵢ = xᵢ - broadcast(μ)`, `σ² = Σᵢ channel_sum(dᵢ ⊙ dᵢ) / m`, `aᵢ = dᵢ ⊙ broadcast(rsqrt(σ² + ε)) ⊙ broadcast(γ) + broadcast(β)` |
/// | batchnorm, inference | the same with the running mean and variance (leaves) for `μ` and `σ²` |
/// | layernorm | per sample: `μ = sum(x)/N`, `d = x - broadcast(μ)`, `σ² = sum(d ⊙ d)/N`, `a = d ⊙ broadcast(rsqrt(σ² + ε)) ⊙ γ + β` |
///
/// with `m` the values a channel has in the batch and `ε` = [`NORM_EPSILON`]. The
/// normalisations are composed from small operations on purpose: their gradients then come
/// from the chain rule alone, an independent check of the fused formulas the layers use.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeLayer {
    shape: LayerShape,
    index: usize,
    kind: Kind,
}

/// The next tensor of a layer's state, checked against the size its description gives.
fn take<'s>(
    state: &mut impl Iterator<Item = &'s [f32]>,
    layer: &'static str,
    tensor: TensorShape,
) -> Result<&'s [f32], TapeError> {
    let values = state.next().unwrap_or(&[]);
    if values.len() != tensor.len() {
        return Err(TapeError::Parameters {
            layer,
            what: tensor.role.name(),
            expected: tensor.len(),
            found: values.len(),
        });
    }
    Ok(values)
}

/// The image a layer reads, or an error naming the layer.
fn image_of(shape: &LayerShape) -> Result<Image, TapeError> {
    Image::from_shape(shape.input).ok_or_else(|| TapeError::Geometry {
        op: shape.name,
        detail: format!(
            "a `{}` layer needs an image input, found {}",
            shape.kind.name(),
            shape.input
        ),
    })
}

impl TapeLayer {
    /// Records the layer `shape` describes on `tape`, reading its tensors from `state` (a
    /// network's [`state`](crate::network::Network::state): for each layer its parameters,
    /// then its buffers, in `state_dict` order). `index` is its position among the recorded
    /// layers (what [`Mode::Training`] counts); `customs` are the custom activations the tape
    /// may meet.
    ///
    /// # Errors
    ///
    /// [`TapeError::Parameters`] if a tensor is missing or has the wrong size,
    /// [`TapeError::UnknownActivation`] for a custom activation not in `customs`,
    /// [`TapeError::Geometry`] if the description's shapes do not fit the kind (a
    /// convolution's output is not what its window gives, say).
    pub fn record<'s, T: Scalar>(
        tape: &mut Tape<T>,
        shape: &LayerShape,
        index: usize,
        state: &mut impl Iterator<Item = &'s [f32]>,
        customs: &[Function],
    ) -> Result<Self, TapeError> {
        let name = shape.name;
        let mut tensors = shape.tensors();
        let mut next = |tape: &mut Tape<T>, matrix: Option<(usize, usize)>| {
            let tensor = tensors.next().ok_or(TapeError::Parameters {
                layer: name,
                what: "parameters",
                expected: 0,
                found: 0,
            })?;
            let values = take(state, name, tensor)?;
            match matrix {
                Some((rows, cols)) => tape.matrix_f32(values, rows, cols),
                None => Ok(tape.leaf_f32(values)),
            }
        };
        let function = |activation| {
            Function::from_kind(activation)
                .or_else(|| {
                    customs
                        .iter()
                        .copied()
                        .find(|f| f.name() == activation.name())
                })
                .ok_or(TapeError::UnknownActivation {
                    layer: name,
                    name: activation.name(),
                })
        };
        let (inputs, outputs) = (shape.input.len(), shape.output.len());
        let kind = match shape.kind {
            LayerKind::Custom { name: kind, .. } => {
                return Err(TapeError::UnknownLayer { layer: name, kind })
            }
            LayerKind::Dense { activation } => Kind::Dense {
                function: function(activation)?,
                weight: next(tape, Some((outputs, inputs)))?,
                bias: next(tape, None)?,
            },
            LayerKind::Conv {
                filters,
                kernel,
                stride,
                pad,
                activation,
            } => {
                let image = image_of(shape)?;
                let window = Window {
                    size: kernel,
                    stride,
                    pad,
                };
                let out = window.output(name, image, filters)?;
                check_output(shape, out)?;
                let cols = image.channels * kernel[0] * kernel[1];
                Kind::Conv {
                    function: function(activation)?,
                    weight: next(tape, Some((filters, cols)))?,
                    bias: next(tape, None)?,
                    image,
                    window,
                    spatial: out.spatial(),
                }
            }
            LayerKind::Pool {
                kind,
                window,
                stride,
            } => {
                let image = image_of(shape)?;
                let window = Window {
                    size: window,
                    stride,
                    pad: 0,
                };
                check_output(shape, window.output(name, image, image.channels)?)?;
                Kind::Pool {
                    kind,
                    image,
                    window,
                }
            }
            LayerKind::Dropout { rate } => {
                same_shape(shape)?;
                // As the layer clamps it (`Dropout::new`).
                let rate = rate.get();
                let rate = if rate.is_nan() {
                    0.0
                } else {
                    rate.clamp(0.0, 1.0 - f32::EPSILON)
                };
                Kind::Dropout { rate }
            }
            LayerKind::BatchNorm => {
                same_shape(shape)?;
                let gamma = next(tape, None)?;
                let beta = next(tape, None)?;
                let mut buffers = shape.buffers();
                let mut buffer = |tape: &mut Tape<T>| match buffers.next() {
                    Some(tensor) => Ok(tape.leaf_f32(take(state, name, tensor)?)),
                    None => Err(TapeError::Parameters {
                        layer: name,
                        what: "buffers",
                        expected: 3,
                        found: 0,
                    }),
                };
                let running_mean = buffer(tape)?;
                let running_var = buffer(tape)?;
                // `num_batches_tracked`: read past, as the file keeps it; no forward pass uses it.
                buffer(tape)?;
                Kind::BatchNorm {
                    gamma,
                    beta,
                    running_mean,
                    running_var,
                    channels: shape.input.channels(),
                    spatial: shape.input.spatial(),
                }
            }
            LayerKind::LayerNorm => {
                same_shape(shape)?;
                Kind::LayerNorm {
                    gamma: next(tape, None)?,
                    beta: next(tape, None)?,
                }
            }
        };
        Ok(Self {
            shape: *shape,
            index,
            kind,
        })
    }

    /// The layer's description.
    pub fn shape(&self) -> &LayerShape {
        &self.shape
    }

    /// Its position among the recorded layers.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The recorded parameters, in the order of the network's
    /// [`parameters`](crate::network::Network::parameters): weights (or `γ`), then biases (or
    /// `β`); none for pooling and dropout.
    pub fn parameters(&self) -> Vec<Var> {
        match self.kind {
            Kind::Dense { weight, bias, .. } | Kind::Conv { weight, bias, .. } => {
                vec![weight, bias]
            }
            Kind::BatchNorm { gamma, beta, .. } | Kind::LayerNorm { gamma, beta } => {
                vec![gamma, beta]
            }
            Kind::Pool { .. } | Kind::Dropout { .. } => Vec::new(),
        }
    }

    /// Records the layer's forward pass of a batch `xs` (one vector a sample) in `mode`;
    /// returns one output a sample.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] or [`TapeError::Geometry`] (from the first operation that
    /// reads it) if a sample is not as long as the layer's input,
    /// [`TapeError::MissingMaskSeed`] for a dropout layer in training mode without its seed,
    /// [`TapeError::NoOperands`] for batch normalisation in training mode with no samples,
    /// [`TapeError::UnknownVar`] if the tape no longer holds the layer.
    pub fn forward<T: Scalar>(
        &self,
        tape: &mut Tape<T>,
        xs: &[Var],
        mode: Mode<'_>,
    ) -> Result<Vec<Var>, TapeError> {
        match self.kind {
            Kind::Dense {
                weight,
                bias,
                function,
            } => xs
                .iter()
                .map(|&x| {
                    let z = tape.matvec(weight, x)?;
                    let z = tape.add(z, bias)?;
                    tape.apply(function, z)
                })
                .collect(),
            Kind::Conv {
                weight,
                bias,
                function,
                image,
                window,
                spatial,
            } => {
                let b = tape.broadcast(bias, spatial)?;
                xs.iter()
                    .map(|&x| {
                        let z = tape.conv2d(x, weight, image, window)?;
                        let z = tape.add(z, b)?;
                        tape.apply(function, z)
                    })
                    .collect()
            }
            Kind::Pool {
                kind,
                image,
                window,
            } => xs
                .iter()
                .map(|&x| match kind {
                    PoolKind::Max => tape.max_pool(x, image, window),
                    PoolKind::Average => tape.avg_pool(x, image, window),
                })
                .collect(),
            Kind::Dropout { rate } => match mode {
                Mode::Inference => {
                    // Every other kind's operations check their input; passing it through
                    // checks nothing.
                    for &x in xs {
                        let len = tape.vector_len(self.shape.name, x)?;
                        if len != self.shape.input.len() {
                            return Err(TapeError::Geometry {
                                op: self.shape.name,
                                detail: format!(
                                    "the layer takes {} values, found {len}",
                                    self.shape.input.len()
                                ),
                            });
                        }
                    }
                    Ok(xs.to_vec())
                }
                Mode::Training { mask_seeds } => {
                    let seed = *mask_seeds
                        .get(self.index)
                        .ok_or(TapeError::MissingMaskSeed {
                            layer: self.shape.name,
                            index: self.index,
                            given: mask_seeds.len(),
                        })?;
                    self.dropout(tape, xs, rate, seed)
                }
            },
            Kind::BatchNorm {
                gamma,
                beta,
                running_mean,
                running_var,
                channels,
                spatial,
            } => {
                let (var, ds) = match mode {
                    Mode::Inference => {
                        let mean = tape.broadcast(running_mean, spatial)?;
                        let ds = xs
                            .iter()
                            .map(|&x| tape.sub(x, mean))
                            .collect::<Result<Vec<_>, _>>()?;
                        (running_var, ds)
                    }
                    Mode::Training { .. } => {
                        let share = T::ONE / T::from_usize(xs.len() * spatial);
                        let sums = xs
                            .iter()
                            .map(|&x| Ok((tape.channel_sum(x, channels)?, share)))
                            .collect::<Result<Vec<_>, TapeError>>()?;
                        let mean = tape.weighted_sum(&sums)?;
                        let mean_b = tape.broadcast(mean, spatial)?;
                        let ds = xs
                            .iter()
                            .map(|&x| tape.sub(x, mean_b))
                            .collect::<Result<Vec<_>, _>>()?;
                        let squares = ds
                            .iter()
                            .map(|&d| {
                                let sq = tape.mul(d, d)?;
                                Ok((tape.channel_sum(sq, channels)?, share))
                            })
                            .collect::<Result<Vec<_>, TapeError>>()?;
                        (tape.weighted_sum(&squares)?, ds)
                    }
                };
                let var = tape.offset(var, T::from_f32(NORM_EPSILON))?;
                let k = tape.rsqrt(var)?;
                let k = tape.broadcast(k, spatial)?;
                let g = tape.broadcast(gamma, spatial)?;
                let b = tape.broadcast(beta, spatial)?;
                ds.into_iter()
                    .map(|d| {
                        let xhat = tape.mul(d, k)?;
                        let scaled = tape.mul(xhat, g)?;
                        tape.add(scaled, b)
                    })
                    .collect()
            }
            Kind::LayerNorm { gamma, beta } => {
                let n = self.shape.input.len();
                let share = T::ONE / T::from_usize(n);
                xs.iter()
                    .map(|&x| {
                        let total = tape.sum(x)?;
                        let mean = tape.scale(total, share)?;
                        let mean = tape.broadcast(mean, n)?;
                        let d = tape.sub(x, mean)?;
                        let sq = tape.mul(d, d)?;
                        let sq = tape.sum(sq)?;
                        let var = tape.scale(sq, share)?;
                        let var = tape.offset(var, T::from_f32(NORM_EPSILON))?;
                        let k = tape.rsqrt(var)?;
                        let k = tape.broadcast(k, n)?;
                        let xhat = tape.mul(d, k)?;
                        let scaled = tape.mul(xhat, gamma)?;
                        tape.add(scaled, beta)
                    })
                    .collect()
            }
        }
    }

    /// Dropout in training mode: the mask the layer draws for the whole batch from `seed`
    /// (`0` with probability `rate`, else `1/(1 - rate)`, value after value, sample after
    /// sample), recorded as one leaf a sample, times the input.
    fn dropout<T: Scalar>(
        &self,
        tape: &mut Tape<T>,
        xs: &[Var],
        rate: f32,
        seed: u64,
    ) -> Result<Vec<Var>, TapeError> {
        let keep = 1.0 / (1.0 - rate);
        let mut rng = crate::__private::SeedRng::seed_from_u64(seed);
        let width = self.shape.input.len();
        let mut mask = vec![0.0f32; width];
        xs.iter()
            .map(|&x| {
                for m in &mut mask {
                    *m = if rng.random::<f32>() < rate {
                        0.0
                    } else {
                        keep
                    };
                }
                let m = tape.leaf_f32(&mask);
                tape.mul(x, m)
            })
            .collect()
    }
}

/// Checks that a layer's description says the output its window gives.
fn check_output(shape: &LayerShape, out: Image) -> Result<(), TapeError> {
    if Image::from_shape(shape.output) != Some(out) {
        return Err(TapeError::Geometry {
            op: shape.name,
            detail: format!(
                "the window gives {}x{}x{}, the description says {}",
                out.channels, out.height, out.width, shape.output
            ),
        });
    }
    Ok(())
}

/// Checks that a layer that keeps its input's shape is described so.
fn same_shape(shape: &LayerShape) -> Result<(), TapeError> {
    if shape.input != shape.output {
        return Err(TapeError::Geometry {
            op: shape.name,
            detail: format!(
                "a `{}` layer keeps its input's shape, but reads {} and gives {}",
                shape.kind.name(),
                shape.input,
                shape.output
            ),
        });
    }
    Ok(())
}
