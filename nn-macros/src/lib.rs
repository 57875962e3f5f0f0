//! The `network!` procedural macro of `nn`. Use it through the facade crate `nn`, which
//! documents it.
//!
//! The pipeline: `ast` parses the declaration, `check` turns it into the checked `model` and
//! reports every problem at the user's tokens, `expand` writes the code, asking the model the
//! questions answered in `prop`. Each stage is a pure function over token streams, but for
//! `baked`, which reads a network's `#[weights("file")]` while compiling.

mod ast;
mod baked;
mod check;
mod expand;
mod model;
mod prop;

use proc_macro::TokenStream;

/// Declares neural networks as types. See the `nn` crate's documentation.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    network_impl(input.into()).into()
}

/// The whole pipeline on `proc_macro2` tokens, so that it runs in unit tests.
fn network_impl(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut invocation = ast::parse_invocation(input);
    // `#[weights("file")]` networks are checked as any other, then baked in from their file.
    let mut weights = baked::take_attributes(&mut invocation);
    // Networks that checked are expanded even when a sibling did not, so one mistake does not
    // cascade into errors wherever the good networks are used; rustc itself hides "cannot find
    // type" errors for the failed ones after a `compile_error!`.
    let (networks, errors) = check::check(invocation);
    let (baked, networks): (Vec<_>, Vec<_>) = networks
        .into_iter()
        .partition(|net| weights.contains_key(&net.name.to_string()));
    let mut out = expand::expand(&networks);
    for net in &baked {
        if let Some(attr) = weights.remove(&net.name.to_string()) {
            match net.scalar.as_ref().filter(|_| net.is_f64()) {
                Some(scalar) => out.extend(
                    syn::Error::new(
                        scalar.span(),
                        format!(
                            "`{}` computes in f64, but a network baked in with `#[weights(...)]` \
                             computes in f32: declare it without `f64`",
                            net.name
                        ),
                    )
                    .to_compile_error(),
                ),
                None => out.extend(baked::bake(net, &attr)),
            }
        }
    }
    if let Err(err) = errors {
        out.extend(err.to_compile_error());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::network_impl;
    use proc_macro2::{Delimiter, TokenStream, TokenTree};
    use quote::quote;

    /// The snapshots show the generated code formatted: prettyplease prints a macro call's
    /// body as raw tokens, so each `::nn::__private::__if_alloc! { ... }` (the items that need
    /// nn's `alloc` feature) is shown unwrapped, between `// ::nn::__private::__if_alloc! {` and
    /// `// }` lines (placeholders while formatting, comments after).
    fn pretty(tokens: TokenStream) -> String {
        let file: syn::File = syn::parse2(unwrap_if_alloc(tokens))
            .unwrap_or_else(|e| panic!("unparsable output: {e}"));
        prettyplease::unparse(&file)
            .lines()
            .map(|line| {
                let code = line.trim_start();
                let indent = &line[..line.len() - code.len()];
                match code {
                    "const __NN_IF_ALLOC_BEGIN: () = ();" => {
                        format!("{indent}// ::nn::__private::__if_alloc! {{\n")
                    }
                    "const __NN_IF_STD_BEGIN: () = ();" => {
                        format!("{indent}// ::nn::__private::__if_std! {{\n")
                    }
                    "const __NN_IF_ALLOC_END: () = ();" => format!("{indent}// }}\n"),
                    _ => format!("{line}\n"),
                }
            })
            .collect()
    }

    /// `tokens` with every `::nn::__private::__if_alloc! { body }` (and `__if_std!`) replaced by
    /// placeholder items around its (likewise unwrapped) body.
    fn unwrap_if_alloc(tokens: TokenStream) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        // One token a punctuation character: `:` `:` `nn` `:` `:` `__private` ...
        let call = |name: &str| -> Vec<String> {
            format!(": : nn : : __private : : {name} !")
                .split(' ')
                .map(String::from)
                .collect()
        };
        let calls = [
            (call("__if_alloc"), quote!(__NN_IF_ALLOC_BEGIN)),
            (call("__if_std"), quote!(__NN_IF_STD_BEGIN)),
        ];
        let mut out = TokenStream::new();
        let mut k = 0;
        'trees: while k < trees.len() {
            for (call, begin) in &calls {
                let head = trees[k..].iter().take(call.len()).map(|t| t.to_string());
                let body = trees.get(k + call.len());
                let is_call = head.eq(call.iter().cloned())
                    && matches!(body, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
                if let (true, Some(TokenTree::Group(g))) = (is_call, body) {
                    let inner = unwrap_if_alloc(g.stream());
                    out.extend(quote! {
                        const #begin: () = ();
                        #inner
                        const __NN_IF_ALLOC_END: () = ();
                    });
                    k += call.len() + 1;
                    continue 'trees;
                }
            }
            match &trees[k] {
                TokenTree::Group(g) => {
                    let mut group =
                        proc_macro2::Group::new(g.delimiter(), unwrap_if_alloc(g.stream()));
                    group.set_span(g.span());
                    out.extend([TokenTree::Group(group)]);
                }
                tree => out.extend([tree.clone()]),
            }
            k += 1;
        }
        out
    }

    /// What the snapshots' headers say about the `__if_alloc!` calls.
    const ALLOC_NOTE: &str = "//\n// The items between `// ::nn::__private::__if_alloc! {` and `// }` are written inside \
                              that\n// macro call, which keeps them only when nn has its `alloc` \
                              feature; shown unwrapped (`__if_std!`\n// likewise, for `std`).\n";

    /// The code `network!` writes for a small network, prettified, must match the reviewed
    /// snapshot in `tests/expand/xor.expanded.rs`. Set `NN_BLESS=1` to rewrite it after a
    /// deliberate change, then read the diff.
    #[test]
    fn expansion_snapshot() {
        let out = network_impl(quote! {
            /// The seminar's XOR network.
            pub struct Xor: 2 -> hidden: 3 tanh -> out: 1 sigmoid;
        });
        let pretty = format!(
            "// The code `network!` writes for\n//\n//     pub struct Xor: 2 -> hidden: 3 tanh -> \
             out: 1 sigmoid;\n//\n// Generated by the `expansion_snapshot` test in \
             nn-macros/src/lib.rs; do not edit.\n{ALLOC_NOTE}\n{}",
            pretty(out)
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/expand/xor.expanded.rs"
        );
        if std::env::var_os("NN_BLESS").is_some() {
            std::fs::write(path, &pretty).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let stored = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            stored == pretty,
            "the expansion changed; run with NN_BLESS=1 and review the diff of {path}"
        );
    }

    /// An `f64` network's code names `f64` wherever the `f32` network's names the scalar:
    /// the `Network` impl's `Scalar`, the layers' fourth parameter, the arrays and the loss
    /// bounds; the one `f32` left is the leaky slope's `f32::from_bits`.
    #[test]
    fn an_f64_network_computes_in_f64_throughout() {
        let wide = network_impl(quote! {
            struct P: f64 2 -> 3 leaky_relu 0.2 -> 1 linear;
        })
        .to_string();
        let narrow = network_impl(quote! {
            struct P: 2 -> 3 leaky_relu 0.2 -> 1 linear;
        })
        .to_string();
        assert!(!wide.contains("compile_error"), "{wide}");
        assert!(wide.contains("type Scalar = f64"), "{wide}");
        assert!(
            wide.contains("fn forward (& self , input : & [f64 ; 2]) -> [f64 ; 1]"),
            "{wide}"
        );
        assert!(
            wide.contains(":: LossGradient < :: nn :: __private :: Linear , f64 >"),
            "{wide}"
        );
        assert!(wide.contains(":: Linear , f64 >"), "{wide}");
        assert!(wide.contains("[0f64 ; 3]"), "{wide}");
        let f32s = wide.matches("f32").count();
        assert_eq!(f32s, wide.matches("f32 :: from_bits").count(), "{wide}");
        assert!(f32s > 0 && narrow.matches("f32 :: from_bits").count() == f32s);
        assert!(!narrow.contains("f64"), "{narrow}");
    }

    /// The same for a network of the other layer kinds, in `tests/expand/convnet.expanded.rs`:
    /// each kind's field type, its constructor, its workspace parts and its `Layer` and
    /// `Backward` calls, the dropout step and batch normalisation's statistics and state.
    #[test]
    fn image_expansion_snapshot() {
        let out = network_impl(quote! {
            /// A small image network with one layer of each other kind.
            pub struct ConvNet: 1x6x6 -> conv 2 3x3 relu -> maxpool 2x2 -> dropout 0.5
                -> batchnorm -> layernorm -> 3 softmax;
        });
        let pretty = format!(
            "// The code `network!` writes for\n//\n//     pub struct ConvNet: 1x6x6 -> conv 2 3x3 \
             relu -> maxpool 2x2 -> dropout 0.5\n//         -> batchnorm -> layernorm -> 3 \
             softmax;\n//\n// Generated by the `image_expansion_snapshot` test in \
             nn-macros/src/lib.rs; do not edit.\n{ALLOC_NOTE}\n{}",
            pretty(out)
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/expand/convnet.expanded.rs"
        );
        if std::env::var_os("NN_BLESS").is_some() {
            std::fs::write(path, &pretty).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let stored = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            stored == pretty,
            "the expansion changed; run with NN_BLESS=1 and review the diff of {path}"
        );
    }

    /// The same for a small graph network, in `tests/expand/heads.expanded.rs`: a residual
    /// block in the trunk and two heads, each branch's forward and backward in order with its
    /// chain-rule comment, and the two places where gradients of two branches are summed (the
    /// skip, the heads).
    #[test]
    fn heads_expansion_snapshot() {
        let out = network_impl(quote! {
            /// A trunk with a residual block, and two heads.
            pub struct Pair: 2 -> 3 tanh -> residual { 3 relu -> 3 linear } -> heads {
                class: 2 softmax,
                score: 2 tanh -> 1 sigmoid,
            };
        });
        let pretty = format!(
            concat!(
                "// The code `network!` writes for\n//\n",
                "//     pub struct Pair: 2 -> 3 tanh -> residual {{ 3 relu -> 3 linear }} -> heads {{\n",
                "//         class: 2 softmax,\n",
                "//         score: 2 tanh -> 1 sigmoid,\n",
                "//     }};\n//\n",
                "// Generated by the `heads_expansion_snapshot` test in nn-macros/src/lib.rs; do not \
                 edit.\n{}\n{}"
            ),
            ALLOC_NOTE,
            pretty(out)
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/expand/heads.expanded.rs"
        );
        if std::env::var_os("NN_BLESS").is_some() {
            std::fs::write(path, &pretty).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let stored = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            stored == pretty,
            "the expansion changed; run with NN_BLESS=1 and review the diff of {path}"
        );
    }

    #[test]
    fn errors_become_compile_errors_and_good_siblings_still_expand() {
        let out = network_impl(quote! {
            pub struct Bad: 2 -> 0 relu;
            pub struct Good: 2 -> 1 relu;
        })
        .to_string();
        assert!(out.contains("compile_error"));
        assert!(out.contains("struct Good"));
        assert!(!out.contains("struct Bad"));
    }
}
