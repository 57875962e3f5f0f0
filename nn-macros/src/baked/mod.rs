//! Networks baked in at compile time: `#[weights("model.safetensors")] struct Tiny: ...`.
//!
//! The attribute is taken off the declaration before it is checked ([`take_attributes`]), the
//! declaration is checked as any other, and then, instead of the trainable struct, the network
//! is expanded from its file ([`bake`]):
//!
//! | file | does |
//! | --- | --- |
//! | `mod.rs` | the attribute, and the step from a checked network to its code |
//! | `layout.rs` | the tensors the declaration needs: names (PyTorch's `nn.Sequential` numbering, as nn-core's `weights::layout`), shapes, layers |
//! | `file.rs` | reading the file: the header, every tensor's name, dtype and shape checked, the values converted to `f32` as nn-core's loader converts them (batch normalisation's buffers too) |
//! | `expand/baked.rs` | the code: the weights as `static` arrays, `forward` and `forward_all` |
//!
//! Every problem of a file is reported in one compile, at the token it concerns: a tensor of
//! the wrong shape at its layer, a file that cannot be read at the path.

mod file;
mod layout;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use syn::LitStr;

use crate::ast::Invocation;
use crate::expand::baked as code;
use crate::model::Network;

pub use file::Tensor;

/// The attribute's name: `#[weights("...")]`.
const ATTRIBUTE: &str = "weights";

/// A network's `#[weights("path")]`.
pub struct WeightsAttr {
    /// The path as written, relative to the crate's manifest directory.
    pub path: LitStr,
}

/// A baked network's file, read and checked: what its code is written from.
pub struct Baked {
    /// The file's full path, which the code names in an `include_bytes!` so that editing the
    /// file rebuilds the crate.
    pub full_path: String,
    /// The path as written.
    pub path: LitStr,
    /// The tensors in the order of the declaration's layers (weights, then biases).
    pub tensors: Vec<Tensor>,
}

/// Takes every `#[weights(...)]` attribute off the invocation's declarations: for each network
/// that had one, by name, the attribute or why it is malformed.
pub fn take_attributes(invocation: &mut Invocation) -> HashMap<String, syn::Result<WeightsAttr>> {
    let mut found = HashMap::new();
    for decl in &mut invocation.networks {
        let (ours, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut decl.attrs)
            .into_iter()
            .partition(|a| a.path().is_ident(ATTRIBUTE));
        decl.attrs = rest;
        let mut attrs = ours.into_iter();
        let Some(first) = attrs.next() else {
            continue;
        };
        let mut parsed = first.parse_args::<LitStr>().map_err(|_| {
            syn::Error::new_spanned(
                &first,
                "expected `#[weights(\"file.safetensors\")]`: the path of a safetensors file, \
                 relative to the crate's manifest directory",
            )
        });
        for extra in attrs {
            let e = syn::Error::new_spanned(
                &extra,
                format!(
                    "`{}` is given `#[weights]` twice: a network is baked from one file",
                    decl.name
                ),
            );
            match &mut parsed {
                Ok(_) => parsed = Err(e),
                Err(err) => err.combine(e),
            }
        }
        found.insert(
            decl.name.to_string(),
            parsed.map(|path| WeightsAttr { path }),
        );
    }
    found
}

/// The code of a checked network with `#[weights]`: the baked network, or, if its file does
/// not fit the declaration, the errors and a stub of the same API, so that one bad file does
/// not cascade into errors wherever the network is used.
pub fn bake(net: &Network, attr: &syn::Result<WeightsAttr>) -> TokenStream {
    let baked = attr
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|attr| read(net, attr, &manifest_dir()));
    match baked {
        Ok(baked) => code::network(net, &baked),
        Err(e) => {
            let file = attr.as_ref().map(|a| a.path.value()).unwrap_or_default();
            let mut out = code::stub(net, &file);
            out.extend(e.to_compile_error());
            out
        }
    }
}

