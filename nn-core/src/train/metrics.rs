//! How well a network does: accuracy and a confusion matrix for a classifier, MSE, MAE and R²
//! for a regression.

use super::error::TrainError;
use super::samples::{check_set, Samples, Target};
use crate::network::{Network, Workspace};

/// What a network's outputs are judged as, which decides its [`Metrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Task {
    /// Chosen from the loss, the targets and the output layer: a classification if the loss
    /// classifies ([`Loss::CLASSIFIES`](crate::loss::Loss::CLASSIFIES): cross-entropy, binary
    /// cross-entropy), the targets are class labels, or the output activation is `softmax`,
    /// `sigmoid` or `step`; a regression otherwise (e.g. mean squared error on a `linear`
    /// output).
    #[default]
    Auto,
    /// Classes: accuracy (argmax of the output against the target's class; for one output,
    /// the output above 0.5 against the target above 0.5).
    Classification,
    /// Values: mean squared error, mean absolute error and R².
    Regression,
}

/// The figures of one evaluation of a set.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Metrics {
    /// A classifier's figures.
    Classification {
        /// The share of samples classified right, in `[0, 1]`.
        accuracy: f32,
    },
    /// A regression's figures, over every output of every sample.
    Regression {
        /// `Σ (a - y)² / (n·k)` over `n` samples of `k` outputs.
        mse: f32,
        /// `Σ |a - y| / (n·k)`.
        mae: f32,
        /// The coefficient of determination, `1 - SS_res/SS_tot` per output with
        /// `SS_tot = Σ (y - ȳ)²`, averaged over the outputs (scikit-learn's `r2_score`,
        /// `multioutput="uniform_average"`); 1 is a perfect fit, 0 the mean's, and an output
        /// whose targets are all equal counts as 1 if fit exactly and 0 otherwise.
        r2: f32,
    },
}

impl Metrics {
    /// The accuracy of a classification, `None` for a regression.
    pub fn accuracy(&self) -> Option<f32> {
        match self {
            Self::Classification { accuracy } => Some(*accuracy),
            Self::Regression { .. } => None,
        }
    }
}

impl core::fmt::Display for Metrics {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Classification { accuracy } => write!(f, "accuracy {:.2}%", 100.0 * accuracy),
            Self::Regression { mse, mae, r2 } => {
                write!(f, "MSE {mse:.4}, MAE {mae:.4}, R² {r2:.4}")
            }
        }
    }
}

/// Whether `task` is a classification for a network `N` trained with a loss that classifies
/// (`loss_classifies`) on targets of type `T`.
pub(super) fn classifies<N: Network<Scalar = f32>, T: Target<N::Output>>(
    task: Task,
    loss_classifies: bool,
) -> bool {
    use crate::activation::Activation;
    use crate::model::ActivationKind;
    match task {
        Task::Classification => true,
        Task::Regression => false,
        Task::Auto => {
            loss_classifies
                || T::KIND == super::samples::TargetKind::Label
                || matches!(
                    <N::OutputActivation as Activation>::KIND,
                    ActivationKind::Softmax | ActivationKind::Sigmoid | ActivationKind::Step
                )
        }
    }
}

/// The class an output (or target) row names: its argmax, or for one value whether it is above
/// 0.5.
fn class_of(row: &[f32]) -> usize {
    if row.len() == 1 {
        usize::from(row[0] > 0.5)
    } else {
        argmax(row)
    }
}

/// The class of a target: a label, or [`class_of`] its row.
fn target_class<O: AsRef<[f32]>, T: Target<O>>(target: &T) -> usize {
    match target.values() {
        Some(row) => class_of(row),
        None => target.class(),
    }
}

/// The mean loss of a batch of rows, as [`Trainable::loss_batch`](crate::network::Trainable::loss_batch)
/// computes it for the run's loss.
pub(super) type LossOf<'l, N> = dyn FnMut(
        &N,
        &[<N as Network>::Input],
        &[<N as Network>::Output],
        &mut Workspace<N>,
    ) -> Result<f32, TrainError>
    + 'l;

