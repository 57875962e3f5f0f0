//! A network declared with `network!`, or a graph of layers, recorded on a tape from its state.

use super::{Function, Mode, Scalar, Tape, TapeError, TapeLayer, Var};
use crate::model::{BlockKind, LayerShape, Node as GraphNode, Shape};
use crate::network::Network;
use alloc::vec::Vec;

/// One piece of a network's graph: a layer, or a block of pieces.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// One layer, as its description says.
    Layer(LayerShape),
    /// A residual block `y = x + f(x)`, `f` the chain inside; it must give back its input's
    /// length.
    Residual(Vec<Node>),
    /// Parallel branches, each reading the block's input; their outputs concatenated in order
    /// (along the channels, for images of one height and width: see
    /// [`Tape::concat`](super::Tape::concat)).
    Concat(Vec<Vec<Node>>),
}

/// The structure of a network as the tape records it: a trunk, and optionally named heads that
/// each read the trunk's output (one value feeding several consumers, its gradients summed).
///
/// A chain is a trunk of [`Node::Layer`]s and no heads ([`Plan::chain`]). The tensors are read
/// depth-first: the trunk's pieces in order (a block's inner layers in place, a concatenation's
/// branches one after the other), then each head's.
///
/// ```
/// use nn_core::model::{ActivationKind as A, LayerShape};
/// use nn_core::tape::{Mode, Node, Plan, Tape, TapeNetwork};
///
/// // 4 -> trunk: 3 tanh -> residual { 3 relu } -> heads { a: 2 softmax, b: 1 sigmoid }
/// let plan = Plan {
///     input: nn_core::model::Shape::Flat(4),
///     trunk: vec![
///         Node::Layer(LayerShape::dense("trunk", 4, 3, A::Tanh)),
///         Node::Residual(vec![Node::Layer(LayerShape::dense("inner", 3, 3, A::Relu))]),
///     ],
///     heads: vec![
///         ("a", vec![Node::Layer(LayerShape::dense("a", 3, 2, A::Softmax))]),
///         ("b", vec![Node::Layer(LayerShape::dense("b", 3, 1, A::Sigmoid))]),
///     ],
/// };
/// let state: Vec<Vec<f32>> = [12, 3, 9, 3, 6, 2, 3, 1].iter().map(|&n| vec![0.1; n]).collect();
/// let mut tape = Tape::new();
/// let net = TapeNetwork::from_plan(&mut tape, &plan, state.iter().map(Vec::as_slice), &[])?;
/// let x = tape.leaf(&[1.0, 2.0, 3.0, 4.0]);
/// let outputs = net.forward_batch(&mut tape, &[x], Mode::Inference)?;
/// let (a, b) = (outputs[0][0], outputs[1][0]);
/// let (ya, yb) = (tape.leaf(&[1.0, 0.0]), tape.leaf(&[1.0]));
/// let la = tape.cross_entropy(a, ya)?;
/// let lb = tape.binary_cross_entropy(b, yb)?;
/// let objective = tape.weighted_sum(&[(la, 1.0), (lb, 0.5)])?;
/// tape.backward(objective)?;
/// assert_eq!(net.heads().collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(net.parameters().count(), 8);
/// # Ok::<(), nn_core::tape::TapeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One sample's input.
    pub input: Shape,
    /// The pieces every output reads, in order.
    pub trunk: Vec<Node>,
    /// The named heads after the trunk, in order; none for a network with one output (the
    /// trunk's).
    pub heads: Vec<(&'static str, Vec<Node>)>,
}

impl Plan {
    /// The chain of `layers` (a network's [`LAYERS`](Network::LAYERS)) reading `input`.
    pub fn chain(input: Shape, layers: &[LayerShape]) -> Self {
        Self {
            input,
            trunk: layers.iter().map(|&l| Node::Layer(l)).collect(),
            heads: Vec::new(),
        }
    }

    /// Network `N`'s structure: the chain of its [`LAYERS`](Network::LAYERS), or, for a graph
    /// network, its [`GRAPH`](Network::GRAPH) (residual blocks, concatenations, heads) with each
    /// layer's description from `LAYERS`.
    pub fn of<N: Network>() -> Self {
        let input = N::LAYERS.first().map_or(Shape::Flat(N::INPUT), |l| l.input);
        if N::GRAPH.is_empty() {
            return Self::chain(input, N::LAYERS);
        }
        let mut plan = Self {
            input,
            trunk: Vec::new(),
            heads: Vec::new(),
        };
        for node in N::GRAPH {
            match node {
                GraphNode::Heads(heads) => {
                    plan.heads = heads
                        .heads
                        .iter()
                        .map(|head| (head.name, Self::nodes(N::LAYERS, head.nodes)))
                        .collect();
                }
                other => plan
                    .trunk
                    .extend(Self::nodes(N::LAYERS, core::slice::from_ref(other))),
            }
        }
        plan
    }

