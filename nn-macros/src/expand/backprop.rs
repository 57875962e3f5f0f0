//! The backprop body, `__gradient_rows`: the training forward pass, the loss's delta at the
//! output, then the chain rule layer by layer in reverse, each step's formula in a comment.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::rows::{self, Deltas};
use crate::expand::{bounds, tokens::rt};
use crate::model::{Layer, Network};
use crate::prop::Input;

/// `fn __gradient_rows(&self, loss, x, y, grads, workspace) -> f32`, over a non-empty batch.
pub fn gradient_rows(net: &Network) -> TokenStream {
    let rt = rt();
    let bounds = bounds::training(net);
    let (x_ty, y_ty) = (net.input.typenum(), net.output_layer().width().typenum());
    let take = rows::take_workspace(net);
    let split = rows::split_rows(net, Deltas::Kept);
    let forward = rows::forward_train(net);
    let output_delta = output_delta(net);
    let backward = net
        .layers
        .iter()
        .rev()
        .map(|layer| backward_step(net, layer));
    quote! {
        /// Backprop over a non-empty batch with one target per input: the forward pass
        /// keeping every layer's `z` and `a`, then the chain rule layer by layer in reverse.
        #[doc(hidden)]
        #[inline]
        #[allow(unused_doc_comments)]
        pub fn __gradient_rows<L>(
            &self,
            loss: L,
            x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
            y: &[#rt::generic_array::GenericArray<f32, #y_ty>],
            grads: &mut Self,
            workspace: &mut #rt::Workspace<Self>,
        ) -> f32
        where
            #(#bounds,)*
        {
            let n = x.len();
            #take
            #(#split)*
            #(#forward)*
            #output_delta
            #(#backward)*
            mean_loss
        }
    }
}

/// `let mean_loss = self.out.loss_delta(&loss, z2, a2, y, d2);`: the loss and the output
/// layer's delta `∂L/∂z` in one call.
fn output_delta(net: &Network) -> TokenStream {
    let out = net.output_layer();
    let (field, z, a, d) = (&out.field, out.z(), out.a(), out.d());
    let comment = format!(
        " output: δ{n} = ∂L/∂z{n} (the fused a - y for softmax with cross-entropy or sigmoid with \
         binary cross-entropy)",
        n = out.index
    );
    quote! {
        #[doc = #comment]
        let mean_loss = self.#field.loss_delta(&loss, #z, #a, y, #d);
    }
}

/// One layer's step back: its delta from the gradient of its output (the output layer's came
/// from the loss), then its weights' and biases' gradients and the gradient of what it read.
fn backward_step(net: &Network, layer: &Layer) -> TokenStream {
    let delta = (!layer.is_output()).then(|| activation_backward(layer));
    let params = parameters_backward(net, layer);
    quote!(#delta #params)
}

/// `self.hidden.activation_backward::<L>(z1, a1, d1);`: δ = ∂L/∂a ⊙ f'(z), in place.
fn activation_backward(layer: &Layer) -> TokenStream {
    let (field, z, a, d) = (&layer.field, layer.z(), layer.a(), layer.d());
    let comment = format!(
        " {}: δ{i} = ∂L/∂a{i} ⊙ {}'(z{i})",
        layer.label(),
        layer.act().name(),
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
fn parameters_backward(net: &Network, layer: &Layer) -> TokenStream {
    let (field, d, i) = (&layer.field, layer.d(), layer.index);
    let label = layer.label();
    match layer.input_of(net) {
        Input::Network(_) => {
            let comment = format!(
                " {label}: ∂L/∂W{i} = δ{i}·xᵀ, ∂L/∂b{i} = δ{i} (no input gradient: nothing \
                 consumes it)"
            );
            quote! {
                #[doc = #comment]
                self.#field.backward_rows(x, #d, &mut grads.#field, None);
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