/// The buffers of an evaluation, made once and reused every epoch.
pub(super) struct Evaluator<N: Network<Scalar = f32>> {
    outputs: Vec<N::Output>,
    targets: Vec<N::Output>,
    /// Per output: Σy, Σy², Σ(a - y)².
    columns: Vec<[f64; 3]>,
}

impl<N: Network<Scalar = f32>> Evaluator<N> {
    /// Buffers for batches of up to `batch` samples; `row` is any value of the output's type.
    pub(super) fn new(batch: usize, row: N::Output) -> Self {
        Self {
            outputs: vec![row; batch.max(1)],
            targets: vec![row; batch.max(1)],
            columns: vec![[0.0; 3]; N::OUTPUT],
        }
    }

    /// The metrics of a non-empty, checked set, and its mean loss if `loss` is given.
    pub(super) fn evaluate<T: Target<N::Output>>(
        &mut self,
        network: &N,
        samples: Samples<'_, N::Input, T>,
        classification: bool,
        workspace: &mut Workspace<N>,
        mut loss: Option<&mut LossOf<'_, N>>,
    ) -> Result<(Metrics, Option<f32>), TrainError> {
        let batch = self.outputs.len();
        let (mut correct, mut abs, mut loss_sum) = (0usize, 0.0f64, 0.0f64);
        self.columns.fill([0.0; 3]);
        for (inputs, targets) in samples
            .inputs
            .chunks(batch)
            .zip(samples.targets.chunks(batch))
        {
            let n = inputs.len();
            let outputs = &mut self.outputs[..n];
            network.forward_batch(inputs, outputs, workspace)?;
            for (row, t) in self.targets.iter_mut().zip(targets) {
                t.write_row(row);
            }
            if let Some(loss) = loss.as_mut() {
                loss_sum +=
                    f64::from(loss(network, inputs, &self.targets[..n], workspace)?) * n as f64;
            }
            for ((out, target), t) in outputs.iter().zip(&self.targets).zip(targets) {
                if classification {
                    correct += usize::from(class_of(out.as_ref()) == target_class(t));
                } else {
                    for ((a, y), c) in out
                        .as_ref()
                        .iter()
                        .zip(target.as_ref())
                        .zip(&mut self.columns)
                    {
                        let (a, y) = (f64::from(*a), f64::from(*y));
                        c[0] += y;
                        c[1] += y * y;
                        c[2] += (a - y) * (a - y);
                        abs += (a - y).abs();
                    }
                }
            }
        }
        let n = samples.len() as f64;
        let metrics = if classification {
            Metrics::Classification {
                accuracy: (correct as f64 / n) as f32,
            }
        } else {
            let values = n * N::OUTPUT as f64;
            let squared: f64 = self.columns.iter().map(|c| c[2]).sum();
            let r2 = self
                .columns
                .iter()
                .map(|c| {
                    let total = (c[1] - c[0] * c[0] / n).max(0.0);
                    if total > 0.0 {
                        1.0 - c[2] / total
                    } else if c[2] == 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
                / N::OUTPUT.max(1) as f64;
            Metrics::Regression {
                mse: (squared / values) as f32,
                mae: (abs / values) as f32,
                r2: r2 as f32,
            }
        };
        let loss = loss.map(|_| (loss_sum / n) as f32);
        Ok((metrics, loss))
    }
}

/// The share of `samples` that `network` classifies right: whose output's largest value is at
/// the index of the target's class (the largest value of a one-hot row, or the label); for a
/// network of one output, whose output is above 0.5 just when the target is. In `[0, 1]`.
///
/// Runs the samples through [`Network::forward_batch`] in batches of 256 and allocates the
/// buffers for that on each call; the trainer reports the same measure without allocating.
///
/// # Errors
///
/// [`TrainError::EmptyTestSet`] for no samples, [`TrainError::Mismatch`] if inputs and targets
/// differ in number.
pub fn accuracy<N: Network<Scalar = f32>, T: Target<N::Output>>(
    network: &N,
    samples: Samples<'_, N::Input, T>,
) -> Result<f32, TrainError> {
    check_set(samples, "test")?;
    let Some(first) = samples.inputs.first() else {
        return Err(TrainError::EmptyTestSet);
    };
    let batch = samples.len().min(256);
    let mut outputs = vec![network.forward(first); batch];
    let mut workspace = Workspace::with_capacity(batch);
    accuracy_into(network, samples, &mut outputs, &mut workspace)
}

/// [`accuracy`] over a non-empty, checked set, in batches of `outputs.len()` (at least 1): the
/// measure the trainer reports.
pub(super) fn accuracy_into<N: Network<Scalar = f32>, T: Target<N::Output>>(
    network: &N,
    samples: Samples<'_, N::Input, T>,
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
            .filter(|(out, target)| class_of(out.as_ref()) == target_class(*target))
            .count();
    }
    Ok((correct as f64 / samples.len() as f64) as f32)
}

/// The metrics of `samples` for `network` judged as `task` ([`Task::Auto`] picks by the output
/// layer and the targets only, as no loss is given).
///
/// # Errors
///
/// [`TrainError::EmptyTestSet`] for no samples, [`TrainError::Mismatch`] if inputs and targets
/// differ in number.
pub fn evaluate<N: Network<Scalar = f32>, T: Target<N::Output>>(
    network: &N,
    samples: Samples<'_, N::Input, T>,
    task: Task,
) -> Result<Metrics, TrainError> {
    check_set(samples, "test")?;
    let Some(first) = samples.inputs.first() else {
        return Err(TrainError::EmptyTestSet);
    };
    let batch = samples.len().min(256);
    let mut evaluator = Evaluator::<N>::new(batch, network.forward(first));
    let mut workspace = Workspace::with_capacity(batch);
    let classification = classifies::<N, T>(task, false);
    Ok(evaluator
        .evaluate(network, samples, classification, &mut workspace, None)?
        .0)
}

/// A confusion matrix: how many samples of each true class the network put in each class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// The number of classes (rows and columns).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of true class `truth` were predicted as `predicted` (0 out of range).
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// The row of true class `truth`: its count per predicted class.
    pub fn row(&self, truth: usize) -> &[u64] {
        let c = self.classes;
        self.counts.get(truth * c..(truth + 1) * c).unwrap_or(&[])
    }

