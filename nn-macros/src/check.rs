//! Turns the syntax tree into the checked [model](crate::model), collecting every problem.
//!
//! Each rule is a function below whose doc comment states it. All problems of an invocation are
//! reported together, each spanned at the user's offending token.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Ident, LitInt};

use crate::ast::{Invocation, LayerDecl, NetworkDecl};
use crate::model::{Act, Dense, Layer, LayerKind, Network, Width};

/// Collects errors; must be [`check`](Ctxt::check)ed before it is dropped (as serde_derive's).
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// An empty context.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned at `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    /// Records an error at `span`.
    pub fn error_at<M: Display>(&self, span: Span, msg: M) {
        self.syn_error(syn::Error::new(span, msg));
    }

    /// Records an error.
    pub fn syn_error(&self, err: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(err);
        }
    }

    /// Consumes the context: all recorded errors combined into one, if any.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut iter = errors.into_iter();
        let Some(mut combined) = iter.next() else {
            return Ok(());
        };
        for e in iter {
            combined.combine(e);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}

/// Checks every network of an invocation: returns the networks that passed, and every problem
/// found in the others (so that a mistake in one network does not take its siblings down).
pub fn check(inv: Invocation) -> (Vec<Network>, syn::Result<()>) {
    let cx = Ctxt::new();
    check_not_empty(&cx, &inv);
    for e in inv.errors {
        cx.syn_error(e);
    }
    let first_of_name = check_unique_network_names(&cx, &inv.networks);
    let networks: Vec<Network> = inv
        .networks
        .into_iter()
        .zip(first_of_name)
        .filter_map(|(decl, first)| {
            // A second network of the same name is still checked, but never expanded: its
            // code would only repeat the first one's items.
            let net = check_network(&cx, decl)?;
            first.then_some(net)
        })
        .collect();
    (networks, cx.check())
}

/// An invocation declares at least one network: `network! {}` is a mistake, not a no-op.
fn check_not_empty(cx: &Ctxt, inv: &Invocation) {
    if inv.networks.is_empty() && inv.errors.is_empty() {
        // An empty invocation has no token of its own; the macro call is the only place.
        cx.error_at(
            Span::call_site(),
            "declare at least one network in `network!`, as in \
             `nn::network! { struct Digits: 784 -> 16 sigmoid -> 10 softmax; }`",
        );
    }
}

/// No two networks of one invocation share a name: the second is reported at its name, with
/// where the first one is. Returns, for each network, whether it is the first of its name.
fn check_unique_network_names(cx: &Ctxt, decls: &[NetworkDecl]) -> Vec<bool> {
    decls
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            let Some(first) = decls[..i].iter().position(|d| d.name == decl.name) else {
                return true;
            };
            let name = &decl.name;
            cx.error_spanned_by(
                name,
                format!(
                    "`{name}` is declared twice in this `network!`: the first `{name}` \
                     (network {}, `{}`) is the one built; give this network another name",
                    first + 1,
                    declaration_text(&decls[first])
                ),
            );
            false
        })
        .collect()
}

/// `struct Net: 2 -> h: 3 relu -> 1 sigmoid`, as written (with no activation where none is).
fn declaration_text(decl: &NetworkDecl) -> String {
    let mut text = format!("struct {}: {}", decl.name, decl.input);
    for layer in &decl.layers {
        text.push_str(" -> ");
        if let Some(name) = &layer.name {
            text.push_str(&format!("{name}: "));
        }
        text.push_str(&layer.width.to_string());
        if let Some(act) = &layer.activation {
            text.push_str(&format!(" {act}"));
        }
    }
    text
}

/// Checks one network, recording its problems in `cx`; `None` if it had any.
fn check_network(cx: &Ctxt, decl: NetworkDecl) -> Option<Network> {
    let before = count(cx);
    let input = width_value(cx, &decl.input);
    if let Some(input) = &input {
        check_input_width(cx, &decl.name, input);
    }
    check_input_has_no_activation(cx, &decl);
    let last = decl.layers.len();
    let layers: Vec<Layer> = decl
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, layer)| check_layer(cx, &decl.name, layer, i + 1, i + 1 == last))
        .collect();
    check_unique_names(cx, &decl.name, &decl.layers);
    if count(cx) > before {
        return None;
    }
    Some(Network {
        attrs: decl.attrs,
        vis: decl.vis,
        name: decl.name,
        input: input?,
        layers,
    })
}

