//! The wiring of a network that is not a plain chain: residual blocks, concatenations and
//! several named heads.
//!
//! A network's layers are always listed flat in [`LayerShape`](crate::LayerShape) order (its
//! `LAYERS`, the order of its parameters and of its workspace entries: the order the forward pass
//! runs them, a block's layers in place). A chain needs nothing more: each layer reads the one
//! before it. A graph network also gives its [`Node`]s: the trunk, a sequence of nodes each
//! reading the output of the node before it (the first reads the network's input), where a node
//! is a layer, a block holding chains of nodes, or, last, the [`Head`]s.
//!
//! ```
//! use nn_model::{ActivationKind, Block, BlockKind, LayerShape, Node, Shape};
//!
//! // 4 -> 8 relu -> residual { 8 relu -> 8 linear } -> 2 softmax
//! const LAYERS: &[LayerShape] = &[
//!     LayerShape::dense("layer1", 4, 8, ActivationKind::Relu),
//!     LayerShape::dense("layer2", 8, 8, ActivationKind::Relu),
//!     LayerShape::dense("layer3", 8, 8, ActivationKind::Linear),
//!     LayerShape::dense("layer4", 8, 2, ActivationKind::Softmax),
//! ];
//! const GRAPH: &[Node] = &[
//!     Node::Layer(0),
//!     Node::Block(Block {
//!         name: "block1",
//!         kind: BlockKind::Residual,
//!         input: Shape::Flat(8),
//!         output: Shape::Flat(8),
//!         branches: &[&[Node::Layer(1), Node::Layer(2)]],
//!     }),
//!     Node::Layer(3),
//! ];
//! let mut blocks = 0;
//! nn_model::for_each_block(GRAPH, &mut |b| blocks += usize::from(b.kind == BlockKind::Residual));
//! assert_eq!((blocks, nn_model::graph_layer_count(GRAPH)), (1, LAYERS.len()));
//! ```

use crate::Shape;

/// One node of a network's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// The layer `LAYERS[i]` (counting from 0), reading the output of the node before it.
    Layer(usize),
    /// A block: chains of nodes that all read the block's input, their outputs combined.
    Block(Block),
    /// The network's outputs: several chains that all read the trunk's output, each with its
    /// own output and its own loss. Only ever the last node of the trunk.
    Heads(Heads),
}

/// How a block combines its branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// `residual { chain }`: one branch `f`, and the output `x + f(x)`; the branch gives back
    /// its input's shape. The gradient of `x` is the sum of the skip's and the branch's.
    Residual,
    /// `concat { chain, chain, ... }`: the branches' outputs side by side, in order. Flat
    /// outputs are joined end to end; image outputs (of one height and width) channel-wise,
    /// as `torch.cat(dim=1)` joins them, which in channel-major storage is the same as joining
    /// each sample's values end to end. The gradient of the input is the sum of the branches'.
    Concat,
}

/// A residual block or a concatenation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    /// The name given in the declaration (`skip: residual { ... }`), or `blockN` counting
    /// blocks from 1 in declaration order: the field of the generated activations struct that
    /// holds its output.
    pub name: &'static str,
    /// How it combines its branches.
    pub kind: BlockKind,
    /// The shape of one sample's input.
    pub input: Shape,
    /// The shape of one sample's output.
    pub output: Shape,
    /// Its chains, in order (one for a residual block).
    pub branches: &'static [&'static [Node]],
}

impl Block {
    /// The length of one sample's scratch row the backward pass sums input gradients through:
    /// the input's length for a concatenation of several branches (each branch after the first
    /// writes its input gradient there before it is added), none for a residual block (its
    /// branch writes the input gradient first, then the skip's is added in place).
    pub const fn scratch_len(&self) -> usize {
        match self.kind {
            BlockKind::Residual => 0,
            BlockKind::Concat => self.input.len(),
        }
    }
}

/// The heads a network ends in: what they read and each head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Heads {
    /// The shape of the trunk's output, which every head reads.
    pub input: Shape,
    /// The heads, in declaration order.
    pub heads: &'static [Head],
}

/// One named output of a network ending in `heads { name: chain, ... }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Head {
    /// The head's name: the field of the generated outputs and losses structs.
    pub name: &'static str,
    /// Its chain, reading the trunk's output.
    pub nodes: &'static [Node],
    /// The shape of one sample's output.
    pub output: Shape,
}

/// Calls `f` on every block of `nodes` (heads' chains and nested blocks included), in
/// declaration order: a block before the blocks inside it. The order of a workspace's block
/// entries.
pub fn for_each_block(nodes: &'static [Node], f: &mut impl FnMut(&'static Block)) {
    for node in nodes {
        match node {
            Node::Layer(_) => {}
            Node::Block(block) => {
                f(block);
                for branch in block.branches {
                    for_each_block(branch, f);
                }
            }
            Node::Heads(heads) => {
                for head in heads.heads {
                    for_each_block(head.nodes, f);
                }
            }
        }
    }
}

/// The number of blocks in `nodes` (see [`for_each_block`]), in a `const` context too.
pub const fn block_count(nodes: &[Node]) -> usize {
    let (mut count, mut i) = (0, 0);
    while i < nodes.len() {
        match &nodes[i] {
            Node::Layer(_) => {}
            Node::Block(block) => {
                count += 1;
                let mut b = 0;
                while b < block.branches.len() {
                    count += block_count(block.branches[b]);
                    b += 1;
                }
            }
            Node::Heads(heads) => {
                let mut h = 0;
                while h < heads.heads.len() {
                    count += block_count(heads.heads[h].nodes);
                    h += 1;
                }
            }
        }
        i += 1;
    }
    count
}

/// The number of layers `nodes` reference, heads and blocks included: a graph's `LAYERS` has
/// exactly this many entries.
pub fn graph_layer_count(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            Node::Layer(_) => 1,
            Node::Block(block) => block.branches.iter().map(|b| graph_layer_count(b)).sum(),
            Node::Heads(heads) => heads.heads.iter().map(|h| graph_layer_count(h.nodes)).sum(),
        })
        .sum()
}

/// The heads `nodes` end in, if they do: `None` for a network with one output.
pub const fn heads(nodes: &'static [Node]) -> Option<&'static Heads> {
    match nodes.last() {
        Some(Node::Heads(heads)) => Some(heads),
        _ => None,
    }
}
