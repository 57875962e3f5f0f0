//! Writes the Rust code of checked networks. Cannot fail.
//!
//! For each network: the struct (one `Dense` field per layer), a struct of every layer's
//! activation, the inherent methods with literal array sizes in their signatures, and the
//! `Network` and `Trainable` impls. Forward and backward are straight-line: one call per layer, in
//! order and then in reverse, each with the chain-rule step it performs in a comment. A graph
//! network's blocks add a join after their branches (`s = x + f(x)`, or the branches side by
//! side) and, going back, the hand-over of the output's gradient to the branches and the sums
//! where branches meet, each commented where it happens.
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
//! | `rows.rs` | what the bodies share: workspace rows (layers' and blocks'), the training forward pass, a block's join |
//! | `bounds.rs` | the training and evaluation `where` clauses |
//! | `traits.rs` | `impl Network`, `impl Trainable<L>`, `impl Rows` (hidden) |
//! | `heads.rs` | for a network ending in `heads { ... }`: its outputs, losses and head-losses structs, its inherent methods, trait impls and hidden bodies |
//! | `custom.rs` | path layers (`-> encoder: Encoder ->`): their checks, steps and buffers; `impl nn::Layer` |
//! | `tokens.rs` | the runtime path, widths as literals and typenum types, buffer names |
//! | `baked.rs` | instead of all the above, a network baked in from `#[weights("file")]` |
//!
//! The items that need the heap (the batch methods, `Trainable`, the hidden batch bodies,
//! `Network::forward_batch`) are wrapped in `::nn::__private::__if_alloc! { ... }`, and a
//! network with layers other than dense as a whole: they vanish when nn is built without its
//! `alloc` feature, which the macro cannot see.

mod backprop;
pub mod baked;
mod bounds;
mod construct;
mod custom;
mod forward;
mod heads;
mod loss;
mod methods;
mod rows;
mod shape;
mod structs;
mod tokens;
mod traits;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::model::Network;

/// The code of every network of an invocation.
pub fn expand(networks: &[Network]) -> TokenStream {
    networks.iter().map(expand_network).collect()
}

/// For each activation that is a path to the user's type, a check that the type implements
/// `nn::CustomActivation`, spanned at the path: the first error a user sees names that trait.
/// It is the same call as the constant in the layer's type ([`tokens::act_type`]), so rustc
/// reports the two as one error.
fn custom_activation_checks(net: &Network) -> TokenStream {
    net.custom_activations()
        .into_iter()
        .map(|(path, span)| {
            let rt = tokens::rt_at(span);
            quote::quote_spanned! {span=>
                const _: bool = #rt::is_custom_activation::<#path>();
            }
        })
        .collect()
}

/// The code of one network: its structs, its inherent impl, its trait impls.
fn expand_network(net: &Network) -> TokenStream {
    let rt = tokens::rt();
    let name = &net.name;
    let code = if net.heads.is_empty() {
        chain_items(net)
    } else {
        let network_struct = structs::network_struct(net);
        let custom = custom_activation_checks(net);
        let activations_struct = structs::activations_struct(net);
        let heads = heads::expand(net);
        quote! {
            #network_struct
            #custom
            #activations_struct
            #heads
        }
    };
    if net.is_f64() {
        return tokens::to_f64(code);
    }
    if net.is_dense_only() {
        return code;
    }
    // The other layer kinds and the blocks keep their parameters and buffers on the heap:
    // without `alloc`, one error that names the feature instead of one for every type the
    // network uses.
    let message = format!(
        "`{name}` has layers other than dense or blocks, which need nn's `alloc` feature; \
         without it, a network is a chain of dense layers only"
    );
    quote_spanned! {name.span()=>
        #rt::__if_alloc! { #code }
        #rt::__if_no_alloc! { ::core::compile_error!(#message); }
    }
}

/// The items of a network without heads: its structs, its inherent impl, its trait impls.
fn chain_items(net: &Network) -> TokenStream {
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
    let train_step = methods::train_step(net);
    let gradient_rows = backprop::gradient_rows(net);
    let loss = methods::loss(net);
    let loss_batch = methods::loss_batch(net);
    let loss_rows = loss::loss_rows(net);
    let network_impl = traits::network_impl(net);
    let train_impl = traits::train_impl(net);
    let rows_impl = traits::rows_impl(net);
    let custom = custom_activation_checks(net);
    let rt = tokens::rt();
    // What needs the heap (workspaces, batches, gradients) is wrapped in `__if_alloc!`, which
    // nn-core defines to keep or drop it by its `alloc` feature; the macro cannot see features.
    let path_checks = custom::checks(net);
    // `nn::Layer` is f32's: an f64 network is not a layer of another network.
    let layer_impl = if net.is_f64() {
        TokenStream::new()
    } else {
        custom::layer_impl(net)
    };
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
            #rt::__if_alloc! {
                #forward_batch
                #gradient
                #gradient_batch
                #train_step
                #loss
                #loss_batch
            }
        }

        #network_impl
        #rt::__if_alloc! {
            #train_impl
            #rows_impl
            #gradient_rows
            #loss_rows
            #layer_impl
        }
    }
}