/// Checks layer `index` (counting from 1) of `net`, recording its problems in `cx`, and builds
/// its model; `None` if it had any.
fn check_layer(
    cx: &Ctxt,
    net: &Ident,
    layer: &LayerDecl,
    index: usize,
    is_output: bool,
) -> Option<Layer> {
    let width = width_value(cx, &layer.width);
    if let Some(width) = &width {
        check_layer_width(cx, net, layer, index, width);
    }
    if let (Some(width), true) = (&width, is_output) {
        check_output_width(cx, net, layer, index, width);
    }
    let act = check_activation(cx, net, layer, index, is_output);
    let (width, (act, act_span)) = (width?, act?);
    let (field, named) = match &layer.name {
        Some(n) => (n.clone(), true),
        None => (
            Ident::new(&format!("layer{index}"), layer.width.span()),
            false,
        ),
    };
    Some(Layer {
        index,
        field,
        named,
        output: is_output,
        kind: LayerKind::Dense(Dense {
            width,
            act,
            act_span,
        }),
    })
}

/// The number of problems recorded so far.
fn count(cx: &Ctxt) -> usize {
    cx.errors.borrow().as_ref().map_or(0, Vec::len)
}

/// A width is a plain decimal number without a sign or a suffix that fits in `usize`.
fn width_value(cx: &Ctxt, lit: &LitInt) -> Option<Width> {
    if lit.base10_digits().starts_with('-') {
        // syn reads `-3` as one literal spanned at the `-`.
        cx.error_spanned_by(
            lit,
            format!(
                "a width is a positive number, the count of neurons or inputs: `{lit}` is \
                 negative; write `{}`",
                lit.base10_digits().trim_start_matches('-')
            ),
        );
        return None;
    }
    if !lit.suffix().is_empty() {
        cx.error_spanned_by(
            lit,
            format!(
                "a width is a plain number: write `{}` instead of `{lit}`",
                lit.base10_digits()
            ),
        );
        return None;
    }
    match lit.base10_parse::<usize>() {
        Ok(value) => Some(Width {
            value,
            span: lit.span(),
        }),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                format!("the width `{lit}` is too large for this machine"),
            );
            None
        }
    }
}

/// The input width is at least 1: a network reads at least one number.
fn check_input_width(cx: &Ctxt, net: &Ident, input: &Width) {
    if input.value == 0 {
        cx.error_at(
            input.span,
            format!(
                "the input width of `{net}` is 0: a network reads at least one number, as in \
                 `struct {net}: 2 -> 1 sigmoid;`"
            ),
        );
    }
}

/// The input width takes no activation: activations belong to layers.
fn check_input_has_no_activation(cx: &Ctxt, decl: &NetworkDecl) {
    if let Some(act) = &decl.input_activation {
        let first = decl
            .layers
            .first()
            .map_or_else(|| "16".to_string(), |l| l.width.to_string());
        cx.error_spanned_by(
            act,
            format!(
                "the input width `{}` of `{}` takes no activation: activations belong to \
                 layers, as in `{} -> {first} {act}`",
                decl.input, decl.name, decl.input
            ),
        );
    }
}

/// The widest output layer `network!` accepts: 65536 neurons, 256 KiB of `f32`.
pub const OUTPUT_WIDTH_LIMIT: usize = 1 << 16;

/// The output layer is at most [`OUTPUT_WIDTH_LIMIT`] wide: `forward` returns it as an array,
/// on the caller's stack, where a wider one risks overflowing a thread's stack (hidden layers
/// of any width are fine: their wide buffers live on the heap).
fn check_output_width(cx: &Ctxt, net: &Ident, layer: &LayerDecl, index: usize, width: &Width) {
    if width.value > OUTPUT_WIDTH_LIMIT {
        cx.error_at(
            width.span,
            format!(
                "{} is the output layer and wider than the limit of {OUTPUT_WIDTH_LIMIT}: \
                 `forward` returns the output as an array on the stack, which a wider one \
                 could overflow; use at most {OUTPUT_WIDTH_LIMIT} outputs (hidden layers may \
                 be wider)",
                describe(net, layer, index)
            ),
        );
    }
}

