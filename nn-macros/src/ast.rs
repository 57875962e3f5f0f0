//! The syntax of a `network!` invocation, parsed but not yet checked.
//!
//! ```text
//! invocation := network*
//! network    := attribute* visibility `struct` Ident `:` input activation? layer+ `;`
//! input      := WIDTH | CxHxW                        `784`, or `1x28x28` (channels x height x width)
//! layer      := `->` (Ident `:`)? body              (the name is not a keyword)
//! body       := WIDTH activation?                    dense: `16 sigmoid`
//!             | `conv` FILTERS KERNEL option* activation?   `conv 6 5x5 pad 2 relu`
//!             | `maxpool` KERNEL (`stride` S)?       `maxpool 2x2`
//!             | `avgpool` KERNEL (`stride` S)?       `avgpool 3x3 stride 2`
//!             | `dropout` RATE                       `dropout 0.25`
//!             | `batchnorm` | `layernorm`
//!             | `residual` `{` chain `}`             `residual { 128 relu -> 128 linear }`
//!             | `concat` `{` chain (`,` chain)* `,`? `}`   `concat { 16 tanh, 16 relu -> 8 relu }`
//!             | `heads` `{` head (`,` head)* `,`? `}`      the last layer only
//! chain      := item (`->` item)*                   inside a block: a layer without its arrow
//! item       := (Ident `:`)? body
//! head       := Ident `:` chain                      `digit: 10 softmax`
//! option     := `stride` S | `pad` P
//! KERNEL     := K | KhxKw                            `5` is `5x5`
//! activation := path (`leaky_relu` NUMBER?)           `relu`, `leaky_relu 0.2`, `my::Softsign`
//! WIDTH, FILTERS, S, P := integer literal;  RATE, NUMBER := float or integer literal
//! ```
//!
//! `5x5` and `1x28x28` are integer literals whose suffix is `x5`, `x28x28` to Rust's lexer; the
//! checker reads the suffix. An activation is a built-in name (`sigmoid`, `tanh`, `relu`,
//! `softplus`, `linear`, `softmax`, `step`, `leaky_relu`, `gelu`, `silu` or `swish`) or a path to
//! a type implementing `nn::CustomActivation`.
//!
//! Activations are optional here so that a missing one is reported by the checker with a
//! helpful message, together with every other problem, instead of as a parse error.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Lit, LitInt, Path, Token, Visibility};

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
    /// The scalar type written after the colon (`f32` or `f64`), if any.
    pub scalar: Option<Ident>,
    /// The input width, or `CxHxW` (a literal with the suffix `xHxW`).
    pub input: LitInt,
    /// An activation written after the input width (always an error, kept for its message).
    pub input_activation: Option<Ident>,
    /// The layers, first hidden layer to output layer.
    pub layers: Vec<LayerDecl>,
}

/// One `-> [name:] body` layer.
pub struct LayerDecl {
    /// The layer's name, if given.
    pub name: Option<Ident>,
    /// What the layer is.
    pub body: LayerBody,
}

/// A layer's declaration after its name.
pub enum LayerBody {
    /// `WIDTH [ACTIVATION]`.
    Dense {
        /// The number of neurons.
        width: LitInt,
        /// The activation, if written.
        activation: Option<ActDecl>,
    },
    /// `conv FILTERS KERNEL [stride S] [pad P] [ACTIVATION]`.
    Conv {
        /// The `conv` keyword.
        keyword: Ident,
        /// The number of filters.
        filters: LitInt,
        /// `K` or `KhxKw`.
        kernel: LitInt,
        /// `stride S`, if written.
        stride: Option<LitInt>,
        /// `pad P`, if written.
        pad: Option<LitInt>,
        /// The activation, if written.
        activation: Option<ActDecl>,
    },
    /// `maxpool KERNEL [stride S]` or `avgpool KERNEL [stride S]`.
    Pool {
        /// The `maxpool` or `avgpool` keyword.
        keyword: Ident,
        /// `K` or `KhxKw`.
        window: LitInt,
        /// `stride S`, if written.
        stride: Option<LitInt>,
    },
    /// `dropout RATE`.
    Dropout {
        /// The `dropout` keyword.
        keyword: Ident,
        /// The rate as written.
        rate: Lit,
    },
    /// `batchnorm` or `layernorm`.
    Norm {
        /// The keyword.
        keyword: Ident,
    },
    /// `residual { chain }`.
    Residual {
        /// The `residual` keyword.
        keyword: Ident,
        /// The branch's layers.
        chain: Vec<LayerDecl>,
    },
    /// `concat { chain, chain, ... }`.
    Concat {
        /// The `concat` keyword.
        keyword: Ident,
        /// The branches, each a chain of layers.
        branches: Vec<Vec<LayerDecl>>,
    },
    /// `heads { name: chain, ... }`.
    Heads {
        /// The `heads` keyword.
        keyword: Ident,
        /// The heads, in order.
        heads: Vec<HeadDecl>,
    },
    /// A path to a type implementing `nn::Layer`: a network declared with `network!`
    /// (`Encoder`) or a layer of the user's own (`MyNormalize`, `my::Layer`). Told from a
    /// keyword by a `::` or a capital first letter.
    Path(Path),
}