    /// The tape's pieces for a chain of the graph's nodes (heads, only ever last in the trunk,
    /// are read by [`of`](Self::of)).
    fn nodes(layers: &[LayerShape], nodes: &[GraphNode]) -> Vec<Node> {
        nodes
            .iter()
            .filter_map(|node| match node {
                // An index past `LAYERS` (a hand-written, inconsistent `GRAPH`) drops the layer, and
                // `from_plan` then reports the state's extra tensors.
                GraphNode::Layer(i) => layers.get(*i).copied().map(Node::Layer),
                GraphNode::Block(block) => Some(match block.kind {
                    BlockKind::Residual => Node::Residual(
                        block
                            .branches
                            .iter()
                            .flat_map(|branch| Self::nodes(layers, branch))
                            .collect(),
                    ),
                    BlockKind::Concat => Node::Concat(
                        block
                            .branches
                            .iter()
                            .map(|branch| Self::nodes(layers, branch))
                            .collect(),
                    ),
                }),
                GraphNode::Heads(_) => None,
            })
            .collect()
    }
}

/// A recorded piece of the graph.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Layer(Box<TapeLayer>),
    Residual(Vec<Block>),
    Concat(Vec<Vec<Block>>),
}

/// A network recorded on a [`Tape`]: its parameters and buffers as leaves, ready to run forward
/// on inputs recorded after them.
///
/// Built from any [`Network`] ([`record`](Self::record): its [`LAYERS`](Network::LAYERS) and
/// its [`state`](Network::state)) or from a [`Plan`] of layers, residual blocks, concatenations
/// and heads ([`from_plan`](Self::from_plan)): the same numbers, run by the dynamic graph
/// instead of the generated code. Each layer is recorded as [`TapeLayer`] says.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeNetwork {
    input: usize,
    trunk: Vec<Block>,
    heads: Vec<(&'static str, Vec<Block>)>,
    parameters: Vec<Var>,
}

/// What recording a chain needs besides the tape: the state to read, the custom activations,
/// the next layer's position and the parameters recorded so far.
struct Recorder<'c, I> {
    state: I,
    customs: &'c [Function],
    index: usize,
    parameters: Vec<Var>,
}

impl<'s, I: Iterator<Item = &'s [f32]>> Recorder<'_, I> {
    /// Records `nodes` reading `len` values; returns the blocks and the length of their output.
    fn chain<T: Scalar>(
        &mut self,
        tape: &mut Tape<T>,
        nodes: &[Node],
        mut len: usize,
    ) -> Result<(Vec<Block>, usize), TapeError> {
        let mut blocks = Vec::with_capacity(nodes.len());
        for node in nodes {
            let block = match node {
                Node::Layer(shape) => {
                    if shape.input.len() != len {
                        return Err(TapeError::Geometry {
                            op: shape.name,
                            detail: format!(
                                "the layer reads {} values ({}), but what comes before gives {len}",
                                shape.input.len(),
                                shape.input
                            ),
                        });
                    }
                    let layer =
                        TapeLayer::record(tape, shape, self.index, &mut self.state, self.customs)?;
                    self.index += 1;
                    self.parameters.extend(layer.parameters());
                    len = shape.output.len();
                    Block::Layer(Box::new(layer))
                }
                Node::Residual(inner) => {
                    let (inner, out) = self.chain(tape, inner, len)?;
                    if out != len {
                        return Err(TapeError::Geometry {
                            op: "residual",
                            detail: format!("the residual block takes {len} and gives {out}"),
                        });
                    }
                    Block::Residual(inner)
                }
                Node::Concat(branches) => {
                    if branches.is_empty() {
                        return Err(TapeError::NoOperands { op: "concat" });
                    }
                    let mut total = 0;
                    let mut recorded = Vec::with_capacity(branches.len());
                    for branch in branches {
                        let (blocks, out) = self.chain(tape, branch, len)?;
                        total += out;
                        recorded.push(blocks);
                    }
                    len = total;
                    Block::Concat(recorded)
                }
            };
            blocks.push(block);
        }
        Ok((blocks, len))
    }
}

/// Runs the recorded `blocks` forward on a batch.
fn run<T: Scalar>(
    tape: &mut Tape<T>,
    blocks: &[Block],
    xs: &[Var],
    mode: Mode<'_>,
) -> Result<Vec<Var>, TapeError> {
    let mut xs = xs.to_vec();
    for block in blocks {
        xs = match block {
            Block::Layer(layer) => layer.forward(tape, &xs, mode)?,
            // y = x + f(x): x feeds both f and the sum, so its gradient is the sum of both.
            Block::Residual(inner) => {
                let fx = run(tape, inner, &xs, mode)?;
                xs.iter()
                    .zip(fx)
                    .map(|(&x, fx)| tape.add(x, fx))
                    .collect::<Result<_, _>>()?
            }
            Block::Concat(branches) => {
                let outs = branches
                    .iter()
                    .map(|b| run(tape, b, &xs, mode))
                    .collect::<Result<Vec<_>, _>>()?;
                (0..xs.len())
                    .map(|i| {
                        let parts: Vec<Var> = outs.iter().map(|o| o[i]).collect();
                        tape.concat(&parts)
                    })
                    .collect::<Result<_, _>>()?
            }
        };
    }
    Ok(xs)
}

