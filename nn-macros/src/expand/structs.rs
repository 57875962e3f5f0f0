//! The network struct (one field per layer) and the struct of every layer's output.

use nn_model::{PoolKind, Shape};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::expand::tokens::{rt, scalar_param};
use crate::model::{Layer, LayerKind, Network};
use crate::prop::{LayerNames, Step, STACK_WIDTH_LIMIT};

/// `struct Name { layer: Dense<In, Out, Act>, ... }`, with the user's attributes.
pub fn network_struct(net: &Network) -> TokenStream {
    let Network {
        attrs, vis, name, ..
    } = net;
    let fields = net.layers.iter().map(|layer| {
        let field = &layer.field;
        let doc = field_doc(net, layer);
        let ty = field_type(net, layer);
        quote! {
            #[doc = #doc]
            pub #field: #ty
        }
    });
    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#fields,)*
        }
    }
}

/// The type of a layer's field: `Dense<In, Out, Act>` with the typenum widths,
/// `Dropout<N>`, `BatchNorm<N, CHANNELS>`, `LayerNorm<N>`.
pub(super) fn field_type(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let in_ty = layer.input_of(net).width().typenum();
    let out_ty = layer.width().typenum();
    match &layer.kind {
        LayerKind::Path(path) => quote!(#path),
        LayerKind::Dense(_) => {
            let act = layer.act_type();
            let scalar = scalar_param(net);
            quote!(#rt::Dense<#in_ty, #out_ty, #act #scalar>)
        }
        LayerKind::Dropout(_) => quote!(#rt::Dropout<#out_ty>),
        LayerKind::BatchNorm => {
            let c = Literal::usize_unsuffixed(layer.input.channels());
            quote!(#rt::BatchNorm<#out_ty, #c>)
        }
        LayerKind::LayerNorm => quote!(#rt::LayerNorm<#out_ty>),
        LayerKind::Conv(conv) => {
            let act = layer.act_type();
            let (c, h, w) = image(layer.input);
            let [f, kh, kw, st, p] = [
                conv.filters,
                conv.kernel[0],
                conv.kernel[1],
                conv.stride,
                conv.pad,
            ]
            .map(Literal::usize_unsuffixed);
            quote!(#rt::Conv<#in_ty, #out_ty, #act, #c, #h, #w, #f, #kh, #kw, #st, #p>)
        }
        LayerKind::Pool(pool) => {
            let (c, h, w) = image(layer.input);
            let [kh, kw, st] =
                [pool.window[0], pool.window[1], pool.stride].map(Literal::usize_unsuffixed);
            let ty = match pool.kind {
                PoolKind::Max => quote!(#rt::MaxPool),
                PoolKind::Average => quote!(#rt::AvgPool),
            };
            quote!(#ty<#in_ty, #out_ty, #c, #h, #w, #kh, #kw, #st>)
        }
    }
}

/// An image's channels, height and width as literals (a checked image layer reads an image).
fn image(shape: Shape) -> (Literal, Literal, Literal) {
    let (c, h, w) = match shape {
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
        Shape::Flat(n) => (1, 1, n),
    };
    (
        Literal::usize_unsuffixed(c),
        Literal::usize_unsuffixed(h),
        Literal::usize_unsuffixed(w),
    )
}

/// " Layer 2: 3 inputs to 1 neuron, `sigmoid`." for a dense layer; " Layer 1: `conv 6 5x5 pad 2
/// relu`, 1x28x28 to 6x28x28." for the other kinds: the shapes the macro computed.
fn field_doc(net: &Network, layer: &Layer) -> String {
    let (input, output) = (layer.input, layer.output_shape);
    match &layer.kind {
        LayerKind::Dense(dense) => {
            let width = layer.width().value;
            let inputs = match (layer.input_of(net).width().of.as_ref(), input) {
                (Some(path), _) => format!("the outputs of `{}`", crate::model::path_text(path)),
                (None, Shape::Flat(n)) => format!("{n} inputs"),
                (None, image) => {
                    format!("{} inputs ({image}, flattened channel-major)", image.len())
                }
            };
            let _ = net;
            format!(
                " Layer {}: {inputs} to {width} {}, `{}`.",
                layer.index,
                if width == 1 { "neuron" } else { "neurons" },
                dense.act.name()
            )
        }
        LayerKind::Path(path) => format!(
            " Layer {}: `{}`, a layer of its own type (`nn::Layer`).",
            layer.index,
            crate::model::path_text(path)
        ),
        _ => format!(
            " Layer {}: `{}`, {input} to {output}.",
            layer.index,
            layer.declaration(LayerNames::Omitted)
        ),
    }
}

/// The name of the struct [`activations_struct`] writes: `XorActivations` for `Xor`.
pub fn activations_name(net: &Network) -> Ident {
    format_ident!("{}Activations", net.name)
}

/// The hidden module that holds the activations struct: `__nn_activations_of_Xor`.
fn activations_module(net: &Network) -> Ident {
    format_ident!("__nn_activations_of_{}", net.name)
}

/// The path the generated code names the activations struct by, `__nn_activations_of_Xor::
/// XorActivations`: never the bare name, which a user's own type may shadow.
pub fn activations_path(net: &Network) -> TokenStream {
    let (module, name) = (activations_module(net), activations_name(net));
    quote!(#module::#name)
}

/// Whether a layer's field of the activations struct is boxed: layers wider than
/// [`STACK_WIDTH_LIMIT`], so that `forward_all` returns a small struct whatever the widths.
pub fn activation_on_heap(layer: &Layer) -> bool {
    // A path layer's width is its type's: boxed, whatever it is.
    layer.is_path() || layer.width().value > STACK_WIDTH_LIMIT
}

/// `struct NameActivations { layer: [f32; WIDTH], ... }`: what `forward_all` returns. A layer
/// wider than [`STACK_WIDTH_LIMIT`] is a `Box<[f32; WIDTH]>` field instead (and the struct is
/// then not `Copy`).
///
/// It is defined in a hidden module and brought into the user's module by a glob import, so a
/// type of the user's own named `NameActivations` shadows it instead of colliding with it (an
/// item always wins over a glob import); `forward_all` still returns the generated one.
pub fn activations_struct(net: &Network) -> TokenStream {
    let (vis, name, module) = (&net.vis, activations_name(net), activations_module(net));
    let doc = format!(
        " Every layer's output from one forward pass of [`{0}`](super::{0}).",
        net.name
    );
    let block_fields = net.steps().into_iter().filter_map(|step| {
        let Step::Join(block) = step else { return None };
        let (field, w) = (&block.field, block.out.lit());
        let doc = format!(" The output of {}: {}.", block.label(), block.output_shape);
        let ty = if block.out.value > STACK_WIDTH_LIMIT {
            quote!(::std::boxed::Box<[f32; #w]>)
        } else {
            quote!([f32; #w])
        };
        Some(quote! { #[doc = #doc] pub #field: #ty })
    });
    let fields = net.layers.iter().map(|layer| {
        let (field, w) = (&layer.field, layer.width().lit());
        let doc = match layer.act().filter(|_| layer.is_dense()) {
            Some(act) => format!(" The output of {}, `{}`.", layer.label(), act.name()),
            None if layer.is_path() => format!(
                " The output of {}, `{}`: its type's `nn::Layer::OUTPUT` values.",
                layer.label(),
                layer.declaration(LayerNames::Omitted)
            ),
            None => format!(
                " The output of {}, `{}`: {}.",
                layer.label(),
                layer.declaration(LayerNames::Omitted),
                layer.output_shape
            ),
        };
        // A path layer's width names its type, which the module cannot see from a function
        // body: a boxed slice of its type's `OUTPUT` values.
        let ty = if layer.is_path() {
            quote!(::std::boxed::Box<[f32]>)
        } else if activation_on_heap(layer) {
            quote!(::std::boxed::Box<[f32; #w]>)
        } else {
            quote!([f32; #w])
        };
        quote! { #[doc = #doc] pub #field: #ty }
    });
    // A boxed field is not `Copy`; the struct is `Copy` when every field is an array.
    let fields = fields.chain(block_fields);
    let copy = if net.layers.iter().any(activation_on_heap)
        || net.blocks.iter().any(|b| b.out.value > STACK_WIDTH_LIMIT)
    {
        quote!()
    } else {
        quote!(Copy,)
    };
    quote! {
        #[allow(non_snake_case)]
        mod #module {
            #[doc = #doc]
            #[derive(Debug, Clone, #copy PartialEq)]
            pub struct #name {
                #(#fields,)*
            }
        }
        #[doc(inline)]
        #vis use #module::*;
    }
}