/// The directory relative paths are read from: the manifest directory of the crate being
/// compiled (Cargo sets `CARGO_MANIFEST_DIR` for rustc), or the current one without Cargo.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Reads `attr`'s file, relative to `dir`, and checks it against the declaration.
fn read(net: &Network, attr: &WeightsAttr, dir: &Path) -> syn::Result<Baked> {
    let expected = layout::expected(net)?;
    let written = attr.path.value();
    let full = dir.join(&written);
    let bytes = std::fs::read(&full).map_err(|e| {
        syn::Error::new_spanned(
            &attr.path,
            format!(
                "cannot read the weights file `{written}`, read from {} (a path relative to the \
                 crate's manifest directory): {e}",
                full.display()
            ),
        )
    })?;
    let Some(full_path) = full.to_str().map(str::to_owned) else {
        return Err(syn::Error::new_spanned(
            &attr.path,
            format!(
                "the weights file's full path, {}, is not UTF-8, which `include_bytes!` needs",
                full.display()
            ),
        ));
    };
    let tensors = file::read(&bytes, &expected).map_err(|problems| {
        let mut errors = problems.into_iter().map(|p| {
            let span = match p.layer {
                Some(k) => net.layers[k].out.span,
                None => attr.path.span(),
            };
            syn::Error::new(span, format!("`{written}`: {}", p.message))
        });
        let mut first = errors.next().unwrap_or_else(|| {
            syn::Error::new_spanned(&attr.path, format!("`{written}` does not fit"))
        });
        for e in errors {
            first.combine(e);
        }
        first
    })?;
    Ok(Baked {
        full_path,
        path: attr.path.clone(),
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use crate::check::check;
    use quote::quote;

    fn baked(tokens: TokenStream) -> TokenStream {
        let mut invocation = parse_invocation(tokens);
        let attrs = take_attributes(&mut invocation);
        let (nets, errors) = check(invocation);
        assert!(errors.is_ok());
        bake(&nets[0], &attrs[&nets[0].name.to_string()])
    }

    #[test]
    fn a_malformed_attribute_is_an_error_and_the_network_a_stub() {
        let out = baked(quote! { #[weights(1)] struct T: 2 -> 1 sigmoid; }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("expected `#[weights(\\\"file.safetensors\\\")]`"),
            "{out}"
        );
        assert!(out.contains("fn forward"), "{out}");
        let out = baked(quote! {
            #[weights("a.safetensors")] #[weights("b.safetensors")] struct T: 2 -> 1 sigmoid;
        })
        .to_string();
        assert!(out.contains("is given `#[weights]` twice"), "{out}");
    }

    #[test]
    fn a_missing_file_is_named_as_written_and_in_full() {
        let out = baked(quote! { #[weights("no/such.safetensors")] struct T: 2 -> 1 sigmoid; })
            .to_string();
        assert!(
            out.contains("cannot read the weights file `no/such.safetensors`"),
            "{out}"
        );
        let full = manifest_dir().join("no/such.safetensors");
        assert!(out.contains(&full.display().to_string()), "{out}");
    }

    #[test]
    fn the_file_is_a_tracked_dependency_and_its_values_statics() {
        // nn-macros' own manifest directory is the one the unit tests read from.
        let out = baked(quote! {
            #[weights("../tests/fixtures/baked/xor.safetensors")]
            pub struct Xor: 2 -> 3 tanh -> 1 sigmoid;
        })
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        let full = manifest_dir().join("../tests/fixtures/baked/xor.safetensors");
        let full = full.display().to_string();
        assert!(
            out.contains(&format!("include_bytes ! (\"{full}\")")),
            "{out}"
        );
        assert!(out.contains("static LAYER1_WEIGHT : [f32 ; 6]"), "{out}");
        assert!(out.contains("static LAYER2_BIAS : [f32 ; 1]"), "{out}");
        // Inference only.
        assert!(out.contains("fn forward"), "{out}");
        assert!(!out.contains("fn gradient"), "{out}");
        assert!(!out.contains("Trainable"), "{out}");
    }

    #[test]
    fn norm_layers_bake_as_views_of_their_statics() {
        let out = baked(quote! {
            #[weights("../tests/fixtures/baked/norms.safetensors")]
            pub struct Norms: 6 -> layernorm -> 8 tanh -> batchnorm -> 5 relu -> layernorm
                -> batchnorm -> 3 softmax;
        })
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains("static LAYER3_RUNNING_MEAN : [f32 ; 8]"),
            "{out}"
        );
        assert!(
            out.contains("static LAYER3_RUNNING_VAR : [f32 ; 8]"),
            "{out}"
        );
        assert!(out.contains("static LAYER5_WEIGHT : [f32 ; 5]"), "{out}");
        // The step count is checked in the file, not baked.
        assert!(!out.contains("NUM_BATCHES_TRACKED"), "{out}");
        assert!(out.contains("BatchNormRef < 'static"), "{out}");
        assert!(out.contains("LayerNormRef < 'static"), "{out}");
    }

    #[test]
    fn the_attribute_leaves_the_other_attributes_alone() {
        let mut invocation = parse_invocation(quote! {
            /// Docs.
            #[weights("x.safetensors")]
            #[derive(Debug)]
            struct T: 2 -> 1 sigmoid;
            struct U: 2 -> 1 sigmoid;
        });
        let attrs = take_attributes(&mut invocation);
        assert_eq!(attrs.len(), 1);
        assert!(matches!(&attrs["T"], Ok(a) if a.path.value() == "x.safetensors"));
        assert_eq!(invocation.networks[0].attrs.len(), 2);
    }
}
