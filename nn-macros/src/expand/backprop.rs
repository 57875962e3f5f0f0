//! The backprop body, `GradientRows::gradient_rows` (a hidden trait, so the body is not a
//! method of the user's type): the training forward pass, the loss's delta at the output, then
//! the chain rule layer by layer in reverse, each step's formula in a comment.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::rows::{self, Deltas};
use crate::expand::{bounds, custom, tokens::rt};
use crate::model::{Act, Layer, LayerKind, Network};
use crate::prop::{Input, LayerNames};

/// `impl<L> GradientRows<L> for Name where (the training bounds) { fn gradient_rows(&self,
/// loss, x, y, grads, workspace) -> f32 }`, over a non-empty batch.
pub fn gradient_rows(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let bounds = bounds::training(net);
    let (x_ty, y_ty) = (net.input.typenum(), net.output_layer().width().typenum());
    let step = rows::next_mask_step(net);
    let take = rows::take_workspace(net);
    let split = rows::split_rows(net, Deltas::Kept);
    let forward = rows::forward_train(net);
    let output_delta = output_delta(net);
    let backward = net
        .layers
        .iter()
        .rev()
        .map(|layer| backward_step(net, layer, false));
    quote! {
        #[doc(hidden)]
        impl<L> #rt::GradientRows<L> for #name
        where
            #(#bounds,)*
        {
            /// Backprop over a non-empty batch with one target per input: the forward pass
            /// keeping every layer's `z` and `a`, then the chain rule layer by layer in reverse.
            #[inline]
            #[allow(unused_doc_comments)]
            fn gradient_rows(
                &self,
                loss: L,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                y: &[#rt::generic_array::GenericArray<f32, #y_ty>],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32 {
                let n = x.len();
                #step
                #take
                #(#split)*
                #(#forward)*
                #output_delta
                #(#backward)*
                mean_loss
            }
        }
    }
}

/// `let mean_loss = <L as LossGradient<Sigmoid>>::delta_rows(&loss, z2, a2, y, d2);`: the loss
/// and the output layer's delta `∂L/∂z` in one call, as the loss decides it.
fn output_delta(net: &Network) -> TokenStream {
    let rt = rt();
    let out = net.output_layer();
    let (act, z, a, d) = (out.act_type(), out.z(), out.a(), out.d());
    let comment = format!(
        " output: δ{n} = ∂L/∂z{n} (the fused a - y for softmax with cross-entropy or sigmoid with \
         binary cross-entropy)",
        n = out.index
    );
    quote! {
        #[doc = #comment]
        let mean_loss = <L as #rt::LossGradient<#act>>::delta_rows(&loss, #z, #a, y, #d);
    }
}

/// One layer's step back: its delta from the gradient of its output (the output layer's came
/// from the loss), then its weights' and biases' gradients and the gradient of what it read.
/// The chain rule of a network used as a layer of another (`impl nn::Layer`), layer by layer
/// in reverse: the output layer's activation included (no loss is fused there), and the first
/// layer's input gradient written into `dx` when the outer network asks for it.
pub fn backward_as_layer(net: &Network) -> Vec<TokenStream> {
    net.layers
        .iter()
        .rev()
        .map(|layer| backward_step(net, layer, true))
        .collect()
}

fn backward_step(net: &Network, layer: &Layer, as_layer: bool) -> TokenStream {
    let first_dx = if as_layer {
        FirstDx::Asked
    } else {
        FirstDx::Unused
    };
    if layer.is_path() {
        return custom::backward_step(net, layer, first_dx);
    }
    let prelude = custom::input_prelude(net, layer, true);
    if !layer.is_dense() {
        let step = layer_backward(net, layer, first_dx);
        return quote!(#prelude #step);
    }
    let delta = (!layer.is_output() || as_layer).then(|| activation_backward(layer));
    let params = parameters_backward(net, layer, first_dx);
    quote!(#delta #prelude #params)
}

/// `Backward::<L>::backward_rows(&self.drop, a1, z2, a2, d2, c2, &mut grads.drop, Some(d1));`
/// for the kinds besides dense: their parameters' gradients and `∂L/∂x` from `∂L/∂a`.
/// What the first layer does with the gradient of the network's input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FirstDx {
    /// Nothing consumes it: not computed (`None`).
    Unused,
    /// The network is a layer of another, which may ask for it in `dx`.
    Asked,
}

impl FirstDx {
    /// The argument the first layer's backward call takes.
    pub fn tokens(self) -> TokenStream {
        match self {
            FirstDx::Unused => quote!(None),
            FirstDx::Asked => quote!(dx),
        }
    }

    /// How the chain-rule comment says it.
    pub fn note(self) -> &'static str {
        match self {
            FirstDx::Unused => "(no input gradient: nothing consumes it)",
            FirstDx::Asked => "(and ∂L/∂x into `dx` if the outer network asks)",
        }
    }
}

fn layer_backward(net: &Network, layer: &Layer, first_dx: FirstDx) -> TokenStream {
    let rt = rt();
    let (field, z, a, d, aux) = (&layer.field, layer.z(), layer.a(), layer.d(), layer.aux());
    let from = layer.input_of(net);
    let input = from.rows();
    let decl = layer.declaration(LayerNames::Omitted);
    let params = if matches!(layer.kind, LayerKind::Pool(_) | LayerKind::Dropout(_)) {
        " (no parameters)"
    } else {
        ", and its parameters' gradient"
    };
    let (dx, comment) = match from {
        Input::Network(_) => (
            first_dx.tokens(),
            format!(
                " {}: the gradient of `{decl}`'s parameters from ∂L/∂a{i} {}",
                layer.label(),
                first_dx.note(),
                i = layer.index
            ),
        ),
        Input::Layer(prev) => {
            let pd = prev.d();
            (
                quote!(Some(#pd)),
                format!(
                    " {}: ∂L/∂{} through `{decl}` from ∂L/∂a{i}{params}",
                    layer.label(),
                    from.symbol(),
                    i = layer.index
                ),
            )
        }
    };
    quote! {
        #[doc = #comment]
        #rt::Backward::<L>::backward_rows(
            &self.#field, #input, #z, #a, #d, #aux, &mut grads.#field, #dx,
        );
    }
}

/// `self.hidden.activation_backward::<L>(z1, a1, d1);`: δ = ∂L/∂a ⊙ f'(z), in place.
fn activation_backward(layer: &Layer) -> TokenStream {
    let (field, z, a, d) = (&layer.field, layer.z(), layer.a(), layer.d());
    let comment = format!(
        " {}: δ{i} = ∂L/∂a{i} ⊙ {}'(z{i})",
        layer.label(),
        layer.act().map(Act::name).unwrap_or_default(),
        i = layer.index
    );
    quote! {
        #[doc = #comment]
        self.#field.activation_backward::<L>(#z, #a, #d);
    }
}

/// `self.out.backward_rows(a1, d2, &mut grads.out, Some(d1));`: the weights' and biases'
/// gradients, and the previous layer's `∂L/∂a` into its delta rows. The first layer computes
/// no input gradient: nothing consumes it.
fn parameters_backward(net: &Network, layer: &Layer, first_dx: FirstDx) -> TokenStream {
    let (field, d, i) = (&layer.field, layer.d(), layer.index);
    let label = layer.label();
    match layer.input_of(net) {
        Input::Network(_) => {
            let comment = format!(
                " {label}: ∂L/∂W{i} = δ{i}·xᵀ, ∂L/∂b{i} = δ{i} {}",
                first_dx.note()
            );
            let dx = first_dx.tokens();
            quote! {
                #[doc = #comment]
                self.#field.backward_rows(x, #d, &mut grads.#field, #dx);
            }
        }
        Input::Layer(prev) => {
            let (pa, pd, p) = (prev.a(), prev.d(), prev.index);
            let comment =
                format!(" {label}: ∂L/∂W{i} = δ{i}·a{p}ᵀ, ∂L/∂b{i} = δ{i}, ∂L/∂a{p} = W{i}ᵀ·δ{i}");
            quote! {
                #[doc = #comment]
                self.#field.backward_rows(#pa, #d, &mut grads.#field, Some(#pd));
            }
        }
    }
}
