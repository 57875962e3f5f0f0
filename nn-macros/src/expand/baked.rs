//! The code of a network baked in at compile time (`#[weights("file.safetensors")]`): a unit
//! struct, its weights as `static` arrays in read-only memory, and the inference methods.
//!
//! | item | what |
//! | --- | --- |
//! | `struct Name;` | the network: zero-sized, its weights are statics |
//! | `INPUT`, `OUTPUT`, `LAYERS`, `DECLARATION`, `WEIGHTS_FILE` | the shape, as the trainable network's |
//! | `mod __nn_baked_weights_of_Name` | one `static [f32; N]` per tensor (but `num_batches_tracked`, checked and unused), and the file as an `include_bytes!` so that editing it rebuilds the crate |
//! | `layer1()`, ... | each dense layer as an `nn::DenseRef`, each convolution as an `nn::ConvRef`, each batch or layer norm as an `nn::BatchNormRef` or `nn::LayerNormRef`, over its statics, checked while compiling |
//! | `forward`, `forward_all` | one call per layer on stack arrays: the code the trainable network's inference runs (`Dense::forward`, `Conv`'s and the poolings' kernels, the norms' views; dropout passes through) |
//!
//! No training method is written (no `gradient`, no `Network` or `Trainable` impl), so calling
//! one is a compile error.

use proc_macro2::{Literal, Punct, Spacing, TokenStream};
use quote::{format_ident, quote, TokenStreamExt};
use syn::Ident;

use crate::baked::{Baked, Tensor};
use crate::expand::shape;
use crate::expand::structs::{activations_path, activations_struct};
use crate::expand::tokens::{input_param, method, rt};
use crate::model::{Act, Layer, LayerKind, Network};
use crate::prop::{Input, LayerNames, STACK_WIDTH_LIMIT};
use nn_model::{PoolKind, Shape, TensorRole};

/// The code of a baked network.
pub fn network(net: &Network, baked: &Baked) -> TokenStream {
    let module = weights_module(net);
    // `num_batches_tracked` is checked in the file but unused at inference: no static.
    let used = baked
        .tensors
        .iter()
        .filter(|t| t.role != TensorRole::NumBatchesTracked);
    let statics = used.map(|t| {
        let name = static_name(net, t);
        let len = Literal::usize_unsuffixed(t.values.len());
        let doc = format!(" `{}`, {} `f32` values.", t.name, t.values.len());
        let values = t.values.iter().map(|&v| float(v));
        quote! {
            #[doc = #doc]
            pub(super) static #name: [f32; #len] = [#(#values),*];
        }
    });
    let full_path = &baked.full_path;
    let weights = quote! {
        #[doc(hidden)]
        #[allow(non_snake_case)]
        mod #module {
            // The file itself, unused but read by rustc: editing it rebuilds the crate.
            const _: &[u8] = include_bytes!(#full_path);
            #(#statics)*
        }
    };
    let views = net
        .layers
        .iter()
        .filter(|l| {
            matches!(
                l.kind,
                LayerKind::Dense(_)
                    | LayerKind::Conv(_)
                    | LayerKind::BatchNorm
                    | LayerKind::LayerNorm
            )
        })
        .map(|layer| view(net, baked, layer));
    let forward = forward(net, baked);
    let forward_all = forward_all(net);
    let file = baked.path.value();
    items(
        net,
        &file,
        &weights,
        &quote! { #(#views)* #forward #forward_all },
    )
}

/// The API of a baked network whose file did not fit, with bodies that never run (the
/// compile errors beside it stop the build), so that the network's uses raise no further
/// errors.
pub fn stub(net: &Network, file: &str) -> TokenStream {
    let (forward, forward_all) = (method(net, "forward"), method(net, "forward_all"));
    let input = input_param(net);
    let out = net.output_layer().width().lit();
    let acts = activations_path(net);
    let methods = quote! {
        /// The forward pass of one sample (the weights file did not compile).
        pub fn #forward(&self, #input) -> [f32; #out] {
            let _ = input;
            unreachable!("the weights file did not compile")
        }
        /// Every layer's output (the weights file did not compile).
        pub fn #forward_all(&self, #input) -> #acts {
            let _ = input;
            unreachable!("the weights file did not compile")
        }
    };
    items(net, file, &TokenStream::new(), &methods)
}

