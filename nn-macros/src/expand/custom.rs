//! Layers written as a path to a type implementing `nn::Layer` (`-> encoder: Encoder ->`,
//! `-> MyNormalize ->`), and that trait's impl for every network.
//!
//! A path layer's widths are its type's: the macro spells them `<P as nn::Layer>::OUTPUT` (a
//! literal length in non-generic code) and `<P as nn::Layer>::Out` (the typenum type), and
//! writes a check spanned at the path that the type reads the width the layer before it gives,
//! so a mismatch reads in numbers. Its buffers are its `LAYERS`' entries of the outer network's
//! workspace: a network with path layers hands the workspace out layer by layer
//! ([`take_buffers`]), one set to a built-in layer, `<P as nn::Layer>::LAYERS.len()` to a path
//! layer, whose output is the `a` rows of its last set (bound just before each use, so that the
//! path layer can have all of its sets back for its own pass).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::expand::backprop::{self, Dest};
use crate::expand::tokens::{rt, rt_at};
use crate::expand::{forward, rows};
use crate::model::{Layer, Network};
use crate::prop::Input;

/// For each path layer: the type implements `nn::Layer` (the first error a user sees names
/// the trait), its `LAYERS` end at its output width, and it reads the width the layer before it
/// gives, as an array-length equality spanned at the path (`expected an array with a size of
/// 784, found one with a size of 64`).
pub fn checks(net: &Network) -> TokenStream {
    net.layers
        .iter()
        .filter_map(|layer| Some((layer, layer.path()?)))
        .map(|(layer, path)| {
            let span = layer.out.span;
            let rt = rt_at(span);
            let given = layer.input_of(net).width().lit();
            let qual = layer.qual();
            let check = format_ident!(
                "layer_{}_reads_the_width_before_it",
                layer.index,
                span = span
            );
            let described = format!(
                "the `LAYERS` of `{}` are empty or do not end at its `OUTPUT` width",
                crate::model::path_text(path)
            );
            quote_spanned! {span=>
                const _: () = {
                    fn implements_layer<T: #rt::PathLayer>() {}
                    let _ = implements_layer::<#path>;
                    assert!(
                        #rt::describes(#qual::LAYERS, #qual::OUTPUT),
                        #described
                    );
                };
                #[allow(non_snake_case, dead_code)]
                const _: () = {
                    fn #check(given: [f32; #given]) -> [f32; #qual::INPUT] {
                        given
                    }
                };
            }
        })
        .collect()
}

