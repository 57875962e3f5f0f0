//! The tensors a baked network's file must hold: the names and shapes nn-core's run-time
//! loader reads (`nn_core::weights`, the `state_dict` of the equivalent PyTorch
//! `nn.Sequential`), worked out from the checked declaration.
//!
//! A tensor is named `MODULE.ROLE` after the module of the `nn.Sequential` that holds it,
//! counting every module as PyTorch does, parameter-free ones included: a dense layer is
//! `nn.Linear` then its activation's module (after an `nn.Flatten` if it reads an image), a
//! dropout layer is `nn.Dropout`. So `784 -> 16 relu -> 10 softmax` holds `0.weight`, `0.bias`,
//! `2.weight`, `2.bias`. The shapes are nn-model's ([`LayerShape::tensors`]), which the loader
//! reads too.

use nn_model::{ActivationKind, LayerKind as ModelKind, LayerShape, Shape, TensorRole};

use crate::model::{LayerKind, Network};
use crate::prop::STACK_WIDTH_LIMIT;

/// One tensor the file must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Its name, e.g. `2.weight`.
    pub name: String,
    /// Its shape, outermost first: `[out, in]` for a dense layer's weights.
    pub shape: Vec<usize>,
    /// Which tensor of the layer it is.
    pub role: TensorRole,
    /// The layer that holds it, counting from 0.
    pub layer: usize,
    /// The layer as messages name it: ``layer 2 (`16 relu`)``.
    pub layer_label: String,
}

