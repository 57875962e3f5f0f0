//! The runtime's traits: `Network` (shape, parameters, forward) and `Train<L>` (gradients and
//! losses for each loss `L` the output fits). Each method forwards to the inherent one.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::{bounds, shape, tokens::rt};
use crate::model::Network;

/// `impl Network for Name`.
pub fn network_impl(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let consts = shape::trait_consts(net);
    let out = net.output_layer();
    let (in_lit, out_lit, out_act) = (net.input.lit(), out.width().lit(), out.act_type());
    let fields: Vec<_> = net.layers.iter().map(|layer| &layer.field).collect();
    quote! {
        impl #rt::Network for #name {
            #consts
            type Input = [f32; #in_lit];
            type Output = [f32; #out_lit];
            type OutputActivation = #out_act;

            fn zeros() -> Self {
                Self::zeros()
            }

            fn parameters(&self) -> impl Iterator<Item = &[f32]> {
                [#(self.#fields.parameters()),*].into_iter().flatten()
            }

            fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                [#(self.#fields.parameters_mut()),*].into_iter().flatten()
            }

            fn forward(&self, input: &Self::Input) -> Self::Output {
                Self::forward(self, input)
            }

            fn forward_batch(
                &self,
                inputs: &[Self::Input],
                outputs: &mut [Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<(), #rt::Error> {
                Self::forward_batch(self, inputs, outputs, workspace)
            }
        }
    }
}

/// `impl<L> Train<L> for Name where (the training bounds)`.
pub fn train_impl(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let bounds = bounds::training(net);
    quote! {
        impl<L> #rt::Train<L> for #name
        where
            #(#bounds,)*
        {
            fn gradient_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                Self::gradient_batch(self, loss, inputs, targets, grads, workspace)
            }

            fn loss_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                Self::loss_batch(self, loss, inputs, targets, workspace)
            }
        }
    }
}
