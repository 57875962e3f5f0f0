//! What the batch bodies (backprop, the loss, inference) share: each layer's and block's
//! workspace entry split into its rows, the training forward pass that keeps every layer's `z`
//! and `a`, and a block's join of its branches.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::expand::custom;
use crate::expand::tokens::rt;
use crate::model::{Block, BlockKind, Layer, Network};
use crate::prop::{Input, LayerNames, Step};

/// `let [l1, l2] = workspace.layers::<2>(n);`: one workspace entry per layer; for a graph
/// network `let ([l1, ...], [b1, ...], h) = workspace.graph::<K, B>(n);`, the blocks' entries
/// and the heads' scratch besides.
/// The heads' scratch is taken only by a body that computes gradients (`deltas`).
pub fn take_workspace(net: &Network, deltas: Deltas) -> TokenStream {
    if net.has_path_layers() {
        let count = custom::buffer_count(net);
        return custom::take_buffers(net, quote!(workspace.layers::<#count>(n)), false);
    }
    let entries = net.layers.iter().map(Layer::entry).map(|e| quote!(#e));
    take_entries(net, entries, deltas)
}

/// [`take_workspace`] with the layers' entries as given (`_` for one a body does not use).
pub fn take_entries(
    net: &Network,
    entries: impl Iterator<Item = TokenStream>,
    deltas: Deltas,
) -> TokenStream {
    let count = Literal::usize_unsuffixed(net.layers.len());
    if net.is_chain() {
        return quote! { let [#(#entries),*] = workspace.layers::<#count>(n); };
    }
    let blocks = net.blocks.iter().map(Block::entry);
    let block_count = Literal::usize_unsuffixed(net.blocks.len());
    let head_count = Literal::usize_unsuffixed(net.heads.len());
    let (scratch, targets) = if net.heads.is_empty() {
        (quote!(_), quote!(_))
    } else {
        let targets = net.heads.iter().map(crate::model::Head::y);
        let scratch = if deltas == Deltas::Kept && net.heads.len() > 1 {
            quote!(h)
        } else {
            quote!(_)
        };
        (scratch, quote!([#(#targets),*]))
    };
    quote! {
        let ([#(#entries),*], [#(#blocks),*], #scratch, #targets) =
            workspace.graph::<#count, #block_count, #head_count>(n);
    }
}

/// `let (s1, g1) = b1.rows::<U8>(n);` for each block (`let (s1, g1, e1) = b1.parts::<W, V>(n)`
/// for a concatenation whose branches' input gradients are summed through its scratch).
pub fn split_blocks(net: &Network, deltas: Deltas) -> Vec<TokenStream> {
    net.blocks
        .iter()
        .map(|block| {
            let (entry, s, ty) = (block.entry(), block.s(), block.out.typenum());
            let g = match deltas {
                Deltas::Kept => {
                    let g = block.g();
                    quote!(#g)
                }
                Deltas::Unused => quote!(_),
            };
            if deltas == Deltas::Kept && needs_scratch(net, block) {
                let e = block.e();
                let in_ty = net.input(block.source).width().typenum();
                quote! { let (#s, #g, #e) = #entry.parts::<#ty, #in_ty>(n); }
            } else {
                quote! { let (#s, #g) = #entry.rows::<#ty>(n); }
            }
        })
        .collect()
}

/// Whether a block's backward pass sums its branches' input gradients through its scratch: a
/// concatenation of several branches whose input's gradient is wanted.
pub fn needs_scratch(net: &Network, block: &Block) -> bool {
    block.kind == BlockKind::Concat
        && block.branches.len() > 1
        && net.input(block.source).grad_rows().is_some()
}

/// A block's forward step once its branches have run: `residual_rows(a1, a3, s1)` (`s1 = a1 +
/// a3`), or one `join_rows(a2, 0, s1)` per branch.
pub fn join(net: &Network, block: &Block) -> TokenStream {
    let rt = rt();
    let s = block.s();
    let input = net.input(block.source);
    match block.kind {
        BlockKind::Residual => {
            let last = net.chain_output(&block.branches[0]);
            let (x, fx) = (input.rows(), last.rows());
            let comment = format!(
                " {}: {s} = {} + {} (the skip and the branch)",
                block.label(),
                input.symbol(),
                last.symbol()
            );
            quote! {
                #[doc = #comment]
                #rt::residual_rows(#x, #fx, #s);
            }
        }
        BlockKind::Concat => {
            let parts: Vec<Input> = block.branches.iter().map(|b| net.chain_output(b)).collect();
            let how = if matches!(block.output_shape, nn_model::Shape::Image { .. }) {
                ", channel-wise"
            } else {
                ""
            };
            let comment = format!(
                " {}: {s} = [{}]{how}",
                block.label(),
                parts
                    .iter()
                    .map(|p| p.symbol())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut offset = 0;
            let joins = parts.iter().map(|part| {
                let (rows, off) = (part.rows(), Literal::usize_unsuffixed(offset));
                offset += part.width().value;
                quote! { #rt::join_rows(#rows, #off, #s); }
            });
            quote! {
                #[doc = #comment]
                #(#joins)*
            }
        }
    }
}

/// `workspace.next_step();` for a network with dropout: each gradient step draws fresh masks
/// (the loss body reuses the latest step's).
pub fn next_mask_step(net: &Network) -> Option<TokenStream> {
    net.has_dropout().then(|| {
        quote! {
            /// A new training step: fresh dropout masks.
            workspace.next_step();
        }
    })
}

/// Whether a body needs the delta rows (backprop does, the loss does not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Deltas {
    /// `let (z1, a1, d1) = ...`
    Kept,
    /// `let (z1, a1, _) = ...`
    Unused,
}

/// `let (z1, a1, d1) = l1.rows::<U3>(n);` for each layer, then [`split_blocks`].
pub fn split_rows(net: &Network, deltas: Deltas) -> Vec<TokenStream> {
    net.layers
        .iter()
        .filter(|layer| !layer.is_path())
        .map(|layer| {
            let (entry, z, a, ty) = (layer.entry(), layer.z(), layer.a(), layer.width().typenum());
            let d = match deltas {
                Deltas::Kept => {
                    let d = layer.d();
                    quote!(#d)
                }
                Deltas::Unused => quote!(_),
            };
            if layer.is_dense() {
                quote! { let (#z, #a, #d) = #entry.rows::<#ty>(n); }
            } else {
                let aux = layer.aux();
                quote! { let (#z, #a, #d, #aux) = #entry.parts::<#ty>(n); }
            }
        })
        .chain(split_blocks(net, deltas))
        .collect()
}

/// `self.out.forward_train(a1, z2, a2);` for each layer, in order, with its formula in a
/// comment; each block's join after its branches.
pub fn forward_train(net: &Network) -> Vec<TokenStream> {
    net.steps()
        .into_iter()
        .map(|step| {
            let layer = match step {
                Step::Layer(layer) => layer,
                Step::Join(block) => return join(net, block),
            };
            if layer.is_path() {
                return custom::forward_step(net, layer, true);
            }
            let prelude = custom::input_prelude(net, layer, false);
            let (field, z, a) = (&layer.field, layer.z(), layer.a());
            let from = layer.input_of(net);
            let input = from.rows();
            let Some(act) = layer.act().filter(|_| layer.is_dense()) else {
                let rt = rt();
                let aux = layer.aux();
                let comment = format!(
                    " {}: a{i} = `{}`({}), training mode",
                    layer.label(),
                    layer.declaration(LayerNames::Omitted),
                    from.symbol(),
                    i = layer.index
                );
                return quote! {
                    #[doc = #comment]
                    #prelude
                    #rt::Layer::forward_train(&self.#field, #input, #z, #a, #aux);
                };
            };
            let comment = format!(
                " {}: z{i} = W{i}·{} + b{i}, a{i} = {}(z{i})",
                layer.label(),
                from.symbol(),
                act.name(),
                i = layer.index
            );
            quote! {
                #[doc = #comment]
                #prelude
                self.#field.forward_train(#input, #z, #a);
            }
        })
        .collect()
}
