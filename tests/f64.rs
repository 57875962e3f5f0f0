//! `f64` networks (`struct Net: f64 ...`): the same API in `[f64; N]`, checked against
//! independent references in f64: the closed form of least squares, central differences of
//! the loss at f64 tolerances, a forward pass written out by hand, and the weight files.

use nn::least_squares::normal_equations;
use nn::{
    check_gradients, weights, Adam, BinaryCrossEntropy, CrossEntropy, GradCheck, GradientDescent,
    Huber, MeanAbsoluteError, MeanSquaredError, Momentum, Network, Optimizer, Workspace,
};
use nn_test_support::{allocations, CountingAllocator, Data};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

nn::network! {
    /// The seminar's regression: three inputs, one linear neuron, `y = w·x + b`, in f64.
    struct Plane: f64 3 -> 1 linear;
    /// Every smooth built-in activation in one f64 network, ending in softmax.
    struct Deep: f64 4 -> 6 tanh -> 5 sigmoid -> 5 softplus -> 4 gelu -> 4 silu
        -> 3 leaky_relu 0.5 -> 3 softmax;
    /// The same network in f32.
    struct Deep32: 4 -> 6 tanh -> 5 sigmoid -> 5 softplus -> 4 gelu -> 4 silu
        -> 3 leaky_relu 0.5 -> 3 softmax;
    /// Kinks: relu, for the regression losses.
    struct Kinked: f64 5 -> 7 relu -> 6 tanh -> 2 linear;
    /// A sigmoid output for binary cross-entropy.
    struct Binary: f64 3 -> 4 tanh -> 2 sigmoid;
}

/// `n` rows of `N` values in `[-1, 1)` (exact in f32, so also in f64).
fn rows<const N: usize>(seed: u64, n: usize) -> Vec<[f64; N]> {
    let mut d = Data(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| f64::from(d.signed())))
        .collect()
}

/// `n` one-hot rows of width `N`.
fn one_hot<const N: usize>(n: usize) -> Vec<[f64; N]> {
    (0..n)
        .map(|i| std::array::from_fn(|k| if k == (i * 7 + 3) % N { 1.0 } else { 0.0 }))
        .collect()
}

#[test]
fn gradient_descent_on_the_regression_recovers_the_closed_form_to_1e_9() {
    // y = 2 + 0.5·x1 - 1.5·x2 + 0.25·x3 plus noise, 40 samples.
    let xs: Vec<[f64; 3]> = rows(11, 40);
    let mut noise = Data(5);
    let ys: Vec<[f64; 1]> = xs
        .iter()
        .map(|x| [2.0 + 0.5 * x[0] - 1.5 * x[1] + 0.25 * x[2] + 0.1 * f64::from(noise.signed())])
        .collect();
    let design: Vec<[f64; 4]> = xs.iter().map(|x| [1.0, x[0], x[1], x[2]]).collect();
    let targets: Vec<f64> = ys.iter().map(|y| y[0]).collect();
    let closed = normal_equations(&design, &targets).unwrap();

    let mut net = Plane::zeros();
    let mut grads = Plane::zeros();
    let mut ws = Workspace::new();
    let mut opt = GradientDescent::new(0.5);
    for _ in 0..3000 {
        net.gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
    }
    let got = [
        net.layer1.bias()[0],
        net.layer1.weights()[0][0],
        net.layer1.weights()[0][1],
        net.layer1.weights()[0][2],
    ];
    for (k, (g, c)) in got.iter().zip(&closed).enumerate() {
        assert!(
            (g - c).abs() <= 1e-9,
            "coefficient {k}: gradient descent {g}, closed form {c}"
        );
    }
    // An f32 network cannot get this close: its coefficients carry f32 rounding (~1e-7).
    assert!(closed
        .iter()
        .any(|c| (c - f64::from(*c as f32)).abs() > 1e-9));
}

