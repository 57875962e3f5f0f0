//! How well a network does: the share of samples it classifies right.

use super::error::TrainError;
use super::samples::{check_set, Samples};
use crate::network::{Network, Workspace};

/// The share of `samples` that `network` classifies right: whose output's largest value is at
/// the index of the target's largest value (the class of a one-hot target). In `[0, 1]`.
///
/// Runs the samples through [`Network::forward_batch`] in batches of 256 and allocates the
/// buffers for that on each call; [`Trainer::fit`](super::Trainer::fit) reports the same
/// measure without allocating.
///
/// # Errors
///
/// [`TrainError::EmptyTestSet`] for no samples, [`TrainError::Mismatch`] if inputs and targets
/// differ in number.
pub fn accuracy<N: Network>(network: &N, samples: Samples<'_, N>) -> Result<f32, TrainError> {
    check_set(samples, "test")?;
    let Some(&first) = samples.targets.first() else {
        return Err(TrainError::EmptyTestSet);
    };
    let batch = samples.len().min(256);
    let mut outputs = vec![first; batch];
    let mut workspace = Workspace::with_capacity(batch);
    accuracy_into(network, samples, &mut outputs, &mut workspace)
}

/// [`accuracy`] over a non-empty, checked set, in batches of `outputs.len()` (at least 1).
pub(super) fn accuracy_into<N: Network>(
    network: &N,
    samples: Samples<'_, N>,
    outputs: &mut [N::Output],
    workspace: &mut Workspace<N>,
) -> Result<f32, TrainError> {
    let batch = outputs.len().max(1);
    let mut correct = 0usize;
    for (inputs, targets) in samples
        .inputs
        .chunks(batch)
        .zip(samples.targets.chunks(batch))
    {
        let outputs = &mut outputs[..inputs.len()];
        network.forward_batch(inputs, outputs, workspace)?;
        correct += outputs
            .iter()
            .zip(targets)
            .filter(|(out, target)| argmax(out.as_ref()) == argmax(target.as_ref()))
            .count();
    }
    Ok((correct as f64 / samples.len() as f64) as f32)
}

/// The index of the largest value: the predicted class of a classifier's output.
///
/// Returns 0 for an empty slice; a NaN never wins.
///
/// ```
/// assert_eq!(nn_core::argmax(&[0.1, 0.7, 0.2]), 1);
/// ```
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::CrossEntropy;
    use crate::optim::GradientDescent;
    use crate::test_network::Pair;
    use crate::train::Trainer;

    #[test]
    fn accuracy_counts_argmax_matches() {
        // Weights [[1, 0], [0, 1]]: the output's argmax is the input's argmax.
        let mut net = Pair::zeros();
        net.layer.set_weights(&[[1.0, 0.0], [0.0, 1.0]]);
        let xs = [[1.0, 0.0], [0.0, 1.0], [0.2, 0.9], [0.7, 0.1], [0.4, 0.6]];
        let ys = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        // Right on 0, 1 and 3: 3 of 5.
        assert_eq!(accuracy(&net, Samples::new(&xs, &ys)), Ok(0.6));
        assert_eq!(
            accuracy(&net, Samples::new(&[], &[])),
            Err(TrainError::EmptyTestSet)
        );

        // And `fit` reports the same measure, in test batches smaller than the set.
        let mut frozen = GradientDescent::new(0.0);
        let trainer = Trainer {
            epochs: 1,
            batch_size: 2,
            seed: 7,
        };
        let history = trainer
            .fit(
                &mut net,
                &mut frozen,
                CrossEntropy,
                Samples::new(&xs, &ys),
                Some(Samples::new(&xs, &ys)),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(history.epochs[0].test_accuracy, Some(0.6));
    }
}
