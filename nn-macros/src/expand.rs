//! Writes the Rust code of checked networks. Cannot fail.
//!
//! For each network: the struct (one `Dense` field per layer), a struct of every layer's
//! activation, the inherent methods with literal array sizes in their signatures, and the
//! `Network` and `Train` impls. Forward and backward are straight-line: one call per layer, in
//! order and then in reverse, each with the chain-rule step it performs in a comment.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::check::{Act, Layer, Network};

/// Layers wider than this keep their per-sample buffers on the heap, not the stack.
const STACK_WIDTH_LIMIT: usize = 4096;

/// The code of every network of an invocation.
pub fn expand(networks: &[Network]) -> TokenStream {
    networks.iter().map(expand_network).collect()
}

/// The path of the runtime's hidden module.
fn rt() -> TokenStream {
    quote!(::nn::__private)
}

/// A width as a literal carrying the user's span, so rustc's errors point at their `784`.
fn lit(width: &crate::check::Width) -> Literal {
    let mut l = Literal::usize_unsuffixed(width.value);
    l.set_span(width.span);
    l
}

/// The typenum type of `n`: `U{n}` where typenum names it, else built bit by bit as
/// `UInt<UInt<UTerm, B1>, B0>...`, which works for any width.
pub fn typenum(n: usize, span: Span) -> TokenStream {
    let rt = rt();
    if n <= 1024 {
        let name = format_ident!("U{}", n, span = span);
        return quote_spanned!(span=> #rt::typenum::#name);
    }
    let mut ty = quote_spanned!(span=> #rt::typenum::UTerm);
    for bit in (0..usize::BITS - n.leading_zeros()).rev() {
        let b = if (n >> bit) & 1 == 1 {
            quote!(B1)
        } else {
            quote!(B0)
        };
        ty = quote_spanned!(span=> #rt::typenum::UInt<#ty, #rt::typenum::#b>);
    }
    ty
}

/// The runtime's hidden module with every token at `span`, so that a trait bound written with
/// it is reported at the user's token.
fn rt_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::nn::__private)
}

fn act_type(act: Act, span: Span) -> TokenStream {
    let rt = rt_at(span);
    let name = Ident::new(act.type_name(), span);
    quote_spanned!(span=> #rt::#name)
}

struct Names<'a> {
    layer: &'a Layer,
    /// The typenum type of the layer's input width.
    in_ty: TokenStream,
    /// The typenum type of the layer's width.
    out_ty: TokenStream,
    /// `a1`, `z1`, `d1`, `l1` (workspace entry).
    a: Ident,
    z: Ident,
    d: Ident,
    ws: Ident,
    /// "layer 2 `out`" for comments.
    label: String,
    /// The input's width as a number.
    in_width: usize,
}

fn names(net: &Network) -> Vec<Names<'_>> {
    let mut prev = net.input.clone();
    net.layers
        .iter()
        .map(|layer| {
            let i = layer.index;
            let n = Names {
                layer,
                in_ty: typenum(prev.value, prev.span),
                out_ty: typenum(layer.width.value, layer.width.span),
                a: format_ident!("a{}", i),
                z: format_ident!("z{}", i),
                d: format_ident!("d{}", i),
                ws: format_ident!("l{}", i),
                label: if layer.named {
                    format!("layer {i} `{}`", layer.field)
                } else {
                    format!("layer {i}")
                },
                in_width: prev.value,
            };
            prev = layer.width.clone();
            n
        })
        .collect()
}