impl TapeNetwork {
    /// Records `network`'s parameters and buffers on `tape`, layer by layer.
    ///
    /// # Errors
    ///
    /// [`TapeError::Parameters`] if the state does not have the sizes of the network's shapes
    /// (only possible for a hand-written [`Network`] implementation);
    /// [`TapeError::UnknownActivation`] for a custom activation (use
    /// [`record_with`](Self::record_with)).
    pub fn record<T: Scalar, N: Network<Scalar = f32>>(
        tape: &mut Tape<T>,
        network: &N,
    ) -> Result<Self, TapeError> {
        Self::record_with(tape, network, &[])
    }

    /// [`record`](Self::record) for a network with custom activations, given as
    /// [`Function::custom`]`::<A>()` for each.
    ///
    /// # Errors
    ///
    /// As for [`record`](Self::record); [`TapeError::UnknownActivation`] for a custom
    /// activation not in `customs`.
    pub fn record_with<T: Scalar, N: Network<Scalar = f32>>(
        tape: &mut Tape<T>,
        network: &N,
        customs: &[Function],
    ) -> Result<Self, TapeError> {
        Self::from_plan(tape, &Plan::of::<N>(), network.state(), customs)
    }

    /// Records the graph `plan` describes, reading each layer's parameters and buffers from
    /// `state` in the plan's order (see [`Plan`]).
    ///
    /// # Errors
    ///
    /// [`TapeError::Geometry`] if a piece does not read what the one before gives (a residual
    /// block that does not give back its input's length, say); [`TapeError::Parameters`] if
    /// `state` has a tensor too few, too many or of the wrong size;
    /// [`TapeError::UnknownActivation`] for a custom activation not in `customs`.
    pub fn from_plan<'s, T: Scalar>(
        tape: &mut Tape<T>,
        plan: &Plan,
        state: impl IntoIterator<Item = &'s [f32]>,
        customs: &[Function],
    ) -> Result<Self, TapeError> {
        let mut recorder = Recorder {
            state: state.into_iter(),
            customs,
            index: 0,
            parameters: Vec::new(),
        };
        let input = plan.input.len();
        let (trunk, len) = recorder.chain(tape, &plan.trunk, input)?;
        let mut heads = Vec::with_capacity(plan.heads.len());
        for (name, nodes) in &plan.heads {
            heads.push((*name, recorder.chain(tape, nodes, len)?.0));
        }
        if let Some(extra) = recorder.state.next() {
            return Err(TapeError::Parameters {
                layer: "after the last layer",
                what: "state",
                expected: 0,
                found: extra.len(),
            });
        }
        Ok(Self {
            input,
            trunk,
            heads,
            parameters: recorder.parameters,
        })
    }

    /// The number of inputs.
    pub fn input(&self) -> usize {
        self.input
    }

    /// The heads' names, in order; none for a network with one output.
    pub fn heads(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.heads.iter().map(|(name, _)| *name)
    }

    /// Records the inference pass of one input `x` (a vector on the same tape) and returns the
    /// output.
    ///
    /// # Errors
    ///
    /// [`TapeError::Heads`] for a network with heads (use
    /// [`forward_batch`](Self::forward_batch)); as for `forward_batch` otherwise.
    pub fn forward<T: Scalar>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var, TapeError> {
        if !self.heads.is_empty() {
            return Err(TapeError::Heads {
                heads: self.heads.len(),
            });
        }
        let out = run(tape, &self.trunk, &[x], Mode::Inference)?;
        Ok(out[0])
    }

    /// Records the forward pass of a batch `xs` (one vector a sample, all on the same tape) in
    /// `mode`; returns, for each output (each head in order, or the one output of a chain), one
    /// value a sample.
    ///
    /// # Errors
    ///
    /// [`TapeError::ShapeMismatch`] or [`TapeError::Geometry`] (from the first layer) if a
    /// sample is not a vector of [`input`](Self::input) values,
    /// [`TapeError::MissingMaskSeed`] for a dropout layer in training mode without its seed,
    /// [`TapeError::UnknownVar`] if the tape no longer holds the network (it was cleared).
    pub fn forward_batch<T: Scalar>(
        &self,
        tape: &mut Tape<T>,
        xs: &[Var],
        mode: Mode<'_>,
    ) -> Result<Vec<Vec<Var>>, TapeError> {
        let trunk = run(tape, &self.trunk, xs, mode)?;
        if self.heads.is_empty() {
            return Ok(vec![trunk]);
        }
        self.heads
            .iter()
            .map(|(_, blocks)| run(tape, blocks, &trunk, mode))
            .collect()
    }

    /// The recorded parameters, in the order of [`Network::parameters`] (the plan's order):
    /// each layer's weights (or scale), then its biases (or shift).
    pub fn parameters(&self) -> impl Iterator<Item = Var> + '_ {
        self.parameters.iter().copied()
    }
}
