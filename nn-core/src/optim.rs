//! Optimizers: how a gradient becomes a change of the weights.
//!
//! An optimizer walks a network's parameters and its gradient side by side (both have the same
//! shape, see [`Network::parameters`]) and updates every weight and bias in place. Nothing is
//! allocated in a step; an optimizer's state (momentum's velocity) is allocated once, when the
//! optimizer is made.
//!
//! | optimizer | update of each weight `w` with gradient `g` |
//! | --- | --- |
//! | [`GradientDescent`] | `w ← w - α·g` |
//! | [`Momentum`] | `v ← α·g + μ·v`, then `w ← w - v` |

use crate::network::Network;

/// Something that updates a network's parameters from their gradient.
pub trait Optimizer<N: Network> {
    /// One update of `network` from `grads`, the gradient of the loss (shaped like the network).
    fn step(&mut self, network: &mut N, grads: &N);
}

/// Plain gradient descent: `w ← w - α·∂L/∂w`, with `α` the learning rate.
///
/// ```
/// use nn_core::GradientDescent;
/// let sgd = GradientDescent::new(0.1);
/// assert_eq!(sgd.learning_rate, 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientDescent {
    /// The step size `α`.
    pub learning_rate: f32,
}

impl GradientDescent {
    /// Gradient descent with learning rate `α`.
    pub fn new(learning_rate: f32) -> Self {
        Self { learning_rate }
    }
}

impl<N: Network> Optimizer<N> for GradientDescent {
    fn step(&mut self, network: &mut N, grads: &N) {
        let lr = self.learning_rate;
        for (w, g) in network.parameters_mut().zip(grads.parameters()) {
            for (w, g) in w.iter_mut().zip(g) {
                *w -= lr * g;
            }
        }
    }
}

/// Gradient descent with momentum, exactly as on the seminar's slide:
/// `v ← α·∂L/∂w + μ·v; w ← w - v`.
///
/// The velocity `v` remembers past steps, so a direction the gradient keeps pointing in speeds
/// up and a direction it keeps reversing in cancels out. With `μ = 0` this is plain gradient
/// descent.
#[derive(Debug, Clone)]
pub struct Momentum<N> {
    /// The step size `α`.
    pub learning_rate: f32,
    /// The momentum `μ`, usually 0.9.
    pub momentum: f32,
    velocity: N,
}

impl<N: Network> Momentum<N> {
    /// Momentum with learning rate `α` and momentum `μ`, starting from zero velocity.
    pub fn new(learning_rate: f32, momentum: f32) -> Self {
        Self {
            learning_rate,
            momentum,
            velocity: N::zeros(),
        }
    }

    /// The velocity, shaped like the network.
    pub fn velocity(&self) -> &N {
        &self.velocity
    }

    /// Sets the velocity back to zero.
    pub fn reset(&mut self) {
        for v in self.velocity.parameters_mut() {
            v.fill(0.0);
        }
    }
}

impl<N: Network> Optimizer<N> for Momentum<N> {
    fn step(&mut self, network: &mut N, grads: &N) {
        let (lr, mu) = (self.learning_rate, self.momentum);
        for ((w, v), g) in network
            .parameters_mut()
            .zip(self.velocity.parameters_mut())
            .zip(grads.parameters())
        {
            for ((w, v), g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
                *v = lr * g + mu * *v;
                *w -= *v;
            }
        }
    }
}
