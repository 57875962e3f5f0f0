//! Writes the Rust code of checked networks. Cannot fail.
//!
//! For each network: the struct (one `Dense` field per layer), a struct of every layer's
//! activation, the inherent methods with literal array sizes in their signatures, and the
//! `Network` and `Trainable` impls. Forward and backward are straight-line: one call per layer, in
//! order and then in reverse, each with the chain-rule step it performs in a comment.
//!
//! One function per generated item, one file per group of items; [`expand_network`] lists them
//! in the order they are written. The questions the items ask of the model are in
//! [`prop`](crate::prop), the spelling of model values as tokens in [`tokens`].
//!
//! | file | items |
//! |---|---|
//! | `structs.rs` | the network struct, the activations struct |
//! | `shape.rs` | `INPUT`/`OUTPUT`, the `Network` trait's constants |
//! | `construct.rs` | `new`, `zeros` |
//! | `forward.rs` | `forward`, `forward_all`, `forward_batch` |
//! | `methods.rs` | `gradient`, `gradient_batch`, `loss`, `loss_batch` |
//! | `backprop.rs` | the backprop body, `impl GradientRows<L>` (hidden) |
//! | `loss.rs` | the loss body, `impl LossRows<L>` (hidden) |
//! | `rows.rs` | what the two bodies share: workspace rows, the training forward pass |
//! | `bounds.rs` | the training and evaluation `where` clauses |
//! | `traits.rs` | `impl Network`, `impl Trainable<L>`, `impl Rows` (hidden) |
//! | `custom.rs` | path layers (`-> encoder: Encoder ->`): their checks, steps and buffers; `impl nn::Layer` |
//! | `tokens.rs` | the runtime path, widths as literals and typenum types, buffer names |

mod backprop;
mod bounds;
mod construct;
mod custom;
mod forward;
mod loss;
mod methods;
mod rows;
mod shape;
mod structs;
mod tokens;
mod traits;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Network;

/// The code of every network of an invocation.
pub fn expand(networks: &[Network]) -> TokenStream {
    networks.iter().map(expand_network).collect()
}

/// For each activation that is a path to the user's type, a check that the type implements
/// `nn::CustomActivation`, spanned at the path: the first error a user sees names that trait.
fn custom_activation_checks(net: &Network) -> TokenStream {
    net.custom_activations()
        .into_iter()
        .map(|(path, span)| {
            let rt = tokens::rt_at(span);
            quote::quote_spanned! {span=>
                const _: () = {
                    fn implements_custom_activation<T: #rt::CustomActivation>() {}
                    let _ = implements_custom_activation::<#path>;
                };
            }
        })
        .collect()
}

/// The code of one network: its structs, its inherent impl, its trait impls.
fn expand_network(net: &Network) -> TokenStream {
    let name = &net.name;
    let network_struct = structs::network_struct(net);
    let activations_struct = structs::activations_struct(net);
    let consts = shape::inherent_consts(net);
    let new = construct::new(net);
    let zeros = construct::zeros(net);
    let forward = forward::forward(net);
    let forward_all = forward::forward_all(net);
    let forward_batch = forward::forward_batch(net);
    let gradient = methods::gradient(net);
    let gradient_batch = methods::gradient_batch(net);
    let gradient_rows = backprop::gradient_rows(net);
    let loss = methods::loss(net);
    let loss_batch = methods::loss_batch(net);
    let loss_rows = loss::loss_rows(net);
    let network_impl = traits::network_impl(net);
    let train_impl = traits::train_impl(net);
    let rows_impl = traits::rows_impl(net);
    let custom = custom_activation_checks(net);
    let path_checks = custom::checks(net);
    let layer_impl = custom::layer_impl(net);
    quote! {
        #network_struct
        #custom
        #path_checks
        #activations_struct

        impl #name {
            #consts
            #new
            #zeros
            #forward
            #forward_all
            #forward_batch
            #gradient
            #gradient_batch
            #loss
            #loss_batch
        }

        #network_impl
        #train_impl
        #rows_impl
        #gradient_rows
        #loss_rows
        #layer_impl
    }
}
