//! The seminar's claims, as the examples print them, checked against hand computation and
//! independent references: the grandma decision table (slide 3), the perceptron on AND, OR and
//! XOR (slide 3), gradient descent on a linear neuron against the closed form (slide 2), and the
//! dynamic-graph tape against the generated code (slide 8).

use nn_test_support::Data;

use nn::least_squares::{normal_equations, simple_regression};
use nn::perceptron::{Converged, PerceptronError, PerceptronRule};
use nn::tape::{Tape, TapeNetwork, Var};
use nn::{
    BinaryCrossEntropy, CrossEntropy, GradientDescent, MeanSquaredError, Network, Optimizer,
    Workspace,
};

nn::network! {
    /// "Will I visit grandma?": three yes/no inputs (friends invited me out, grandma promised
    /// pie, I am on a diet), the bias as the fourth weight.
    struct Grandma: 3 -> 1 step;
    /// A perceptron with two inputs.
    #[derive(Debug, PartialEq)]
    struct Gate: 2 -> 1 step;
    /// Linear regression with one input.
    struct Line: 1 -> 1 linear;
    /// Linear regression with three inputs.
    struct Plane: 3 -> 1 linear;
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    /// tanh and relu hidden layers, a linear output, for mean squared error.
    struct Mixed: 5 -> 8 tanh -> 6 relu -> 3 linear;
    /// A sigmoid output for binary cross-entropy, with softplus inside.
    struct Binary: 4 -> 6 softplus -> 2 sigmoid;
}

// ---------------------------------------------------------------- slide 3: grandma

/// Sets the grandma network to a weight vector written as on the slide: (bias, friends, pie,
/// diet).
fn grandma(w: [f32; 4]) -> Grandma {
    let mut net = Grandma::zeros();
    net.layer1.set_bias(&[w[0]]);
    net.layer1.set_weights(&[[w[1], w[2], w[3]]]);
    net
}

#[test]
fn grandma_decisions_match_the_hand_worked_table() {
    // z = w0 + w1·friends + w2·pie + w3·diet, go iff z > 0. Worked out by hand per vector:
    //  A = (-5, -1, 10, 0):  z = -5 - f + 10p: with pie z ≥ 4, without z ≤ -5: goes iff pie.
    //  B = (4, -1, 1, 0):    z = 4 - f + p ≥ 3: always goes.
    //  C = (0, -10, 5, 2):   z = -10f + 5p + 2d: invited out z ≤ -3; else z > 0 iff pie or
    //                        diet, and z = 0 (stays home) with neither.
    //  D = (2, -1, 15, -20): z = 2 - f + 15p - 20d: on a diet z ≤ -3, else z ≥ 1: goes iff
    //                        not on a diet.
    type Rule = fn(bool, bool, bool) -> bool;
    let cases: [([f32; 4], Rule); 4] = [
        ([-5.0, -1.0, 10.0, 0.0], |_, p, _| p),
        ([4.0, -1.0, 1.0, 0.0], |_, _, _| true),
        ([0.0, -10.0, 5.0, 2.0], |f, p, d| !f && (p || d)),
        ([2.0, -1.0, 15.0, -20.0], |_, _, d| !d),
    ];
    for (w, rule) in cases {
        let net = grandma(w);
        for bits in 0..8u8 {
            let (f, p, d) = (bits & 4 != 0, bits & 2 != 0, bits & 1 != 0);
            let x = [f, p, d].map(|b| if b { 1.0 } else { 0.0 });
            let goes = net.forward(&x)[0] == 1.0;
            assert_eq!(
                goes,
                rule(f, p, d),
                "weights {w:?}, friends {f}, pie {p}, diet {d}"
            );
        }
    }
}

// ---------------------------------------------------------------- slide 3: perceptron rule

const GATE_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];

fn gate_outputs(net: &Gate) -> [f32; 4] {
    GATE_X.map(|x| net.forward(&x)[0])
}

