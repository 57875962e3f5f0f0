//! How the model is spelled in generated code: the runtime's path, a width as a literal and as a
//! typenum type, an activation's type, the names of a layer's buffers, and the public methods'
//! names and array parameters with the user's spans.
//!
//! Every item's expansion writes these through the functions here, so a name such as `a2` or a
//! span choice is decided once.

use proc_macro2::{Group, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use nn_model::{ActivationKind, Shape};

use crate::model::{Act, Block, Head, Layer, Network, Width};
use crate::prop::Input;

/// The path of the runtime's hidden module.
pub fn rt() -> TokenStream {
    quote!(::nn::__private)
}

/// The scalar type as the last generic argument of a layer or loss type: nothing for an `f32`
/// network (the runtime's default), `, f64` for an `f64` one.
pub fn scalar_param(net: &Network) -> TokenStream {
    if net.is_f64() {
        quote!(, f64)
    } else {
        TokenStream::new()
    }
}

/// An `f64` network's code: its `f32` code with every `f32` that names the scalar (the type in
/// arrays, rows and signatures, and the `0.0f32` that fills a buffer) written `f64`. The check
/// keeps an `f64` network to the constructs where that is the whole difference (dense layers,
/// built-in activations, a chain); an `f32` that is not the scalar, `f32::from_bits` of a
/// leaky slope, stays as it is.
pub fn to_f64(code: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut trees = code.into_iter().peekable();
    while let Some(tree) = trees.next() {
        let tree = match tree {
            TokenTree::Ident(ident) if ident == "f32" => {
                let path = matches!(trees.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if path {
                    TokenTree::Ident(ident)
                } else {
                    TokenTree::Ident(Ident::new("f64", ident.span()))
                }
            }
            TokenTree::Literal(lit) if lit.to_string().ends_with("f32") => {
                let text = lit.to_string();
                let mut wide: Literal = text
                    .trim_end_matches("f32")
                    .parse::<f64>()
                    .map_or(lit.clone(), Literal::f64_suffixed);
                wide.set_span(lit.span());
                TokenTree::Literal(wide)
            }
            TokenTree::Group(group) => {
                let mut wide = Group::new(group.delimiter(), to_f64(group.stream()));
                wide.set_span(group.span());
                TokenTree::Group(wide)
            }
            other => other,
        };
        out.push(tree);
    }
    out.into_iter().collect()
}

/// The runtime's hidden module with every token at `span`, so that a trait bound written with
/// it is reported at the user's token.
pub fn rt_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::nn::__private)
}

