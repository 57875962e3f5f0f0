//! The layer kinds besides dense (dropout, batch and layer normalisation) and the new
//! activations, inside networks: they compile from the issue's declaration, train, pass the
//! finite-difference check alone and together on several seeds, and keep the training and
//! inference modes apart.

use nn::{
    check_gradients, Adam, CrossEntropy, CustomActivation, GradCheck, GradientDescent,
    MeanSquaredError, Network, Optimizer, Workspace,
};
use nn_test_support::Data;

nn::network! {
    /// The issue's flat network: every normalisation and two of the new activations.
    struct Mlp: 784 -> 128 gelu -> batchnorm -> 64 leaky_relu -> layernorm -> 10 softmax;

    struct DropNet: 6 -> 8 tanh -> dropout 0.3 -> 5 silu -> 3 softmax;
    struct BatchNet: 5 -> 7 tanh -> batchnorm -> 4 leaky_relu 0.2 -> 2 sigmoid;
    struct LayerNet: 5 -> 6 swish -> layernorm -> 3 linear;
    struct InputNorms: 4 -> batchnorm -> layernorm -> dropout 0.2 -> 3 gelu -> 2 softmax;
    struct Everything: 6 -> hidden: 9 gelu -> drop: dropout 0.25 -> norm: batchnorm
        -> 7 Softsign -> layernorm -> 5 silu -> dropout 0.1 -> 4 leaky_relu -> 3 softmax;
}

/// `z / (1 + |z|)`: a user's own activation.
#[derive(Debug, Clone, Copy, Default)]
struct Softsign;

impl CustomActivation for Softsign {
    const NAME: &'static str = "Softsign";
    fn function(z: f32) -> f32 {
        z / (1.0 + z.abs())
    }
    fn derivative(z: f32, _a: f32) -> f32 {
        1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))
    }
}

/// `n` samples of `N` inputs in (-1, 1) with one-hot targets of `M` classes.
fn classes<const N: usize, const M: usize>(seed: u64, n: usize) -> (Vec<[f32; N]>, Vec<[f32; M]>) {
    let mut data = Data(seed);
    (data.rows(n, Data::signed), data.one_hot(n))
}

/// Checks `net`'s gradient against finite differences on a batch, with the default step and
/// tolerance.
fn gradcheck<N, L>(net: &mut N, loss: L, xs: &[N::Input], ys: &[N::Output]) -> nn::GradCheckReport
where
    N: nn::Trainable<L>,
    L: Copy,
{
    check_gradients(net, loss, xs, ys, GradCheck::default()).unwrap()
}

#[test]
fn every_new_layer_passes_the_gradient_check_on_several_seeds() {
    for seed in 1..=3 {
        let (xs, ys) = classes::<6, 3>(seed, 5);
        let report = gradcheck(&mut DropNet::new(seed), CrossEntropy, &xs, &ys);
        assert!(report.passed(), "DropNet seed {seed}: {report}");

        let (xs, ys) = classes::<5, 2>(seed, 6);
        let report = gradcheck(&mut BatchNet::new(seed), MeanSquaredError, &xs, &ys);
        assert!(report.passed(), "BatchNet seed {seed}: {report}");

        let (xs, ys) = classes::<5, 3>(seed, 4);
        let report = gradcheck(&mut LayerNet::new(seed), MeanSquaredError, &xs, &ys);
        assert!(report.passed(), "LayerNet seed {seed}: {report}");

        let (xs, ys) = classes::<4, 2>(seed, 6);
        let report = gradcheck(&mut InputNorms::new(seed), CrossEntropy, &xs, &ys);
        assert!(report.passed(), "InputNorms seed {seed}: {report}");

        let (xs, ys) = classes::<6, 3>(seed, 5);
        let report = gradcheck(&mut Everything::new(seed), CrossEntropy, &xs, &ys);
        assert!(report.passed(), "Everything seed {seed}: {report}");
    }
}

#[test]
fn norm_parameters_get_gradients_after_training_moves_them() {
    // Fresh norms have γ = 1 and β = 0; move them first so the check is not at a special point.
    let mut net = BatchNet::new(4);
    for (g, b) in net.layer3.parameters_mut()[0]
        .iter_mut()
        .zip([0.5, 1.5, -0.7, 2.0, 1.1, 0.9, 1.3])
    {
        *g = b;
    }
    let (xs, ys) = classes::<5, 2>(9, 8);
    let report = gradcheck(&mut net, MeanSquaredError, &xs, &ys);
    assert!(report.passed(), "{report}");
    assert_eq!(report.checked, BatchNet::parameter_count());
    assert_eq!(
        BatchNet::parameter_count(),
        5 * 7 + 7 + 2 * 7 + 7 * 4 + 4 + 4 * 2 + 2
    );
}

#[test]
fn the_issues_mlp_trains() {
    let (xs, ys) = classes::<784, 10>(11, 64);
    let mut net = Mlp::new(3);
    let mut grads = Mlp::zeros();
    let mut opt = Adam::new(1e-3);
    let mut ws = Workspace::new();
    let first = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = net
            .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
    }
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    let out = net.forward(&xs[0]);
    assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(
        Mlp::DECLARATION,
        "784 -> 128 gelu -> batchnorm -> 64 leaky_relu -> layernorm -> 10 softmax"
    );
    let kinds: Vec<&str> = Mlp::LAYERS.iter().map(|l| l.kind.name()).collect();
    assert_eq!(kinds, ["dense", "batchnorm", "dense", "layernorm", "dense"]);
}