#[test]
fn perceptron_learns_and_as_traced_by_hand() {
    // From zero weights with η = 1, samples in the order above, by hand:
    // epoch 1: only (1,1) is wrong -> w = (1, 1), b = 1
    // epoch 2: (0,0), (0,1), (1,1) wrong -> w = (2, 1), b = 0
    // epoch 3: (0,1), (1,0), (1,1) wrong -> w = (2, 1), b = -1
    // epoch 4: (1,0), (1,1) wrong -> w = (2, 2), b = -1
    // epoch 5: (0,1) wrong -> w = (2, 1), b = -2
    // epoch 6: no mistakes. 1 + 3 + 3 + 2 + 1 = 10 updates.
    let mut net = Gate::zeros();
    let targets = [[0.0], [0.0], [0.0], [1.0]];
    let done = PerceptronRule::new(1.0, 100)
        .train(&mut net, &GATE_X, &targets)
        .unwrap();
    assert_eq!(
        done,
        Converged {
            epochs: 6,
            updates: 10
        }
    );
    assert_eq!(net.layer1.weights_flat(), &[2.0, 1.0]);
    assert_eq!(net.layer1.bias().as_slice(), &[-2.0]);
    assert_eq!(gate_outputs(&net), [0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn perceptron_learns_or_from_any_start() {
    let targets = [[0.0], [1.0], [1.0], [1.0]];
    for seed in 0..10 {
        let mut net = Gate::new(seed);
        let done = PerceptronRule::new(0.1, 1000)
            .train(&mut net, &GATE_X, &targets)
            .unwrap();
        assert!(done.epochs >= 1);
        assert_eq!(gate_outputs(&net), [0.0, 1.0, 1.0, 1.0], "seed {seed}");
    }
}

#[test]
fn perceptron_reports_that_xor_does_not_converge() {
    let targets = [[0.0], [1.0], [1.0], [0.0]];
    let mut net = Gate::zeros();
    let err = PerceptronRule::new(1.0, 50)
        .train(&mut net, &GATE_X, &targets)
        .unwrap_err();
    match err {
        PerceptronError::NotConverged {
            epochs,
            misclassified,
            samples,
        } => {
            assert_eq!((epochs, samples), (50, 4));
            // No line separates XOR, so at least one sample is always wrong.
            assert!(misclassified >= 1);
            let wrong = gate_outputs(&net)
                .iter()
                .zip(&targets)
                .filter(|(o, t)| **o != t[0])
                .count();
            assert!(wrong >= 1);
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
    assert!(
        err.to_string().contains("did not converge in 50 epochs"),
        "{err}"
    );
}

#[test]
fn perceptron_refuses_unusable_data() {
    let mut net = Gate::zeros();
    let rule = PerceptronRule::default();
    assert_eq!(
        rule.train(&mut net, &GATE_X, &[[0.0], [1.0]]),
        Err(PerceptronError::LengthMismatch {
            inputs: 4,
            targets: 2
        })
    );
    assert_eq!(rule.train(&mut net, &[], &[]), Err(PerceptronError::Empty));
    assert_eq!(
        rule.train(&mut net, &GATE_X, &[[0.0], [0.5], [1.0], [1.0]]),
        Err(PerceptronError::NotBinary {
            sample: 1,
            output: 0,
            value: 0.5
        })
    );
    assert_eq!(net, Gate::zeros());
}

// ---------------------------------------------------------------- slide 2: regression

/// Anscombe's quartet, set I.
const ANSCOMBE_X: [f32; 11] = [10.0, 8.0, 13.0, 9.0, 11.0, 14.0, 6.0, 4.0, 12.0, 7.0, 5.0];
const ANSCOMBE_Y: [f32; 11] = [
    8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
];

/// Trains `net` by plain gradient descent on the mean squared error until the gradient is
/// (numerically) zero.
fn descend<N: nn::Trainable<MeanSquaredError, Scalar = f32>>(
    net: &mut N,
    xs: &[N::Input],
    ys: &[N::Output],
    learning_rate: f32,
    steps: usize,
) {
    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    let mut gd = GradientDescent::new(learning_rate);
    for _ in 0..steps {
        net.gradient_batch(MeanSquaredError, xs, ys, &mut grads, &mut ws)
            .unwrap();
        gd.step(net, &grads);
    }
}

#[test]
fn gradient_descent_on_a_linear_neuron_finds_the_simple_regression_line() {
    let x64: Vec<f64> = ANSCOMBE_X.iter().map(|&x| f64::from(x)).collect();
    let y64: Vec<f64> = ANSCOMBE_Y.iter().map(|&y| f64::from(y)).collect();
    let line = simple_regression(&x64, &y64).unwrap();

    let xs: Vec<[f32; 1]> = ANSCOMBE_X.iter().map(|&x| [x]).collect();
    let ys: Vec<[f32; 1]> = ANSCOMBE_Y.iter().map(|&y| [y]).collect();
    let mut net = Line::zeros();
    // The loss's curvature is 2·mean(x²) ≈ 182 along the slope, so steps stay below 2/182.
    descend(&mut net, &xs, &ys, 0.01, 20_000);
    let slope = f64::from(net.layer1.weights_flat()[0]);
    let intercept = f64::from(net.layer1.bias()[0]);
    // f32 arithmetic: a few units in the 5th digit.
    assert!((slope - line.slope).abs() < 1e-4, "{slope} vs {line:?}");
    assert!(
        (intercept - line.intercept).abs() < 1e-3,
        "{intercept} vs {line:?}"
    );
}

#[test]
fn gradient_descent_on_a_linear_neuron_solves_the_normal_equations() {
    // Noisy data from y = 1 + 2·x1 - 3·x2 + 0.5·x3: the least-squares answer is not the
    // generating one, so only the closed form can say what gradient descent should find.
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut state = 12345u32;
    let mut noise = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    for i in 0..30 {
        let x = [
            (i % 5) as f32 * 0.5,
            (i % 3) as f32 - 1.0,
            ((i * 7) % 11) as f32 / 5.0,
        ];
        xs.push(x);
        ys.push([1.0 + 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2] + 0.3 * noise()]);
    }
    let rows: Vec<[f64; 4]> = xs
        .iter()
        .map(|x| [1.0, f64::from(x[0]), f64::from(x[1]), f64::from(x[2])])
        .collect();
    let y64: Vec<f64> = ys.iter().map(|y| f64::from(y[0])).collect();
    let beta = normal_equations(&rows, &y64).unwrap();

    let mut net = Plane::zeros();
    descend(&mut net, &xs, &ys, 0.05, 20_000);
    let learned = [
        net.layer1.bias()[0],
        net.layer1.weights_flat()[0],
        net.layer1.weights_flat()[1],
        net.layer1.weights_flat()[2],
    ];
    for (got, want) in learned.iter().zip(&beta) {
        assert!(
            (f64::from(*got) - want).abs() < 1e-4,
            "{learned:?} vs {beta:?}"
        );
    }
}

// ---------------------------------------------------------------- slide 8: the tape

/// `max |a - b|` must be within f32 rounding of sums of this length: 1e-5 of the larger
/// magnitude in the slice (the two sides add in different orders).
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f32, |m, w| m.max(w.abs())).max(1e-3);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * scale,
            "{what}[{i}]: tape {g}, generated {w} (scale {scale})"
        );
    }
}

