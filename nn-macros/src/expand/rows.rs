//! What the two batch bodies (backprop and the loss) share: each layer's workspace entry split
//! into its rows, and the training forward pass that keeps every layer's `z` and `a`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::model::Network;

/// `let [l1, l2] = workspace.layers::<2>(n);`: one workspace entry per layer.
pub fn take_workspace(net: &Network) -> TokenStream {
    let entries = net.layers.iter().map(|layer| layer.entry());
    let count = Literal::usize_unsuffixed(net.layers.len());
    quote! { let [#(#entries),*] = workspace.layers::<#count>(n); }
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
        .map(|layer| {
            let (entry, z, a, ty) = (layer.entry(), layer.z(), layer.a(), layer.width().typenum());
            let d = match deltas {
                Deltas::Kept => {
                    let d = layer.d();
                    quote!(#d)
                }
                Deltas::Unused => quote!(_),
            };
            quote! { let (#z, #a, #d) = #entry.rows::<#ty>(n); }
        })
        .collect()
}

/// `self.out.forward_train(a1, z2, a2);` for each layer, in order, with its formula in a
/// comment.
pub fn forward_train(net: &Network) -> Vec<TokenStream> {
    net.layers
        .iter()
        .map(|layer| {
            let (field, z, a) = (&layer.field, layer.z(), layer.a());
            let from = layer.input_of(net);
            let comment = format!(
                " {}: z{i} = W{i}·{} + b{i}, a{i} = {}(z{i})",
                layer.label(),
                from.symbol(),
                layer.act().name(),
                i = layer.index
            );
            let input = from.rows();
            quote! {
                #[doc = #comment]
                self.#field.forward_train(#input, #z, #a);
            }
        })
        .collect()
}
