//! Rosenblatt's perceptron learning rule: how a `step` neuron learns without gradients.
//!
//! A perceptron is a neuron with the [`Step`] activation: `ŷ = step(w·x + b)`, 1 if the weighted
//! sum is positive, else 0. Step has no useful derivative, so gradient descent cannot train it
//! (`network!` makes trying a compile error). Rosenblatt's rule (1958) needs none: after each
//! sample, move the weights towards the input if the neuron said 0 where it should say 1, away
//! from it in the opposite case, and leave them alone when it was right:
//!
//! ```text
//! w ← w + η·(y - ŷ)·x          b ← b + η·(y - ŷ)·1
//! ```
//!
//! The bias is a weight on a dummy input that is always 1, updated by the same rule. If the two
//! classes can be separated by a line (a hyperplane), the rule finds one in finitely many steps
//! (the perceptron convergence theorem): AND and OR converge. If they cannot, it cycles for
//! ever: XOR never converges, and [`PerceptronRule::train`] stops after
//! [`max_epochs`](PerceptronRule::max_epochs) with [`PerceptronError::NotConverged`].
//!
//! [`train`](PerceptronRule::train) trains a network declared with `network!` whose only layer
//! is a `step` layer, such as `struct And: 2 -> 1 step;`. The building blocks [`predict`] and
//! [`update`] work on plain slices:
//!
//! ```
//! use nn_core::perceptron::{predict, update};
//!
//! // AND with w = (0, 0), b = 0: the sample (1, 1) should give 1 but gives step(0) = 0.
//! let (mut w, mut b) = ([0.0, 0.0], 0.0);
//! assert_eq!(predict(&w, b, &[1.0, 1.0]), 0.0);
//! let error = update(&mut w, &mut b, &[1.0, 1.0], 1.0, 0.5);
//! assert_eq!(error, 1.0); // y - ŷ = 1 - 0
//! assert_eq!((w, b), ([0.5, 0.5], 0.5)); // w + 0.5·1·x, b + 0.5·1·1
//! assert_eq!(predict(&w, b, &[1.0, 1.0]), 1.0);
//! ```

use crate::activation::Step;
use crate::network::Network;

/// A perceptron's output: `step(w·x + b)`, 1 if `w·x + b > 0`, else 0.
///
/// ```
/// use nn_core::perceptron::predict;
/// assert_eq!(predict(&[1.0, -1.0], 0.0, &[2.0, 1.0]), 1.0); // 2 - 1 > 0
/// assert_eq!(predict(&[1.0, -1.0], 0.0, &[1.0, 1.0]), 0.0); // 0 is not > 0
/// ```
pub fn predict(weights: &[f32], bias: f32, x: &[f32]) -> f32 {
    let z: f32 = weights.iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + bias;
    if z > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// One step of Rosenblatt's rule on one sample with target `y`: computes `ŷ = step(w·x + b)`,
/// then `w ← w + η·(y - ŷ)·x` and `b ← b + η·(y - ŷ)`. Returns the error `y - ŷ` (0 when the
/// neuron was right and nothing changed).
pub fn update(weights: &mut [f32], bias: &mut f32, x: &[f32], y: f32, learning_rate: f32) -> f32 {
    let error = y - predict(weights, *bias, x);
    if error != 0.0 {
        let step = learning_rate * error;
        for (w, x) in weights.iter_mut().zip(x) {
            *w += step * x;
        }
        *bias += step;
    }
    error
}

/// Rosenblatt's rule as a training loop: the learning rate `η` and when to give up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerceptronRule {
    /// The step size `η`. Any positive value converges on separable data; from zero weights it
    /// only scales the result.
    pub learning_rate: f32,
    /// How many passes over the data to try before reporting
    /// [`NotConverged`](PerceptronError::NotConverged).
    pub max_epochs: usize,
}

impl Default for PerceptronRule {
    /// `η = 1`, at most 100 epochs.
    fn default() -> Self {
        Self {
            learning_rate: 1.0,
            max_epochs: 100,
        }
    }
}

/// A perceptron that converged: every sample is classified right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converged {
    /// Passes over the data, counting the last one, in which nothing changed.
    pub epochs: usize,
    /// Weight updates made in all (samples that were wrong when seen).
    pub updates: usize,
}

