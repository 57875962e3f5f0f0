//! The constructors: `new(seed)` with random weights and `zeros()`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::tokens::rt;
use crate::model::{Layer, LayerKind, Network};
use crate::prop::LayerNames;

/// `fn new(seed: u64) -> Self`: every layer drawn from one generator, in layer order.
pub fn new(net: &Network) -> TokenStream {
    let rt = rt();
    let fields = net.layers.iter().map(|layer| {
        let (field, ty) = (&layer.field, layer_type(layer));
        quote!(#field: #ty::random(&mut rng))
    });
    let doc = format!(
        " A `{}` network with weights drawn from `seed` (Xavier/Glorot uniform before \
         `sigmoid`, `tanh`, `linear`, `softmax` and `step`, He uniform before `relu` and \
         `softplus`) and zero biases. The same seed gives the same weights, bit for bit.",
        net.declaration(LayerNames::Omitted)
    );
    quote! {
        #[doc = #doc]
        #[must_use]
        pub fn new(seed: u64) -> Self {
            let mut rng = #rt::seed_rng(seed);
            Self { #(#fields,)* }
        }
    }
}

/// `fn zeros() -> Self`.
pub fn zeros(net: &Network) -> TokenStream {
    let fields = net.layers.iter().map(|layer| {
        let (field, ty) = (&layer.field, layer_type(layer));
        quote!(#field: #ty::zeros())
    });
    quote! {
        /// A network of this shape with every weight and bias zero: the starting value of a
        /// gradient.
        pub fn zeros() -> Self {
            Self { #(#fields,)* }
        }
    }
}

/// The runtime type whose constructors build a layer, its type arguments inferred from the
/// field: `Dense`.
fn layer_type(layer: &Layer) -> TokenStream {
    let rt = rt();
    match layer.kind {
        LayerKind::Dense(_) => quote!(#rt::Dense),
    }
}