    /// The share of samples on the diagonal (the accuracy), 0 for none.
    pub fn accuracy(&self) -> f32 {
        let total: u64 = self.counts.iter().sum();
        let right: u64 = (0..self.classes).map(|k| self.count(k, k)).sum();
        if total == 0 {
            0.0
        } else {
            (right as f64 / total as f64) as f32
        }
    }
}

impl core::fmt::Display for ConfusionMatrix {
    /// A table, true classes down, predicted classes across.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(3);
        write!(f, "{:>8}", "true\\pred")?;
        for p in 0..self.classes {
            write!(f, " {p:>width$}")?;
        }
        for t in 0..self.classes {
            write!(f, "\n{t:>9}")?;
            for p in 0..self.classes {
                write!(f, " {:>width$}", self.count(t, p))?;
            }
        }
        Ok(())
    }
}

/// The confusion matrix of `network` on `samples`: true class (the target's) down, predicted
/// class (the output's argmax; for one output, whether it is above 0.5) across. A network of
/// one output has two classes.
///
/// # Errors
///
/// [`TrainError::Mismatch`] if inputs and targets differ in number.
pub fn confusion_matrix<N: Network<Scalar = f32>, T: Target<N::Output>>(
    network: &N,
    samples: Samples<'_, N::Input, T>,
) -> Result<ConfusionMatrix, TrainError> {
    check_set(samples, "test")?;
    let classes = N::OUTPUT.max(2);
    let mut matrix = ConfusionMatrix {
        classes,
        counts: vec![0; classes * classes],
    };
    for (x, t) in samples.inputs.iter().zip(samples.targets) {
        let out = network.forward(x);
        let (truth, predicted) = (target_class(t), class_of(out.as_ref()));
        if truth < classes && predicted < classes {
            matrix.counts[truth * classes + predicted] += 1;
        }
    }
    Ok(matrix)
}

