//! The flat network and a user's own activation compile, run and train.

use nn::{CrossEntropy, CustomActivation, Optimizer};

/// `z / (1 + |z|)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softsign;

impl CustomActivation for Softsign {
    const NAME: &'static str = "Softsign";
    fn function(z: f32) -> f32 {
        z / (1.0 + z.abs())
    }
    fn derivative(z: f32, _a: f32) -> f32 {
        1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))
    }
}

nn::network! {
    struct Mlp: 784 -> 128 gelu -> batchnorm -> 64 leaky_relu -> layernorm -> 10 softmax;
    struct Soft: 3 -> 4 Softsign -> dropout 0.5 -> 4 swish -> 2 softmax;
}

fn main() {
    let net = Mlp::new(1);
    let out = net.forward(&[0.5; 784]);
    assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let mut soft = Soft::new(2);
    let mut grads = Soft::zeros();
    let mut ws = nn::Workspace::new();
    let loss = soft
        .gradient_batch(CrossEntropy, &[[0.1, 0.2, 0.3]; 4], &[[1.0, 0.0]; 4], &mut grads, &mut ws)
        .unwrap();
    assert!(loss.is_finite());
    nn::GradientDescent::new(0.1).step(&mut soft, &grads);
}