/// Every layer has at least one neuron.
fn check_layer_width(cx: &Ctxt, net: &Ident, layer: &LayerDecl, index: usize, width: &Width) {
    if width.value == 0 {
        cx.error_at(
            width.span,
            format!(
                "{} has no neurons: a layer needs at least one",
                describe(net, layer, index)
            ),
        );
    }
}

/// Every layer names its activation, one of the known ones (`linear` for none); `softmax` is
/// only allowed on the output layer.
fn check_activation(
    cx: &Ctxt,
    net: &Ident,
    layer: &LayerDecl,
    index: usize,
    is_output: bool,
) -> Option<(Act, Span)> {
    let Some(ident) = &layer.activation else {
        let w = &layer.width;
        cx.error_spanned_by(
            w,
            format!(
                "{} has no activation: write `{w} linear` for none, or name one, as in \
                 `{w} sigmoid`",
                describe(net, layer, index)
            ),
        );
        return None;
    };
    let name = ident.to_string();
    let Some(act) = Act::from_name(&name) else {
        let known: Vec<_> = Act::ALL.iter().map(|a| format!("`{}`", a.name())).collect();
        let hint = match suggest(&name) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        cx.error_spanned_by(
            ident,
            format!(
                "unknown activation `{name}` on {}: {hint}the activations are {}",
                describe(net, layer, index),
                known.join(", ")
            ),
        );
        return None;
    };
    if act == Act::Softmax && !is_output {
        cx.error_spanned_by(
            ident,
            format!(
                "`softmax` on {}, which is a hidden layer: softmax turns scores into \
                 probabilities and is only allowed on the output layer",
                describe(net, layer, index)
            ),
        );
        return None;
    }
    Some((act, ident.span()))
}

/// Layer names are unique, and no name is the `layerN` that an unnamed layer gets.
fn check_unique_names(cx: &Ctxt, net: &Ident, layers: &[LayerDecl]) {
    let fields: Vec<String> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| match &l.name {
            Some(n) => n.to_string(),
            None => format!("layer{}", i + 1),
        })
        .collect();
    for (i, layer) in layers.iter().enumerate() {
        let Some(name) = &layer.name else { continue };
        if let Some(first) = fields[..i].iter().position(|f| *f == fields[i]) {
            let other = if layers[first].name.is_some() {
                format!("layer {} is already named `{name}`", first + 1)
            } else {
                format!("unnamed layer {} is called `{name}`", first + 1)
            };
            cx.error_spanned_by(
                name,
                format!(
                    "duplicate layer name `{name}` on layer {} of `{net}`: {other}; each layer \
                     needs its own name",
                    i + 1
                ),
            );
        } else if let Some(later) = fields[i + 1..]
            .iter()
            .position(|f| *f == fields[i])
            .map(|p| p + i + 1)
            .filter(|&p| layers[p].name.is_none())
        {
            cx.error_spanned_by(
                name,
                format!(
                    "layer {} of `{net}` is named `{name}`, which is the name unnamed layer {} \
                     gets; name that layer too, or choose another name",
                    i + 1,
                    later + 1
                ),
            );
        }
    }
}

/// "layer 2 (`hidden`, 16 wide) of `Xor`" or "layer 2 (16 wide) of `Xor`".
fn describe(net: &Ident, layer: &LayerDecl, index: usize) -> String {
    match &layer.name {
        Some(n) => format!("layer {index} (`{n}`, {} wide) of `{net}`", layer.width),
        None => format!("layer {index} ({} wide) of `{net}`", layer.width),
    }
}

