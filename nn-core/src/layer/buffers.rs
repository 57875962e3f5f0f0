//! The buffers each layer kind keeps in the workspace besides `z`, `a` and `d`, and their
//! sizes for a batch, read off the layer's [`LayerShape`].

use crate::model::{LayerKind, LayerShape, PoolKind};
use alloc::vec::Vec;

/// The buffers a layer kind needs besides `z`, `a` and `d`, sized by the [`Workspace`](crate::network::Workspace) from the
/// layer's [`LayerShape`] (see [`Aux::lens`]).
///
/// | kind | `stats` | `index` | `scratch` |
/// | --- | --- | --- | --- |
/// | batchnorm | the batch's mean and variance per channel (`2 × channels`) | | |
/// | layernorm | each sample's mean and `1/σ` (`2 × batch`) | | |
/// | maxpool | | the position of each output's maximum (`batch × out`) | |
/// | conv | | | the kernel's scratch (`Conv2d::scratch_len(batch)`) |
/// | custom (`nn::Layer`) | | | `batch × scratch` values, as its kind asks |
///
/// A dropout layer keeps its mask in `z` and takes its bits from `seed`, which the workspace
/// sets for each layer (see [`Workspace::set_seed`](crate::network::Workspace::set_seed)).
#[derive(Debug, Clone, Default)]
pub struct Aux {
    /// Per-channel or per-sample statistics.
    pub stats: Vec<f32>,
    /// Positions (a max-pool's argmax).
    pub index: Vec<u32>,
    /// Scratch space of a kernel.
    pub scratch: Vec<f32>,
    /// The seed of this layer's dropout mask in the current training step.
    pub seed: u64,
}

/// The lengths of a layer's [`Aux`] buffers for a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuxLens {
    /// `stats` values.
    pub stats: usize,
    /// `index` values.
    pub index: usize,
    /// `scratch` values.
    pub scratch: usize,
}

impl Aux {
    /// What a layer of this shape needs for `batch` samples.
    pub fn lens(layer: &LayerShape, batch: usize) -> AuxLens {
        let none = AuxLens::default();
        match layer.kind {
            LayerKind::BatchNorm => AuxLens {
                stats: 2 * layer.input.channels(),
                ..none
            },
            LayerKind::LayerNorm => AuxLens {
                stats: 2 * batch,
                ..none
            },
            LayerKind::Pool {
                kind: PoolKind::Max,
                ..
            } => AuxLens {
                index: batch * layer.output.len(),
                ..none
            },
            LayerKind::Conv { .. } => AuxLens {
                scratch: super::scratch_len(layer, batch),
                ..none
            },
            LayerKind::Custom { scratch, .. } => AuxLens {
                scratch: batch * scratch,
                ..none
            },
            LayerKind::Dense { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::Pool {
                kind: PoolKind::Average,
                ..
            } => none,
        }
    }

    pub(crate) fn reserve(&mut self, lens: AuxLens) {
        if self.stats.len() < lens.stats {
            self.stats.resize(lens.stats, 0.0);
        }
        if self.index.len() < lens.index {
            self.index.resize(lens.index, 0);
        }
        if self.scratch.len() < lens.scratch {
            self.scratch.resize(lens.scratch, 0.0);
        }
    }
}
