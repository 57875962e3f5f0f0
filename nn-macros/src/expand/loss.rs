//! The loss body, `LossRows::loss_rows` (a hidden trait, so the body is not a method of the
//! user's type): the training forward pass and the mean loss, no gradients.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::rows::{self, Deltas};
use crate::expand::{bounds, tokens, tokens::rt};
use crate::model::Network;

/// `impl<L> LossRows<L> for Name where L: Loss<Out> { fn loss_rows(&self, loss, x, y,
/// workspace) -> f32 }`, over a non-empty batch.
pub fn loss_rows(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let bound = bounds::evaluation(net);
    let out = net.output_layer();
    let (x_ty, y_ty) = (net.input.typenum(), out.width().typenum());
    let take = rows::take_workspace(net, Deltas::Unused);
    let split = rows::split_rows(net, Deltas::Unused);
    let forward = rows::forward_train(net);
    let (act, z, a) = (out.act_type(), out.z(), out.a());
    let scalar = tokens::scalar_param(net);
    quote! {
        #[doc(hidden)]
        impl<L> #rt::LossRows<L> for #name
        where
            #bound,
        {
            #[inline]
            #[allow(unused_doc_comments)]
            fn loss_rows(
                &self,
                loss: L,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                y: &[#rt::generic_array::GenericArray<f32, #y_ty>],
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32 {
                let n = x.len();
                #take
                #(#split)*
                #(#forward)*
                <L as #rt::Loss<#act #scalar>>::mean_rows(&loss, #z, #a, y)
            }
        }
    }
}
