//! The shape as constants: the inherent `INPUT`/`OUTPUT` and the `Network` trait's description
//! of the layers.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::model::Network;

/// `pub const INPUT: usize = 2; pub const OUTPUT: usize = 1;` on the struct itself.
pub fn inherent_consts(net: &Network) -> TokenStream {
    let (input, output) = (net.input.lit(), net.output_layer().width().lit());
    quote! {
        /// The number of inputs.
        pub const INPUT: usize = #input;
        /// The number of outputs.
        pub const OUTPUT: usize = #output;
    }
}

/// The `Network` trait's constants: the input and output widths, and each layer's width, name
/// and activation name.
pub fn trait_consts(net: &Network) -> TokenStream {
    let (input, output) = (net.input.lit(), net.output_layer().width().lit());
    let widths = net
        .layers
        .iter()
        .map(|layer| Literal::usize_unsuffixed(layer.width().value));
    let names = net.layers.iter().map(|layer| layer.field.to_string());
    let acts = net.layers.iter().map(|layer| layer.act().name());
    quote! {
        const INPUT: usize = #input;
        const OUTPUT: usize = #output;
        const WIDTHS: &'static [usize] = &[#(#widths),*];
        const LAYER_NAMES: &'static [&'static str] = &[#(#names),*];
        const ACTIVATIONS: &'static [&'static str] = &[#(#acts),*];
    }
}