/// One `name: chain` of `heads { ... }`.
pub struct HeadDecl {
    /// The head's name.
    pub name: Ident,
    /// Its layers.
    pub chain: Vec<LayerDecl>,
}

/// An activation as written: a name or a path, and `leaky_relu`'s slope.
pub struct ActDecl {
    /// `relu`, `leaky_relu`, `my::Softsign`.
    pub path: Path,
    /// The number after `leaky_relu`, if written.
    pub arg: Option<Lit>,
}

impl ActDecl {
    /// The single identifier the path is, if it is one (`relu`, `Softsign`).
    pub fn ident(&self) -> Option<&Ident> {
        self.path.get_ident()
    }
}

impl quote::ToTokens for ActDecl {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.path.to_tokens(tokens);
        self.arg.to_tokens(tokens);
    }
}

impl LayerBody {
    /// The token a message about the whole layer points at: its width or its keyword.
    pub fn head(&self) -> TokenStream {
        use quote::ToTokens;
        match self {
            LayerBody::Dense { width, .. } => width.to_token_stream(),
            LayerBody::Conv { keyword, .. }
            | LayerBody::Pool { keyword, .. }
            | LayerBody::Dropout { keyword, .. }
            | LayerBody::Norm { keyword }
            | LayerBody::Residual { keyword, .. }
            | LayerBody::Concat { keyword, .. }
            | LayerBody::Heads { keyword, .. } => keyword.to_token_stream(),
            LayerBody::Path(path) => path.to_token_stream(),
        }
    }

    /// The activation written, for the kinds that take one.
    pub fn activation(&self) -> Option<&ActDecl> {
        match self {
            LayerBody::Dense { activation, .. } | LayerBody::Conv { activation, .. } => {
                activation.as_ref()
            }
            _ => None,
        }
    }
}

/// The layer kinds introduced by a keyword, as messages list them.
const KINDS: &str = "`conv`, `maxpool`, `avgpool`, `dropout`, `batchnorm`, `layernorm`, \
                     `residual`, `concat` or `heads`";

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
        let scalar = if input.peek(Ident) && input.peek2(LitInt) {
            let ty: Ident = input.parse()?;
            if ty != "f32" && ty != "f64" {
                return Err(syn::Error::new(
                    ty.span(),
                    format!(
                        "expected a scalar type or the input width after the colon, found `{ty}`: a network \
                         computes in `f32` (the default) or `f64`, as in \
                         `struct {name}: f64 3 -> 1 linear;`"
                    ),
                ));
            }
            Some(ty)
        } else {
            None
        };
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
            scalar,
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
    parse_item(input, net, index)
}

/// A layer after its arrow (or first in a block's chain): `[name:] body`.
fn parse_item(input: ParseStream, net: &Ident, index: usize) -> syn::Result<LayerDecl> {
    check_name_is_not_keyword(input)?;
    let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Some(name)
    } else {
        None
    };
    if starts_path(input) {
        return Ok(LayerDecl {
            name,
            body: LayerBody::Path(input.parse()?),
        });
    }
    if input.peek(Ident) && !input.peek2(Token![::]) {
        let keyword: Ident = input.fork().parse()?;
        let body = match keyword.to_string().as_str() {
            "conv" => parse_conv(input)?,
            "maxpool" | "avgpool" => parse_pool(input)?,
            "dropout" => {
                let keyword: Ident = input.parse()?;
                if !(input.peek(syn::LitFloat) || input.peek(LitInt)) {
                    return Err(input.error(
                        "expected the dropout rate after `dropout`, a number at least 0 and \
                         below 1, as in `dropout 0.25`",
                    ));
                }
                LayerBody::Dropout {
                    keyword,
                    rate: input.parse()?,
                }
            }
            "batchnorm" | "layernorm" => LayerBody::Norm {
                keyword: input.parse()?,
            },
            "residual" | "concat" | "heads" => parse_block(input, net, index)?,
            _ => {
                return Err(syn::Error::new(
                    keyword.span(),
                    format!(
                        "expected layer {index}'s width or kind after `->`, found `{keyword}`: a \
                         layer is a number of neurons (`-> 16 sigmoid`) or one of {KINDS}"
                    ),
                ))
            }
        };
        return Ok(LayerDecl { name, body });
    }
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
    let activation = parse_activation(input)?;
    Ok(LayerDecl {
        name,
        body: LayerBody::Dense { width, activation },
    })
}

