//! The `network!` procedural macro of `nn`. Use it through the facade crate `nn`, which
//! documents it.
//!
//! The pipeline: [`ast`] parses the declaration, [`check`] turns it into a checked model and
//! reports every problem at the user's tokens, [`expand`] writes the code. Each stage is a pure
//! function over token streams.

mod ast;
mod check;
mod expand;

use proc_macro::TokenStream;

/// Declares neural networks as types. See the `nn` crate's documentation.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    network_impl(input.into()).into()
}

/// The whole pipeline on `proc_macro2` tokens, so that it runs in unit tests.
fn network_impl(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let invocation = ast::parse_invocation(input);
    let declared: Vec<_> = invocation
        .networks
        .iter()
        .map(|n| (n.vis.clone(), n.name.clone()))
        .collect();
    match check::check(invocation) {
        Ok(networks) => expand::expand(&networks),
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(expand::stubs(&declared));
            out
        }
    }
}