/// The typenum type of `n`: `U{n}` where typenum names it, else built bit by bit as
/// `UInt<UInt<UTerm, B1>, B0>...`, which works for any width.
pub fn typenum(n: usize, span: Span) -> TokenStream {
    let rt = rt();
    if n <= 1024 {
        let name = format_ident!("U{}", n, span = span);
        return quote_spanned!(span=> #rt::typenum::#name);
    }
    let mut ty = quote_spanned!(span=> #rt::typenum::UTerm);
    for bit in (0..usize::BITS - n.leading_zeros()).rev() {
        let b = if (n >> bit) & 1 == 1 {
            quote!(B1)
        } else {
            quote!(B0)
        };
        ty = quote_spanned!(span=> #rt::typenum::UInt<#ty, #rt::typenum::#b>);
    }
    ty
}

/// The nn-core type of an activation, at `span` (where the user wrote it): `Sigmoid`,
/// `LeakyRelu<BITS>` with the slope's `f32` bits, `Custom<my::Softsign, { CHECK }>` with a
/// constant that requires `my::Softsign: CustomActivation`: if the type does not implement it,
/// that is the one error (at the path; every copy of it is the same diagnostic, which rustc
/// reports once), and the failed constant keeps the layer's code from further errors.
pub fn act_type(act: &Act, span: Span) -> TokenStream {
    let rt = rt_at(span);
    match act {
        Act::Builtin(ActivationKind::LeakyRelu { slope }) => {
            let bits = Literal::u32_unsuffixed(slope.bits());
            quote_spanned!(span=> #rt::LeakyRelu<#bits>)
        }
        Act::Builtin(kind) => {
            let name = Ident::new(kind.type_name(), span);
            quote_spanned!(span=> #rt::#name)
        }
        Act::Custom(path) => quote_spanned! {span=>
            #rt::Custom<#path, { #rt::is_custom_activation::<#path>() }>
        },
    }
}

/// The `ActivationKind` value of an activation, for `LAYERS`: a custom one is known by the name
/// its type gives itself (read through the checked [`act_type`], so a type that is not an
/// activation adds no error here).
pub fn act_kind(act: &Act) -> TokenStream {
    let rt = rt();
    match act {
        Act::Builtin(ActivationKind::LeakyRelu { slope }) => {
            let bits = Literal::u32_unsuffixed(slope.bits());
            quote!(#rt::ActivationKind::LeakyRelu { slope: #rt::Real::new(f32::from_bits(#bits)) })
        }
        Act::Builtin(kind) => {
            let name = Ident::new(kind.type_name(), Span::call_site());
            quote!(#rt::ActivationKind::#name)
        }
        Act::Custom(path) => {
            let ty = act_type(act, syn::spanned::Spanned::span(path));
            quote!(<#ty as #rt::Activation>::KIND)
        }
    }
}

/// A shape as an `nn_model::Shape` value.
pub fn shape_value(shape: Shape) -> TokenStream {
    let rt = rt();
    match shape {
        Shape::Flat(n) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(#rt::Shape::Flat(#n))
        }
        Shape::Image {
            channels,
            height,
            width,
        } => {
            let [c, h, w] = [channels, height, width].map(Literal::usize_unsuffixed);
            quote!(#rt::Shape::Image { channels: #c, height: #h, width: #w })
        }
    }
}

/// `<Path as nn::Layer>`, spanned at the user's path, so that an error about the trait (the
/// type does not implement it) points at their tokens.
pub fn as_layer(path: &syn::Path) -> TokenStream {
    let span = syn::spanned::Spanned::span(path);
    let rt = rt_at(span);
    quote_spanned!(span=> <#path as #rt::PathLayer>)
}

impl Width {
    /// The width as a literal carrying the user's span, so rustc's errors point at their `784`;
    /// a path layer's output as `{ <Path as nn::Layer>::OUTPUT }`.
    pub fn lit(&self) -> TokenStream {
        if let Some(path) = &self.of {
            let layer = as_layer(path);
            return quote_spanned!(self.span=> { #layer::OUTPUT });
        }
        let mut l = Literal::usize_unsuffixed(self.value);
        l.set_span(self.span);
        quote!(#l)
    }

    /// The width's typenum type, at the user's span (see [`typenum`]); a path layer's output as
    /// `<Path as nn::Layer>::Out`.
    pub fn typenum(&self) -> TokenStream {
        if let Some(path) = &self.of {
            let layer = as_layer(path);
            return quote_spanned!(self.span=> #layer::Out);
        }
        typenum(self.value, self.span)
    }
}

impl Layer {
    /// `<Path as nn::Layer>` for a path layer, spanned at the path (empty for the other kinds).
    pub fn qual(&self) -> TokenStream {
        self.path().map(as_layer).unwrap_or_default()
    }

    /// The nn-core type of its activation, at the user's activation token (`Linear`, the
    /// identity, for the kinds without one; the output layer, which asks, is always dense).
    pub fn act_type(&self) -> TokenStream {
        match (self.act(), self.act_span()) {
            (Some(act), Some(span)) => act_type(act, span),
            _ => act_type(&Act::Builtin(ActivationKind::Linear), self.out.span),
        }
    }

    /// `c2`: its `Aux` buffers in the workspace.
    pub fn aux(&self) -> Ident {
        format_ident!("c{}", self.index)
    }

    /// `a2`: its output (one sample's array, or a batch's rows).
    pub fn a(&self) -> Ident {
        format_ident!("a{}", self.index)
    }

    /// `z2`: its pre-activation rows, `W·x + b`.
    pub fn z(&self) -> Ident {
        format_ident!("z{}", self.index)
    }

    /// `d2`: its delta rows, `∂L/∂z` once backprop has reached it.
    pub fn d(&self) -> Ident {
        format_ident!("d{}", self.index)
    }

    /// `l2`: its entry of the workspace, split into the `z`, `a` and `d` rows.
    pub fn entry(&self) -> Ident {
        format_ident!("l{}", self.index)
    }
}

impl Head {
    /// `y_digit`: its targets' rows (its buffer in the workspace, then its typed rows).
    pub fn y(&self) -> Ident {
        format_ident!("y_{}", self.name)
    }
}

impl Block {
    /// `s1`: its output rows.
    pub fn s(&self) -> Ident {
        format_ident!("s{}", self.id)
    }

    /// `g1`: its output's gradient rows.
    pub fn g(&self) -> Ident {
        format_ident!("g{}", self.id)
    }

    /// `e1`: the scratch rows where a branch's input gradient waits to be added.
    pub fn e(&self) -> Ident {
        format_ident!("e{}", self.id)
    }

    /// `b1`: its entry of the workspace.
    pub fn entry(&self) -> Ident {
        format_ident!("b{}", self.id)
    }
}

impl Input<'_> {
    /// The rows a batch method reads: `x` (the network's input rows), a layer's `a` or a
    /// block's `s`.
    pub fn rows(self) -> Ident {
        match self {
            Input::Network(_) => format_ident!("x"),
            Input::Layer(prev) => prev.a(),
            Input::Block(block) => block.s(),
        }
    }

    /// The rows that receive the gradient of what was read: a layer's `d`, a block's `g`;
    /// `None` for the network's input, whose gradient nothing consumes.
    pub fn grad_rows(self) -> Option<Ident> {
        match self {
            Input::Network(_) => None,
            Input::Layer(prev) => Some(prev.d()),
            Input::Block(block) => Some(block.g()),
        }
    }

    /// The same as a symbol in the chain-rule comments: `x` or `a1`.
    pub fn symbol(self) -> String {
        self.rows().to_string()
    }

    /// What the one-sample forward pass reads: the `input` parameter, or a reference to the
    /// previous layer's array (`&a1`, or `&*a1` for a heap buffer).
    pub fn sample(self) -> TokenStream {
        match self {
            Input::Network(_) => quote!(input),
            Input::Layer(prev) => {
                let a = prev.a();
                if prev.sample_on_heap() {
                    quote!(&*#a)
                } else {
                    quote!(&#a)
                }
            }
            // A graph's one-sample pass runs as a batch of one, which reads rows.
            Input::Block(block) => {
                let s = block.s();
                quote!(&#s)
            }
        }
    }
}

/// A public method's name at the struct name's span, so that rustc's "method defined here"
/// notes point at the declaration.
pub fn method(net: &Network, name: &str) -> Ident {
    Ident::new(name, net.name.span())
}

/// `input: &[f32; IN]`, at the user's input width.
pub fn input_param(net: &Network) -> TokenStream {
    let (span, w) = (net.input.span, net.input.lit());
    quote_spanned!(span=> input: &[f32; #w])
}

/// `inputs: &[[f32; IN]]`, at the user's input width.
pub fn inputs_param(net: &Network) -> TokenStream {
    let (span, w) = (net.input.span, net.input.lit());
    quote_spanned!(span=> inputs: &[[f32; #w]])
}

/// `target: &[f32; OUT]`, at the user's output width.
pub fn target_param(net: &Network) -> TokenStream {
    let out = net.output_layer().width();
    let (span, w) = (out.span, out.lit());
    quote_spanned!(span=> target: &[f32; #w])
}

/// `targets: &[[f32; OUT]]`, at the user's output width.
pub fn targets_param(net: &Network) -> TokenStream {
    let out = net.output_layer().width();
    let (span, w) = (out.span, out.lit());
    quote_spanned!(span=> targets: &[[f32; #w]])
}

/// `outputs: &mut [[f32; OUT]]`, at the user's output width.
pub fn outputs_param(net: &Network) -> TokenStream {
    let out = net.output_layer().width();
    let (span, w) = (out.span, out.lit());
    quote_spanned!(span=> outputs: &mut [[f32; #w]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use crate::check::check;

    fn network(tokens: TokenStream) -> Network {
        let (mut nets, errors) = check(parse_invocation(tokens));
        assert!(errors.is_ok());
        nets.remove(0)
    }

    #[test]
    fn typenum_names_small_widths_and_builds_large_ones() {
        let span = Span::call_site();
        assert_eq!(
            typenum(1024, span).to_string(),
            quote!(::nn::__private::typenum::U1024).to_string()
        );
        for n in [1025, 1500, 4097, 60_000] {
            let ty = typenum(n, span);
            assert!(syn::parse2::<syn::Type>(ty.clone()).is_ok(), "{n}: {ty}");
            // `UInt<UInt<UTerm, B1>, B0>` reads its bits from the most significant one.
            let text = ty.to_string();
            let bits: String = text
                .split(|c: char| !c.is_alphanumeric())
                .filter_map(|word| match word {
                    "B0" => Some('0'),
                    "B1" => Some('1'),
                    _ => None,
                })
                .collect();
            assert_eq!(bits, format!("{n:b}"), "{n}: {text}");
            assert!(text.contains("UTerm"));
        }
    }

    #[test]
    fn input_tokens_for_each_layer() {
        let net = network(quote! { struct N: 2 -> 5000 relu -> 3 tanh -> 1 sigmoid; });
        let spell = |k: usize| {
            let input = net.layers[k].input_of(&net);
            (
                input.rows().to_string(),
                input.symbol(),
                input.sample().to_string(),
            )
        };
        let code = |tokens: TokenStream| tokens.to_string();
        assert_eq!(spell(0), ("x".into(), "x".into(), code(quote!(input))));
        assert_eq!(spell(1), ("a1".into(), "a1".into(), code(quote!(&*a1))));
        assert_eq!(spell(2), ("a2".into(), "a2".into(), code(quote!(&a2))));
    }

    #[test]
    fn buffer_names_and_literals() {
        let net = network(quote! { struct N: 2 -> h: 3 tanh -> 1 sigmoid; });
        let out = net.output_layer();
        let names = [out.a(), out.z(), out.d(), out.entry()].map(|i| i.to_string());
        assert_eq!(names, ["a2", "z2", "d2", "l2"]);
        assert_eq!(net.input.lit().to_string(), "2");
        assert_eq!(
            out.act_type().to_string(),
            quote!(::nn::__private::Sigmoid).to_string()
        );
        assert_eq!(
            target_param(&net).to_string(),
            quote!(target: &[f32; 1]).to_string()
        );
    }
}
