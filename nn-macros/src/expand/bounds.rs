//! The `where` clauses of the training and loss methods.
//!
//! They are checked where a method is called, not where the network is declared, so a network
//! with a `step` layer still compiles and runs forward; training it is the error, spanned at the
//! activation the user wrote.

use proc_macro2::TokenStream;
use quote::quote_spanned;

use crate::expand::tokens::{act_type, rt_at, scalar_param};
use crate::model::Network;

/// The loss has a gradient for the output activation, and every hidden activation a derivative:
/// `L: LossGradient<Sigmoid>, Tanh: Differentiable<L>`, each activation once.
pub fn training(net: &Network) -> Vec<TokenStream> {
    let out = net.output_layer();
    let span = out.act_span().unwrap_or(out.out.span);
    let (rt, act, scalar) = (rt_at(span), out.act_type(), scalar_param(net));
    let mut bounds = vec![quote_spanned!(span=> L: #rt::LossGradient<#act #scalar>)];
    for (act, span) in net.hidden_activations() {
        let (act, rt) = (act_type(&act, span), rt_at(span));
        bounds.push(quote_spanned!(span=> #act: #rt::Differentiable<L>));
    }
    bounds
}

/// The loss fits the output activation: `L: Loss<Sigmoid>`.
pub fn evaluation(net: &Network) -> TokenStream {
    let out = net.output_layer();
    let span = out.act_span().unwrap_or(out.out.span);
    let (rt, act, scalar) = (rt_at(span), out.act_type(), scalar_param(net));
    quote_spanned!(span=> L: #rt::Loss<#act #scalar>)
}
