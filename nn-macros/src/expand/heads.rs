//! The items of a network ending in `heads { name: chain, ... }`.
//!
//! Its inherent methods speak in one struct per concept, each with one field per head:
//! `ReaderOutputs` (what `forward` returns and the targets), `ReaderLosses<Digit, Even>` (each
//! head's loss and its weight) and `ReaderHeadLosses` (each head's mean loss and the weighted
//! total). The `Network` trait's rows are the heads' outputs side by side in declaration order
//! (`[f32; 11]` for a 10-wide and a 1-wide head; `From` converts between the two), so every
//! generic tool (the trainer, `DataParallel`, the gradient check, the weight files) works on a
//! network with heads unchanged; `Trainable<ReaderLosses<Digit, Even>>` trains it.
//!
//! The batch bodies are hidden trait impls (`HeadRows`, `HeadsGradient<L>`, `HeadsLoss<L>`):
//! the training forward pass, each head's delta from its own loss times its weight, each head's
//! chain back to the trunk (the first head writes the trunk's output gradient, each other head
//! writes into a scratch that is then added: the heads' gradients are summed there), then the
//! trunk.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::Ident;

use crate::expand::backprop::{chain_backward, Dest};
use crate::expand::forward::inference_step;
use crate::expand::rows::{self, Deltas};
use crate::expand::tokens::{act_type, inputs_param, method, rt, rt_at};
use crate::model::{Head, Layer, Network};
use crate::prop::{LayerNames, Step};

/// The names of the generated structs and their module.
struct Names {
    module: Ident,
    bounds: Ident,
    outputs: Ident,
    losses: Ident,
    head_losses: Ident,
}

fn names(net: &Network) -> Names {
    Names {
        module: format_ident!("__nn_heads_of_{}", net.name),
        bounds: format_ident!("__nn_head_losses_of_{}", net.name),
        outputs: format_ident!("{}Outputs", net.name),
        losses: format_ident!("{}Losses", net.name),
        head_losses: format_ident!("{}HeadLosses", net.name),
    }
}

/// A head's output layer (a checked head ends in a dense layer).
fn output_of<'a>(net: &'a Network, head: &Head) -> &'a Layer {
    match head.nodes.last() {
        Some(&crate::model::Node::Layer(i)) => &net.layers[i],
        _ => unreachable!("a checked head ends in a layer"),
    }
}

/// `Digit` for head `digit`: the type parameter of its loss.
fn loss_param(head: &Head) -> Ident {
    let name = head.name.unraw().to_string();
    let camel: String = name
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format_ident!("{}Loss", camel, span = head.name.span())
}

/// `DigitTrains`: the hidden trait that says "this loss trains head `digit`".
fn trains_trait(head: &Head) -> Ident {
    let param = loss_param(head).to_string();
    format_ident!("{}Trains", param.trim_end_matches("Loss"))
}

/// Each head's value range in the trait's joined rows: `(head, start, width)`.
fn ranges(net: &Network) -> Vec<(&Head, usize, usize)> {
    let mut start = 0;
    net.heads
        .iter()
        .map(|head| {
            let w = output_of(net, head).width().value;
            start += w;
            (head, start - w, w)
        })
        .collect()
}

/// The code of a network with heads.
pub fn expand(net: &Network) -> TokenStream {
    let structs = structs(net);
    let inherent = inherent(net);
    let traits = trait_impls(net);
    let bodies = bodies(net);
    quote! {
        #structs
        #inherent
        #traits
        #bodies
    }
}