/// The number of buffer sets of the network's workspace: one per built-in layer, the `LAYERS`
/// of each path layer's type.
pub fn buffer_count(net: &Network) -> TokenStream {
    let terms = net.layers.iter().map(|layer| match layer.path() {
        Some(_) => {
            let qual = layer.qual();
            quote!(#qual::LAYERS.len())
        }
        None => quote!(1),
    });
    quote!({ 0 #(+ #terms)* })
}

/// The index of `layer`'s last buffer set in the workspace, where its output is.
pub fn last_buffer(net: &Network, layer: &Layer) -> TokenStream {
    let terms = net.layers[..layer.index]
        .iter()
        .map(|layer| match layer.path() {
            Some(_) => {
                let qual = layer.qual();
                quote!(#qual::LAYERS.len())
            }
            None => quote!(1),
        });
    quote!((0 #(+ #terms)* - 1))
}

/// `let l1 = take_one(&mut rest); let l2 = take_many(&mut rest, ...);`: the workspace's buffer
/// sets (`source`, a `&mut [LayerBuffers]`) handed out layer by layer, skipping the output
/// layer's when `skip_output` (inference writes the output elsewhere).
pub fn take_buffers(net: &Network, source: TokenStream, skip_output: bool) -> TokenStream {
    let rt = rt();
    let takes = net
        .layers
        .iter()
        .filter(|layer| !(skip_output && layer.is_output()))
        .map(|layer| {
            let entry = layer.entry();
            let qual = layer.qual();
            match layer.path() {
                Some(_) => quote! {
                    let #entry = #rt::take_many(&mut rest, #qual::LAYERS.len());
                },
                None => quote! { let #entry = #rt::take_one(&mut rest); },
            }
        });
    quote! {
        let mut rest: &mut [#rt::LayerBuffers] = #source;
        #(#takes)*
    }
}

/// Before a step that reads what `layer` reads: if that is a path layer's output, its rows
/// (`let a2 = output_rows(l2, n);`), with its delta rows too when `delta` (`let (a2, d2) =
/// ...`), bound for this step only.
pub fn input_prelude(net: &Network, layer: &Layer, delta: bool) -> TokenStream {
    let Input::Layer(prev) = layer.input_of(net) else {
        return quote!();
    };
    if !prev.is_path() {
        return quote!();
    }
    let rt = rt();
    let (entry, a, d, ty) = (prev.entry(), prev.a(), prev.d(), prev.width().typenum());
    if delta {
        quote! { let (#a, #d) = #rt::output_and_delta::<#ty>(#entry, n); }
    } else {
        quote! { let #a = #rt::output_rows::<#ty>(#entry, n); }
    }
}

/// What a path layer reads, as its type's rows: `rows_as(x)` or `rows_as(a1)`.
fn path_input(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let input = layer.input_of(net).rows();
    let (qual, given) = (layer.qual(), layer.input_of(net).width().typenum());
    quote!(#rt::rows_as::<#given, #qual::In>(#input))
}

/// A path layer's forward pass over the batch: `forward_rows` for inference, `forward_train`
/// for training.
pub fn forward_step(net: &Network, layer: &Layer, train: bool) -> TokenStream {
    let (field, entry) = (&layer.field, layer.entry());
    let prelude = input_prelude(net, layer, false);
    let input = path_input(net, layer);
    let qual = layer.qual();
    let method = if train {
        quote!(forward_train)
    } else {
        quote!(forward_rows)
    };
    let comment = format!(
        " {}: a{i} = `{}`({}){}",
        layer.label(),
        crate::model::path_text(layer.path().expect("a path layer")),
        layer.input_of(net).symbol(),
        if train { ", training mode" } else { "" },
        i = layer.index
    );
    quote! {
        #[doc = #comment]
        #prelude
        #qual::#method(&self.#field, #input, #entry);
    }
}

/// A path layer's chain rule: the gradient of its parameters and `∂L/∂` of what it reads into
/// `dest` (as its type's rows), or none when nothing consumes it.
pub fn backward_step(net: &Network, layer: &Layer, dest: &Dest) -> TokenStream {
    let rt = rt();
    let (field, entry, qual) = (&layer.field, layer.entry(), layer.qual());
    let prelude = input_prelude(net, layer, true);
    let input = path_input(net, layer);
    let from = layer.input_of(net);
    let dx = match dest {
        Dest::Write { rows, .. } => {
            let given = from.width().typenum();
            quote!(Some(#rt::rows_as_mut::<#given, #qual::In>(#rows)))
        }
        _ => dest.tokens(),
    };
    let comment = format!(
        " {}: ∂L/∂{} through `{}` from ∂L/∂a{i}, and its parameters' gradient",
        layer.label(),
        from.symbol(),
        crate::model::path_text(layer.path().expect("a path layer")),
        i = layer.index
    );
    quote! {
        #[doc = #comment]
        #prelude
        #qual::backward_rows(&self.#field, #input, #entry, &mut grads.#field, #dx);
    }
}

/// Whether the network can be a layer itself: it is a chain (a network with blocks runs its
/// blocks' buffers, which a path layer's slice of the outer workspace does not hold; one with
/// heads has several outputs) and every activation has a derivative without a loss
/// (`Differentiable<()>`), which only `step` lacks.
fn can_be_a_layer(net: &Network) -> bool {
    net.is_chain()
        && !net.layers.iter().any(|layer| {
            layer
                .act()
                .is_some_and(|act| act.is(nn_model::ActivationKind::Step))
        })
}

/// `impl nn::Layer for Net`: the network as a layer of another. Its passes are the batch
/// bodies' over the buffer sets it is given, the output layer's rows in its own set (its
/// activation's derivative taken with `L = ()`, since no loss is fused at a hidden layer).
pub fn layer_impl(net: &Network) -> TokenStream {
    if !can_be_a_layer(net) {
        return quote!();
    }
    let rt = rt();
    let name = &net.name;
    let (x_ty, y_ty) = (net.input.typenum(), net.output_layer().width().typenum());
    let take_all = take_buffers(net, quote!(buffers), false);
    let split = rows::split_rows(net, rows::Deltas::Kept);
    let split_train = rows::split_rows(net, rows::Deltas::Unused);
    let forward = forward::layer_forward_rows(net);
    let forward_train = rows::forward_train(net);
    let backward = backprop::backward_as_layer(net);
    let doc = format!(
        " `{name}` as a layer of another network: `{}`.",
        net.declaration(crate::prop::LayerNames::Omitted)
    );
    quote! {
        #[doc = #doc]
        impl #rt::PathLayer for #name {
            type In = #x_ty;
            type Out = #y_ty;
            const LAYERS: &'static [#rt::LayerShape] = <Self as #rt::Network>::LAYERS;

            fn new(seed: u64) -> Self {
                Self::new(seed)
            }

            fn zeros() -> Self {
                Self::zeros()
            }

            fn parameters(&self) -> impl Iterator<Item = &[f32]> {
                <Self as #rt::Network>::parameters(self)
            }

            fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                <Self as #rt::Network>::parameters_mut(self)
            }

            fn state(&self) -> impl Iterator<Item = &[f32]> {
                <Self as #rt::Network>::state(self)
            }

            fn state_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                <Self as #rt::Network>::state_mut(self)
            }

            fn fold_statistics(&mut self, step: &Self) {
                <Self as #rt::Network>::fold_statistics(self, step)
            }

            #[allow(unused_doc_comments, unused_variables)]
            fn forward_rows(
                &self,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                buffers: &mut [#rt::LayerBuffers],
            ) {
                let n = x.len();
                #take_all
                #forward
            }

            #[allow(unused_doc_comments, unused_variables)]
            fn forward_train(
                &self,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                buffers: &mut [#rt::LayerBuffers],
            ) {
                let n = x.len();
                #take_all
                #(#split_train)*
                #(#forward_train)*
            }

            #[allow(unused_doc_comments, unused_variables)]
            fn backward_rows(
                &self,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                buffers: &mut [#rt::LayerBuffers],
                grads: &mut Self,
                dx: ::core::option::Option<&mut [#rt::generic_array::GenericArray<f32, #x_ty>]>,
            ) {
                /// A hidden layer's chain rule does not depend on the loss.
                type L = ();
                let n = x.len();
                #take_all
                #(#split)*
                #(#backward)*
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{parse_invocation, LayerBody};
    use crate::check::check;
    use crate::model::path_text;
    use crate::prop::LayerNames;

    fn errors(tokens: TokenStream) -> Vec<String> {
        match check(parse_invocation(tokens)).1 {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_capitalised_name_or_a_path_is_a_layer_type() {
        let inv = parse_invocation(quote! {
            struct S: 8 -> encoder: Encoder -> MyNormalize -> my::Scale<U4> -> crate::x::Y
                -> ::z::W -> 2 softmax;
        });
        assert!(inv.errors.is_empty(), "{}", inv.errors[0]);
        let layers = &inv.networks[0].layers;
        let paths: Vec<String> = layers
            .iter()
            .filter_map(|l| match &l.body {
                LayerBody::Path(path) => Some(path_text(path)),
                _ => None,
            })
            .collect();
        assert_eq!(
            paths,
            [
                "Encoder",
                "MyNormalize",
                "my::Scale<U4>",
                "crate::x::Y",
                "::z::W"
            ]
        );
        assert_eq!(
            layers[0].name.as_ref().map(ToString::to_string),
            Some("encoder".into())
        );
        assert!(layers[1].name.is_none());
        // A lowercase word is still a keyword, with the message for an unknown one.
        let inv = parse_invocation(quote! { struct S: 8 -> dense 3 relu -> 2 softmax; });
        assert!(inv.errors[0].to_string().contains("found `dense`"));
    }

    #[test]
    fn only_dense_and_path_layers_follow_a_path_layer_and_it_is_never_the_output() {
        assert!(errors(quote! {
            struct S: 8 -> a: A -> B -> 4 relu -> C -> 2 softmax;
        })
        .is_empty());
        let e = errors(quote! { struct S: 8 -> A -> dropout 0.5 -> layernorm -> 2 softmax; });
        assert_eq!(
            e,
            [
                "layer 2 `dropout 0.5` of `S` follows `A`, whose width only its type knows: after \
              a layer written as a path, put a dense layer or another path layer"
            ]
        );
        let e = errors(quote! { struct S: 8 -> 4 relu -> Enc; });
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("the output layer of `S` is `Enc`"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn a_path_layer_works_only_in_a_chain() {
        let message = |path: &str, net: &str| {
            format!(
                "`{path}` is a layer written as a path, and `{net}` has `residual`, `concat` or \
                 `heads` blocks: a path layer works only in a network that is a chain of layers; \
                 write the type's layers out here instead"
            )
        };
        let e = errors(quote! { struct R: 8 -> residual { Enc -> 8 relu } -> 2 softmax; });
        assert_eq!(e, [message("Enc", "R")]);
        let e = errors(quote! { struct C: 8 -> concat { 4 relu, my::Scale<U8> } -> 2 softmax; });
        assert_eq!(e, [message("my::Scale<U8>", "C")]);
        let e = errors(quote! {
            struct H: 8 -> enc: Enc -> 6 relu -> heads { a: 2 softmax, b: 1 sigmoid };
        });
        assert_eq!(e, [message("Enc", "H")]);
        assert!(errors(quote! { struct Chain: 8 -> enc: Enc -> 2 softmax; }).is_empty());
    }

    #[test]
    fn a_network_with_blocks_is_not_a_layer() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct R: 8 -> residual { 8 relu } -> 2 softmax;
        }));
        assert!(errors.is_ok());
        assert!(layer_impl(&nets[0]).is_empty());
    }

    #[test]
    fn a_path_layer_is_checked_taken_from_the_workspace_and_described_by_its_type() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct S: 8 -> encoder: Encoder -> 3 relu -> MyNormalize -> 2 softmax;
        }));
        assert!(errors.is_ok());
        let net = &nets[0];
        assert!(net.has_path_layers() && !net.is_dense_only());
        assert_eq!(
            net.declaration(LayerNames::Shown),
            "8 -> encoder: Encoder -> 3 relu -> MyNormalize -> 2 softmax"
        );
        let code = crate::expand::expand(&nets).to_string();
        let has = |tokens: TokenStream| {
            let text = tokens.to_string();
            assert!(code.contains(&text), "missing `{text}`");
        };
        has(quote! {
            fn layer_1_reads_the_width_before_it(given: [f32; 8])
                -> [f32; <Encoder as ::nn::__private::PathLayer>::INPUT]
        });
        has(quote! {
            let encoder_buffers = ::nn::__private::take_many(
                &mut rest, <Encoder as ::nn::__private::PathLayer>::LAYERS.len()
            );
        }
        .to_string()
        .replace("encoder_buffers", "l1")
        .parse()
        .unwrap());
        has(quote! {
            ::nn::__private::Part {
                prefix: "encoder",
                layers: <Encoder as ::nn::__private::PathLayer>::LAYERS
            }
        });
        has(quote! {
            pub layer2: ::nn::__private::Dense<
                <Encoder as ::nn::__private::PathLayer>::Out,
                ::nn::__private::typenum::U3,
                ::nn::__private::Relu
            >
        });
        has(quote!(pub layer3: MyNormalize));
        has(quote!(impl ::nn::__private::PathLayer for S));
        // The dense layer after `Encoder` reads its output rows, bound for that step.
        has(quote! {
            let a1 = ::nn::__private::output_rows::< <Encoder as ::nn::__private::PathLayer>::Out>(l1, n);
        });
    }

    #[test]
    fn a_network_with_a_step_layer_is_not_a_layer() {
        let (nets, _) = check(parse_invocation(quote! { struct P: 2 -> 1 step; }));
        assert!(layer_impl(&nets[0]).is_empty());
    }
}
