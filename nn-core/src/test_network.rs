//! Networks written out by hand for nn-core's own unit tests, which cannot use `network!`: the
//! code it writes names `::nn`, the facade crate that depends on this one. Each is what the macro
//! writes for a one-layer network, cut down to the trait impls.

use crate::__private::{array, array_mut, check_batch, rows, rows_mut};
use crate::dense::Dense;
use crate::error::Error;
use crate::loss::LossGradient;
use crate::network::{Network, Train, Workspace};

/// `single_layer!(Name: IN (UIN) -> OUT (UOUT) Activation)`: a network of one dense layer,
/// named `layer`.
macro_rules! single_layer {
    ($(#[$meta:meta])* $name:ident: $i:literal ($ui:ty) -> $o:literal ($uo:ty) $act:ty) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            pub layer: Dense<$ui, $uo, $act>,
        }

        impl Network for $name {
            const INPUT: usize = $i;
            const OUTPUT: usize = $o;
            const WIDTHS: &'static [usize] = &[$o];
            const LAYER_NAMES: &'static [&'static str] = &["layer"];
            const ACTIVATIONS: &'static [&'static str] = &[stringify!($act)];
            type Input = [f32; $i];
            type Output = [f32; $o];
            type OutputActivation = $act;

            fn zeros() -> Self {
                Self { layer: Dense::zeros() }
            }

            fn parameters(&self) -> impl Iterator<Item = &[f32]> {
                self.layer.parameters().into_iter()
            }

            fn parameters_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
                self.layer.parameters_mut().into_iter()
            }

            fn forward(&self, input: &Self::Input) -> Self::Output {
                let mut out = [0.0; $o];
                self.layer.forward(array(input), array_mut(&mut out));
                out
            }

            fn forward_batch(
                &self,
                inputs: &[Self::Input],
                outputs: &mut [Self::Output],
                _workspace: &mut Workspace<Self>,
            ) -> Result<(), Error> {
                if inputs.len() != outputs.len() {
                    return Err(Error::BatchMismatch {
                        inputs: inputs.len(),
                        targets: outputs.len(),
                    });
                }
                self.layer.forward_rows(rows(inputs), rows_mut(outputs));
                Ok(())
            }
        }

        impl<L: LossGradient<$act>> Train<L> for $name {
            fn gradient_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                grads: &mut Self,
                workspace: &mut Workspace<Self>,
            ) -> Result<f32, Error> {
                let n = check_batch(inputs.len(), targets.len())?;
                let [l1] = workspace.layers::<1>(n);
                let (z, a, d) = l1.rows::<$uo>(n);
                let x = rows(inputs);
                self.layer.forward_train(x, z, a);
                let mean = self.layer.loss_delta(&loss, z, a, rows(targets), d);
                self.layer.backward_rows(x, d, &mut grads.layer, None);
                Ok(mean)
            }

            fn loss_batch(
                &self,
                loss: L,
                inputs: &[Self::Input],
                targets: &[Self::Output],
                workspace: &mut Workspace<Self>,
            ) -> Result<f32, Error> {
                let n = check_batch(inputs.len(), targets.len())?;
                let [l1] = workspace.layers::<1>(n);
                let (z, a, _) = l1.rows::<$uo>(n);
                self.layer.forward_train(rows(inputs), z, a);
                Ok(self.layer.loss_mean(&loss, z, a, rows(targets)))
            }
        }
    };
}

single_layer! {
    /// One linear neuron over one input: `y = w·x + b`.
    Line: 1 (typenum::U1) -> 1 (typenum::U1) crate::Linear
}

single_layer! {
    /// Two inputs, two softmax outputs: a linear classifier of two classes.
    Pair: 2 (typenum::U2) -> 2 (typenum::U2) crate::Softmax
}
