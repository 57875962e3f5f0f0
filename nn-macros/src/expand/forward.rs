//! The forward passes: one sample (`forward`), one sample keeping every layer's output
//! (`forward_all`), and a batch (`forward_batch`). Each is one call per layer, in order, on the
//! previous layer's output.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::expand::custom;
use crate::expand::rows;
use crate::expand::structs::{activation_on_heap, activations_path};
use crate::expand::tokens::{input_param, inputs_param, method, outputs_param, rt};
use crate::model::{Act, Layer, Network};
use crate::prop::{Input, LayerNames, Step, STACK_WIDTH_LIMIT};

/// `fn forward(&self, input: &[f32; IN]) -> [f32; OUT]`, on stack buffers (heap buffers for
/// very wide hidden layers).
pub fn forward(net: &Network) -> TokenStream {
    let method = method(net, "forward");
    let input = input_param(net);
    let out = net.output_layer();
    let (out_lit, out_a) = (out.width().lit(), out.a());
    if !net.is_dense_only() {
        let rt = rt();
        return quote! {
            /// The forward pass of one sample (inference: no dropout, running statistics), as a
            /// batch of one in a workspace of its own. In a loop, use
            /// [`forward_batch`](Self::forward_batch) with a workspace you keep.
            pub fn #method(&self, #input) -> [f32; #out_lit] {
                let mut workspace = #rt::Workspace::<Self>::new();
                let mut out = [[0.0f32; #out_lit]];
                match self.forward_batch(::core::slice::from_ref(input), &mut out, &mut workspace) {
                    Ok(()) => out[0],
                    Err(_) => unreachable!("one input row and one output row always match"),
                }
            }
        };
    }
    let steps = net.layers.iter().map(|layer| forward_step(net, layer));
    quote! {
        /// The forward pass of one sample: each layer's `f(W·a + b)` in turn.
        #[inline]
        #[allow(unused_doc_comments)]
        pub fn #method(&self, #input) -> [f32; #out_lit] {
            #(#steps)*
            #out_a
        }
    }
}