fn expand_network(net: &Network) -> TokenStream {
    let rt = rt();
    let Network {
        attrs, vis, name, ..
    } = net;
    let layers = names(net);
    let count = layers.len();
    let out = &layers[count - 1];
    let in_lit = lit(&net.input);
    let out_lit = lit(&out.layer.width);
    let out_act = act_type(out.layer.act, out.layer.act_span);
    let acts_name = format_ident!("{}Activations", name);
    let fields: Vec<&Ident> = layers.iter().map(|l| &l.layer.field).collect();
    let count_lit = Literal::usize_unsuffixed(count);
    let shape = shape_text(net);

    // The struct and its layer fields.
    let field_defs = layers.iter().map(|l| {
        let (field, in_ty, out_ty) = (&l.layer.field, &l.in_ty, &l.out_ty);
        let act = act_type(l.layer.act, l.layer.act_span);
        let doc = format!(
            " Layer {}: {} inputs to {} {}, `{}`.",
            l.layer.index,
            l.in_width,
            l.layer.width.value,
            if l.layer.width.value == 1 {
                "neuron"
            } else {
                "neurons"
            },
            l.layer.act.name()
        );
        quote! {
            #[doc = #doc]
            pub #field: #rt::Dense<#in_ty, #out_ty, #act>
        }
    });

    let acts_fields = layers.iter().map(|l| {
        let (field, w) = (&l.layer.field, lit(&l.layer.width));
        let doc = format!(" The output of {}, `{}`.", l.label, l.layer.act.name());
        quote! { #[doc = #doc] pub #field: [f32; #w] }
    });
    let acts_doc = format!(" Every layer's output from one forward pass of [`{name}`].");

    let widths: Vec<Literal> = layers
        .iter()
        .map(|l| Literal::usize_unsuffixed(l.layer.width.value))
        .collect();
    let layer_names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let act_names: Vec<&str> = layers.iter().map(|l| l.layer.act.name()).collect();
    let layer_shapes = net.layers.iter().enumerate().map(|(k, l)| {
        let name = l.field.to_string();
        let inputs = Literal::usize_unsuffixed(if k == 0 {
            net.input.value
        } else {
            net.layers[k - 1].width.value
        });
        let outputs = Literal::usize_unsuffixed(l.width.value);
        let kind = Ident::new(l.act.type_name(), Span::call_site());
        quote! { #rt::LayerShape::dense(#name, #inputs, #outputs, #rt::ActivationKind::#kind) }
    });
    let declaration = declaration_text(net);

    // Per-sample forward on stack buffers (heap for very wide layers).
    let forward_steps = layers.iter().enumerate().map(|(k, l)| {
        let (field, a) = (&l.layer.field, &l.a);
        let w = lit(&l.layer.width);
        let comment = format!(
            " {}: {a} = {}(W{i}·{} + b{i})",
            l.label,
            l.layer.act.name(),
            if k == 0 {
                "x".to_string()
            } else {
                format!("a{}", k)
            },
            i = l.layer.index
        );
        let input = if k == 0 {
            quote!(input)
        } else {
            let prev = &layers[k - 1];
            let pa = &prev.a;
            if prev.layer.width.value > STACK_WIDTH_LIMIT {
                quote!(&*#pa)
            } else {
                quote!(&#pa)
            }
        };
        let (decl, out) = if k == count - 1 || l.layer.width.value <= STACK_WIDTH_LIMIT {
            (quote!(let mut #a = [0.0f32; #w];), quote!(&mut #a))
        } else {
            (
                quote!(let mut #a = #rt::zeroed_box::<#w>();),
                quote!(&mut *#a),
            )
        };
        quote! {
            #[doc = #comment]
            #decl
            self.#field.forward(#rt::array(#input), #rt::array_mut(#out));
        }
    });
    let last_a = &out.a;

    let forward_all_steps = layers.iter().enumerate().map(|(k, l)| {
        let field = &l.layer.field;
        let input = if k == 0 {
            quote!(input)
        } else {
            let pf = &layers[k - 1].layer.field;
            quote!(&all.#pf)
        };
        quote! { self.#field.forward(#rt::array(#input), #rt::array_mut(&mut all.#field)); }
    });

    // Workspace destructuring shared by the batch methods.
    let ws_idents: Vec<&Ident> = layers.iter().map(|l| &l.ws).collect();
    let take_ws = quote! { let [#(#ws_idents),*] = workspace.layers::<#count_lit>(n); };
    let split_rows = layers.iter().map(|l| {
        let (ws, z, a, d, ty) = (&l.ws, &l.z, &l.a, &l.d, &l.out_ty);
        quote! { let (#z, #a, #d) = #ws.rows::<#ty>(n); }
    });
    let split_rows: Vec<TokenStream> = split_rows.collect();
    let split_rows_no_delta: Vec<TokenStream> = layers
        .iter()
        .map(|l| {
            let (ws, z, a, ty) = (&l.ws, &l.z, &l.a, &l.out_ty);
            quote! { let (#z, #a, _) = #ws.rows::<#ty>(n); }
        })
        .collect();
    let in_ty_full = typenum(net.input.value, net.input.span);
    let out_ty_full = out.out_ty.clone();
    // Inference leaves the output layer's workspace entry unused.
    let infer_ws = layers.iter().enumerate().map(|(k, l)| {
        if k == count - 1 {
            quote!(_)
        } else {
            let ws = &l.ws;
            quote!(#ws)
        }
    });
    let take_ws_infer = quote! { let [#(#infer_ws),*] = workspace.layers::<#count_lit>(n); };

    // Batch inference: hidden layers into the workspace, the output layer into `outputs`.
    let infer_steps = layers.iter().enumerate().map(|(k, l)| {
        let field = &l.layer.field;
        let input = if k == 0 {
            quote!(x)
        } else {
            let pa = &layers[k - 1].a;
            quote!(#pa)
        };
        if k == count - 1 {
            quote! { self.#field.forward_rows(#input, #rt::rows_mut(outputs)); }
        } else {
            let (ws, a, ty) = (&l.ws, &l.a, &l.out_ty);
            quote! {
                let (_, #a, _) = #ws.rows::<#ty>(n);
                self.#field.forward_rows(#input, #a);
            }
        }
    });

    // Training forward: keep z and a of every layer.
    let train_forward: Vec<TokenStream> = layers
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let (field, z, a) = (&l.layer.field, &l.z, &l.a);
            let input = if k == 0 {
                quote!(x)
            } else {
                let pa = &layers[k - 1].a;
                quote!(#pa)
            };
            let comment = format!(
                " {}: z{i} = W{i}·{} + b{i}, a{i} = {}(z{i})",
                l.label,
                if k == 0 {
                    "x".to_string()
                } else {
                    format!("a{}", k)
                },
                l.layer.act.name(),
                i = l.layer.index
            );
            quote! {
                #[doc = #comment]
                self.#field.forward_train(#input, #z, #a);
            }
        })
        .collect();

    // Backward, in reverse layer order.
    let backward_steps = layers.iter().enumerate().rev().map(|(k, l)| {
        let (field, d) = (&l.layer.field, &l.d);
        let i = l.layer.index;
        let mut step = TokenStream::new();
        if k != count - 1 {
            let (z, a) = (&l.z, &l.a);
            let comment = format!(
                " {}: δ{i} = ∂L/∂a{i} ⊙ {}'(z{i})",
                l.label,
                l.layer.act.name()
            );
            step.extend(quote! {
                #[doc = #comment]
                self.#field.activation_backward::<L>(#z, #a, #d);
            });
        }
        if k == 0 {
            let comment = format!(
                " {}: ∂L/∂W{i} = δ{i}·xᵀ, ∂L/∂b{i} = δ{i} (no input gradient: nothing consumes it)",
                l.label
            );
            step.extend(quote! {
                #[doc = #comment]
                self.#field.backward_rows(x, #d, &mut grads.#field, None);
            });
        } else {
            let prev = &layers[k - 1];
            let (pa, pd) = (&prev.a, &prev.d);
            let comment = format!(
                " {}: ∂L/∂W{i} = δ{i}·a{p}ᵀ, ∂L/∂b{i} = δ{i}, ∂L/∂a{p} = W{i}ᵀ·δ{i}",
                l.label,
                p = prev.layer.index
            );
            step.extend(quote! {
                #[doc = #comment]
                self.#field.backward_rows(#pa, #d, &mut grads.#field, Some(#pd));
            });
        }
        step
    });
    let (out_z, out_d) = (&out.z, &out.d);
    let out_field = &out.layer.field;
    let delta_comment = format!(
        " output: δ{n} = ∂L/∂z{n} (the fused a - y for softmax with cross-entropy or sigmoid with \
         binary cross-entropy)",
        n = count
    );

    // Bounds of the training methods: the loss fits the output layer, every hidden activation
    // has a gradient. Checked where the methods are called, so a `step` network still compiles.
    let out_span = out.layer.act_span;
    let out_rt = rt_at(out_span);
    let mut bounds: Vec<TokenStream> =
        vec![quote_spanned!(out_span=> L: #out_rt::LossGradient<#out_act>)];
    let mut seen: Vec<Act> = Vec::new();
    for l in &layers[..count - 1] {
        if !seen.contains(&l.layer.act) {
            seen.push(l.layer.act);
            let span = l.layer.act_span;
            let (act, rt_here) = (act_type(l.layer.act, span), rt_at(span));
            bounds.push(quote_spanned!(span=> #act: #rt_here::Differentiable<L>));
        }
    }
    let eval_bound = quote_spanned!(out_span=> L: #out_rt::Loss<#out_act>);
    // The public methods' names carry the struct name's span and their array parameters the
    // span of the user's width literal, so "method defined here" notes point at the declaration.
    let span_of_name = name.span();
    let m_forward = Ident::new("forward", span_of_name);
    let m_gradient = Ident::new("gradient", span_of_name);
    let m_gradient_batch = Ident::new("gradient_batch", span_of_name);
    let m_loss = Ident::new("loss", span_of_name);
    let m_loss_batch = Ident::new("loss_batch", span_of_name);
    let m_forward_batch = Ident::new("forward_batch", span_of_name);
    let m_forward_all = Ident::new("forward_all", span_of_name);
    let (in_span, out_lit_span) = (net.input.span, out.layer.width.span);
    let p_input = quote_spanned!(in_span=> input: &[f32; #in_lit]);
    let p_inputs = quote_spanned!(in_span=> inputs: &[[f32; #in_lit]]);
    let p_target = quote_spanned!(out_lit_span=> target: &[f32; #out_lit]);
    let p_targets = quote_spanned!(out_lit_span=> targets: &[[f32; #out_lit]]);
    let p_outputs = quote_spanned!(out_lit_span=> outputs: &mut [[f32; #out_lit]]);

    let new_fields = fields
        .iter()
        .map(|f| quote!(#f: #rt::Dense::random(&mut rng)));
    let zero_fields = fields.iter().map(|f| quote!(#f: #rt::Dense::zeros()));
    let params = fields.iter().map(|f| quote!(self.#f.parameters()));
    let params_mut = fields.iter().map(|f| quote!(self.#f.parameters_mut()));
    let acts_init = layers.iter().map(|l| {
        let (f, w) = (&l.layer.field, lit(&l.layer.width));
        quote!(#f: [0.0f32; #w])
    });

    let new_doc = format!(
        " A `{shape}` network with weights drawn from `seed` (Xavier/Glorot uniform before \
         `sigmoid`, `tanh`, `linear`, `softmax` and `step`, He uniform before `relu` and \
         `softplus`) and zero biases. The same seed gives the same weights, bit for bit."
    );

    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#field_defs,)*
        }

        #[doc = #acts_doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        #vis struct #acts_name {
            #(#acts_fields,)*
        }

        impl #name {
            /// The number of inputs.
            pub const INPUT: usize = #in_lit;
            /// The number of outputs.
            pub const OUTPUT: usize = #out_lit;

            #[doc = #new_doc]
            #[must_use]
            pub fn new(seed: u64) -> Self {
                let mut rng = #rt::seed_rng(seed);
                Self { #(#new_fields,)* }
            }

            /// A network of this shape with every weight and bias zero: the starting value of a
            /// gradient.
            pub fn zeros() -> Self {
                Self { #(#zero_fields,)* }
            }

            /// The forward pass of one sample: each layer's `f(W·a + b)` in turn.
            #[inline]
            #[allow(unused_doc_comments)]
            pub fn #m_forward(&self, #p_input) -> [f32; #out_lit] {
                #(#forward_steps)*
                #last_a
            }

            /// The forward pass of one sample, returning every layer's output.
            #[allow(clippy::large_stack_arrays)]
            pub fn #m_forward_all(&self, #p_input) -> #acts_name {
                let mut all = #acts_name { #(#acts_init,)* };
                #(#forward_all_steps)*
                all
            }

            /// The forward pass of a batch into `outputs` (one row per input), with the hidden
            /// layers' outputs in `workspace`. Allocates nothing once the workspace has held a
            /// batch this large.
            ///
            /// # Errors
            ///
            /// `Error::BatchMismatch` if `outputs` does not have one row per input.
            pub fn #m_forward_batch(
                &self,
                #p_inputs,
                #p_outputs,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<(), #rt::Error> {
                let n = #rt::check_outputs(inputs.len(), outputs.len())?;
                if n == 0 {
                    return Ok(());
                }
                #take_ws_infer
                let x = #rt::rows(inputs);
                #(#infer_steps)*
                Ok(())
            }

            /// The gradient of `loss` on one sample with respect to every weight and bias,
            /// written into `grads` (overwriting it); returns the loss.
            pub fn #m_gradient<L>(
                &self,
                loss: L,
                #p_input,
                #p_target,
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32
            where
                #(#bounds,)*
            {
                self.__gradient_rows(
                    loss,
                    ::core::slice::from_ref(#rt::array(input)),
                    ::core::slice::from_ref(#rt::array(target)),
                    grads,
                    workspace,
                )
            }

            /// The gradient of the mean `loss` over a batch with respect to every weight and
            /// bias, written into `grads` (overwriting it); returns the mean loss. Allocates
            /// nothing once the workspace has held a batch this large.
            ///
            /// # Errors
            ///
            /// `Error::EmptyBatch` for no samples, `Error::BatchMismatch` if `targets` does not
            /// have one row per input.
            pub fn #m_gradient_batch<L>(
                &self,
                loss: L,
                #p_inputs,
                #p_targets,
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error>
            where
                #(#bounds,)*
            {
                #rt::check_batch(inputs.len(), targets.len())?;
                Ok(self.__gradient_rows(loss, #rt::rows(inputs), #rt::rows(targets), grads, workspace))
            }

            /// Backprop over a non-empty batch with one target per input: the forward pass
            /// keeping every layer's `z` and `a`, then the chain rule layer by layer in reverse.
            #[doc(hidden)]
            #[inline]
            #[allow(unused_doc_comments)]
            pub fn __gradient_rows<L>(
                &self,
                loss: L,
                x: &[#rt::generic_array::GenericArray<f32, #in_ty_full>],
                y: &[#rt::generic_array::GenericArray<f32, #out_ty_full>],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32
            where
                #(#bounds,)*
            {
                let n = x.len();
                #take_ws
                #(#split_rows)*
                #(#train_forward)*
                #[doc = #delta_comment]
                let mean_loss = self.#out_field.loss_delta(&loss, #out_z, #last_a, y, #out_d);
                #(#backward_steps)*
                mean_loss
            }

            /// The `loss` of one sample. Allocates a small workspace on each call: in a loop,
            /// use [`loss_batch`](Self::loss_batch) with a workspace you keep.
            pub fn #m_loss<L>(&self, loss: L, #p_input, #p_target) -> f32
            where
                #eval_bound,
            {
                let mut workspace = #rt::Workspace::<Self>::new();
                self.__loss_rows(
                    loss,
                    ::core::slice::from_ref(#rt::array(input)),
                    ::core::slice::from_ref(#rt::array(target)),
                    &mut workspace,
                )
            }

            /// The mean `loss` over a batch, without gradients.
            ///
            /// # Errors
            ///
            /// As for [`gradient_batch`](Self::gradient_batch).
            pub fn #m_loss_batch<L>(
                &self,
                loss: L,
                #p_inputs,
                #p_targets,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error>
            where
                #eval_bound,
            {
                #rt::check_batch(inputs.len(), targets.len())?;
                Ok(self.__loss_rows(loss, #rt::rows(inputs), #rt::rows(targets), workspace))
            }

            #[doc(hidden)]
            #[inline]
            #[allow(unused_doc_comments)]
            pub fn __loss_rows<L>(
                &self,
                loss: L,
                x: &[#rt::generic_array::GenericArray<f32, #in_ty_full>],
                y: &[#rt::generic_array::GenericArray<f32, #out_ty_full>],
                workspace: &mut #rt::Workspace<Self>,
            ) -> f32
            where
                #eval_bound,
            {
                let n = x.len();
                #take_ws
                #(#split_rows_no_delta)*
                #(#train_forward)*
                self.#out_field.loss_mean(&loss, #out_z, #last_a, y)
            }
        }

        impl #rt::Network for #name {
            const INPUT: usize = #in_lit;
            const OUTPUT: usize = #out_lit;
            const WIDTHS: &'static [usize] = &[#(#widths),*];
            const LAYER_NAMES: &'static [&'static str] = &[#(#layer_names),*];
            const ACTIVATIONS: &'static [&'static str] = &[#(#act_names),*];
            const LAYERS: &'static [#rt::LayerShape] = &[#(#layer_shapes),*];
            const DECLARATION: &'static str = #declaration;
            type Input = [f32; #in_lit];
            type Output = [f32; #out_lit];
            type OutputActivation = #out_act;

            fn zeros() -> Self {
                Self::zeros()
            }

            fn parameters(&self) -> impl Iterator<Item = &[f32]> {
                [#(#params),*].into_iter().flatten()
            }

            fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                [#(#params_mut),*].into_iter().flatten()
            }

            fn forward(&self, input: &Self::Input) -> Self::Output {
                Self::forward(self, input)
            }

            fn forward_batch(
                &self,
                inputs: &[Self::Input],
                outputs: &mut [Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<(), #rt::Error> {
                Self::forward_batch(self, inputs, outputs, workspace)
            }
        }

        impl<L> #rt::Train<L> for #name
        where
            #(#bounds,)*
        {
            fn gradient_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                grads: &mut Self,
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                Self::gradient_batch(self, loss, inputs, targets, grads, workspace)
            }

            fn loss_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                workspace: &mut #rt::Workspace<Self>,
            ) -> ::core::result::Result<f32, #rt::Error> {
                Self::loss_batch(self, loss, inputs, targets, workspace)
            }
        }
    }
}

/// `784 -> 16 sigmoid -> 10 softmax`, for docs.
fn shape_text(net: &Network) -> String {
    let mut s = net.input.value.to_string();
    for l in &net.layers {
        s.push_str(&format!(" -> {} {}", l.width.value, l.act.name()));
    }
    s
}

/// The declaration as `network!` reads it, with layer names where they are not the default
/// `layerN`: `2 -> hidden: 3 tanh -> out: 1 sigmoid`.
fn declaration_text(net: &Network) -> String {
    let mut text = net.input.value.to_string();
    for l in &net.layers {
        text.push_str(" -> ");
        if l.named && l.field != format!("layer{}", l.index) {
            text.push_str(&format!("{}: ", l.field));
        }
        text.push_str(&format!("{} {}", l.width.value, l.act.name()));
    }
    text
}
