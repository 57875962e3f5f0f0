//! The shape as constants: the inherent `INPUT`/`OUTPUT` and the `Network` trait's description
//! of the layers.

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::Ident;

use super::tokens::rt;
use crate::model::{Layer, LayerKind, Network};
use crate::prop::LayerNames;

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

/// The `Network` trait's constants: the input and output widths, the layers' description
/// (`LAYERS`, one `LayerShape` per layer: name, kind, input and output shape) and the
/// declaration text.
pub fn trait_consts(net: &Network) -> TokenStream {
    let rt = rt();
    let (input, output) = (net.input.lit(), net.output_layer().width().lit());
    let layers = net.layers.iter().map(|layer| layer_shape(net, layer));
    let declaration = net.declaration(LayerNames::Shown);
    quote! {
        const INPUT: usize = #input;
        const OUTPUT: usize = #output;
        const LAYERS: &'static [#rt::LayerShape] = &[#(#layers),*];
        const DECLARATION: &'static str = #declaration;
    }
}

/// One layer's entry in `LAYERS`.
fn layer_shape(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let name = layer.field.to_string();
    let inputs = Literal::usize_unsuffixed(layer.input_of(net).width().value);
    match &layer.kind {
        LayerKind::Dense(dense) => {
            let outputs = Literal::usize_unsuffixed(dense.width.value);
            let act = Ident::new(dense.act.type_name(), Span::call_site());
            quote! { #rt::LayerShape::dense(#name, #inputs, #outputs, #rt::ActivationKind::#act) }
        }
    }
}