/// The struct, the activations struct, the weights module and the inherent impl around
/// `methods`.
fn items(net: &Network, file: &str, weights: &TokenStream, methods: &TokenStream) -> TokenStream {
    let rt = rt();
    let Network {
        attrs, vis, name, ..
    } = net;
    let declaration = net.declaration(LayerNames::Shown);
    let doc = format!(
        " `{declaration}`, baked in at compile time from `{file}`: the weights are statics in \
         read-only memory and the forward pass allocates nothing. Inference only."
    );
    let (input, output) = (net.input.lit(), net.output_layer().width().lit());
    let layers = net
        .layers
        .iter()
        .map(|layer| shape::layer_shape(net, layer));
    let activations = activations_struct(net);
    // A paragraph of its own after the user's docs.
    let gap = attrs
        .iter()
        .any(|a| a.path().is_ident("doc"))
        .then(|| quote!(#[doc = ""]));
    quote! {
        #(#attrs)*
        #gap
        #[doc = #doc]
        #vis struct #name;

        #activations
        #weights

        impl #name {
            /// The number of inputs.
            pub const INPUT: usize = #input;
            /// The number of outputs.
            pub const OUTPUT: usize = #output;
            /// The network's structure, as the trainable network's `Network::LAYERS`.
            pub const LAYERS: &'static [#rt::LayerShape] = &[#(#layers),*];
            /// The declaration, as the trainable network's `Network::DECLARATION`.
            pub const DECLARATION: &'static str = #declaration;
            /// The weights file, as `#[weights]` names it (relative to the crate's manifest
            /// directory).
            pub const WEIGHTS_FILE: &'static str = #file;

            #methods
        }
    }
}

/// `Layer 1` for `layer 1`.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `__nn_baked_weights_of_Tiny`: the hidden module of a network's statics.
fn weights_module(net: &Network) -> Ident {
    format_ident!("__nn_baked_weights_of_{}", net.name)
}

/// `LAYER1_WEIGHT`, `HIDDEN_BIAS`: a tensor's static.
fn static_name(net: &Network, t: &Tensor) -> Ident {
    let field = net.layers[t.layer].field.to_string().to_uppercase();
    let role = t.role.name().to_uppercase();
    format_ident!("{field}_{role}")
}

/// A value as a literal that reads back as the same `f32`, bit for bit: Rust prints the
/// shortest decimal that does, without an exponent (the file's values are finite). The sign
/// is a token of its own, so `-0.0` stays negative.
fn float(v: f32) -> TokenStream {
    let mut tokens = TokenStream::new();
    if v.is_sign_negative() {
        tokens.append(Punct::new('-', Spacing::Alone));
    }
    tokens.append(Literal::f32_unsuffixed(v.abs()));
    tokens
}

/// `fn layer1(&self) -> DenseRef<'static, In, Out, Act>` (`ConvRef` for a convolution,
/// `BatchNormRef<'static, N, C>` or `LayerNormRef<'static, N>` for a normalisation): a
/// layer's view of its statics, built in an inline `const` block so a length mismatch is a
/// compile error (the statics are written from the checked shapes, so there never is one).
fn view(net: &Network, baked: &Baked, layer: &Layer) -> TokenStream {
    let rt = rt();
    let module = weights_module(net);
    let find = |role: TensorRole| {
        baked
            .tensors
            .iter()
            .find(|t| t.layer + 1 == layer.index && t.role == role)
            .map(|t| static_name(net, t))
    };
    let (Some(weight), Some(bias)) = (find(TensorRole::Weight), find(TensorRole::Bias)) else {
        return TokenStream::new(); // `file::read` returns every tensor of every such layer.
    };
    let field = &layer.field;
    let (in_ty, out_ty, act) = (
        layer.input_of(net).width().typenum(),
        layer.width().typenum(),
        layer.act_type(),
    );
    let first = baked
        .tensors
        .iter()
        .find(|t| t.layer + 1 == layer.index)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let what = match layer.kind {
        LayerKind::BatchNorm => {
            format!("scale (`{first}`), shift and running statistics")
        }
        LayerKind::LayerNorm => format!("scale (`{first}`) and shift"),
        _ => format!("weights (`{first}`) and biases"),
    };
    let doc = format!(
        " {}: `{}`, as a view of its baked {what}.",
        capitalized(&layer.label()),
        layer.declaration(LayerNames::Omitted),
    );
    let (ty, new) = match layer.kind {
        LayerKind::BatchNorm => {
            let (Some(mean), Some(var)) =
                (find(TensorRole::RunningMean), find(TensorRole::RunningVar))
            else {
                return TokenStream::new();
            };
            let c = Literal::usize_unsuffixed(layer.input.channels());
            (
                quote!(#rt::BatchNormRef<'static, #out_ty, #c>),
                quote!(#rt::BatchNormRef::new(
                    &#module::#weight,
                    &#module::#bias,
                    &#module::#mean,
                    &#module::#var
                )),
            )
        }
        LayerKind::LayerNorm => (
            quote!(#rt::LayerNormRef<'static, #out_ty>),
            quote!(#rt::LayerNormRef::new(&#module::#weight, &#module::#bias)),
        ),
        LayerKind::Conv(_) => {
            let geometry = geometry(layer);
            (
                quote!(#rt::ConvRef<'static, #in_ty, #out_ty, #act>),
                quote!(#rt::ConvRef::new(#geometry, &#module::#weight, &#module::#bias)),
            )
        }
        _ => (
            quote!(#rt::DenseRef<'static, #in_ty, #out_ty, #act>),
            quote!(#rt::DenseRef::new(&#module::#weight, &#module::#bias)),
        ),
    };
    quote! {
        #[doc = #doc]
        #[inline]
        #[must_use]
        pub const fn #field(&self) -> #ty {
            const {
                match #new {
                    ::core::option::Option::Some(layer) => layer,
                    ::core::option::Option::None => ::core::panic!("a baked tensor of the wrong length"),
                }
            }
        }
    }
}

/// One layer's step of the one-sample forward pass into `a{k}`, with its formula in a
/// comment: a dense layer's `DenseRef::forward` (a normalisation's `BatchNormRef::forward` or
/// `LayerNormRef::forward`), a convolution's `ConvRef::forward` with its
/// scratch on the stack, a pooling layer's kernel with the layer type's geometry, a dropout
/// layer's copy (dropout passes its input through at inference).
fn step(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let (field, a, w) = (&layer.field, layer.a(), layer.width().lit());
    let from = layer.input_of(net);
    let input = from.sample();
    let declared = layer.declaration(LayerNames::Omitted);
    match &layer.kind {
        LayerKind::Dense(_) => {
            let comment = format!(
                " {}: {a} = {}(W{i}·{} + b{i})",
                layer.label(),
                layer.act().map(Act::name).unwrap_or_default(),
                from.symbol(),
                i = layer.index
            );
            quote! {
                #[doc = #comment]
                let mut #a = [0.0f32; #w];
                self.#field().forward(#rt::array(#input), #rt::array_mut(&mut #a));
            }
        }
        LayerKind::Conv(_) => {
            let comment = format!(
                " {}: {a} = {}(W{i} ⋆ {} + b{i}), `{declared}`",
                layer.label(),
                layer.act().map(Act::name).unwrap_or_default(),
                from.symbol(),
                i = layer.index
            );
            let geometry = geometry(layer);
            let limit = Literal::usize_unsuffixed(STACK_WIDTH_LIMIT);
            let too_large = format!(
                "{} (`{declared}`) needs more than {STACK_WIDTH_LIMIT} values of scratch space, \
                 which a baked network keeps on the stack",
                layer.label()
            );
            quote! {
                #[doc = #comment]
                let mut #a = [0.0f32; #w];
                {
                    const SCRATCH: usize = #geometry.scratch_len(1);
                    const { ::core::assert!(SCRATCH <= #limit, #too_large) };
                    let mut scratch = [0.0f32; SCRATCH];
                    self.#field().forward(#rt::array(#input), #rt::array_mut(&mut #a), &mut scratch);
                }
            }
        }
        LayerKind::BatchNorm | LayerKind::LayerNorm => {
            let comment = if matches!(layer.kind, LayerKind::BatchNorm) {
                format!(
                    " {}: {a} = γ{i}·({} - mean{i})/√(var{i} + ε) + β{i}, `{declared}` with its \
                     running statistics",
                    layer.label(),
                    from.symbol(),
                    i = layer.index
                )
            } else {
                format!(
                    " {}: {a} = γ{i} ⊙ ({x} - μ({x}))/√(σ²({x}) + ε) + β{i}, `{declared}`",
                    layer.label(),
                    x = from.symbol(),
                    i = layer.index
                )
            };
            quote! {
                #[doc = #comment]
                let mut #a = [0.0f32; #w];
                self.#field().forward(#rt::array(#input), #rt::array_mut(&mut #a));
            }
        }
        LayerKind::Pool(pool) => {
            let comment = format!(" {}: {a} = {declared}({})", layer.label(), from.symbol());
            let geometry = geometry(layer);
            let in_w = from.width().lit();
            let call = match pool.kind {
                PoolKind::Max => quote! {
                    #rt::maxpool2d_forward(&GEOMETRY, 1, #input, &mut #a, &mut [0u32; #w]);
                },
                PoolKind::Average => quote! {
                    #rt::avgpool2d_forward(&GEOMETRY, 1, #input, &mut #a);
                },
            };
            quote! {
                #[doc = #comment]
                let mut #a = [0.0f32; #w];
                {
                    const GEOMETRY: #rt::Pool2d = #geometry;
                    const {
                        ::core::assert!(
                            GEOMETRY.input_len() == #in_w && GEOMETRY.output_len() == #w,
                            "a pooling's lengths that are not its geometry's"
                        )
                    };
                    #call
                }
            }
        }
        _ => {
            let comment = format!(
                " {}: {a} = {} (`{declared}` passes its input through at inference)",
                layer.label(),
                from.symbol(),
            );
            let input = match from {
                Input::Network(_) => quote!(*input),
                Input::Layer(prev) => {
                    let prev = prev.a();
                    quote!(#prev)
                }
                // `layout::expected` refuses a network with blocks before any code is written.
                Input::Block(_) => {
                    quote!(::core::compile_error!(
                        "a baked network is a chain of layers"
                    ))
                }
            };
            quote! {
                #[doc = #comment]
                let #a: [f32; #w] = #input;
            }
        }
    }
}

/// A convolution's `Conv2d` or a pooling's `Pool2d` as a struct literal, from the checked
/// model: what the layer type's `GEOMETRY` holds, without naming the layer type, which needs
/// nn's `alloc` feature, so that a baked network with convolutions runs without it.
fn geometry(layer: &Layer) -> TokenStream {
    let rt = rt();
    let (c, h, w) = match layer.input {
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
        Shape::Flat(n) => (1, 1, n),
    };
    let lit = Literal::usize_unsuffixed;
    let (c, h, w) = (lit(c), lit(h), lit(w));
    match &layer.kind {
        LayerKind::Conv(conv) => {
            let [f, kh, kw, st, p] = [
                conv.filters,
                conv.kernel[0],
                conv.kernel[1],
                conv.stride,
                conv.pad,
            ]
            .map(lit);
            quote! {
                #rt::Conv2d {
                    in_channels: #c,
                    in_height: #h,
                    in_width: #w,
                    out_channels: #f,
                    kernel_height: #kh,
                    kernel_width: #kw,
                    stride: #st,
                    pad: #p,
                }
            }
        }
        LayerKind::Pool(pool) => {
            let [kh, kw, st] = [pool.window[0], pool.window[1], pool.stride].map(lit);
            quote! {
                #rt::Pool2d {
                    channels: #c,
                    in_height: #h,
                    in_width: #w,
                    window_height: #kh,
                    window_width: #kw,
                    stride: #st,
                }
            }
        }
        // Only convolutions and poolings have a geometry.
        _ => quote!(::core::compile_error!("a layer without a geometry")),
    }
}

/// `fn forward(&self, input: &[f32; IN]) -> [f32; OUT]`.
fn forward(net: &Network, baked: &Baked) -> TokenStream {
    let method = method(net, "forward");
    let input = input_param(net);
    let out = net.output_layer();
    let (out_lit, out_a) = (out.width().lit(), out.a());
    let steps = net.layers.iter().map(|layer| step(net, layer));
    let doc = format!(
        " The forward pass of one sample on the weights baked in from `{}`: each layer's \
         `f(W·a + b)` in turn, on stack arrays, nothing allocated. Bit for bit what the \
         trainable network of the same declaration computes with that file loaded at run time.",
        baked.path.value()
    );
    quote! {
        #[doc = #doc]
        #[inline]
        #[allow(unused_doc_comments)]
        pub fn #method(&self, #input) -> [f32; #out_lit] {
            #(#steps)*
            #out_a
        }
    }
}

/// `fn forward_all(&self, input: &[f32; IN]) -> NameActivations`: the same steps, every
/// layer's output kept.
fn forward_all(net: &Network) -> TokenStream {
    let method = method(net, "forward_all");
    let input = input_param(net);
    let acts = activations_path(net);
    let steps = net.layers.iter().map(|layer| step(net, layer));
    let fields = net.layers.iter().map(|layer| {
        let (field, a) = (&layer.field, layer.a());
        quote!(#field: #a)
    });
    quote! {
        /// The forward pass of one sample, returning every layer's output.
        #[allow(unused_doc_comments)]
        pub fn #method(&self, #input) -> #acts {
            #(#steps)*
            #acts { #(#fields,)* }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_bit_for_bit() {
        let edge = [
            0.0,
            -0.0,
            1e-45,
            -1e-45,
            f32::MIN_POSITIVE,
            f32::MAX,
            -f32::MAX,
            0.1,
            -0.333_333_34,
            16_777_217.0,
            core::f32::consts::PI,
        ];
        for v in edge {
            let text = float(v).to_string().replace(' ', "");
            let back: f32 = text.parse().unwrap_or(f32::NAN);
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} -> {text}");
        }
    }
}
