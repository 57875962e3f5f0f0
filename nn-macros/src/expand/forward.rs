//! The forward passes: one sample (`forward`), one sample keeping every layer's output
//! (`forward_all`), and a batch (`forward_batch`). Each is one call per layer, in order, on the
//! previous layer's output.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::expand::structs::{activation_on_heap, activations_path};
use crate::expand::tokens::{input_param, inputs_param, method, outputs_param, rt};
use crate::model::{Layer, Network};
use crate::prop::{Input, STACK_WIDTH_LIMIT};

/// `fn forward(&self, input: &[f32; IN]) -> [f32; OUT]`, on stack buffers (heap buffers for
/// very wide hidden layers).
pub fn forward(net: &Network) -> TokenStream {
    let method = method(net, "forward");
    let input = input_param(net);
    let out = net.output_layer();
    let (out_lit, out_a) = (out.width().lit(), out.a());
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
        layer.act().name(),
        from.symbol(),
        i = layer.index
    );
    let (decl, out) = if layer.sample_on_heap() {
        (
            quote!(let mut #a = #rt::zeroed_box::<#w>();),
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
    let init = net.layers.iter().map(|layer| {
        let (field, w) = (&layer.field, layer.width().lit());
        if activation_on_heap(layer) {
            quote!(#field: #rt::zeroed_box::<#w>())
        } else {
            quote!(#field: [0.0f32; #w])
        }
    });
    let steps = net.layers.iter().map(|layer| {
        let field = &layer.field;
        let input = match layer.input_of(net) {
            Input::Network(_) => quote!(input),
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
    let count = Literal::usize_unsuffixed(net.layers.len());
    let steps = net.layers.iter().map(|layer| {
        let (field, input) = (&layer.field, layer.input_of(net).rows());
        if layer.is_output() {
            quote! { self.#field.forward_rows(#input, #rt::rows_mut(outputs)); }
        } else {
            let (entry, a, ty) = (layer.entry(), layer.a(), layer.width().typenum());
            quote! {
                let (_, #a, _) = #entry.rows::<#ty>(n);
                self.#field.forward_rows(#input, #a);
            }
        }
    });
    quote! {
        /// The forward pass of a batch into `outputs` (one row per input), with the hidden
        /// layers' outputs in `workspace`. Allocates nothing once the workspace has held a
        /// batch this large.
        ///
        /// # Errors
        ///
        /// `Error::BatchMismatch` if `outputs` does not have one row per input.
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
            let [#(#entries),*] = workspace.layers::<#count>(n);
            let x = #rt::rows(inputs);
            #(#steps)*
            Ok(())
        }
    }
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
        let heap = quote!(let mut a1 = ::nn::__private::zeroed_box::<5000>();).to_string();
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
