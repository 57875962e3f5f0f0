//! The loss body, `__loss_rows`: the training forward pass and the mean loss, no gradients.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::rows::{self, Deltas};
use crate::expand::{bounds, tokens::rt};
use crate::model::Network;

/// `fn __loss_rows(&self, loss, x, y, workspace) -> f32`, over a non-empty batch.
pub fn loss_rows(net: &Network) -> TokenStream {
    let rt = rt();
    let bound = bounds::evaluation(net);
    let out = net.output_layer();
    let (x_ty, y_ty) = (net.input.typenum(), out.width().typenum());
    let take = rows::take_workspace(net);
    let split = rows::split_rows(net, Deltas::Unused);
    let forward = rows::forward_train(net);
    let (field, z, a) = (&out.field, out.z(), out.a());
    quote! {
        #[doc(hidden)]
        #[inline]
        #[allow(unused_doc_comments)]
        pub fn __loss_rows<L>(
            &self,
            loss: L,
            x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
            y: &[#rt::generic_array::GenericArray<f32, #y_ty>],
            workspace: &mut #rt::Workspace<Self>,
        ) -> f32
        where
            #bound,
        {
            let n = x.len();
            #take
            #(#split)*
            #(#forward)*
            self.#field.loss_mean(&loss, #z, #a, y)
        }
    }
}