/// The known activation closest to a misspelt one, if any is close.
fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    let alias = match lower.as_str() {
        "identity" | "none" | "id" => Some("linear"),
        "logistic" | "sigmoidal" => Some("sigmoid"),
        "heaviside" | "threshold" | "sign" => Some("step"),
        "rectifier" => Some("relu"),
        _ => None,
    };
    if alias.is_some() {
        return alias;
    }
    Act::ALL
        .iter()
        .map(|a| (levenshtein(&lower, a.name()), a.name()))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Edit distance between two strings.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use quote::quote;

    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match check(parse_invocation(tokens)).1 {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_network_checks() {
        let (nets, errors) = check(parse_invocation(
            quote! { struct X: 2 -> hidden: 3 tanh -> 1 sigmoid; },
        ));
        assert!(errors.is_ok());
        let l = &nets[0].layers;
        assert_eq!(l[0].field, "hidden");
        assert_eq!(l[1].field, "layer2");
        assert_eq!(l[1].act(), Act::Sigmoid);
        assert_eq!(nets[0].input.value, 2);
    }

    #[test]
    fn every_problem_is_reported() {
        let e = errors(quote! {
            struct X: 0 sigmoid -> a: 0 sigmod -> a: 4 softmax -> 5 -> 3 linear;
        });
        assert_eq!(e.len(), 7, "{e:#?}");
        assert!(e[0].contains("input width of `X` is 0"));
        assert!(e[1].contains("takes no activation"));
        assert!(e[2].contains("layer 1 (`a`, 0 wide) of `X` has no neurons"));
        assert!(e[3].contains("did you mean `sigmoid`"));
        assert!(e[4].contains("`softmax` on layer 2"));
        assert!(e[5].contains("layer 3 (5 wide) of `X` has no activation: write `5 linear`"));
        assert!(e[6].contains("duplicate layer name `a` on layer 2 of `X`"));
        let d = errors(quote! { struct X: 1 -> a: 1 relu -> a: 1 relu; });
        assert!(
            d[0].contains("duplicate layer name `a` on layer 2"),
            "{d:?}"
        );
    }

    #[test]
    fn names_that_shadow_unnamed_layers_are_refused() {
        let e = errors(quote! { struct X: 1 -> layer2: 1 relu -> 1 relu; });
        assert!(e[0].contains("the name unnamed layer 2 gets"), "{e:?}");
        let e = errors(quote! { struct X: 1 -> 1 relu -> layer1: 1 relu; });
        assert!(e[0].contains("unnamed layer 1 is called `layer1`"), "{e:?}");
    }

    #[test]
    fn a_network_declared_twice_is_one_error_and_expanded_once() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct Net: 2 -> 3 relu -> 1 sigmoid;
            struct Other: 2 -> 1 relu;
            struct Net: 4 -> 1 relu;
        }));
        let e: Vec<String> = errors
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("`Net` is declared twice"), "{}", e[0]);
        assert!(
            e[0].contains("the first `Net` (network 1, `struct Net: 2 -> 3 relu -> 1 sigmoid`)"),
            "{}",
            e[0]
        );
        let names: Vec<String> = nets.iter().map(|n| n.name.to_string()).collect();
        assert_eq!(names, ["Net", "Other"]);
        assert_eq!(nets[0].input.value, 2, "the first `Net` is the one built");
    }

    #[test]
    fn an_empty_invocation_is_an_error() {
        let e = errors(quote! {});
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("declare at least one network"), "{}", e[0]);
    }

    #[test]
    fn a_negative_width_says_so() {
        let e = errors(quote! { struct X: -2 -> 3 relu -> -3 relu; });
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("a width is a positive number"), "{}", e[0]);
        assert!(e[0].contains("`-2` is negative; write `2`"), "{}", e[0]);
        assert!(e[1].contains("`-3` is negative"), "{}", e[1]);
        assert!(!e[1].contains("too large"), "{}", e[1]);
    }

    #[test]
    fn the_output_layer_has_a_width_limit_and_hidden_layers_do_not() {
        assert!(errors(quote! { struct X: 2 -> 3000000 relu -> 65536 linear; }).is_empty());
        let e = errors(quote! { struct X: 2 -> 3 relu -> 65537 linear; });
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains(
                "layer 2 (65537 wide) of `X` is the output layer and wider than the limit of 65536"
            ),
            "{}",
            e[0]
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("sigmod"), Some("sigmoid"));
        assert_eq!(suggest("ReLU"), Some("relu"));
        assert_eq!(suggest("identity"), Some("linear"));
        assert_eq!(suggest("softmx"), Some("softmax"));
        assert_eq!(suggest("banana"), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