pub use crate::math::argmax;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::CrossEntropy;
    use crate::optim::GradientDescent;
    use crate::test_network::{Line, Pair};
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
        let empty: [[f32; 2]; 0] = [];
        assert_eq!(
            accuracy(&net, Samples::new(&empty, &empty)),
            Err(TrainError::EmptyTestSet)
        );
        // Labels give the same.
        let labels = [0u8, 1, 0, 0, 0];
        assert_eq!(accuracy(&net, Samples::new(&xs, &labels)), Ok(0.6));

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

        // The confusion matrix: true class down, predicted across.
        let m = confusion_matrix(&net, Samples::new(&xs, &ys)).unwrap();
        assert_eq!((m.row(0), m.row(1)), (&[2u64, 2][..], &[0u64, 1][..]));
        assert_eq!(m.accuracy(), 0.6);
        assert_eq!(
            evaluate(&net, Samples::new(&xs, &labels), Task::Auto),
            Ok(Metrics::Classification { accuracy: 0.6 })
        );
    }

    #[test]
    fn one_output_is_a_yes_or_no() {
        // w = 1, b = 0 on a linear output: the output is the input, "yes" above 0.5.
        let mut net = Line::zeros();
        net.layer.set_weights(&[[1.0]]);
        let xs = [[0.9f32], [0.2], [0.7], [0.4]];
        let ys = [[1.0f32], [1.0], [0.0], [0.0]];
        // Right on 0 and 3: half. (Two argmaxes of one value would always agree: 100%.)
        assert_eq!(accuracy(&net, Samples::new(&xs, &ys)), Ok(0.5));
        let m = confusion_matrix(&net, Samples::new(&xs, &ys)).unwrap();
        assert_eq!((m.row(0), m.row(1)), (&[1u64, 1][..], &[1u64, 1][..]));
        assert_eq!(
            evaluate(&net, Samples::new(&xs, &ys), Task::Classification),
            Ok(Metrics::Classification { accuracy: 0.5 })
        );
    }

    #[test]
    fn regression_metrics_match_their_definitions() {
        // y = 2x + 1 predicted as x: residuals -(x + 1).
        let mut net = Line::zeros();
        net.layer.set_weights(&[[1.0]]);
        let xs = [[0.0f32], [1.0], [2.0], [3.0]];
        let ys: Vec<[f32; 1]> = xs.iter().map(|x| [2.0 * x[0] + 1.0]).collect();
        let m = evaluate(&net, Samples::new(&xs, &ys), Task::Auto).unwrap();
        // Residuals 1, 2, 3, 4: MSE 30/4, MAE 10/4; ȳ = 4, SS_tot = 9 + 1 + 1 + 9 = 20.
        assert_eq!(
            m,
            Metrics::Regression {
                mse: 7.5,
                mae: 2.5,
                r2: (1.0f64 - 30.0 / 20.0) as f32
            }
        );
        assert_eq!(m.accuracy(), None);
        // A perfect fit has R² = 1.
        net.layer.set_weights(&[[2.0]]);
        net.layer.set_bias(&[1.0]);
        let Metrics::Regression { r2, mse, .. } =
            evaluate(&net, Samples::new(&xs, &ys), Task::Auto).unwrap()
        else {
            panic!("a linear output is a regression");
        };
        assert_eq!((r2, mse), (1.0, 0.0));
    }
}
