//! The shape as constants: the inherent `INPUT`/`OUTPUT` and the `Network` trait's description
//! of the layers.

use nn_model::{PoolKind, Shape};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::tokens::{act_kind, rt, shape_value};
use crate::model::{BlockKind, Layer, LayerKind, Network, Node};
use crate::prop::{LayerNames, NodeRef};

/// `pub const INPUT: usize = 2; pub const OUTPUT: usize = 1;` on the struct itself.
pub fn inherent_consts(net: &Network) -> TokenStream {
    let (input, output) = (net.input.lit(), net.output_width().lit());
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
    let (input, output) = (net.input.lit(), net.output_width().lit());
    let layers = net.layers.iter().map(|layer| layer_shape(net, layer));
    let declaration = net.declaration(LayerNames::Shown);
    let graph = (!net.is_chain()).then(|| {
        let mut nodes: Vec<TokenStream> = net.nodes.iter().map(|&n| node(net, n)).collect();
        if !net.heads.is_empty() {
            let heads = net.heads.iter().map(|head| {
                let name = head.name.to_string();
                let chain = head.nodes.iter().map(|&n| node(net, n));
                let output = match net.chain_output(&head.nodes) {
                    crate::prop::Input::Layer(layer) => shape_value(layer.output_shape),
                    _ => shape_value(Shape::Flat(0)),
                };
                quote! { #rt::Head { name: #name, nodes: &[#(#chain),*], output: #output } }
            });
            let input = match net.nodes.last() {
                Some(&last) => shape_value(match net.node(last) {
                    NodeRef::Layer(layer) => layer.output_shape,
                    NodeRef::Block(block) => block.output_shape,
                }),
                None => shape_value(net.input_shape),
            };
            nodes.push(quote! {
                #rt::Node::Heads(#rt::Heads { input: #input, heads: &[#(#heads),*] })
            });
        }
        quote! { const GRAPH: &'static [#rt::Node] = &[#(#nodes),*]; }
    });
    let layers = if net.has_path_layers() {
        nested_layers(net)
    } else {
        quote!(&[#(#layers),*])
    };
    quote! {
        const INPUT: usize = #input;
        const OUTPUT: usize = #output;
        const LAYERS: &'static [#rt::LayerShape] = #layers;
        const DECLARATION: &'static str = #declaration;
        #graph
    }
}

/// One node of `GRAPH`: `Node::Layer(2)`, or `Node::Block(Block { .. })` with its branches.
fn node(net: &Network, node: Node) -> TokenStream {
    let rt = rt();
    match net.node(node) {
        NodeRef::Layer(layer) => {
            let i = Literal::usize_unsuffixed(layer.index - 1);
            quote!(#rt::Node::Layer(#i))
        }
        NodeRef::Block(block) => {
            let name = block.field.to_string();
            let kind = match block.kind {
                BlockKind::Residual => quote!(#rt::BlockKind::Residual),
                BlockKind::Concat => quote!(#rt::BlockKind::Concat),
            };
            let (input, output) = (shape_value(block.input), shape_value(block.output_shape));
            let branches = block.branches.iter().map(|branch| {
                let nodes = branch.iter().map(|&n| self::node(net, n));
                quote!(&[#(#nodes),*])
            });
            quote! {
                #rt::Node::Block(#rt::Block {
                    name: #name,
                    kind: #kind,
                    input: #input,
                    output: #output,
                    branches: &[#(#branches),*],
                })
            }
        }
    }
}

/// `LAYERS` of a network with path layers: each built-in layer's entry and each path layer's
/// `LAYERS` under its field's name (`encoder.layer1`), concatenated at compile time.
fn nested_layers(net: &Network) -> TokenStream {
    let rt = rt();
    let parts = net.layers.iter().map(|layer| match layer.path() {
        Some(_) => {
            let (prefix, qual) = (layer.field.to_string(), layer.qual());
            quote!(#rt::Part { prefix: #prefix, layers: #qual::LAYERS })
        }
        None => {
            let shape = layer_shape(net, layer);
            quote!(#rt::Part { prefix: "", layers: &[#shape] })
        }
    });
    quote! {{
        const PARTS: &[#rt::Part] = &[#(#parts),*];
        const NAMES: [u8; #rt::name_len(PARTS)] = #rt::names(PARTS);
        const ALL: [#rt::LayerShape; #rt::layer_count(PARTS)] = #rt::flatten(PARTS, &NAMES);
        &ALL
    }}
}

/// One layer's entry in `LAYERS`: `LayerShape::dense(...)` for a flat dense layer (as it has
/// always read), `LayerShape::new(name, kind, input, output)` for the rest.
pub(super) fn layer_shape(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let name = layer.field.to_string();
    let usize_lit = Literal::usize_unsuffixed;
    let kind = match &layer.kind {
        LayerKind::Path(_) => unreachable!("a path layer's entries are its type's `LAYERS`"),
        LayerKind::Dense(dense) => {
            if let (Some(path), Shape::Flat(_)) =
                (layer.input_of(net).width().of.as_ref(), layer.input)
            {
                let qual = crate::expand::tokens::as_layer(path);
                let outputs = usize_lit(dense.width.value);
                let act = act_kind(&dense.act);
                return quote! {
                    #rt::LayerShape::dense(#name, #qual::OUTPUT, #outputs, #act)
                };
            }
            if let Shape::Flat(inputs) = layer.input {
                let inputs = usize_lit(inputs);
                let outputs = usize_lit(dense.width.value);
                let act = act_kind(&dense.act);
                let _ = net;
                return quote! { #rt::LayerShape::dense(#name, #inputs, #outputs, #act) };
            }
            let act = act_kind(&dense.act);
            quote!(#rt::LayerKind::Dense { activation: #act })
        }
        LayerKind::Conv(conv) => {
            let [f, kh, kw, s, p] = [
                conv.filters,
                conv.kernel[0],
                conv.kernel[1],
                conv.stride,
                conv.pad,
            ]
            .map(usize_lit);
            let act = act_kind(&conv.act);
            quote! {
                #rt::LayerKind::Conv {
                    filters: #f, kernel: [#kh, #kw], stride: #s, pad: #p, activation: #act
                }
            }
        }
        LayerKind::Pool(pool) => {
            let [kh, kw, s] = [pool.window[0], pool.window[1], pool.stride].map(usize_lit);
            let kind = match pool.kind {
                PoolKind::Max => quote!(#rt::PoolKind::Max),
                PoolKind::Average => quote!(#rt::PoolKind::Average),
            };
            quote!(#rt::LayerKind::Pool { kind: #kind, window: [#kh, #kw], stride: #s })
        }
        LayerKind::Dropout(rate) => {
            let bits = Literal::u32_unsuffixed(rate.bits());
            quote!(#rt::LayerKind::Dropout { rate: #rt::Real::new(f32::from_bits(#bits)) })
        }
        LayerKind::BatchNorm => quote!(#rt::LayerKind::BatchNorm),
        LayerKind::LayerNorm => quote!(#rt::LayerKind::LayerNorm),
    };
    let (input, output) = (shape_value(layer.input), shape_value(layer.output_shape));
    quote! { #rt::LayerShape::new(#name, #kind, #input, #output) }
}
