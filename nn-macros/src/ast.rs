//! The syntax of a `network!` invocation, parsed but not yet checked.
//!
//! ```text
//! invocation := network*
//! network    := attribute* visibility `struct` Ident `:` width activation? layer+ `;`
//! layer      := `->` (Ident `:`)? width activation?     (the name is not a keyword)
//! width      := integer literal
//! activation := Ident
//! ```
//!
//! Activations are optional here so that a missing one is reported by the checker with a
//! helpful message, together with every other problem, instead of as a parse error.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitInt, Token, Visibility};

/// Every network declared in one invocation, and the errors of those that did not parse.
pub struct Invocation {
    /// The networks that parsed.
    pub networks: Vec<NetworkDecl>,
    /// One error per network that did not parse.
    pub errors: Vec<syn::Error>,
}

/// One `struct Name: IN -> ... ;` declaration.
pub struct NetworkDecl {
    /// Attributes and doc comments, passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// The input width.
    pub input: LitInt,
    /// An activation written after the input width (always an error, kept for its message).
    pub input_activation: Option<Ident>,
    /// The layers, first hidden layer to output layer.
    pub layers: Vec<LayerDecl>,
}

/// One `-> [name:] WIDTH [ACTIVATION]` layer.
pub struct LayerDecl {
    /// The layer's name, if given.
    pub name: Option<Ident>,
    /// The number of neurons.
    pub width: LitInt,
    /// The activation, if written.
    pub activation: Option<Ident>,
}

/// Parses a whole invocation, network by network: the input is split at each top-level `;`, so
/// one malformed declaration is reported and the next ones are still read.
pub fn parse_invocation(input: TokenStream) -> Invocation {
    let mut networks = Vec::new();
    let mut errors = Vec::new();
    let mut current = TokenStream::new();
    let mut chunks = Vec::new();
    for tt in input {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                chunks.push((std::mem::take(&mut current), Some(p.span())));
            }
            _ => current.extend([tt]),
        }
    }
    if !current.is_empty() {
        chunks.push((current, None));
    }
    for (chunk, _semi) in chunks {
        match syn::parse2::<NetworkDecl>(chunk) {
            Ok(decl) => networks.push(decl),
            Err(e) => errors.push(e),
        }
    }
    Invocation { networks, errors }
}

impl Parse for NetworkDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![struct]) {
            return Err(input.error(
                "expected `struct`: a network is declared as `struct Name: 784 -> 16 sigmoid -> 10 softmax;`",
            ));
        }
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error(
                "a network takes no generic parameters: its shape is written in the declaration",
            ));
        }
        if !input.peek(Token![:]) {
            return Err(input.error(format!(
                "expected `:` after the name, as in `struct {name}: 784 -> 10 softmax;`"
            )));
        }
        input.parse::<Token![:]>()?;
        if !input.peek(LitInt) {
            return Err(input.error(format!(
                "network `{name}` has no input width: write the number of inputs after the \
                 colon, as in `struct {name}: 784 -> 10 softmax;`"
            )));
        }
        let input_width: LitInt = input.parse()?;
        let input_activation = if input.peek(Ident) {
            Some(input.parse()?)
        } else {
            None
        };
        let mut layers = Vec::new();
        while !input.is_empty() {
            layers.push(parse_layer(input, &name, layers.len() + 1)?);
        }
        if layers.is_empty() {
            return Err(syn::Error::new(
                input_width.span(),
                format!(
                    "network `{name}` has no layers: after the input width comes at least one \
                     `-> WIDTH ACTIVATION`, as in `{} -> 10 softmax`",
                    input_width
                ),
            ));
        }
        Ok(NetworkDecl {
            attrs,
            vis,
            name,
            input: input_width,
            input_activation,
            layers,
        })
    }
}