#[test]
fn gradients_pass_the_check_at_f64_tolerances() {
    let xs: Vec<[f64; 4]> = rows(3, 6);
    let ys: Vec<[f64; 3]> = one_hot(6);
    let mut net = Deep::new(7);
    let report = check_gradients(&mut net, CrossEntropy, &xs, &ys, GradCheck::F64).unwrap();
    assert!(report.passed(), "{report}");
    // The noise floor is about 1e-13 here (the report shows 7e-13): well inside 1e-9.
    assert!(report.max_abs_error < 1e-10, "{report}");
    assert_eq!(report.checked, Deep::parameter_count());

    let xs: Vec<[f64; 5]> = rows(4, 5);
    let ys: Vec<[f64; 2]> = rows(9, 5);
    let mut kinked = Kinked::new(2);
    for (name, report) in [
        (
            "mse",
            check_gradients(&mut kinked, MeanSquaredError, &xs, &ys, GradCheck::F64),
        ),
        (
            "huber",
            check_gradients(&mut kinked, Huber::new(0.3), &xs, &ys, GradCheck::F64),
        ),
        (
            "l1",
            check_gradients(&mut kinked, MeanAbsoluteError, &xs, &ys, GradCheck::F64),
        ),
    ] {
        let report = report.unwrap();
        assert!(report.passed(), "{name}: {report}");
        assert!(report.skipped < report.checked / 10, "{name}: {report}");
    }

    let xs: Vec<[f64; 3]> = rows(6, 4);
    let ys: Vec<[f64; 2]> = rows(8, 4)
        .iter()
        .map(|y: &[f64; 2]| y.map(|v| 0.5 + 0.5 * v))
        .collect();
    let mut binary = Binary::new(3);
    let report =
        check_gradients(&mut binary, BinaryCrossEntropy, &xs, &ys, GradCheck::F64).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn the_f64_tolerance_is_beyond_what_an_f32_network_can_meet() {
    // The same network, weights and data in f32: its rounding noise is far above the f64
    // tolerance, so the check could fail, and does.
    let net64 = Deep::new(7);
    let mut net32 = Deep32::zeros();
    for (to, from) in net32.parameters_mut().zip(net64.parameters()) {
        for (t, f) in to.iter_mut().zip(from) {
            *t = *f as f32;
        }
    }
    let xs: Vec<[f32; 4]> = rows::<4>(3, 6)
        .iter()
        .map(|x| x.map(|v| v as f32))
        .collect();
    let ys: Vec<[f32; 3]> = one_hot::<3>(6)
        .iter()
        .map(|y| y.map(|v| v as f32))
        .collect();
    let report = check_gradients(&mut net32, CrossEntropy, &xs, &ys, GradCheck::F64).unwrap();
    assert!(!report.passed(), "{report}");
    let report = check_gradients(&mut net32, CrossEntropy, &xs, &ys, GradCheck::default()).unwrap();
    assert!(report.passed(), "{report}");
}

/// `f(W·x + b)` for one layer, written out from the weights.
fn layer(w: &[f64], b: &[f64], x: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    b.iter()
        .enumerate()
        .map(|(j, bj)| {
            f(bj + w[j * x.len()..(j + 1) * x.len()]
                .iter()
                .zip(x)
                .map(|(w, x)| w * x)
                .sum::<f64>())
        })
        .collect()
}

#[test]
fn forward_is_the_formula_in_f64() {
    let net = Deep::new(21);
    let p: Vec<&[f64]> = net.parameters().collect();
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let gelu = |z: f64| {
        0.5 * z * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (z + 0.044715 * z * z * z)).tanh())
    };
    let leaky = |z: f64| if z > 0.0 { z } else { 0.5 * z };
    for x in rows::<4>(17, 5) {
        let a = layer(p[0], p[1], &x, f64::tanh);
        let a = layer(p[2], p[3], &a, sigmoid);
        let a = layer(p[4], p[5], &a, |z| (1.0 + z.exp()).ln());
        let a = layer(p[6], p[7], &a, gelu);
        let a = layer(p[8], p[9], &a, |z| z * sigmoid(z));
        let z = layer(p[10], p[11], &a, leaky);
        let z = layer(p[12], p[13], &z, |z| z);
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|z| (z - m).exp()).sum();
        let want: Vec<f64> = z.iter().map(|z| (z - m).exp() / sum).collect();
        let got = net.forward(&x);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-15, "nn {g}, by hand {w}");
        }
        let mut batch = [[0.0; 3]];
        net.forward_batch(&[x], &mut batch, &mut Workspace::new())
            .unwrap();
        assert_eq!(batch[0], got, "forward_batch gives forward's bits");
    }
}

