//! The runtime's traits: `Network` (shape, parameters, forward) and `Trainable<L>` (gradients and
//! losses for each loss `L` the output fits). Each method forwards to the inherent one.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::{bounds, shape, tokens::rt};
use crate::model::{LayerKind, Network};

/// `impl Network for Name`.
pub fn network_impl(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let consts = shape::trait_consts(net);
    let out = net.output_layer();
    let (in_lit, out_lit, out_act) = (net.input.lit(), out.width().lit(), out.act_type());
    let params = parameter_methods(net);
    quote! {
        impl #rt::Network for #name {
            #consts
            type Scalar = f32;
            type Input = [f32; #in_lit];
            type Output = [f32; #out_lit];
            type OutputActivation = #out_act;

            #params

            fn forward(&self, input: &Self::Input) -> Self::Output {
                Self::forward(self, input)
            }

            #rt::__if_alloc! {
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
}

/// The `Network` trait's `zeros`, `parameters` and `parameters_mut`, and for a network with
/// batch normalisation `fold_statistics`, `state` and `state_mut`.
pub fn parameter_methods(net: &Network) -> TokenStream {
    // A path layer's methods through its trait (the user has not imported it).
    let through = |l: &crate::model::Layer, method: TokenStream| {
        let field = &l.field;
        if l.is_path() {
            let qual = l.qual();
            quote!(#qual::#method(&self.#field))
        } else {
            quote!(self.#field.#method())
        }
    };
    let through_mut = |l: &crate::model::Layer, method: TokenStream| {
        let field = &l.field;
        if l.is_path() {
            let qual = l.qual();
            quote!(#qual::#method(&mut self.#field))
        } else {
            quote!(self.#field.#method())
        }
    };
    let parameters: Vec<_> = net
        .layers
        .iter()
        .map(|l| through(l, quote!(parameters)))
        .collect();
    let parameters_mut: Vec<_> = net
        .layers
        .iter()
        .map(|l| through_mut(l, quote!(parameters_mut)))
        .collect();
    let norms: Vec<_> = net
        .layers
        .iter()
        .filter(|l| matches!(l.kind, LayerKind::BatchNorm | LayerKind::Path(_)))
        .collect();
    // A network with batch normalisation saves its buffers too: each layer's `state`, which
    // is its parameters for every other kind (a path layer's state is its type's business).
    let fold = (!norms.is_empty()).then(|| {
        let state = net.layers.iter().map(|l| match l.kind {
            LayerKind::BatchNorm | LayerKind::Path(_) => through(l, quote!(state)),
            _ => through(l, quote!(parameters)),
        });
        let state_mut = net.layers.iter().map(|l| match l.kind {
            LayerKind::BatchNorm | LayerKind::Path(_) => through_mut(l, quote!(state_mut)),
            _ => through_mut(l, quote!(parameters_mut)),
        });
        let folds = norms.iter().map(|l| {
            let field = &l.field;
            if l.is_path() {
                let qual = l.qual();
                quote!(#qual::fold_statistics(&mut self.#field, &step.#field);)
            } else {
                quote!(self.#field.fold_statistics(&step.#field);)
            }
        });
        quote! {
            fn fold_statistics(&mut self, step: &Self) {
                #(#folds)*
            }

            fn state(&self) -> impl Iterator<Item = &[f32]> {
                ::core::iter::empty::<&[f32]>()
                    #(.chain(#state))*
            }

            fn state_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                ::core::iter::empty::<&mut [f32]>()
                    #(.chain(#state_mut))*
            }
        }
    });
    quote! {
        fn zeros() -> Self {
            Self::zeros()
        }

        fn parameters(&self) -> impl Iterator<Item = &[f32]> {
            ::core::iter::empty::<&[f32]>()
                #(.chain(#parameters))*
        }

        fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
            ::core::iter::empty::<&mut [f32]>()
                #(.chain(#parameters_mut))*
        }

        #fold
    }
}

/// `impl<L> Trainable<L> for Name where (the training bounds)`.
pub fn train_impl(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let bounds = bounds::training(net);
    quote! {
        impl<L> #rt::Trainable<L> for #name
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

/// `impl Rows for Name { type In = U2; type Out = U1; }`: the row types the hidden batch bodies
/// take.
pub fn rows_impl(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let (x_ty, y_ty) = (net.input.typenum(), net.output_layer().width().typenum());
    quote! {
        #[doc(hidden)]
        impl #rt::Rows for #name {
            type In = #x_ty;
            type Out = #y_ty;
        }
    }
}