/// Records `net` on a tape, runs every sample, and returns the tape's outputs and the gradient
/// of the mean loss, in the order of `Network::parameters`.
fn tape_run<N: Network<Scalar = f32>>(
    net: &N,
    xs: &[N::Input],
    ys: &[N::Output],
    loss: fn(&mut Tape, Var, Var) -> Result<Var, nn::tape::TapeError>,
) -> (Vec<Vec<f32>>, f32, Vec<Vec<f32>>) {
    let mut tape = Tape::new();
    let tn = TapeNetwork::record(&mut tape, net).unwrap();
    let mut outputs = Vec::new();
    let mut losses = Vec::new();
    for (x, y) in xs.iter().zip(ys) {
        let xv = tape.leaf(x.as_ref());
        let yv = tape.leaf(y.as_ref());
        let a = tn.forward(&mut tape, xv).unwrap();
        outputs.push(tape.value(a).unwrap().to_vec());
        losses.push(loss(&mut tape, a, yv).unwrap());
    }
    let mean = tape.mean(&losses).unwrap();
    tape.backward(mean).unwrap();
    let grads = tn
        .parameters()
        .map(|p| tape.grad(p).unwrap().to_vec())
        .collect();
    (outputs, tape.value(mean).unwrap()[0], grads)
}

fn compare<N, L>(
    net: &N,
    loss: L,
    tape_loss: fn(&mut Tape, Var, Var) -> Result<Var, nn::tape::TapeError>,
    xs: &[N::Input],
    ys: &[N::Output],
    what: &str,
) where
    N: nn::Trainable<L, Scalar = f32>,
{
    let (outputs, tape_loss_value, tape_grads) = tape_run(net, xs, ys, tape_loss);
    for (i, (x, out)) in xs.iter().zip(&outputs).enumerate() {
        assert_close(
            out,
            net.forward(x).as_ref(),
            &format!("{what}: output of sample {i}"),
        );
    }
    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    let l = net
        .gradient_batch(loss, xs, ys, &mut grads, &mut ws)
        .unwrap();
    assert_close(&[tape_loss_value], &[l], &format!("{what}: loss"));
    for (k, (t, g)) in tape_grads.iter().zip(grads.parameters()).enumerate() {
        let tensor = nn::model::Parameter::locate(N::LAYERS, k, 0).expect("a tensor per slice");
        assert_close(t, g, &format!("{what}: gradient of {tensor}"));
    }
    assert_eq!(tape_grads.len(), nn::model::tensor_count(N::LAYERS));
}