/// `let mut a2 = [0.0f32; 1]; self.out.forward(a1, &mut a2);` with the layer's formula in a
/// comment.
fn forward_step(net: &Network, layer: &Layer) -> TokenStream {
    let rt = rt();
    let (field, a, w) = (&layer.field, layer.a(), layer.width().lit());
    let from = layer.input_of(net);
    let comment = format!(
        " {}: {a} = {}(W{i}·{} + b{i})",
        layer.label(),
        layer.act().map(Act::name).unwrap_or_default(),
        from.symbol(),
        i = layer.index
    );
    let (decl, out) = if layer.sample_on_heap() {
        (
            quote!(let mut #a = #rt::zeroed_box::<f32, #w>();),
            quote!(&mut *#a),
        )
    } else {
        (quote!(let mut #a = [0.0f32; #w];), quote!(&mut #a))
    };
    let input = from.sample();
    quote! {
        #[doc = #comment]
        #decl
        self.#field.forward(#rt::array(#input), #rt::array_mut(#out));
    }
}

/// `fn forward_all(&self, input: &[f32; IN]) -> NameActivations`: each layer writes its field of
/// the activations struct and the next one reads it.
pub fn forward_all(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "forward_all");
    let input = input_param(net);
    let acts = activations_path(net);
    let init = net.steps().into_iter().map(|step| {
        let (field, width) = match step {
            Step::Layer(layer) => (&layer.field, layer.width()),
            Step::Join(block) => (&block.field, &block.out),
        };
        let w = width.lit();
        if matches!(step, Step::Layer(layer) if layer.is_path()) {
            quote!(#field: ::std::vec![0.0f32; #w].into_boxed_slice())
        } else if width.value > STACK_WIDTH_LIMIT {
            quote!(#field: #rt::zeroed_box::<f32, #w>())
        } else {
            quote!(#field: [0.0f32; #w])
        }
    });
    if !net.is_dense_only() {
        let count = Literal::usize_unsuffixed(net.layers.len());
        let out = net.output_layer();
        let (out_field, out_lit) = (&out.field, out.width().lit());
        let store_out = if activation_on_heap(out) {
            quote!(*all.#out_field = out[0];)
        } else {
            quote!(all.#out_field = out[0];)
        };
        let count = if net.has_path_layers() {
            custom::buffer_count(net)
        } else {
            quote!(#count)
        };
        let copies = net.hidden_layers().iter().enumerate().map(|(k, layer)| {
            let (field, w) = (&layer.field, layer.width().lit());
            let k = if net.has_path_layers() {
                custom::last_buffer(net, layer)
            } else {
                let k = Literal::usize_unsuffixed(k);
                quote!(#k)
            };
            quote! { all.#field.copy_from_slice(&layers[#k].a[..#w]); }
        });
        let block_copies = net.blocks.iter().enumerate().map(|(k, block)| {
            let (field, k, w) = (&block.field, Literal::usize_unsuffixed(k), block.out.lit());
            quote! { all.#field[..].copy_from_slice(&blocks[#k].out[..#w]); }
        });
        let take = if net.is_chain() {
            quote! { let layers = workspace.layers::<#count>(1); }
        } else {
            let b = Literal::usize_unsuffixed(net.blocks.len());
            let h = Literal::usize_unsuffixed(net.heads.len());
            quote! { let (layers, blocks, _, _) = workspace.graph::<#count, #b, #h>(1); }
        };
        return quote! {
            /// The forward pass of one sample (inference), returning every layer's output.
            #[allow(clippy::large_stack_arrays)]
            pub fn #method(&self, #input) -> #acts {
                let mut workspace = #rt::Workspace::<Self>::new();
                let mut out = [[0.0f32; #out_lit]];
                if self.forward_batch(::core::slice::from_ref(input), &mut out, &mut workspace).is_err() {
                    unreachable!("one input row and one output row always match");
                }
                let mut all = #acts { #(#init,)* };
                #take
                #(#copies)*
                #(#block_copies)*
                #store_out
                all
            }
        };
    }
    let steps = net.layers.iter().map(|layer| {
        let field = &layer.field;
        let input = match layer.input_of(net) {
            Input::Network(_) => quote!(input),
            // Only a chain's one-sample pass is written out; a graph's runs as a batch of one.
            Input::Block(block) => {
                let field = &block.field;
                quote!(&all.#field)
            }
            Input::Layer(prev) => {
                let prev_field = &prev.field;
                if activation_on_heap(prev) {
                    quote!(&*all.#prev_field)
                } else {
                    quote!(&all.#prev_field)
                }
            }
        };
        let out = if activation_on_heap(layer) {
            quote!(&mut *all.#field)
        } else {
            quote!(&mut all.#field)
        };
        quote! { self.#field.forward(#rt::array(#input), #rt::array_mut(#out)); }
    });
    let doc = format!(
        " The forward pass of one sample, returning every layer's output (boxed for layers \
         wider than {STACK_WIDTH_LIMIT}, so the result is small whatever the widths)."
    );
    quote! {
        #[doc = #doc]
        #[allow(clippy::large_stack_arrays)]
        pub fn #method(&self, #input) -> #acts {
            let mut all = #acts { #(#init,)* };
            #(#steps)*
            all
        }
    }
}

/// `fn forward_batch(&self, inputs, outputs, workspace)`: the hidden layers' rows in the
/// workspace, the output layer's straight into `outputs`.
pub fn forward_batch(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "forward_batch");
    let (inputs, outputs) = (inputs_param(net), outputs_param(net));
    // Inference leaves the output layer's workspace entry unused.
    let entries = net.layers.iter().map(|layer| {
        if layer.is_output() {
            quote!(_)
        } else {
            let entry = layer.entry();
            quote!(#entry)
        }
    });
    let take = if net.has_path_layers() {
        let count = custom::buffer_count(net);
        custom::take_buffers(net, quote!(workspace.layers::<#count>(n)), true)
    } else {
        rows::take_entries(net, entries, rows::Deltas::Unused)
    };
    let blocks = rows::split_blocks(net, rows::Deltas::Unused);
    let steps = net.steps().into_iter().map(|step| {
        let layer = match step {
            Step::Layer(layer) => layer,
            Step::Join(block) => return rows::join(net, block),
        };
        inference_step(net, layer, layer.is_output())
    });
    quote! {
        /// The forward pass of a batch into `outputs` (one row per input), with the hidden
        /// layers' outputs in `workspace`; inference (no dropout, running statistics).
        /// Allocates nothing once the workspace has held a batch this large.
        ///
        /// # Errors
        ///
        /// `Error::BatchMismatch` if `outputs` does not have one row per input.
        #[allow(unused_doc_comments)]
        pub fn #method(
            &self,
            #inputs,
            #outputs,
            workspace: &mut #rt::Workspace<Self>,
        ) -> ::core::result::Result<(), #rt::Error> {
            let n = #rt::check_outputs(inputs.len(), outputs.len())?;
            if n == 0 {
                return Ok(());
            }
            #take
            let x = #rt::rows(inputs);
            #(#blocks)*
            #(#steps)*
            Ok(())
        }
    }
}

/// One layer's inference step in a batch body: `self.l.forward_rows(input, a)` into its
/// workspace rows, or with `to_outputs` straight into the caller's `outputs`.
pub fn inference_step(net: &Network, layer: &Layer, to_outputs: bool) -> TokenStream {
    if layer.is_path() {
        return custom::forward_step(net, layer, false);
    }
    let rt = rt();
    let prelude = custom::input_prelude(net, layer, false);
    let (field, input) = (&layer.field, layer.input_of(net).rows());
    let (entry, a, ty) = (layer.entry(), layer.a(), layer.width().typenum());
    if to_outputs {
        quote! { #prelude self.#field.forward_rows(#input, #rt::rows_mut(outputs)); }
    } else if layer.is_dense() {
        quote! {
            #prelude
            let (_, #a, _) = #entry.rows::<#ty>(n);
            self.#field.forward_rows(#input, #a);
        }
    } else {
        let aux = layer.aux();
        let comment = format!(
            " {}: `{}`",
            layer.label(),
            layer.declaration(LayerNames::Omitted)
        );
        quote! {
            #[doc = #comment]
            #prelude
            let (_, #a, _, #aux) = #entry.parts::<#ty>(n);
            #rt::Layer::forward_rows(&self.#field, #input, #a, #aux);
        }
    }
}

/// The inference pass of a network used as a layer of another (a chain), over the buffer sets
/// it is given (`impl nn::Layer`'s `forward_rows`): the output layer's rows into its own set.
pub fn layer_forward_rows(net: &Network) -> TokenStream {
    let steps = net
        .layers
        .iter()
        .map(|layer| inference_step(net, layer, false));
    quote! { #(#steps)* }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use crate::check::check;

    #[test]
    fn wide_hidden_samples_live_on_the_heap_and_the_output_is_an_array() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct W: 2 -> 5000 relu -> 3 relu -> 5000 linear;
        }));
        assert!(errors.is_ok());
        let code = forward(&nets[0]).to_string();
        let heap = quote!(let mut a1 = ::nn::__private::zeroed_box::<f32, 5000>();).to_string();
        let reads_heap = quote!(::nn::__private::array(&*a1)).to_string();
        let stack = quote!(let mut a3 = [0.0f32; 5000];).to_string();
        assert!(code.contains(&heap), "{code}");
        assert!(code.contains(&reads_heap), "{code}");
        assert!(code.contains(&stack), "{code}");
        assert_eq!(code.matches("zeroed_box").count(), 1, "{code}");
    }

    #[test]
    fn wide_layers_of_forward_all_live_on_the_heap_output_included() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct W: 2 -> 5000 relu -> 3 relu -> 5000 linear;
        }));
        assert!(errors.is_ok());
        let code = forward_all(&nets[0]).to_string();
        assert_eq!(code.matches("zeroed_box").count(), 2, "{code}");
        let reads_heap = quote!(::nn::__private::array(&*all.layer1)).to_string();
        let writes_heap = quote!(::nn::__private::array_mut(&mut *all.layer3)).to_string();
        let stack = quote!(layer2: [0.0f32; 3]).to_string();
        assert!(code.contains(&reads_heap), "{code}");
        assert!(code.contains(&writes_heap), "{code}");
        assert!(code.contains(&stack), "{code}");
        let structs = crate::expand::structs::activations_struct(&nets[0]).to_string();
        assert!(structs.contains(&quote!(pub layer1: ::std::boxed::Box<[f32; 5000]>).to_string()));
        assert!(!structs.contains("Copy"), "{structs}");
    }
}
