//! The constructors: `new(seed)` with random weights and `zeros()`.

use nn_model::PoolKind;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::expand::tokens::rt;
use crate::model::{Layer, LayerKind, Network};
use crate::prop::LayerNames;

/// `fn new(seed: u64) -> Self`: every layer drawn from one generator, in layer order.
pub fn new(net: &Network) -> TokenStream {
    let rt = rt();
    let fields = net.layers.iter().map(|layer| {
        let field = &layer.field;
        let value = constructor(layer, Start::Seeded);
        quote!(#field: #value)
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
        let field = &layer.field;
        let value = constructor(layer, Start::Zeros);
        quote!(#field: #value)
    });
    quote! {
        /// A network of this shape with every weight and bias zero: the starting value of a
        /// gradient.
        pub fn zeros() -> Self {
            Self { #(#fields,)* }
        }
    }
}

/// Which constructor a layer is built with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// `new(seed)`: weights from the generator `rng`, the other kinds as PyTorch starts them.
    Seeded,
    /// `zeros()`: every value zero.
    Zeros,
}

/// A layer's constructor call, its type arguments inferred from the field: `Dense::random(&mut
/// rng)`, `Dropout::new(0.25)`, `BatchNorm::new()`, ...
fn constructor(layer: &Layer, start: Start) -> TokenStream {
    let rt = rt();
    let zeros = start == Start::Zeros;
    let qual = layer.qual();
    match &layer.kind {
        LayerKind::Path(_) if zeros => quote!(#qual::zeros()),
        LayerKind::Path(_) => {
            quote!(#qual::new(#rt::next_seed(&mut rng)))
        }
        LayerKind::Dense(_) if zeros => quote!(#rt::Dense::zeros()),
        LayerKind::Dense(_) => quote!(#rt::Dense::random(&mut rng)),
        LayerKind::Dropout(rate) => {
            let rate = Literal::f32_unsuffixed(rate.get());
            quote!(#rt::Dropout::new(#rate))
        }
        LayerKind::BatchNorm if zeros => quote!(#rt::BatchNorm::zeros()),
        LayerKind::BatchNorm => quote!(#rt::BatchNorm::new()),
        LayerKind::LayerNorm if zeros => quote!(#rt::LayerNorm::zeros()),
        LayerKind::LayerNorm => quote!(#rt::LayerNorm::new()),
        LayerKind::Conv(_) if zeros => quote!(#rt::Conv::zeros()),
        LayerKind::Conv(_) => quote!(#rt::Conv::random(&mut rng)),
        LayerKind::Pool(pool) => match pool.kind {
            PoolKind::Max => quote!(#rt::MaxPool::new()),
            PoolKind::Average => quote!(#rt::AvgPool::new()),
        },
    }
}