#[test]
fn tape_and_generated_code_agree_on_the_digit_network() {
    let data = nn::data::Dataset::<784, 10>::from_idx(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-images-idx3-ubyte.gz"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/mnist/t10k-labels-idx1-ubyte.gz"
        ),
    )
    .unwrap();
    let (xs, ys) = (&data.inputs[..8], &data.targets[..8]);
    for seed in [1, 2] {
        let net = Digits::new(seed);
        compare(
            &net,
            CrossEntropy,
            Tape::cross_entropy,
            xs,
            ys,
            "digits/cross-entropy",
        );
        compare(
            &net,
            MeanSquaredError,
            Tape::mse,
            &xs[..1],
            &ys[..1],
            "digits/mse, one sample",
        );
    }
}

#[test]
fn tape_and_generated_code_agree_on_tanh_relu_with_mse() {
    for seed in [3, 4, 5] {
        let mut d = Data(seed);
        let xs = d.rows_between::<5>(6, -1.0, 1.0);
        let ys = d.rows_between::<3>(6, -1.0, 1.0);
        compare(
            &Mixed::new(seed),
            MeanSquaredError,
            Tape::mse,
            &xs,
            &ys,
            "tanh/relu/mse",
        );
    }
}

#[test]
fn tape_and_generated_code_agree_on_softplus_sigmoid_with_bce() {
    let mut d = Data(9);
    let xs = d.rows_between::<4>(5, -2.0, 2.0);
    let ys = d.rows_between::<2>(5, 0.0, 1.0);
    compare(
        &Binary::new(9),
        BinaryCrossEntropy,
        Tape::binary_cross_entropy,
        &xs,
        &ys,
        "softplus/sigmoid/bce",
    );
}

#[test]
fn the_slides_graph_by_hand() {
    // a = x * y; b = a + z; c = sum(b): ∂c/∂x = y, ∂c/∂y = x, ∂c/∂z = 1.
    let mut tape = Tape::new();
    let x = tape.leaf(&[2.0, -1.0]);
    let y = tape.leaf(&[3.0, 4.0]);
    let z = tape.leaf(&[0.5, 0.25]);
    let a = tape.mul(x, y).unwrap();
    let b = tape.add(a, z).unwrap();
    let c = tape.sum(b).unwrap();
    assert_eq!(tape.value(a).unwrap(), &[6.0, -4.0]);
    assert_eq!(tape.value(b).unwrap(), &[6.5, -3.75]);
    assert_eq!(tape.value(c).unwrap(), &[2.75]);
    tape.backward(c).unwrap();
    assert_eq!(tape.grad(x).unwrap(), &[3.0, 4.0]);
    assert_eq!(tape.grad(y).unwrap(), &[2.0, -1.0]);
    assert_eq!(tape.grad(z).unwrap(), &[1.0, 1.0]);
    assert_eq!(tape.grad(a).unwrap(), &[1.0, 1.0]);
}

#[test]
fn a_wrong_input_size_is_a_run_time_error_on_the_tape() {
    // What `network!` rejects at compile time, the tape finds when it runs.
    let mut tape = Tape::new();
    let tn = TapeNetwork::record(&mut tape, &Mixed::new(1)).unwrap();
    let x = tape.leaf(&[0.0; 4]);
    let err = tn.forward(&mut tape, x).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matvec: a matrix of 8×5 and a vector of 4 values do not fit: expected a vector as long as the matrix has columns"
    );
}

// ---------------------------------------------------------------- slide 7: losses

