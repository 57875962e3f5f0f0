//! What the two batch bodies (backprop and the loss) share: each layer's workspace entry split
//! into its rows, and the training forward pass that keeps every layer's `z` and `a`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::expand::custom;
use crate::expand::tokens::rt;
use crate::model::Network;
use crate::prop::LayerNames;

/// `let [l1, l2] = workspace.layers::<2>(n);`: one workspace entry per layer.
pub fn take_workspace(net: &Network) -> TokenStream {
    if net.has_path_layers() {
        let count = custom::buffer_count(net);
        return custom::take_buffers(net, quote!(workspace.layers::<#count>(n)), false);
    }
    let entries = net.layers.iter().map(|layer| layer.entry());
    let count = Literal::usize_unsuffixed(net.layers.len());
    quote! { let [#(#entries),*] = workspace.layers::<#count>(n); }
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

/// `let (z1, a1, d1) = l1.rows::<U3>(n);` for each layer.
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
        .collect()
}

/// `self.out.forward_train(a1, z2, a2);` for each layer, in order, with its formula in a
/// comment.
pub fn forward_train(net: &Network) -> Vec<TokenStream> {
    net.layers
        .iter()
        .map(|layer| {
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