#[test]
fn running_statistics_move_only_in_training_steps_with_momentum_one_tenth() {
    let (xs, ys) = classes::<5, 2>(2, 8);
    let mut net = BatchNet::new(1);
    let mut grads = BatchNet::zeros();
    let mut ws = Workspace::new();
    // Inference and gradients leave the network as it was.
    let before = net.forward(&xs[0]);
    net.gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    net.loss_batch(MeanSquaredError, &xs, &ys, &mut ws).unwrap();
    assert_eq!(net.forward(&xs[0]), before);
    assert_eq!(net.layer2.running_mean(), &[0.0; 7]);
    assert_eq!(net.layer2.running_var(), &[1.0; 7]);

    // The batch statistics, worked out here from layer 1's outputs in f64.
    let hidden: Vec<[f32; 7]> = xs.iter().map(|x| net.forward_all(x).layer1).collect();
    let m = hidden.len() as f64;
    let mean: Vec<f64> = (0..7)
        .map(|c| hidden.iter().map(|h| f64::from(h[c])).sum::<f64>() / m)
        .collect();
    let var: Vec<f64> = (0..7)
        .map(|c| {
            hidden
                .iter()
                .map(|h| (f64::from(h[c]) - mean[c]).powi(2))
                .sum::<f64>()
                / (m - 1.0)
        })
        .collect();

    GradientDescent::new(0.0).step(&mut net, &grads);
    for c in 0..7 {
        let (rm, rv) = (net.layer2.running_mean()[c], net.layer2.running_var()[c]);
        assert!(
            (f64::from(rm) - 0.1 * mean[c]).abs() < 1e-6,
            "mean {c}: {rm}"
        );
        assert!(
            (f64::from(rv) - (0.9 + 0.1 * var[c])).abs() < 1e-6,
            "var {c}: {rv}"
        );
    }
    assert_eq!(net.layer2.batches_tracked(), 1);
    // Inference now uses the moved statistics.
    assert_ne!(net.forward(&xs[0]), before);
}

#[test]
fn dropout_masks_are_seeded_and_absent_at_inference() {
    let (xs, ys) = classes::<6, 3>(5, 16);
    let net = DropNet::new(2);
    let gradient = |seed: u64, steps: usize| {
        let mut ws = Workspace::new();
        ws.set_seed(seed);
        let mut grads = DropNet::zeros();
        for _ in 0..steps {
            net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
                .unwrap();
        }
        let loss = net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap();
        (
            grads.parameters().flatten().copied().collect::<Vec<f32>>(),
            loss,
        )
    };
    // Same seed, same bits; another seed or another step, other masks.
    assert_eq!(gradient(7, 1), gradient(7, 1));
    assert_ne!(gradient(7, 1).0, gradient(8, 1).0);
    assert_ne!(gradient(7, 1).0, gradient(7, 2).0);
    // `loss_batch` evaluates the latest step's masks: the loss `gradient_batch` returned.
    let mut ws = Workspace::new();
    let mut grads = DropNet::zeros();
    let step_loss = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    assert_eq!(
        net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap(),
        step_loss
    );
    // Inference: no mask, so the dropout layer is the identity.
    let all = net.forward_all(&xs[3]);
    assert_eq!(all.layer2, all.layer1);
    let mut out = vec![[0.0f32; 3]; 16];
    net.forward_batch(&xs, &mut out, &mut ws).unwrap();
    assert_eq!(out[3], net.forward(&xs[3]));
}

#[test]
fn the_description_lists_every_kind_and_its_tensors() {
    use nn::model::{Shape, TensorRole};
    let layers = Everything::LAYERS;
    let names: Vec<&str> = layers.iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        ["hidden", "drop", "norm", "layer4", "layer5", "layer6", "layer7", "layer8", "layer9"]
    );
    assert_eq!(layers[2].input, Shape::Flat(9));
    let norm: Vec<(TensorRole, Vec<usize>)> = layers[2]
        .tensors()
        .map(|t| (t.role, t.dims().to_vec()))
        .collect();
    assert_eq!(
        norm,
        [(TensorRole::Weight, vec![9]), (TensorRole::Bias, vec![9])]
    );
    let buffers: Vec<&str> = layers[2].buffers().map(|t| t.role.name()).collect();
    assert_eq!(
        buffers,
        ["running_mean", "running_var", "num_batches_tracked"]
    );
    assert_eq!(layers[1].tensors().count(), 0);
    assert_eq!(layers[3].activation().map(|a| a.name()), Some("Softsign"));
    assert_eq!(
        Everything::DECLARATION,
        "6 -> hidden: 9 gelu -> drop: dropout 0.25 -> norm: batchnorm -> 7 Softsign -> layernorm \
         -> 5 silu -> dropout 0.1 -> 4 leaky_relu -> 3 softmax"
    );
}
