//! The public training and evaluation methods, `gradient`, `gradient_batch`, `loss` and
//! `loss_batch`: each checks or adapts its arguments and calls the batch body in
//! [`backprop`](super::backprop) or [`loss`](super::loss).

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::bounds;
use crate::expand::tokens::{input_param, inputs_param, method, rt, target_param, targets_param};
use crate::model::Network;

/// `fn gradient<L>(&self, loss, input, target, grads, workspace) -> f32`: one sample as a batch
/// of one.
pub fn gradient(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "gradient");
    let (input, target) = (input_param(net), target_param(net));
    let bounds = bounds::training(net);
    quote! {
        /// The gradient of `loss` on one sample with respect to every weight and bias,
        /// written into `grads` (overwriting it); returns the loss.
        pub fn #method<L>(
            &self,
            loss: L,
            #input,
            #target,
            grads: &mut Self,
            workspace: &mut #rt::Workspace<Self>,
        ) -> f32
        where
            #(#bounds,)*
        {
            #rt::GradientRows::gradient_rows(
                self,
                loss,
                ::core::slice::from_ref(#rt::array(input)),
                ::core::slice::from_ref(#rt::array(target)),
                grads,
                workspace,
            )
        }
    }
}

/// `fn train_step<L, O>(&mut self, loss, input, target, optimizer, grads, workspace) -> f32`:
/// a batch-1 step with the first layer's weight gradient fused into the optimizer's update
/// (for a chain whose first layer is dense; nothing otherwise).
pub fn train_step(net: &Network) -> TokenStream {
    if !net.fuses_first_layer() {
        return TokenStream::new();
    }
    let rt = rt();
    let method = method(net, "train_step");
    let (input, target) = (input_param(net), target_param(net));
    let bounds = bounds::training(net);
    quote! {
        /// One training step on one sample: [`gradient`](Self::gradient), then
        /// `optimizer`'s step, with the first layer's weight gradient computed value by value
        /// as the optimizer updates each weight instead of written into `grads` and read back
        /// (see `nn::FusedStep`). The weights end bit for bit as `gradient` then
        /// `optimizer.step` leave them; `grads` holds every gradient but the first layer's
        /// weights, which it leaves as they were. Returns the loss.
        pub fn #method<L, O>(
            &mut self,
            loss: L,
            #input,
            #target,
            optimizer: &mut O,
            grads: &mut Self,
            workspace: &mut #rt::Workspace<Self>,
        ) -> f32
        where
            #(#bounds,)*
            O: #rt::FusedStep<Self>,
        {
            workspace.defer_first_weights(true);
            let loss = #rt::GradientRows::gradient_rows(
                self,
                loss,
                ::core::slice::from_ref(#rt::array(input)),
                ::core::slice::from_ref(#rt::array(target)),
                grads,
                workspace,
            );
            workspace.defer_first_weights(false);
            optimizer.step_fused_first(self, grads, workspace.deltas(0, 1), input);
            loss
        }
    }
}

/// `fn gradient_batch<L>(&self, loss, inputs, targets, grads, workspace)`: the batch checked,
/// then backprop.
pub fn gradient_batch(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "gradient_batch");
    let (inputs, targets) = (inputs_param(net), targets_param(net));
    let bounds = bounds::training(net);
    quote! {
        /// The gradient of the mean `loss` over a batch with respect to every weight and
        /// bias, written into `grads` (overwriting it); returns the mean loss. Allocates
        /// nothing once the workspace has held a batch this large.
        ///
        /// # Errors
        ///
        /// `Error::EmptyBatch` for no samples, `Error::BatchMismatch` if `targets` does not
        /// have one row per input.
        pub fn #method<L>(
            &self,
            loss: L,
            #inputs,
            #targets,
            grads: &mut Self,
            workspace: &mut #rt::Workspace<Self>,
        ) -> ::core::result::Result<f32, #rt::Error>
        where
            #(#bounds,)*
        {
            #rt::check_batch(inputs.len(), targets.len())?;
            Ok(#rt::GradientRows::gradient_rows(
                self,loss, #rt::rows(inputs), #rt::rows(targets), grads, workspace))
        }
    }
}

/// `fn loss<L>(&self, loss, input, target) -> f32`: one sample, with a workspace of its own.
pub fn loss(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "loss");
    let (input, target) = (input_param(net), target_param(net));
    let bound = bounds::evaluation(net);
    quote! {
        /// The `loss` of one sample. Allocates a small workspace on each call: in a loop,
        /// use [`loss_batch`](Self::loss_batch) with a workspace you keep.
        pub fn #method<L>(&self, loss: L, #input, #target) -> f32
        where
            #bound,
        {
            let mut workspace = #rt::Workspace::<Self>::new();
            #rt::LossRows::loss_rows(
                self,
                loss,
                ::core::slice::from_ref(#rt::array(input)),
                ::core::slice::from_ref(#rt::array(target)),
                &mut workspace,
            )
        }
    }
}

/// `fn loss_batch<L>(&self, loss, inputs, targets, workspace)`: the batch checked, then the
/// mean loss.
pub fn loss_batch(net: &Network) -> TokenStream {
    let rt = rt();
    let method = method(net, "loss_batch");
    let (inputs, targets) = (inputs_param(net), targets_param(net));
    let bound = bounds::evaluation(net);
    quote! {
        /// The mean `loss` over a batch, without gradients.
        ///
        /// # Errors
        ///
        /// As for [`gradient_batch`](Self::gradient_batch).
        pub fn #method<L>(
            &self,
            loss: L,
            #inputs,
            #targets,
            workspace: &mut #rt::Workspace<Self>,
        ) -> ::core::result::Result<f32, #rt::Error>
        where
            #bound,
        {
            #rt::check_batch(inputs.len(), targets.len())?;
            Ok(#rt::LossRows::loss_rows(
                self,loss, #rt::rows(inputs), #rt::rows(targets), workspace))
        }
    }
}