/// `residual { chain }`, `concat { chain, ... }` or `heads { name: chain, ... }`.
fn parse_block(input: ParseStream, net: &Ident, index: usize) -> syn::Result<LayerBody> {
    let keyword: Ident = input.parse()?;
    if !input.peek(syn::token::Brace) {
        let example = match keyword.to_string().as_str() {
            "residual" => "residual { 128 relu -> 128 linear }",
            "concat" => "concat { 16 tanh, 16 relu -> 8 relu }",
            _ => "heads { digit: 10 softmax, even: 1 sigmoid }",
        };
        return Err(input.error(format!(
            "expected `{{` after `{keyword}`: its layers are written in braces, as in `{example}`"
        )));
    }
    let content;
    syn::braced!(content in input);
    let mut parts: Vec<(Option<Ident>, Vec<LayerDecl>)> = Vec::new();
    loop {
        if content.is_empty() {
            break;
        }
        let name = if keyword == "heads" {
            Some(parse_head_name(&content, net, parts.len() + 1)?)
        } else {
            None
        };
        parts.push((name, parse_chain(&content, net, index)?));
        if content.is_empty() {
            break;
        }
        if keyword == "residual" || !content.peek(Token![,]) {
            let found = content.cursor().token_tree().map(|(tt, _)| tt.to_string());
            let expected = if keyword == "residual" {
                "`->` or `}`: a residual block holds one chain of layers"
            } else {
                "`->`, `,` or `}`: the branches are separated by commas"
            };
            return Err(content.error(format!(
                "expected {expected}, found `{}`",
                found.unwrap_or_default()
            )));
        }
        content.parse::<Token![,]>()?;
    }
    if parts.is_empty() {
        return Err(syn::Error::new(
            keyword.span(),
            format!("`{keyword}` holds no layers: write at least one layer in its braces"),
        ));
    }
    Ok(match keyword.to_string().as_str() {
        "residual" => LayerBody::Residual {
            keyword,
            chain: parts.remove(0).1,
        },
        "concat" => LayerBody::Concat {
            keyword,
            branches: parts.into_iter().map(|(_, chain)| chain).collect(),
        },
        _ => LayerBody::Heads {
            keyword,
            heads: parts
                .into_iter()
                .filter_map(|(name, chain)| Some(HeadDecl { name: name?, chain }))
                .collect(),
        },
    })
}

/// A head's `name:` (every head has one: it names the head's output, target and loss).
fn parse_head_name(input: ParseStream, net: &Ident, head: usize) -> syn::Result<Ident> {
    if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        check_name_is_not_keyword(input)?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        return Ok(name);
    }
    check_name_is_not_keyword(input)?;
    Err(input.error(format!(
        "head {head} of `{net}` has no name: each head is `name: layers`, as in \
         `digit: 10 softmax`; the name is the field of the outputs, targets and losses"
    )))
}

/// `item (-> item)*`, up to a `,` or the end of the braces.
fn parse_chain(input: ParseStream, net: &Ident, index: usize) -> syn::Result<Vec<LayerDecl>> {
    let mut chain = vec![parse_item(input, net, index)?];
    while input.peek(Token![->]) {
        let arrow: Token![->] = input.parse()?;
        check_layer_follows(input, &arrow, net, index)?;
        chain.push(parse_item(input, net, index)?);
    }
    Ok(chain)
}

/// Whether a layer's body is a path to a type: `::`, `crate`, `self` or `super` first, an
/// identifier followed by `::`, or an identifier with a capital first letter (the keywords and
/// activations are lowercase).
fn starts_path(input: ParseStream) -> bool {
    if input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super])
    {
        return true;
    }
    if !input.peek(Ident) {
        return false;
    }
    if input.peek2(Token![::]) {
        return true;
    }
    input
        .fork()
        .parse::<Ident>()
        .is_ok_and(|id| id.to_string().starts_with(|c: char| c.is_ascii_uppercase()))
}