/// The outputs, losses and head-losses structs, in a hidden module brought in by a glob import
/// (as the activations struct), and the per-head bound traits in a module inside it.
fn structs(net: &Network) -> TokenStream {
    let rt = rt();
    let n = names(net);
    let (vis, name) = (&net.vis, &net.name);
    let (module, outputs, losses, head_losses) = (&n.module, &n.outputs, &n.losses, &n.head_losses);
    let bounds_module = &n.bounds;
    let total = net.output_width().lit();
    let heads = ranges(net);
    let output_fields = heads.iter().map(|(head, _, _)| {
        let (field, out) = (&head.name, output_of(net, head));
        let w = out.width().lit();
        let doc = format!(" Head `{field}`: the output of {}.", out.label());
        quote! { #[doc = #doc] pub #field: [f32; #w] }
    });
    let params: Vec<Ident> = net.heads.iter().map(loss_param).collect();
    let loss_fields = net.heads.iter().zip(&params).map(|(head, p)| {
        let field = &head.name;
        let doc = format!(" Head `{field}`: its loss and the loss's weight in the total.");
        quote! { #[doc = #doc] pub #field: (#p, f32) }
    });
    let value_fields = net.heads.iter().map(|head| {
        let field = &head.name;
        let doc = format!(" Head `{field}`'s mean loss, unweighted.");
        quote! { #[doc = #doc] pub #field: f32 }
    });
    let to_row = heads.iter().map(|(head, start, w)| {
        let field = &head.name;
        let (a, b) = (
            Literal::usize_unsuffixed(*start),
            Literal::usize_unsuffixed(start + w),
        );
        quote! { row[#a..#b].copy_from_slice(&outputs.#field); }
    });
    let from_row = heads.iter().map(|(head, start, w)| {
        let field = &head.name;
        let (a, b) = (
            Literal::usize_unsuffixed(*start),
            Literal::usize_unsuffixed(start + w),
        );
        quote! { outputs.#field.copy_from_slice(&row[#a..#b]); }
    });
    let zero_fields = heads.iter().map(|(head, _, w)| {
        let (field, w) = (&head.name, Literal::usize_unsuffixed(*w));
        quote! { #field: [0.0f32; #w] }
    });
    let trains = net.heads.iter().map(|head| {
        let out = output_of(net, head);
        let span = out.act_span().unwrap_or(out.out.span);
        let act = out.act_type();
        let trait_name = trains_trait(head);
        let message = format!(
            "the loss `{{Self}}` cannot train head `{}` of `{name}`, whose output layer is `{}`",
            head.name,
            out.declaration(LayerNames::Omitted)
        );
        let label = format!("`{{Self}}` cannot train head `{}`", head.name);
        let doc = format!(" A loss that trains head `{}` of `{name}`.", head.name);
        quote_spanned! {span=>
            #[doc = #doc]
            #[diagnostic::on_unimplemented(
                message = #message,
                label = #label,
                note = "`CrossEntropy` trains a `softmax` head and `BinaryCrossEntropy` a \
                        `sigmoid` one; `MeanSquaredError` trains any head that has a gradient"
            )]
            pub trait #trait_name: #rt::LossGradient<#act> {}
            impl<L: #rt::LossGradient<#act>> #trait_name for L {}
        }
    });
    let outputs_doc = format!(
        " Each head's output from one forward pass of [`{name}`](super::{name}), and the \
         targets it trains on. `From` converts it to and from the `Network` trait's rows, the \
         heads side by side: {}.",
        heads
            .iter()
            .map(|(h, s, w)| format!("`{}` at {s}..{}", h.name, s + w))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let losses_doc = format!(
        " The losses that train [`{name}`](super::{name}), one per head with its weight: the \
         network minimises the weighted sum of the heads' mean losses."
    );
    let head_losses_doc =
        format!(" Each head's mean loss over a batch of [`{name}`](super::{name}), and the total.");
    quote! {
        #[allow(non_snake_case)]
        mod #module {
            #[doc = #outputs_doc]
            #[derive(Debug, Clone, Copy, PartialEq)]
            pub struct #outputs {
                #(#output_fields,)*
            }

            impl #outputs {
                /// Every head's output zero.
                pub const fn zeros() -> Self {
                    Self { #(#zero_fields,)* }
                }
            }

            impl ::core::convert::From<#outputs> for [f32; #total] {
                fn from(outputs: #outputs) -> Self {
                    let mut row = [0.0f32; #total];
                    #(#to_row)*
                    row
                }
            }

            impl ::core::convert::From<[f32; #total]> for #outputs {
                fn from(row: [f32; #total]) -> Self {
                    let mut outputs = Self::zeros();
                    #(#from_row)*
                    outputs
                }
            }

            #[doc = #losses_doc]
            #[derive(Debug, Clone, Copy, PartialEq)]
            pub struct #losses<#(#params),*> {
                #(#loss_fields,)*
            }

            #[doc = #head_losses_doc]
            #[derive(Debug, Clone, Copy, PartialEq, Default)]
            pub struct #head_losses {
                #(#value_fields,)*
                /// The weighted sum of the heads' losses: what training minimises.
                pub total: f32,
            }

        }
        #[doc(inline)]
        #vis use #module::*;

        /// The bounds that name a head when its loss does not fit it.
        #[allow(non_snake_case)]
        #[doc(hidden)]
        mod #bounds_module {
            #(#trains)*
        }
    }
}

/// `let (_, _, _, [y_digit, y_even]) = workspace.graph(n);` then each head's targets copied
/// from `targets` (`row` reads head `h`'s values of one target).
fn fill_targets(net: &Network, joined: bool) -> TokenStream {
    let (k, b, h) = counts(net);
    let ys: Vec<Ident> = net.heads.iter().map(Head::y).collect();
    let copies = ranges(net).into_iter().map(|(head, start, w)| {
        let (y, field) = (head.y(), &head.name);
        let wl = Literal::usize_unsuffixed(w);
        let from = if joined {
            let (a, b) = (
                Literal::usize_unsuffixed(start),
                Literal::usize_unsuffixed(start + w),
            );
            quote!(&t[#a..#b])
        } else {
            quote!(&t.#field[..])
        };
        quote! {
            for (y, t) in #y[..n * #wl].chunks_exact_mut(#wl).zip(targets) {
                y.copy_from_slice(#from);
            }
        }
    });
    quote! {
        let (_, _, _, [#(#ys),*]) = workspace.graph::<#k, #b, #h>(n);
        #(#copies)*
    }
}

/// The layer, block and head counts as literals.
fn counts(net: &Network) -> (Literal, Literal, Literal) {
    (
        Literal::usize_unsuffixed(net.layers.len()),
        Literal::usize_unsuffixed(net.blocks.len()),
        Literal::usize_unsuffixed(net.heads.len()),
    )
}

/// `ReaderLosses<DigitLoss, EvenLoss>`.
fn losses_type(net: &Network) -> TokenStream {
    let n = names(net);
    let (module, losses) = (&n.module, &n.losses);
    let params = net.heads.iter().map(loss_param);
    quote!(#module::#losses<#(#params),*>)
}

/// The training bounds: each head's loss trains it (named by its hidden trait), each hidden
/// activation has a derivative.
fn training_bounds(net: &Network) -> Vec<TokenStream> {
    let module = names(net).bounds;
    let losses = losses_type(net);
    let mut bounds: Vec<TokenStream> = net
        .heads
        .iter()
        .map(|head| {
            let out = output_of(net, head);
            let span = out.act_span().unwrap_or(out.out.span);
            let (p, t) = (loss_param(head), trains_trait(head));
            quote_spanned!(span=> #p: #module::#t)
        })
        .collect();
    for (act, span) in net.hidden_activations() {
        let (act, rt) = (act_type(&act, span), rt_at(span));
        bounds.push(quote_spanned!(span=> #act: #rt::Differentiable<#losses>));
    }
    bounds
}

/// The evaluation bounds: each head's loss fits its output activation.
fn evaluation_bounds(net: &Network) -> Vec<TokenStream> {
    net.heads
        .iter()
        .map(|head| {
            let out = output_of(net, head);
            let span = out.act_span().unwrap_or(out.out.span);
            let (p, rt, act) = (loss_param(head), rt_at(span), out.act_type());
            quote_spanned!(span=> #p: #rt::Loss<#act>)
        })
        .collect()
}

/// `ReaderHeadLosses { digit: losses[0], even: losses[1], total: w·l + ... }`.
fn head_losses_value(net: &Network) -> TokenStream {
    let n = names(net);
    let (module, head_losses) = (&n.module, &n.head_losses);
    let fields = net.heads.iter().enumerate().map(|(i, head)| {
        let (field, i) = (&head.name, Literal::usize_unsuffixed(i));
        quote!(#field: values[#i])
    });
    let total = net.heads.iter().enumerate().map(|(i, head)| {
        let (field, i) = (&head.name, Literal::usize_unsuffixed(i));
        quote!(loss.#field.1 * values[#i])
    });
    quote! {
        #module::#head_losses { #(#fields,)* total: 0.0 #(+ #total)* }
    }
}

/// The inherent impl: constants, constructors, the forward passes, training and evaluation.
fn inherent(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let n = names(net);
    let (module, outputs, head_losses) = (&n.module, &n.outputs, &n.head_losses);
    let consts = crate::expand::shape::inherent_consts(net);
    let new = crate::expand::construct::new(net);
    let zeros = crate::expand::construct::zeros(net);
    let input = crate::expand::tokens::input_param(net);
    let inputs = inputs_param(net);
    let (k, b, h) = counts(net);
    let heads_count = h.clone();
    let forward_m = method(net, "forward");
    let forward_all_m = method(net, "forward_all");
    let forward_batch_m = method(net, "forward_batch");
    let gradient_batch_m = method(net, "gradient_batch");
    let loss_batch_m = method(net, "loss_batch");
    let acts = crate::expand::structs::activations_path(net);
    let init = net.steps().into_iter().map(|step| {
        let (field, width) = match step {
            Step::Layer(layer) => (&layer.field, layer.width()),
            Step::Join(block) => (&block.field, &block.out),
        };
        let w = width.lit();
        if width.value > crate::prop::STACK_WIDTH_LIMIT {
            quote!(#field: #rt::zeroed_box::<f32, #w>())
        } else {
            quote!(#field: [0.0f32; #w])
        }
    });
    let layer_copies = net.layers.iter().enumerate().map(|(i, layer)| {
        let (field, i, w) = (
            &layer.field,
            Literal::usize_unsuffixed(i),
            layer.width().lit(),
        );
        quote! { all.#field[..].copy_from_slice(&layers[#i].a[..#w]); }
    });
    let block_copies = net.blocks.iter().enumerate().map(|(i, block)| {
        let (field, i, w) = (&block.field, Literal::usize_unsuffixed(i), block.out.lit());
        quote! { all.#field[..].copy_from_slice(&blocks[#i].out[..#w]); }
    });
    let copy_out = copy_outputs(net, false);
    let training = training_bounds(net);
    let evaluation = evaluation_bounds(net);
    let losses = losses_type(net);
    let fill = fill_targets(net, false);
    let value = head_losses_value(net);
    let gradient_doc = format!(
        " The gradient of the weighted sum of the heads' mean losses over a batch with respect \
         to every weight and bias, written into `grads` (overwriting it): each head's loss \
         trains its head (`{losses}`, each `(loss, weight)`); returns each head's mean loss and \
         the weighted total. Allocates nothing once the workspace has held a batch this large.",
        losses = n.losses
    );
    let params = net.heads.iter().map(loss_param);
    let params2 = params.clone();
    quote! {
        impl #name {
            #consts
            #new
            #zeros

            /// The forward pass of one sample (inference), every head's output: as a batch of
            /// one in a workspace of its own. In a loop, use
            /// [`forward_batch`](Self::forward_batch) with a workspace you keep.
            pub fn #forward_m(&self, #input) -> #module::#outputs {
                let mut workspace = #rt::Workspace::<Self>::new();
                let mut out = [#module::#outputs::zeros()];
                match self.forward_batch(::core::slice::from_ref(input), &mut out, &mut workspace) {
                    Ok(()) => out[0],
                    Err(_) => unreachable!("one input row and one output row always match"),
                }
            }

            /// The forward pass of one sample (inference), returning every layer's and block's
            /// output, the heads' included.
            #[allow(clippy::large_stack_arrays)]
            pub fn #forward_all_m(&self, #input) -> #acts {
                let mut workspace = #rt::Workspace::<Self>::new();
                #rt::HeadRows::forward_heads(
                    self,
                    ::core::slice::from_ref(#rt::array(input)),
                    &mut workspace,
                );
                let mut all = #acts { #(#init,)* };
                let (layers, blocks, _, _) = workspace.graph::<#k, #b, #h>(1);
                #(#layer_copies)*
                #(#block_copies)*
                all
            }

            /// The forward pass of a batch into `outputs` (one struct of every head's output per
            /// input), inference (no dropout, running statistics). Allocates nothing once the
            /// workspace has held a batch this large.
            ///
            /// # Errors
            ///
            /// `Error::BatchMismatch` if `outputs` does not have one row per input.
            pub fn #forward_batch_m(
                &self,
                #inputs,
                outputs: &mut [#module::#outputs],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<(), #rt::Error> {
                let n = #rt::check_outputs(inputs.len(), outputs.len())?;
                if n == 0 {
                    return Ok(());
                }
                #rt::HeadRows::forward_heads(self, #rt::rows(inputs), workspace);
                #copy_out
                Ok(())
            }

            #[doc = #gradient_doc]
            ///
            /// # Errors
            ///
            /// `Error::EmptyBatch` for no samples, `Error::BatchMismatch` if `targets` does not
            /// have one row per input.
            pub fn #gradient_batch_m<#(#params),*>(
                &self,
                loss: #losses,
                #inputs,
                targets: &[#module::#outputs],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<#module::#head_losses, #rt::Error>
            where
                #(#training,)*
            {
                let n = #rt::check_batch(inputs.len(), targets.len())?;
                #fill
                let mut values = [0.0f32; #heads_count];
                #rt::HeadsGradient::gradient_heads(
                    self, loss, #rt::rows(inputs), &mut values, grads, workspace,
                );
                Ok(#value)
            }

            /// Each head's mean loss over a batch and the weighted total, without gradients.
            ///
            /// # Errors
            ///
            /// As for [`gradient_batch`](Self::gradient_batch).
            pub fn #loss_batch_m<#(#params2),*>(
                &self,
                loss: #losses,
                #inputs,
                targets: &[#module::#outputs],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<#module::#head_losses, #rt::Error>
            where
                #(#evaluation,)*
            {
                let n = #rt::check_batch(inputs.len(), targets.len())?;
                #fill
                let mut values = [0.0f32; #heads_count];
                #rt::HeadsLoss::loss_heads(self, loss, #rt::rows(inputs), &mut values, workspace);
                Ok(#value)
            }
        }
    }
}

/// Each head's output rows copied from its output layer's workspace rows into `outputs` (one
/// struct a row, or with `joined` the trait's rows, the heads side by side).
fn copy_outputs(net: &Network, joined: bool) -> TokenStream {
    let (k, b, h) = counts(net);
    let mut wanted = vec![false; net.layers.len()];
    for out in net.head_outputs() {
        wanted[out.index - 1] = true;
    }
    let entries = net.layers.iter().zip(&wanted).map(|(layer, &w)| {
        if w {
            let e = layer.entry();
            quote!(#e)
        } else {
            quote!(_)
        }
    });
    let copies = ranges(net).into_iter().map(|(head, start, w)| {
        let out = output_of(net, head);
        let (entry, a, ty, field) = (out.entry(), out.a(), out.width().typenum(), &head.name);
        let to = if joined {
            let (s, e) = (
                Literal::usize_unsuffixed(start),
                Literal::usize_unsuffixed(start + w),
            );
            quote!(o[#s..#e])
        } else {
            quote!(o.#field)
        };
        quote! {
            let (_, #a, _) = #entry.rows::<#ty>(n);
            for (o, a) in outputs.iter_mut().zip(#a.iter()) {
                #to.copy_from_slice(a);
            }
        }
    });
    quote! {
        let ([#(#entries),*], _, _, _) = workspace.graph::<#k, #b, #h>(n);
        #(#copies)*
    }
}

/// `impl Network`, `impl Trainable<ReaderLosses<..>>` and `impl Loss<Linear>` for the losses
/// struct (the trainer's bound on the loss reads the network's output activation, which for
/// heads is `Linear`: the joined rows as they are).
fn trait_impls(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let n = names(net);
    let (module, losses_name) = (&n.module, &n.losses);
    let consts = crate::expand::shape::trait_consts(net);
    let params_methods = crate::expand::traits::parameter_methods(net);
    let (in_lit, total) = (net.input.lit(), net.output_width().lit());
    let copy_out = copy_outputs(net, true);
    let training = training_bounds(net);
    let losses = losses_type(net);
    let fill = fill_targets(net, true);
    let value = head_losses_value(net);
    let heads_count = Literal::usize_unsuffixed(net.heads.len());
    let params: Vec<Ident> = net.heads.iter().map(loss_param).collect();
    let evaluation = evaluation_bounds(net);
    let checks = ranges(net).into_iter().map(|(head, start, w)| {
        let out = output_of(net, head);
        let (field, act) = (&head.name, out.act_type());
        let p = loss_param(head);
        let (s, e) = (
            Literal::usize_unsuffixed(start),
            Literal::usize_unsuffixed(start + w),
        );
        quote! {
            <#p as #rt::Loss<#act>>::check_target(&self.#field.0, &y[#s..#e])
                .map_err(|e| #rt::shifted(e, #s))?;
        }
    });
    let sample_losses = ranges(net).into_iter().map(|(head, start, w)| {
        let out = output_of(net, head);
        let (field, act) = (&head.name, out.act_type());
        let p = loss_param(head);
        let (s, e) = (
            Literal::usize_unsuffixed(start),
            Literal::usize_unsuffixed(start + w),
        );
        quote! {
            + self.#field.1
                * <#p as #rt::Loss<#act>>::loss(&self.#field.0, &z[#s..#e], &a[#s..#e], &y[#s..#e])
        }
    });
    let loss_name = format!("the heads of {name}");
    let forward_doc = quote!();
    quote! {
        impl #rt::Network for #name {
            #consts
            type Scalar = f32;
            type Input = [f32; #in_lit];
            type Output = [f32; #total];
            type OutputActivation = #rt::Linear;

            #params_methods

            #forward_doc
            fn forward(&self, input: &Self::Input) -> Self::Output {
                Self::forward(self, input).into()
            }

            fn forward_batch(
                &self,
                inputs: &[Self::Input],
                outputs: &mut [Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<(), #rt::Error> {
                let n = #rt::check_outputs(inputs.len(), outputs.len())?;
                if n == 0 {
                    return Ok(());
                }
                #rt::HeadRows::forward_heads(self, #rt::rows(inputs), workspace);
                #copy_out
                Ok(())
            }
        }

        impl<#(#params),*> #rt::Trainable<#losses> for #name
        where
            #(#training,)*
        {
            fn gradient_batch(
                &self,
                loss: #losses,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                let n = #rt::check_batch(inputs.len(), targets.len())?;
                #fill
                let mut values = [0.0f32; #heads_count];
                #rt::HeadsGradient::gradient_heads(
                    self, loss, #rt::rows(inputs), &mut values, grads, workspace,
                );
                Ok(#value.total)
            }

            fn loss_batch(
                &self,
                loss: #losses,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                let n = #rt::check_batch(inputs.len(), targets.len())?;
                #fill
                let mut values = [0.0f32; #heads_count];
                #rt::HeadsLoss::loss_heads(self, loss, #rt::rows(inputs), &mut values, workspace);
                Ok(#value.total)
            }
        }

        /// The heads' losses over the `Network` trait's joined rows (`z` and `a` the heads'
        /// weighted sums and outputs side by side): each head's loss on its values, weighted.
        impl<#(#params),*> #rt::Loss<#rt::Linear> for #module::#losses_name<#(#params),*>
        where
            #(#evaluation,)*
            #(#params: ::core::marker::Copy,)*
        {
            const NAME: &'static str = #loss_name;

            #rt::__if_std! {
                fn check_target(&self, y: &[f32]) -> ::core::result::Result<(), #rt::InvalidData> {
                    #(#checks)*
                    Ok(())
                }
            }

            fn loss(&self, z: &[f32], a: &[f32], y: &[f32]) -> f32 {
                0.0 #(#sample_losses)*
            }
        }
    }
}

/// The hidden batch bodies: inference, backprop and the loss.
fn bodies(net: &Network) -> TokenStream {
    let rt = rt();
    let name = &net.name;
    let x_ty = net.input.typenum();
    let heads_count = Literal::usize_unsuffixed(net.heads.len());
    let losses = losses_type(net);
    let params: Vec<Ident> = net.heads.iter().map(loss_param).collect();
    let training = training_bounds(net);
    let evaluation = evaluation_bounds(net);

    // Inference: every layer into its workspace rows (the heads' outputs included).
    let (k, b, h) = counts(net);
    let entries = net.layers.iter().map(Layer::entry);
    let block_entries = net.blocks.iter().map(crate::model::Block::entry);
    let infer_take = quote! {
        let ([#(#entries),*], [#(#block_entries),*], _, _) = workspace.graph::<#k, #b, #h>(n);
    };
    let infer_blocks = rows::split_blocks(net, Deltas::Unused);
    let infer_steps = net.steps().into_iter().map(|step| match step {
        Step::Layer(layer) => inference_step(net, layer, false),
        Step::Join(block) => rows::join(net, block),
    });

    // Training: the forward pass, each head's delta, the heads back to the trunk, the trunk.
    let step = rows::next_mask_step(net);
    let take = rows::take_workspace(net, Deltas::Kept);
    let split = rows::split_rows(net, Deltas::Kept);
    let forward = rows::forward_train(net);
    let typed_targets: Vec<TokenStream> = net
        .heads
        .iter()
        .map(|head| {
            let (y, ty) = (head.y(), output_of(net, head).width().typenum());
            quote! { let #y = #rt::rows_of::<#ty>(#y, n); }
        })
        .collect();
    let trunk_out = net.chain_output(&net.nodes);
    let trunk_dest = Dest::of(trunk_out);
    let scratch = match &trunk_dest {
        Dest::Write { .. } if net.heads.len() > 1 => {
            let ty = trunk_out.width().typenum();
            Some(quote! { let h = #rt::rows_of::<#ty>(h, n); })
        }
        _ => None,
    };
    let scratch_ident = format_ident!("h");
    let mut backward = TokenStream::new();
    for (i, head) in net.heads.iter().enumerate() {
        let out = output_of(net, head);
        let (act, z, a, d, y) = (out.act_type(), out.z(), out.a(), out.d(), head.y());
        let (field, p, il) = (&head.name, loss_param(head), Literal::usize_unsuffixed(i));
        let comment = format!(
            " head `{field}`: δ{k} = w·∂L_{field}/∂z{k}, its own loss's delta times its weight",
            k = out.index
        );
        let mean = format_ident!("loss_{}", head.name.unraw());
        backward.extend(quote! {
            #[doc = #comment]
            let #mean = <#p as #rt::LossGradient<#act>>::delta_rows(&loss.#field.0, #z, #a, #y, #d);
            #rt::scale_rows(#d, loss.#field.1);
            losses[#il] = #mean;
        });
        match &trunk_dest {
            Dest::Write { rows, symbol } if i > 0 => {
                let into = Dest::Write {
                    rows: scratch_ident.clone(),
                    symbol: format!("{symbol} (head `{field}`'s part, in h)"),
                };
                backward.extend(chain_backward(net, &head.nodes, &into, &losses));
                let comment = format!(
                    " heads: ∂L/∂{symbol} += head `{field}`'s part: the heads' gradients are \
                     summed here"
                );
                backward.extend(quote! {
                    #[doc = #comment]
                    #rt::add_rows(#rows, h);
                });
            }
            _ => backward.extend(chain_backward(net, &head.nodes, &trunk_dest, &losses)),
        }
    }
    backward.extend(chain_backward(net, &net.nodes, &Dest::Discard, &losses));

    let loss_take = rows::take_workspace(net, Deltas::Unused);
    let loss_split = rows::split_rows(net, Deltas::Unused);
    let loss_forward = rows::forward_train(net);
    let head_means = net.heads.iter().enumerate().map(|(i, head)| {
        let out = output_of(net, head);
        let (act, z, a, y) = (out.act_type(), out.z(), out.a(), head.y());
        let (field, p, il) = (&head.name, loss_param(head), Literal::usize_unsuffixed(i));
        quote! {
            losses[#il] = <#p as #rt::Loss<#act>>::mean_rows(&loss.#field.0, #z, #a, #y);
        }
    });
    quote! {
        #[doc(hidden)]
        impl #rt::HeadRows for #name {
            type In = #x_ty;
            const HEADS: usize = #heads_count;

            #[allow(unused_doc_comments)]
            fn forward_heads(
                &self,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                workspace: &mut #rt::Workspace<Self>,
            ) {
                let n = x.len();
                #infer_take
                #(#infer_blocks)*
                #(#infer_steps)*
            }
        }

        #[doc(hidden)]
        impl<#(#params),*> #rt::HeadsGradient<#losses> for #name
        where
            #(#training,)*
        {
            /// Backprop over a non-empty batch whose targets are in the workspace: the forward
            /// pass keeping every layer's `z` and `a`, each head's delta from its own loss, the
            /// chain rule back through each head to the trunk (the heads' gradients summed
            /// there), then through the trunk.
            #[inline]
            #[allow(unused_doc_comments)]
            fn gradient_heads(
                &self,
                loss: #losses,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                losses: &mut [f32],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) {
                let n = x.len();
                #step
                #take
                #(#split)*
                #(#typed_targets)*
                #scratch
                #(#forward)*
                #backward
            }
        }

        #[doc(hidden)]
        impl<#(#params),*> #rt::HeadsLoss<#losses> for #name
        where
            #(#evaluation,)*
        {
            #[inline]
            #[allow(unused_doc_comments)]
            fn loss_heads(
                &self,
                loss: #losses,
                x: &[#rt::generic_array::GenericArray<f32, #x_ty>],
                losses: &mut [f32],
                workspace: &mut #rt::Workspace<Self>,
            ) {
                let n = x.len();
                #loss_take
                #(#loss_split)*
                #(#typed_targets)*
                #(#loss_forward)*
                #(#head_means)*
            }
        }
    }
}