/// Why perceptron training stopped without a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PerceptronError {
    /// Every epoch up to the limit still misclassified a sample.
    #[error("the perceptron did not converge in {epochs} epochs: {misclassified} of {samples} samples were still misclassified in the last one; a single step neuron can only learn classes that a straight line (hyperplane) separates, and these are probably not separable (XOR is not)")]
    NotConverged {
        /// The epochs tried.
        epochs: usize,
        /// Samples misclassified in the last epoch.
        misclassified: usize,
        /// Samples in the data.
        samples: usize,
    },
    /// There is nothing to learn from.
    #[error("the training data is empty: expected at least one sample")]
    Empty,
    /// Inputs and targets differ in number.
    #[error("there are {inputs} inputs but {targets} targets: expected one target per input")]
    LengthMismatch {
        /// The number of inputs.
        inputs: usize,
        /// The number of targets.
        targets: usize,
    },
    /// A target is not 0 or 1, the only values a step neuron gives.
    #[error("target {sample} (output {output}) is {value}: a step neuron outputs 0 or 1, so expected 0 or 1")]
    NotBinary {
        /// The sample, counting from 0.
        sample: usize,
        /// The output neuron, counting from 0.
        output: usize,
        /// The target's value.
        value: f32,
    },
    /// The network's parameters are not one weight matrix and one bias vector (only possible
    /// for a hand-written [`Network`] implementation).
    #[error("the network's parameters are not one {outputs}×{inputs} weight matrix and {outputs} biases: expected a single step layer")]
    NotOneLayer {
        /// The network's inputs.
        inputs: usize,
        /// The network's outputs.
        outputs: usize,
    },
}

impl PerceptronRule {
    /// Rosenblatt's rule with learning rate `η` and at most `max_epochs` passes.
    pub fn new(learning_rate: f32, max_epochs: usize) -> Self {
        Self {
            learning_rate,
            max_epochs,
        }
    }

    /// Trains `network`, a network of one `step` layer (each of its neurons a perceptron),
    /// sample by sample with [`update`], until an epoch makes no mistake.
    ///
    /// A network with more than one layer does not compile: the rule has no way to assign
    /// blame to hidden neurons (that is what backprop is for).
    ///
    /// # Errors
    ///
    /// [`PerceptronError::NotConverged`] if the last of `max_epochs` epochs still made a
    /// mistake (the network keeps its last weights); [`Empty`](PerceptronError::Empty),
    /// [`LengthMismatch`](PerceptronError::LengthMismatch) or
    /// [`NotBinary`](PerceptronError::NotBinary) for unusable data (then nothing is changed).
    pub fn train<N>(
        &self,
        network: &mut N,
        inputs: &[N::Input],
        targets: &[N::Output],
    ) -> Result<Converged, PerceptronError>
    where
        N: Network<Scalar = f32, OutputActivation = Step>,
    {
        const {
            assert!(
                N::LAYERS.len() == 1,
                "the perceptron rule trains a network of one `step` layer"
            )
        };
        if inputs.len() != targets.len() {
            return Err(PerceptronError::LengthMismatch {
                inputs: inputs.len(),
                targets: targets.len(),
            });
        }
        if inputs.is_empty() {
            return Err(PerceptronError::Empty);
        }
        for (sample, y) in targets.iter().enumerate() {
            for (output, &value) in y.as_ref().iter().enumerate() {
                if value != 0.0 && value != 1.0 {
                    return Err(PerceptronError::NotBinary {
                        sample,
                        output,
                        value,
                    });
                }
            }
        }

        let n_in = N::INPUT;
        let mut params = network.parameters_mut();
        let (Some(weights), Some(bias)) = (params.next(), params.next()) else {
            return Err(PerceptronError::NotOneLayer {
                inputs: n_in,
                outputs: N::OUTPUT,
            });
        };
        if weights.len() != n_in * N::OUTPUT || bias.len() != N::OUTPUT {
            return Err(PerceptronError::NotOneLayer {
                inputs: n_in,
                outputs: N::OUTPUT,
            });
        }
        let mut updates = 0;
        let mut misclassified = 0;
        for epoch in 1..=self.max_epochs {
            misclassified = 0;
            for (x, y) in inputs.iter().zip(targets) {
                let mut wrong = false;
                for ((w, b), &y) in weights
                    .chunks_exact_mut(n_in)
                    .zip(bias.iter_mut())
                    .zip(y.as_ref())
                {
                    if update(w, b, x.as_ref(), y, self.learning_rate) != 0.0 {
                        wrong = true;
                        updates += 1;
                    }
                }
                misclassified += usize::from(wrong);
            }
            if misclassified == 0 {
                return Ok(Converged {
                    epochs: epoch,
                    updates,
                });
            }
        }
        Err(PerceptronError::NotConverged {
            epochs: self.max_epochs,
            misclassified,
            samples: inputs.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule on plain slices, as `train` applies it, checked by hand.
    #[test]
    fn update_moves_towards_misclassified_samples() {
        let (mut w, mut b) = ([1.0f32, 1.0], 0.0f32);
        // (0, 0) with target 0: z = 0, ŷ = 0, right: nothing changes.
        assert_eq!(update(&mut w, &mut b, &[0.0, 0.0], 0.0, 0.1), 0.0);
        assert_eq!((w, b), ([1.0, 1.0], 0.0));
        // (1, 0) with target 0: z = 1, ŷ = 1, error -1: w - 0.1·(1, 0), b - 0.1.
        assert_eq!(update(&mut w, &mut b, &[1.0, 0.0], 0.0, 0.1), -1.0);
        assert_eq!((w, b), ([0.9, 1.0], -0.1));
    }
}