/// `conv FILTERS KERNEL [stride S] [pad P] [ACTIVATION]`, the options in either order.
fn parse_conv(input: ParseStream) -> syn::Result<LayerBody> {
    let keyword: Ident = input.parse()?;
    if !input.peek(LitInt) {
        return Err(
            input.error("expected the number of filters after `conv`, as in `conv 6 5x5 relu`")
        );
    }
    let filters: LitInt = input.parse()?;
    if !input.peek(LitInt) {
        return Err(input.error(format!(
            "expected the kernel size after `conv {filters}`, as in `conv {filters} 5x5 relu`"
        )));
    }
    let kernel: LitInt = input.parse()?;
    let (mut stride, mut pad) = (None, None);
    loop {
        let slot = if peek_word(input, "stride") {
            &mut stride
        } else if peek_word(input, "pad") {
            &mut pad
        } else {
            break;
        };
        let word: Ident = input.parse()?;
        if slot.is_some() {
            return Err(syn::Error::new(
                word.span(),
                format!("`{word}` is written twice"),
            ));
        }
        *slot = Some(parse_option_value(input, &word)?);
    }
    let activation = parse_activation(input)?;
    Ok(LayerBody::Conv {
        keyword,
        filters,
        kernel,
        stride,
        pad,
        activation,
    })
}

/// `maxpool KERNEL [stride S]` or `avgpool KERNEL [stride S]`.
fn parse_pool(input: ParseStream) -> syn::Result<LayerBody> {
    let keyword: Ident = input.parse()?;
    if !input.peek(LitInt) {
        return Err(input.error(format!(
            "expected the window size after `{keyword}`, as in `{keyword} 2x2`"
        )));
    }
    let window: LitInt = input.parse()?;
    let stride = if peek_word(input, "stride") {
        let word: Ident = input.parse()?;
        Some(parse_option_value(input, &word)?)
    } else {
        None
    };
    Ok(LayerBody::Pool {
        keyword,
        window,
        stride,
    })
}

/// Whether the next token is the identifier `word`.
fn peek_word(input: ParseStream, word: &str) -> bool {
    input
        .cursor()
        .ident()
        .is_some_and(|(ident, _)| ident == word)
}

/// The number after `stride` or `pad`.
fn parse_option_value(input: ParseStream, word: &Ident) -> syn::Result<LitInt> {
    if !input.peek(LitInt) {
        return Err(input.error(format!(
            "expected a number after `{word}`, as in `{word} 2`"
        )));
    }
    input.parse()
}

