//! Backprop checked against finite differences: every activation with every loss it supports,
//! a network with three hidden layers, several seeds. The reference is `nn::check_gradients`,
//! which differentiates the loss numerically (central differences with Richardson
//! extrapolation) without touching the backward pass under test.

use nn_test_support::Data;

use nn::{
    check_gradients, BinaryCrossEntropy, CrossEntropy, GradCheck, MeanSquaredError, Network,
    Trainable,
};

nn::network! {
    struct SigmoidNet: 3 -> 4 sigmoid -> 2 sigmoid;
    struct TanhNet: 3 -> 4 tanh -> 2 tanh;
    struct ReluNet: 3 -> 5 relu -> 2 relu;
    struct SoftplusNet: 3 -> 4 softplus -> 2 softplus;
    struct LinearNet: 3 -> 2 linear;
    struct SoftmaxNet: 3 -> 4 tanh -> 3 softmax;
    struct MixedNet: 3 -> a: 4 softplus -> b: 3 relu -> c: 2 linear;
    /// Three hidden layers.
    struct Deep: 4 -> 6 sigmoid -> 5 tanh -> 4 softplus -> 3 softmax;
}

const SEEDS: [u64; 4] = [1, 2, 3, 42];

fn check<N, L>(mut net: N, loss: L, inputs: &[N::Input], targets: &[N::Output], what: &str)
where
    N: Trainable<L>,
    L: Copy,
{
    let report = check_gradients(&mut net, loss, inputs, targets, GradCheck::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(report.checked, N::parameter_count());
    assert!(report.passed(), "{what}: {report}");
}

#[test]
fn sigmoid_with_mse_and_binary_cross_entropy() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x = d.rows::<3>(5, Data::signed);
        let y = d.rows::<2>(5, Data::uniform);
        check(
            SigmoidNet::new(seed),
            MeanSquaredError,
            &x,
            &y,
            "sigmoid/mse",
        );
        check(
            SigmoidNet::new(seed),
            BinaryCrossEntropy,
            &x,
            &y,
            "sigmoid/bce",
        );
    }
}

#[test]
fn tanh_softplus_linear_with_mse() {
    for seed in SEEDS {
        let mut d = Data(seed + 100);
        let x = d.rows::<3>(5, Data::signed);
        let y = d.rows::<2>(5, Data::signed);
        check(TanhNet::new(seed), MeanSquaredError, &x, &y, "tanh/mse");
        check(
            SoftplusNet::new(seed),
            MeanSquaredError,
            &x,
            &y,
            "softplus/mse",
        );
        check(LinearNet::new(seed), MeanSquaredError, &x, &y, "linear/mse");
        check(MixedNet::new(seed), MeanSquaredError, &x, &y, "mixed/mse");
    }
}

#[test]
fn relu_with_mse() {
    // A nudge of a weight that carries a weighted sum across 0 measures the wrong slope; a small
    // step keeps the check away from relu's kink on these inputs.
    let options = GradCheck {
        step: 1e-3,
        abs_tolerance: 5e-4,
        ..GradCheck::default()
    };
    for seed in SEEDS {
        let mut d = Data(seed + 200);
        let x = d.rows::<3>(5, Data::signed);
        let y = d.rows::<2>(5, Data::signed);
        let mut net = ReluNet::new(seed);
        let report = check_gradients(&mut net, MeanSquaredError, &x, &y, options).unwrap();
        assert!(report.passed(), "relu/mse seed {seed}: {report}");
    }
}

#[test]
fn softmax_with_cross_entropy_and_mse() {
    for seed in SEEDS {
        let mut d = Data(seed + 300);
        let x = d.rows::<3>(6, Data::signed);
        let y = d.one_hot::<3>(6);
        check(SoftmaxNet::new(seed), CrossEntropy, &x, &y, "softmax/ce");
        check(
            SoftmaxNet::new(seed),
            MeanSquaredError,
            &x,
            &y,
            "softmax/mse",
        );
    }
}

#[test]
fn three_hidden_layers() {
    for seed in SEEDS {
        let mut d = Data(seed + 400);
        let x = d.rows::<4>(8, Data::signed);
        let y = d.one_hot::<3>(8);
        check(Deep::new(seed), CrossEntropy, &x, &y, "deep/ce");
    }
}

#[test]
fn per_sample_gradient_is_the_batch_of_one() {
    let net = Deep::new(5);
    let mut d = Data(9);
    let x = d.rows::<4>(1, Data::signed);
    let y = d.one_hot::<3>(1);
    let mut ws = nn::Workspace::new();
    let mut single = Deep::zeros();
    let mut batch = Deep::zeros();
    let l1 = net.gradient(CrossEntropy, &x[0], &y[0], &mut single, &mut ws);
    let l2 = net
        .gradient_batch(CrossEntropy, &x, &y, &mut batch, &mut ws)
        .unwrap();
    assert_eq!(l1, l2);
    assert!(single.parameters().eq(batch.parameters()));
    assert_eq!(net.loss(CrossEntropy, &x[0], &y[0]), l1);
}

#[test]
fn batch_gradient_is_the_mean_of_sample_gradients() {
    let net = SoftmaxNet::new(11);
    let mut d = Data(12);
    let x = d.rows::<3>(4, Data::signed);
    let y = d.one_hot::<3>(4);
    let mut ws = nn::Workspace::new();
    let mut batch = SoftmaxNet::zeros();
    let mean = net
        .gradient_batch(CrossEntropy, &x, &y, &mut batch, &mut ws)
        .unwrap();
    let mut sum: Vec<f32> = vec![0.0; SoftmaxNet::parameter_count()];
    let mut losses = 0.0;
    let mut g = SoftmaxNet::zeros();
    for (x, y) in x.iter().zip(&y) {
        losses += net.gradient(CrossEntropy, x, y, &mut g, &mut ws);
        for (s, v) in sum.iter_mut().zip(g.parameters().flatten()) {
            *s += v;
        }
    }
    assert!((mean - losses / 4.0).abs() < 1e-6);
    for (s, b) in sum.iter().zip(batch.parameters().flatten()) {
        assert!((s / 4.0 - b).abs() < 1e-6, "{} vs {b}", s / 4.0);
    }
}

#[test]
fn a_broken_gradient_is_caught() {
    // The check must be able to fail: corrupt the analytic gradient by checking a network against
    // a loss whose gradient it does not match (the targets change between the two calls).
    let mut net = SigmoidNet::new(3);
    let mut d = Data(77);
    let x = d.rows::<3>(3, Data::signed);
    let y = d.rows::<2>(3, Data::uniform);
    let report = check_gradients(&mut net, MeanSquaredError, &x, &y, GradCheck::default()).unwrap();
    assert!(report.passed());
    // Scale one weight's analytic derivative through a tolerance of zero width and a wrong step:
    // a huge step makes the numeric derivative wrong, and the check says so.
    let sloppy = GradCheck {
        step: 5.0,
        abs_tolerance: 1e-6,
        rel_tolerance: 1e-6,
    };
    let report = check_gradients(&mut net, MeanSquaredError, &x, &y, sloppy).unwrap();
    assert!(!report.passed());
    assert!(report.mismatch_count > 0 && !report.mismatches.is_empty());
}