/// The tensors of `net`'s file, in the order of its layers; an error at the first layer of a
/// kind that cannot be baked yet.
pub fn expected(net: &Network) -> syn::Result<Vec<Expected>> {
    if !net.is_chain() {
        return Err(syn::Error::new(
            net.name.span(),
            format!(
                "`{}` has residual, concat or heads blocks, which cannot be baked in yet: \
                 `#[weights]` takes a chain of layers",
                net.name
            ),
        ));
    }
    let mut tensors = Vec::new();
    let mut module = 0;
    for (k, layer) in net.layers.iter().enumerate() {
        if layer.sample_on_heap() {
            return Err(syn::Error::new(
                layer.out.span,
                format!(
                    "{} is {} wide: a baked network keeps each layer's output on the stack, so \
                     its hidden layers are at most {STACK_WIDTH_LIMIT} wide",
                    layer.label(),
                    layer.width().value
                ),
            ));
        }
        // The activation does not change the tensors.
        let activation = ActivationKind::Linear;
        let kind = match &layer.kind {
            LayerKind::Dense(_) => {
                if matches!(layer.input, Shape::Image { .. }) {
                    module += 1; // nn.Flatten()
                }
                Some(ModelKind::Dense { activation })
            }
            LayerKind::Conv(conv) => Some(ModelKind::Conv {
                filters: conv.filters,
                kernel: conv.kernel,
                stride: conv.stride,
                pad: conv.pad,
                activation,
            }),
            LayerKind::BatchNorm => Some(ModelKind::BatchNorm),
            LayerKind::LayerNorm => Some(ModelKind::LayerNorm),
            LayerKind::Pool(_) | LayerKind::Dropout(_) => None,
            LayerKind::Path(_) => {
                return Err(syn::Error::new(
                    layer.out.span,
                    format!(
                        "{} is `{}`, which cannot be baked in yet: `#[weights]` takes networks of \
                         dense, conv, maxpool, avgpool, dropout, batchnorm and layernorm layers",
                        layer.label(),
                        layer.declaration(crate::prop::LayerNames::Omitted)
                    ),
                ));
            }
        };
        match kind {
            Some(kind) => {
                let shape = LayerShape::new("", kind, layer.input, layer.output_shape);
                // Parameters, then buffers (batch normalisation's running statistics and step
                // count), in `state_dict` order.
                for t in shape.tensors().chain(shape.buffers()) {
                    tensors.push(Expected {
                        name: format!("{module}.{}", t.role.name()),
                        shape: t.dims().to_vec(),
                        role: t.role,
                        layer: k,
                        layer_label: format!(
                            "{} (`{}`)",
                            layer.label(),
                            layer.declaration(crate::prop::LayerNames::Omitted)
                        ),
                    });
                }
                module += match kind {
                    // nn.BatchNorm1d/2d or nn.LayerNorm: no activation module after it.
                    ModelKind::BatchNorm | ModelKind::LayerNorm => 1,
                    // nn.Linear or nn.Conv2d, then the activation's module.
                    _ => 2,
                };
            }
            None => module += 1, // nn.MaxPool2d, nn.AvgPool2d, nn.Dropout: no tensors
        }
    }
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::parse_invocation;
    use crate::check::check;
    use quote::quote;

    fn names(tokens: proc_macro2::TokenStream) -> syn::Result<Vec<(String, Vec<usize>)>> {
        let (nets, errors) = check(parse_invocation(tokens));
        assert!(errors.is_ok());
        Ok(expected(&nets[0])?
            .into_iter()
            .map(|e| (e.name, e.shape))
            .collect())
    }

    #[test]
    fn modules_are_counted_as_pytorch_counts_them() -> syn::Result<()> {
        let got = names(quote! { struct T: 784 -> 16 relu -> 10 softmax; })?;
        let want = [
            ("0.weight", vec![16, 784]),
            ("0.bias", vec![16]),
            ("2.weight", vec![10, 16]),
            ("2.bias", vec![10]),
        ]
        .map(|(n, s)| (n.to_owned(), s));
        assert_eq!(got, want);
        // Flatten before the first dense layer of an image; dropout is a module of its own.
        let got = names(quote! { struct T: 1x4x4 -> 8 relu -> dropout 0.5 -> 3 softmax; })?;
        let got: Vec<_> = got.into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, ["1.weight", "1.bias", "4.weight", "4.bias"]);
        // Conv2d and its activation, MaxPool2d, Flatten, Linear.
        let got =
            names(quote! { struct T: 1x6x6 -> conv 2 3x3 relu -> maxpool 2x2 -> 3 softmax; })?;
        let want = [
            ("0.weight", vec![2, 1, 3, 3]),
            ("0.bias", vec![2]),
            ("4.weight", vec![3, 8]),
            ("4.bias", vec![3]),
        ]
        .map(|(n, s)| (n.to_owned(), s));
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn norm_layers_hold_their_parameters_then_their_buffers() -> syn::Result<()> {
        // nn.Linear, ReLU, BatchNorm1d, LayerNorm, Linear, Softmax.
        let got = names(quote! { struct T: 4 -> 6 relu -> batchnorm -> layernorm -> 3 softmax; })?;
        let want = [
            ("0.weight", vec![6, 4]),
            ("0.bias", vec![6]),
            ("2.weight", vec![6]),
            ("2.bias", vec![6]),
            ("2.running_mean", vec![6]),
            ("2.running_var", vec![6]),
            ("2.num_batches_tracked", vec![]),
            ("3.weight", vec![6]),
            ("3.bias", vec![6]),
            ("4.weight", vec![3, 6]),
            ("4.bias", vec![3]),
        ]
        .map(|(n, s)| (n.to_owned(), s));
        assert_eq!(got, want);
        // BatchNorm2d: one value a channel; LayerNorm over the whole image.
        let got = names(quote! {
            struct T: 1x4x4 -> conv 2 3x3 relu -> batchnorm -> layernorm -> 3 softmax;
        })?;
        let got: Vec<_> = got.into_iter().skip(2).take(7).collect();
        assert_eq!(got[0], ("2.weight".to_owned(), vec![2]));
        assert_eq!(got[3], ("2.running_var".to_owned(), vec![2]));
        assert_eq!(got[5], ("3.weight".to_owned(), vec![2, 2, 2]));
        Ok(())
    }

    #[test]
    fn other_kinds_are_refused_at_their_layer() {
        let (nets, errors) = check(parse_invocation(quote! {
            struct T: 12 -> 6 relu -> MyNormalize<U6> -> 3 softmax;
        }));
        assert!(errors.is_ok());
        let e = expected(&nets[0])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("cannot be baked in yet"), "{e}");
        assert!(e.contains("layer 2 is `MyNormalize<U6>`"), "{e}");
        let e = names(quote! { struct T: 2 -> 5000 relu -> 3 softmax; })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("layer 1 is 5000 wide"), "{e}");
    }
}