/// Parses layer `index` (counting from 1), starting at its `->`.
fn parse_layer(input: ParseStream, net: &Ident, index: usize) -> syn::Result<LayerDecl> {
    if input.peek(Token![=>]) {
        let fat: Token![=>] = input.parse()?;
        return Err(syn::Error::new_spanned(
            fat,
            format!("expected `->` before layer {index} of `{net}`, found `=>`: layers are chained with `->`"),
        ));
    }
    if input.peek(Token![struct]) || input.peek(Token![pub]) || input.peek(Token![#]) {
        return Err(input.error(format!(
            "expected `;` after the declaration of `{net}`: each network ends with `;`"
        )));
    }
    if !input.peek(Token![->]) {
        let arrow_like = if input.peek(Token![-]) {
            Some("-")
        } else if input.peek(Token![>]) {
            Some(">")
        } else if input.peek(Token![,]) {
            Some(",")
        } else if input.peek(Token![=]) {
            Some("=")
        } else {
            None
        };
        let found = input.cursor().token_tree().map(|(tt, _)| tt.to_string());
        let msg = match (arrow_like, found) {
            (Some(tok), _) => format!(
                "expected `->` before layer {index} of `{net}`, found `{tok}`: layers are \
                 chained with `->`"
            ),
            (None, Some(tok)) if index > 1 => format!(
                "expected `->` or `;` after layer {}, found `{tok}`: each layer is \
                 `-> WIDTH ACTIVATION`, with one activation",
                index - 1
            ),
            (None, Some(tok)) => format!(
                "expected `->` or `;` after the input width, found `{tok}`: the first layer \
                 follows an arrow, as in `784 -> 16 sigmoid`"
            ),
            (None, None) => format!("expected `->` before layer {index} of `{net}`"),
        };
        return Err(input.error(msg));
    }
    let arrow: Token![->] = input.parse()?;
    check_layer_follows(input, &arrow, net, index)?;
    check_name_is_not_keyword(input)?;
    let name = if input.peek(Ident) && input.peek2(Token![:]) {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Some(name)
    } else {
        None
    };
    if !input.peek(LitInt) {
        let msg = if input.peek(Token![->]) {
            format!(
                "expected layer {index}'s width between the two arrows, as in `-> 16 sigmoid ->`"
            )
        } else {
            format!("expected layer {index}'s width, a number, as in `-> 16 sigmoid`")
        };
        return Err(input.error(msg));
    }
    let width: LitInt = input.parse()?;
    let activation = if input.peek(Ident) {
        Some(input.parse()?)
    } else {
        None
    };
    Ok(LayerDecl {
        name,
        width,
        activation,
    })
}

/// A `->` is followed by a layer: a trailing arrow is reported at the arrow itself (the end of
/// the declaration has no token of its own to point at).
fn check_layer_follows(
    input: ParseStream,
    arrow: &Token![->],
    net: &Ident,
    index: usize,
) -> syn::Result<()> {
    if input.is_empty() {
        return Err(syn::Error::new_spanned(
            arrow,
            format!(
                "a layer is missing after this `->`: layer {index} of `{net}` needs a width and \
                 an activation, as in `-> 10 softmax`, or remove the arrow"
            ),
        ));
    }
    Ok(())
}

/// A layer's name is an identifier, not a Rust keyword such as `type` or `self` (it becomes a
/// struct field), and not `_`.
fn check_name_is_not_keyword(input: ParseStream) -> syn::Result<()> {
    // `Ident` does not parse keywords, so they would read as a missing width; the cursor sees
    // every identifier-like token.
    let Some((word, rest)) = input.cursor().ident() else {
        return Ok(());
    };
    let followed_by_colon = rest.punct().is_some_and(|(p, _)| p.as_char() == ':');
    if !followed_by_colon || syn::parse2::<Ident>(word.to_token_stream()).is_ok() {
        return Ok(());
    }
    let msg = if word == "_" {
        "`_` cannot name a layer: a layer's name becomes a struct field; choose a name, as in \
         `hidden: 16 relu`, or leave the layer unnamed"
            .to_string()
    } else {
        format!(
            "a keyword cannot name a layer: `{word}` is a Rust keyword, and a layer's name \
             becomes a struct field; choose another name, as in `hidden: 16 relu`"
        )
    };
    Err(syn::Error::new(word.span(), msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_several_networks() {
        let inv = parse_invocation(quote! {
            /// Docs.
            #[derive(Clone)]
            pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
            struct Xor: 2 -> hidden: 2 tanh -> out: 1 sigmoid
        });
        assert!(inv.errors.is_empty());
        assert_eq!(inv.networks.len(), 2);
        let d = &inv.networks[0];
        assert_eq!(d.attrs.len(), 2);
        assert_eq!(d.name, "Digits");
        assert_eq!(d.layers.len(), 3);
        assert_eq!(d.layers[2].width.to_string(), "10");
        let x = &inv.networks[1];
        assert_eq!(
            x.layers[0].name.as_ref().map(|n| n.to_string()),
            Some("hidden".into())
        );
        assert_eq!(
            x.layers[1].activation.as_ref().map(|n| n.to_string()),
            Some("sigmoid".into())
        );
    }

    #[test]
    fn missing_activation_still_parses() {
        let inv = parse_invocation(quote! { struct N: 784 -> 16 -> 10 sigmoid; });
        assert!(inv.errors.is_empty());
        assert!(inv.networks[0].layers[0].activation.is_none());
    }

    #[test]
    fn malformed_networks_are_reported_and_the_rest_read() {
        let inv = parse_invocation(quote! {
            struct A: 784 => 16 sigmoid;
            struct B: -> 16 sigmoid;
            struct C: 2 -> 1 sigmoid;
            struct D: 2 -> -> 1 sigmoid;
            struct E: 2;
        });
        assert_eq!(inv.networks.len(), 1);
        let msgs: Vec<String> = inv.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].contains("found `=>`"), "{}", msgs[0]);
        assert!(
            msgs[1].contains("network `B` has no input width"),
            "{}",
            msgs[1]
        );
        assert!(msgs[2].contains("between the two arrows"), "{}", msgs[2]);
        assert!(msgs[3].contains("has no layers"), "{}", msgs[3]);
    }

    fn messages(tokens: TokenStream) -> Vec<String> {
        parse_invocation(tokens)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn keywords_cannot_name_layers() {
        for word in ["type", "self", "fn", "struct"] {
            let kw = proc_macro2::Ident::new(word, proc_macro2::Span::call_site());
            let msgs = messages(quote! { struct N: 2 -> #kw: 3 relu -> 1 sigmoid; });
            assert_eq!(msgs.len(), 1, "{msgs:?}");
            assert!(
                msgs[0].contains(&format!("a keyword cannot name a layer: `{word}`")),
                "{}",
                msgs[0]
            );
        }
        let msgs = messages(quote! { struct N: 2 -> _: 3 relu; });
        assert!(msgs[0].contains("`_` cannot name a layer"), "{msgs:?}");
        let ok = parse_invocation(quote! { struct N: 2 -> r#type: 3 relu; });
        assert!(ok.errors.is_empty());
    }

    #[test]
    fn a_trailing_arrow_is_reported_at_the_arrow() {
        let msgs = messages(quote! { struct N: 2 -> 3 relu ->; });
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains("a layer is missing after this `->`: layer 2 of `N`"),
            "{}",
            msgs[0]
        );
    }
}