#[test]
fn cross_entropy_learns_the_digits_faster_than_mean_squared_error() {
    // The losses example's claim: the same network from the same weights, trained the same way
    // for one epoch, reads more test digits with cross-entropy than with MSE.
    let mnist = nn::data::Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    let trainer = nn::Trainer {
        epochs: 1,
        batch_size: 32,
        seed: 1,
    };
    let accuracy_with = |net: &mut Digits, ce: bool| {
        let mut opt = nn::Momentum::new(0.1, 0.9);
        let train = nn::Samples::new(&mnist.train.inputs, &mnist.train.targets);
        let test = Some(nn::Samples::new(&mnist.test.inputs, &mnist.test.targets));
        let history = if ce {
            trainer.fit(net, &mut opt, CrossEntropy, train, test, &mut |_| {})
        } else {
            trainer.fit(net, &mut opt, MeanSquaredError, train, test, &mut |_| {})
        };
        history
            .unwrap()
            .last()
            .and_then(|e| e.test_accuracy)
            .unwrap()
    };
    let mse = accuracy_with(&mut Digits::new(1), false);
    let ce = accuracy_with(&mut Digits::new(1), true);
    assert!(ce > 0.5, "cross-entropy learned little: {ce}");
    assert!(ce > mse, "cross-entropy {ce}, mean squared error {mse}");
}

// ---------------------------------------------------------------- the tutorial

/// The tutorial's chapter 8 quotes the generated code from the expansion snapshot: its block,
/// hidden lines included, must be that file, so a change of the macro's output that updates the
/// snapshot also shows up here. `NN_BLESS=1` rewrites the block from the snapshot (as it does
/// the snapshot itself), showing the struct, `forward` and the backprop body `gradient_rows`.
#[test]
fn tutorial_quotes_the_current_expansion() {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = format!("{root}/docs/tutorial.md");
    let tutorial = std::fs::read_to_string(&path).unwrap();
    let snapshot = std::fs::read_to_string(format!("{root}/tests/expand/xor.expanded.rs")).unwrap();
    // The snapshot's body, after its header comment.
    let body: Vec<&str> = snapshot
        .lines()
        .skip_while(|l| l.starts_with("//"))
        .skip_while(|l| l.is_empty())
        .collect();

    let open = "<!-- expansion: tests/expand/xor.expanded.rs -->\n";
    let close = "<!-- end of expansion -->";
    let start = tutorial
        .find(open)
        .expect("the tutorial marks its quotation")
        + open.len();
    let end = start
        + tutorial[start..]
            .find(close)
            .expect("the quotation has an end marker");

    if std::env::var_os("NN_BLESS").is_some() {
        let block = quotation(&body);
        let updated = format!("{}{block}{}", &tutorial[..start], &tutorial[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }

    let block: Vec<&str> = tutorial[start..end].lines().collect();
    assert_eq!(
        block.first(),
        Some(&"```rust"),
        "the quotation is a Rust block (a doctest)"
    );
    assert_eq!(block.last(), Some(&"```"));
    let quoted: Vec<&str> = block[1..block.len() - 1]
        .iter()
        .map(|line| match *line {
            "#" => "",
            l => l.strip_prefix("# ").unwrap_or(l),
        })
        .collect();
    assert!(
        quoted == body,
        "docs/tutorial.md quotes an old expansion: run this test with NN_BLESS=1 and review the diff"
    );
}

/// The snapshot as a doctest block: the struct, the `impl Xor {` line, `forward`,
/// its closing brace, and the whole hidden `GradientRows` impl (the backprop body) shown, every
/// other line hidden with `# `.
fn quotation(body: &[&str]) -> String {
    let mut shown = vec![false; body.len()];
    let find = |from: usize, pred: &dyn Fn(&str) -> bool| {
        (from..body.len())
            .find(|&k| pred(body[k]))
            .expect("the snapshot has the quoted parts")
    };
    let mut show = |a: usize, b: usize| shown[a..=b].iter_mut().for_each(|s| *s = true);
    let s = find(0, &|l| l.starts_with("/// The seminar's XOR network."));
    show(s, find(s, &|l| l == "}"));
    let imp = find(0, &|l| l == "impl Xor {");
    show(imp, imp);
    let s = find(imp, &|l| {
        l.starts_with("    /// The forward pass of one sample: each layer")
    });
    let last = find(s, &|l| l == "    }");
    show(s, last);
    let end = find(last, &|l| l == "}");
    show(end, end);
    let backprop = find(end, &|l| {
        l.starts_with("impl<L> ::nn::__private::GradientRows<L> for Xor")
    });
    show(backprop, find(backprop, &|l| l == "}"));
    let mut out = String::from("```rust\n");
    for (line, shown) in body.iter().zip(&shown) {
        match (shown, line.is_empty()) {
            (true, _) => out += line,
            (false, true) => out += "#",
            (false, false) => {
                out += "# ";
                out += line;
            }
        }
        out += "\n";
    }
    out + "```\n"
}