#[test]
fn the_optimizers_update_in_f64() {
    // One parameter with gradient g: the updates by their formulas, in f64.
    let xs = [[1.0, 0.0, 0.0]];
    let ys = [[0.0]];
    let fresh = || {
        let mut net = Plane::zeros();
        net.layer1.set_weights(&[[0.3, 0.0, 0.0]]);
        net
    };
    let mut ws = Workspace::new();
    let mut grads = Plane::zeros();
    fresh()
        .gradient_batch(MeanSquaredError, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    let g = grads.layer1.weights()[0][0];
    assert_eq!(g, 2.0 * 0.3);

    let (lr, mu) = (f64::from(0.1f32), f64::from(0.9f32));
    let mut net = fresh();
    let mut momentum = Momentum::new(0.1, 0.9);
    momentum.step(&mut net, &grads);
    momentum.step(&mut net, &grads);
    let v1 = lr * g;
    let v2 = lr * g + mu * v1;
    assert_eq!(net.layer1.weights()[0][0], 0.3 - v1 - v2);

    let mut net = fresh();
    let mut adam = Adam::new(0.1);
    adam.step(&mut net, &grads);
    let (b1, b2, eps) = (f64::from(0.9f32), f64::from(0.999f32), f64::from(1e-8f32));
    let m = (1.0 - b1) * g;
    let v = (1.0 - b2) * g * g;
    let m_hat = m * (1.0 / (1.0 - b1));
    let v_hat = v * (1.0 / (1.0 - b2));
    let want = 0.3 - lr * m_hat / (v_hat.sqrt() + eps);
    assert!((net.layer1.weights()[0][0] - want).abs() <= 1e-16, "adam");
}

#[test]
fn weight_files_keep_every_f64_bit() {
    let net = Deep::new(5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.safetensors");
    weights::save(&net, &path).unwrap();
    let back: Deep = weights::load(&path).unwrap();
    assert!(
        back.parameters().eq(net.parameters()),
        "an F64 file round-trips bit for bit"
    );
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, tensor) in file.tensors() {
        assert_eq!(tensor.dtype(), safetensors::Dtype::F64, "{name}");
    }

    // Saved as F32, the file loads into the f32 network of the same shape, each weight the
    // nearest f32; and an f32 file loads into the f64 network exactly.
    let narrow = weights::to_bytes_as(&net, weights::Dtype::F32).unwrap();
    let net32: Deep32 = weights::from_bytes(&narrow).unwrap();
    for (a, b) in net32.parameters().flatten().zip(net.parameters().flatten()) {
        assert_eq!(*a, *b as f32);
    }
    let wide: Deep = weights::from_bytes(&weights::to_bytes(&net32).unwrap()).unwrap();
    for (a, b) in wide
        .parameters()
        .flatten()
        .zip(net32.parameters().flatten())
    {
        assert_eq!(*a, f64::from(*b));
    }
}

#[test]
fn a_diverged_f64_network_is_refused_with_the_tensor_named() {
    let mut net = Plane::zeros();
    net.layer1.weights_mut()[0][2] = f64::NAN;
    let err = weights::to_bytes(&net).unwrap_err().to_string();
    assert!(err.contains("0.weight") && err.contains("index 2"), "{err}");
}

#[test]
fn an_f64_training_step_allocates_nothing() {
    let mut net = Deep::new(1);
    let mut grads = Deep::zeros();
    let mut ws = Workspace::with_capacity(32);
    let mut opt = Adam::new(1e-3);
    let xs: Vec<[f64; 4]> = rows(2, 32);
    let ys: Vec<[f64; 3]> = one_hot(32);
    let mut out = vec![[0.0; 3]; 32];
    // Adam's moments exist from its construction; the workspace from `with_capacity`.
    let before = allocations();
    for _ in 0..3 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
        net.forward_batch(&xs, &mut out, &mut ws).unwrap();
        let _ = net.forward(&xs[0]);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in f64 training steps"
    );
    // The counter does count: a bigger batch grows the workspace.
    let big: Vec<[f64; 4]> = rows(3, 64);
    let mut big_out = vec![[0.0; 3]; 64];
    let grown = allocations();
    net.forward_batch(&big, &mut big_out, &mut ws).unwrap();
    assert!(allocations() > grown);
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weights");

/// The f64 fixture that `scripts/check_safetensors.py` (numpy, in CI) reads: `Deep`'s weights as
/// nn saves them (F64) and its outputs on a few inputs. Run with `NN_BLESS=1` to rewrite it.
/// The weights file must match byte for byte; the outputs to within 1e-14.
#[test]
fn the_f64_fixtures_are_current() {
    let net = Deep::new(64);
    let xs: Vec<[f64; 4]> = rows(31, 5);
    let ys: Vec<[f64; 3]> = xs.iter().map(|x| net.forward(x)).collect();
    let le = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (x, y) = (le(xs.as_flattened()), le(ys.as_flattened()));
    let io = safetensors::serialize(
        [
            (
                "inputs",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![5, 4], &x)
                    .unwrap(),
            ),
            (
                "outputs",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![5, 3], &y)
                    .unwrap(),
            ),
        ],
        None,
    )
    .unwrap();
    let weights_file = weights::to_bytes(&net).unwrap();
    let (w_path, io_path) = (
        format!("{FIXTURES}/f64-written.safetensors"),
        format!("{FIXTURES}/f64-written-io.safetensors"),
    );
    if std::env::var_os("NN_BLESS").is_some() {
        std::fs::write(&w_path, &weights_file).unwrap();
        std::fs::write(&io_path, &io).unwrap();
    }
    let stale = "is stale: rerun with NN_BLESS=1 and check it with scripts/check_safetensors.py";
    assert!(
        std::fs::read(&w_path).unwrap() == weights_file,
        "{w_path} {stale}"
    );
    let stored = std::fs::read(&io_path).unwrap();
    let stored = safetensors::SafeTensors::deserialize(&stored).unwrap();
    let values = |name: &str| -> Vec<f64> {
        stored
            .tensor(name)
            .unwrap()
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    assert!(values("inputs") == xs.as_flattened(), "{io_path} {stale}");
    for (now, then) in ys.as_flattened().iter().zip(values("outputs")) {
        assert!(
            (now - then).abs() <= 1e-14,
            "{now} vs {then}: {io_path} {stale}"
        );
    }
}
