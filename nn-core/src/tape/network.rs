//! A network declared with `network!`, recorded on a tape from its parameters.

use super::{Function, Tape, TapeError, Var};
use crate::model::{ActivationKind, LayerKind};
use crate::network::Network;
use alloc::vec::Vec;

/// One layer on a tape: its weights (an `out × in` matrix), biases and activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layer {
    weights: Var,
    bias: Var,
    function: Function,
}

/// The layers of a network, recorded on a [`Tape`] as leaves, ready to run forward on inputs
/// recorded after them.
///
/// Built from any [`Network`] through [`Network::parameters`] (weights row-major `[out][in]`,
/// then biases, layer by layer) and [`Network::LAYERS`]: the same
/// numbers, run by the dynamic graph instead of the generated code. Each layer records
/// `z = W·a + b` as a [`matvec`](Tape::matvec) and an [`add`](Tape::add), then
/// `a = f(z)` as an [`apply`](Tape::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapeNetwork {
    layers: Vec<Layer>,
    input: usize,
}

impl TapeNetwork {
    /// Records `network`'s weights and biases on `tape`, layer by layer.
    ///
    /// # Errors
    ///
    /// [`TapeError::Parameters`] if the parameters do not have the sizes of the network's
    /// widths (only possible for a hand-written [`Network`] implementation);
    /// [`TapeError::UnknownActivation`] or [`TapeError::UnknownLayer`] for a layer the tape
    /// cannot record (it knows dense layers with the seven classic activations).
    pub fn record<N: Network>(tape: &mut Tape, network: &N) -> Result<Self, TapeError> {
        let mut params = network.parameters();
        let mut layers = Vec::with_capacity(N::LAYERS.len());
        for shape in N::LAYERS {
            let layer = shape.name;
            let (inputs, width) = (shape.input.len(), shape.output.len());
            let function = match shape.kind {
                LayerKind::Dense { activation } => {
                    function_of(activation).ok_or(TapeError::UnknownActivation {
                        layer,
                        name: activation.name(),
                    })?
                }
                kind => {
                    return Err(TapeError::UnknownLayer {
                        layer,
                        kind: kind.name(),
                    })
                }
            };
            let w = params.next().unwrap_or(&[]);
            if w.len() != width * inputs {
                return Err(TapeError::Parameters {
                    layer,
                    what: "weights",
                    expected: width * inputs,
                    found: w.len(),
                });
            }
            let b = params.next().unwrap_or(&[]);
            if b.len() != width {
                return Err(TapeError::Parameters {
                    layer,
                    what: "biases",
                    expected: width,
                    found: b.len(),
                });
            }
            layers.push(Layer {
                weights: tape.matrix(w, width, inputs)?,
                bias: tape.leaf(b),
                function,
            });
        }
        Ok(Self {
            layers,
            input: N::INPUT,
        })
    }

    /// The number of inputs.
    pub fn input(&self) -> usize {
        self.input
    }

    /// Records the forward pass of input `x` (a vector on the same tape): for each layer,
    /// `z = W·a + b`, `a = f(z)`. Returns the output layer's `a`.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] if `x` is not a vector of [`input`](Self::input) values,
    /// [`TapeError::UnknownVar`] if the tape no longer holds the network (it was cleared).
    pub fn forward(&self, tape: &mut Tape, x: Var) -> Result<Var, TapeError> {
        let mut a = x;
        for layer in &self.layers {
            let z = tape.matvec(layer.weights, a)?;
            let z = tape.add(z, layer.bias)?;
            a = tape.apply(layer.function, z)?;
        }
        Ok(a)
    }

    /// The recorded parameters, in the order of [`Network::parameters`]: each layer's weights,
    /// then its biases.
    pub fn parameters(&self) -> impl Iterator<Item = Var> + '_ {
        self.layers.iter().flat_map(|l| [l.weights, l.bias])
    }
}

/// The tape's function for an activation, if the tape knows it.
fn function_of(kind: ActivationKind) -> Option<Function> {
    Some(match kind {
        ActivationKind::Sigmoid => Function::Sigmoid,
        ActivationKind::Tanh => Function::Tanh,
        ActivationKind::Relu => Function::Relu,
        ActivationKind::Softplus => Function::Softplus,
        ActivationKind::Linear => Function::Linear,
        ActivationKind::Step => Function::Step,
        ActivationKind::Softmax => Function::Softmax,
        ActivationKind::LeakyRelu { .. }
        | ActivationKind::Gelu
        | ActivationKind::Silu
        | ActivationKind::Custom { .. } => return None,
    })
}