/// An optional activation: a name or a path, and after `leaky_relu` an optional slope.
fn parse_activation(input: ParseStream) -> syn::Result<Option<ActDecl>> {
    let starts_path = input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super]);
    if !starts_path {
        return Ok(None);
    }
    let path = Path::parse_mod_style(input)?;
    let arg = if path.is_ident("leaky_relu") && (input.peek(syn::LitFloat) || input.peek(LitInt)) {
        Some(input.parse()?)
    } else {
        None
    };
    Ok(Some(ActDecl { path, arg }))
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
    // `crate::x::Layer` is a path, not a name: a `:` joined to a second one.
    let followed_by_colon = rest.punct().is_some_and(|(p, after)| {
        p.as_char() == ':'
            && !(p.spacing() == proc_macro2::Spacing::Joint
                && after.punct().is_some_and(|(q, _)| q.as_char() == ':'))
    });
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
        assert!(
            matches!(&d.layers[2].body, LayerBody::Dense { width, .. } if width.to_string() == "10")
        );
        let x = &inv.networks[1];
        assert_eq!(
            x.layers[0].name.as_ref().map(|n| n.to_string()),
            Some("hidden".into())
        );
        assert_eq!(
            x.layers[1]
                .body
                .activation()
                .and_then(ActDecl::ident)
                .map(|n| n.to_string()),
            Some("sigmoid".into())
        );
    }

    #[test]
    fn missing_activation_still_parses() {
        let inv = parse_invocation(quote! { struct N: 784 -> 16 -> 10 sigmoid; });
        assert!(inv.errors.is_empty());
        assert!(inv.networks[0].layers[0].body.activation().is_none());
    }

    #[test]
    fn parses_every_layer_kind() {
        let inv = parse_invocation(quote! {
            pub struct LeNet: 1x28x28
                -> features: conv 6 5x5 pad 2 relu
                -> maxpool 2x2
                -> conv 16 5 stride 1 leaky_relu 0.2
                -> avgpool 2x2 stride 2
                -> dropout 0.25
                -> batchnorm
                -> 120 my::Softsign
                -> layernorm
                -> 10 softmax;
        });
        assert!(inv.errors.is_empty(), "{}", inv.errors[0]);
        let l = &inv.networks[0].layers;
        assert_eq!(inv.networks[0].input.suffix(), "x28x28");
        let LayerBody::Conv {
            filters,
            kernel,
            stride,
            pad,
            activation,
            ..
        } = &l[0].body
        else {
            panic!("layer 1 is not a conv");
        };
        assert_eq!((filters.to_string(), kernel.suffix()), ("6".into(), "x5"));
        assert!(stride.is_none() && pad.as_ref().is_some_and(|p| p.to_string() == "2"));
        assert!(activation.as_ref().is_some_and(|a| a.path.is_ident("relu")));
        let LayerBody::Conv {
            activation: Some(leaky),
            stride: Some(_),
            ..
        } = &l[2].body
        else {
            panic!("layer 3");
        };
        assert!(leaky.arg.is_some());
        assert!(matches!(
            &l[3].body,
            LayerBody::Pool {
                stride: Some(_),
                ..
            }
        ));
        assert!(matches!(&l[4].body, LayerBody::Dropout { .. }));
        assert!(matches!(&l[5].body, LayerBody::Norm { keyword } if keyword == "batchnorm"));
        let custom = l[6].body.activation().unwrap();
        assert_eq!(custom.path.segments.len(), 2);
    }

    #[test]
    fn malformed_layers_say_what_is_missing() {
        let inv = parse_invocation(quote! {
            struct A: 1x8x8 -> conv relu -> 10 softmax;
            struct B: 1x8x8 -> conv 6 relu -> 10 softmax;
            struct C: 4 -> dropout -> 10 softmax;
            struct D: 4 -> dense 3 relu;
            struct E: 1x8x8 -> maxpool stride 2 -> 1 relu;
        });
        let msgs: Vec<String> = inv.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 5, "{msgs:?}");
        assert!(
            msgs[0].contains("number of filters after `conv`"),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].contains("kernel size after `conv 6`"),
            "{}",
            msgs[1]
        );
        assert!(msgs[2].contains("dropout rate"), "{}", msgs[2]);
        assert!(msgs[3].contains("found `dense`"), "{}", msgs[3]);
        assert!(
            msgs[4].contains("window size after `maxpool`"),
            "{}",
            msgs[4]
        );
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
    fn parses_blocks_and_heads() {
        let inv = parse_invocation(quote! {
            struct G: 4 -> r: residual { 4 relu -> 4 linear }
                -> concat { 2 tanh, 3 relu -> 1 linear, }
                -> heads { a: 2 softmax, b: 3 tanh -> 1 sigmoid, };
        });
        assert!(inv.errors.is_empty(), "{}", inv.errors[0]);
        let l = &inv.networks[0].layers;
        assert!(
            matches!(&l[0].body, LayerBody::Residual { chain, .. } if chain.len() == 2)
                && l[0].name.as_ref().is_some_and(|n| n == "r")
        );
        assert!(matches!(&l[1].body, LayerBody::Concat { branches, .. }
            if branches.iter().map(Vec::len).collect::<Vec<_>>() == [1, 2]));
        let LayerBody::Heads { heads, .. } = &l[2].body else {
            panic!("layer 3 is not heads")
        };
        let names: Vec<String> = heads.iter().map(|h| h.name.to_string()).collect();
        assert_eq!(names, ["a", "b"]);
        let msgs = messages(quote! {
            struct A: 4 -> residual { 4 relu, 4 relu } -> 1 relu;
            struct B: 4 -> heads { 2 softmax };
            struct C: 4 -> concat 4 relu;
            struct D: 4 -> residual { } -> 1 relu;
        });
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(
            msgs[0].contains("a residual block holds one chain"),
            "{}",
            msgs[0]
        );
        assert!(msgs[1].contains("head 1 of `B` has no name"), "{}", msgs[1]);
        assert!(
            msgs[2].contains("expected `{` after `concat`"),
            "{}",
            msgs[2]
        );
        assert!(
            msgs[3].contains("`residual` holds no layers"),
            "{}",
            msgs[3]
        );
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
