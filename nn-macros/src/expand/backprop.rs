//! The backprop body, `GradientRows::gradient_rows` (a hidden trait, so the body is not a
//! method of the user's type): the training forward pass, the loss's delta at the output, then
//! the chain rule layer by layer in reverse, each step's formula in a comment.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::Ident;

use crate::expand::rows::{self, Deltas};
use crate::expand::{bounds, custom, tokens::rt, tokens::scalar_param};
use crate::model::{Act, Block, BlockKind, Layer, LayerKind, Network, Node};
use crate::prop::{Input, LayerNames, NodeRef};

/// `impl<L> GradientRows<L> for Name where (the training bounds) { fn gradient_rows(&self,
/// loss, x, y, grads, workspace) -> f32 }`, over a non-empty batch.
pub fn gradient_rows(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let bounds = bounds::training(net);
    let (x_ty, y_ty) = (net.input.typenum(), net.output_layer().width().typenum());
    let step = rows::next_mask_step(net);
    let take = rows::take_workspace(net, Deltas::Kept);
    let split = rows::split_rows(net, Deltas::Kept);
    let forward = rows::forward_train(net);
    let output_delta = output_delta(net);
    let (first, defer) = if net.fuses_first_layer() {
        (
            Dest::Fused,
            quote! {
                /// `train_step` asks for the first layer's weight gradient to be left to the
                /// optimizer, which computes it as it updates the weights.
                let defer_first = workspace.defers_first_weights();
            },
        )
    } else {
        (Dest::Discard, TokenStream::new())
    };
    let backward = chain_backward(net, &net.nodes, &first, &quote!(L));
    quote! {
        #[doc(hidden)]
        impl<L> #rt::GradientRows<L> for #name
        where
            #(#bounds,)*
        {
            /// Backprop over a non-empty batch with one target per input: the forward pass
            /// keeping every layer's `z` and `a`, then the chain rule layer by layer in reverse.
            #[inline]
            #[allow(unused_doc_comments)]
            fn gradient_rows(
                &self,
                loss: L,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                y: &[#rt::generic_array::GenericArray<f32, #y_ty>],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32 {
                let n = x.len();
                #step
                #defer
                #take
                #(#split)*
                #(#forward)*
                #output_delta
                #backward
                mean_loss
            }
        }
    }
}

/// `let mean_loss = <L as LossGradient<Sigmoid>>::delta_rows(&loss, z2, a2, y, d2);`: the loss
/// and the output layer's delta `∂L/∂z` in one call, as the loss decides it.
fn output_delta(net: &Network) -> TokenStream {
    let rt = rt();
    let out = net.output_layer();
    let (act, z, a, d) = (out.act_type(), out.z(), out.a(), out.d());
    let scalar = scalar_param(net);
    let comment = format!(
        " output: δ{n} = ∂L/∂z{n} (the fused a - y for softmax with cross-entropy or sigmoid with \
         binary cross-entropy)",
        n = out.index
    );
    quote! {
        #[doc = #comment]
        let mean_loss = <L as #rt::LossGradient<#act #scalar>>::delta_rows(&loss, #z, #a, y, #d);
    }
}

/// Where a chain's first node writes the gradient of what it reads.
#[derive(Clone)]
pub(super) enum Dest {
    /// Nowhere: it reads the network's input, whose gradient nothing consumes.
    Discard,
    /// Nowhere, as [`Dest::Discard`], from the first layer of a chain whose `train_step` may
    /// leave that layer's weight gradient to the optimizer (`defer_first`).
    Fused,
    /// Into `dx` if the outer network asks for it: it reads the input of a network used as a
    /// layer of another (`impl nn::Layer`'s `backward_rows`).
    Asked,
    /// Into `rows` (overwriting them), the gradient of `symbol` (`a1`, or `a1 (branch 2's part,
    /// in e1)` where a branch's part waits to be added to the others').
    Write {
        /// The rows written.
        rows: Ident,
        /// What they are the gradient of, as the comments say it.
        symbol: String,
    },
}

impl Dest {
    /// The argument a backward call takes for the input gradient: `None`, `dx` or
    /// `Some(d1)`.
    pub(super) fn tokens(&self) -> TokenStream {
        match self {
            Dest::Discard | Dest::Fused => quote!(None),
            Dest::Asked => quote!(dx),
            Dest::Write { rows, .. } => quote!(Some(#rows)),
        }
    }

    /// How a chain-rule comment says where the gradient of the network's input goes.
    fn note(&self) -> &'static str {
        match self {
            Dest::Asked => "(and ∂L/∂x into `dx` if the outer network asks)",
            _ => "(no input gradient: nothing consumes it)",
        }
    }

    /// Where a layer or a block writes the gradient of `input`, the output of the node before
    /// it in its chain (or the network's input).
    pub(super) fn of(input: Input) -> Dest {
        match input.grad_rows() {
            Some(rows) => Dest::Write {
                rows,
                symbol: input.symbol(),
            },
            None => Dest::Discard,
        }
    }
}

/// A chain's backward steps, last node first: each node's output gradient is in place when
/// its step runs (the loss's delta, or what the node after it wrote), and each writes the
/// gradient of what it reads where the node before it keeps its output's gradient; the first
/// node writes into `first`.
pub(super) fn chain_backward(
    net: &Network,
    chain: &[Node],
    first: &Dest,
    loss: &TokenStream,
) -> TokenStream {
    let steps = chain.iter().enumerate().rev().map(|(k, &node)| {
        let dest = if k == 0 {
            first.clone()
        } else {
            Dest::of(net.chain_output(&chain[..k]))
        };
        match net.node(node) {
            NodeRef::Layer(layer) => backward_step(net, layer, &dest, loss, false),
            NodeRef::Block(block) => block_backward(net, block, &dest, loss),
        }
    });
    quote!(#(#steps)*)
}

/// A block's step back, its branches in reverse inside it. A residual block hands its output's
/// gradient to its branch and adds it to the input's (the skip); a concatenation hands each
/// branch its slice, and sums the branches' input gradients.
fn block_backward(net: &Network, block: &Block, dest: &Dest, loss: &TokenStream) -> TokenStream {
    let rt = rt();
    let (g, label) = (block.g(), block.label());
    let gs = format!("∂L/∂{}", block.s());
    let mut out = TokenStream::new();
    match block.kind {
        BlockKind::Residual => {
            let branch = &block.branches[0];
            let last = net.chain_output(branch);
            let to = last.grad_rows();
            let comment = format!(
                " {label}: {s} = {x} + {f}, so ∂L/∂{f} = {gs} (handed to the branch)",
                s = block.s(),
                x = net.input(block.source).symbol(),
                f = last.symbol()
            );
            out.extend(quote! {
                #[doc = #comment]
                #rt::copy_rows(#to, #g);
            });
            out.extend(chain_backward(net, branch, dest, loss));
            if let Dest::Write { rows, symbol } = dest {
                let comment = format!(
                    " {label}: ∂L/∂{symbol} = (the branch's, above) + {gs} (the skip's): the \
                     two gradients are summed here"
                );
                out.extend(quote! {
                    #[doc = #comment]
                    #rt::add_rows(#rows, #g);
                });
            }
        }
        BlockKind::Concat => {
            let mut offset = 0;
            for (i, branch) in block.branches.iter().enumerate() {
                let last = net.chain_output(branch);
                let (to, width) = (last.grad_rows(), last.width().value);
                let comment = format!(
                    " {label}: ∂L/∂{} = {gs}[{offset}..{}] (branch {}'s slice)",
                    last.symbol(),
                    offset + width,
                    i + 1
                );
                let off = Literal::usize_unsuffixed(offset);
                out.extend(quote! {
                    #[doc = #comment]
                    #rt::split_rows(#g, #off, #to);
                });
                offset += width;
                match dest {
                    Dest::Write { rows, symbol } if i > 0 => {
                        let e = block.e();
                        let into_scratch = Dest::Write {
                            rows: e.clone(),
                            symbol: format!("{symbol} (branch {}'s part, in {e})", i + 1),
                        };
                        out.extend(chain_backward(net, branch, &into_scratch, loss));
                        let comment = format!(
                            " {label}: ∂L/∂{symbol} += branch {}'s part: the gradients of the \
                             branches are summed here",
                            i + 1
                        );
                        out.extend(quote! {
                            #[doc = #comment]
                            #rt::add_rows(#rows, #e);
                        });
                    }
                    _ => out.extend(chain_backward(net, branch, dest, loss)),
                }
            }
        }
    }
    out
}

/// The chain rule of a network used as a layer of another (`impl nn::Layer`, a chain), layer
/// by layer in reverse: the output layer's activation included (no loss is fused there), and
/// the first layer's input gradient written into `dx` when the outer network asks for it.
pub fn backward_as_layer(net: &Network) -> Vec<TokenStream> {
    let loss = quote!(L);
    net.layers
        .iter()
        .rev()
        .map(|layer| {
            let dest = match layer.input_of(net) {
                Input::Network(_) => Dest::Asked,
                input => Dest::of(input),
            };
            backward_step(net, layer, &dest, &loss, true)
        })
        .collect()
}

/// One layer's step back: its delta from the gradient of its output (the output layer's came
/// from the loss, unless the network is a layer of another, `as_layer`), then its weights' and
/// biases' gradients and the gradient of what it read.
fn backward_step(
    net: &Network,
    layer: &Layer,
    dest: &Dest,
    loss: &TokenStream,
    as_layer: bool,
) -> TokenStream {
    if layer.is_path() {
        return custom::backward_step(net, layer, dest);
    }
    let prelude = custom::input_prelude(net, layer, true);
    if !layer.is_dense() {
        let step = layer_backward(net, layer, dest, loss);
        return quote!(#prelude #step);
    }
    let delta = (!layer.is_output() || as_layer).then(|| activation_backward(layer, loss));
    let params = parameters_backward(net, layer, dest);
    quote!(#delta #prelude #params)
}

/// `Backward::<L>::backward_rows(&self.drop, a1, z2, a2, d2, c2, &mut grads.drop, Some(d1));`
/// for the kinds besides dense: their parameters' gradients and `∂L/∂x` from `∂L/∂a`.
fn layer_backward(net: &Network, layer: &Layer, dest: &Dest, loss: &TokenStream) -> TokenStream {
    let rt = rt();
    let (field, z, a, d, aux) = (&layer.field, layer.z(), layer.a(), layer.d(), layer.aux());
    let from = layer.input_of(net);
    let input = from.rows();
    let decl = layer.declaration(LayerNames::Omitted);
    let params = if matches!(layer.kind, LayerKind::Pool(_) | LayerKind::Dropout(_)) {
        " (no parameters)"
    } else {
        ", and its parameters' gradient"
    };
    let (dx, comment) = match dest {
        Dest::Discard | Dest::Asked | Dest::Fused => (
            dest.tokens(),
            format!(
                " {}: the gradient of `{decl}`'s parameters from ∂L/∂a{i} {}",
                layer.label(),
                dest.note(),
                i = layer.index
            ),
        ),
        Dest::Write { rows, symbol } => (
            quote!(Some(#rows)),
            format!(
                " {}: ∂L/∂{symbol} through `{decl}` from ∂L/∂a{i}{params}",
                layer.label(),
                i = layer.index
            ),
        ),
    };
    quote! {
        #[doc = #comment]
        #rt::Backward::<#loss>::backward_rows(
            &self.#field, #input, #z, #a, #d, #aux, &mut grads.#field, #dx,
        );
    }
}

/// `self.hidden.activation_backward::<L>(z1, a1, d1);`: δ = ∂L/∂a ⊙ f'(z), in place.
fn activation_backward(layer: &Layer, loss: &TokenStream) -> TokenStream {
    let (field, z, a, d) = (&layer.field, layer.z(), layer.a(), layer.d());
    let comment = format!(
        " {}: δ{i} = ∂L/∂a{i} ⊙ {}'(z{i})",
        layer.label(),
        layer.act().map(Act::name).unwrap_or_default(),
        i = layer.index
    );
    quote! {
        #[doc = #comment]
        self.#field.activation_backward::<#loss>(#z, #a, #d);
    }
}

/// `self.out.backward_rows(a1, d2, &mut grads.out, Some(d1));`: the weights' and biases'
/// gradients, and the previous layer's `∂L/∂a` into its delta rows. The first layer computes
/// no input gradient: nothing consumes it.
fn parameters_backward(net: &Network, layer: &Layer, dest: &Dest) -> TokenStream {
    let (field, d, i) = (&layer.field, layer.d(), layer.index);
    let label = layer.label();
    let from = layer.input_of(net);
    match dest {
        Dest::Fused => {
            let comment = format!(
                " {label}: ∂L/∂W{i} = δ{i}·xᵀ, ∂L/∂b{i} = δ{i} {} (for `train_step`, ∂L/∂b{i} \
                 only: the optimizer computes δ{i}·xᵀ as it updates W{i})",
                dest.note()
            );
            let x = from.rows();
            quote! {
                #[doc = #comment]
                if defer_first {
                    self.#field.backward_bias_rows(#d, &mut grads.#field);
                } else {
                    self.#field.backward_rows(#x, #d, &mut grads.#field, None);
                }
            }
        }
        Dest::Discard | Dest::Asked => {
            let comment = format!(
                " {label}: ∂L/∂W{i} = δ{i}·xᵀ, ∂L/∂b{i} = δ{i} {}",
                dest.note()
            );
            let (x, dx) = (from.rows(), dest.tokens());
            quote! {
                #[doc = #comment]
                self.#field.backward_rows(#x, #d, &mut grads.#field, #dx);
            }
        }
        Dest::Write { rows, symbol } => {
            let (pa, p) = (from.rows(), from.symbol());
            let comment = format!(
                " {label}: ∂L/∂W{i} = δ{i}·{p}ᵀ, ∂L/∂b{i} = δ{i}, ∂L/∂{symbol} = W{i}ᵀ·δ{i}"
            );
            quote! {
                #[doc = #comment]
                self.#field.backward_rows(#pa, #d, &mut grads.#field, Some(#rows));
            }
        }
    }
}
