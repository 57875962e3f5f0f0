//! The tape runs every layer kind `network!` declares (convolution with stride and padding, max
//! and average pooling, dropout, batch and layer normalisation, every activation, a custom one)
//! and agrees with the generated code: the same outputs at inference (running statistics, no
//! mask), the same loss and gradients in training (batch statistics, the very dropout masks the
//! step drew), on several seeds.

use nn::model::TensorRole;
use nn::tape::{Function, Mode, Tape, TapeError, TapeNetwork, Var};
use nn::{
    BinaryCrossEntropy, CrossEntropy, CustomActivation, MeanSquaredError, Network, Trainable,
    Workspace,
};
use nn_test_support::Data;

nn::network! {
    /// LeNet's shape, small: two convolutions (one padded), both poolings, dropout, dense.
    struct LeNetLike: 1x12x12
        -> features: conv 4 3x3 pad 1 relu
        -> maxpool 2x2
        -> conv 6 3x3 tanh
        -> avgpool 2x2 stride 1
        -> dropout 0.25
        -> 16 relu
        -> 5 softmax;

    /// A strided, padded convolution, both normalisations of an image, an overlapping pool.
    struct Strided: 2x9x9
        -> conv 3 3x3 stride 2 pad 1 leaky_relu
        -> batchnorm
        -> layernorm
        -> maxpool 2x2 stride 1
        -> 4 gelu
        -> 3 softmax;

    /// The flat network, small.
    struct Mlp: 8 -> 16 gelu -> batchnorm -> 12 leaky_relu 0.2 -> layernorm -> 4 softmax;

    /// Every activation that trains, and a custom one.
    struct Activations: 5 -> 6 sigmoid -> 6 tanh -> 6 relu -> 6 softplus -> 6 linear
        -> 6 silu -> 6 gelu -> 6 leaky_relu -> 6 Softsign -> 3 sigmoid;

    /// Two dropout layers, flat.
    struct Drops: 6 -> 10 swish -> dropout 0.3 -> 8 tanh -> dropout 0.5 -> 3 softmax;

    /// Normalisation and dropout straight on the input, for mean squared error.
    struct InputNorms: 4 -> batchnorm -> layernorm -> dropout 0.2 -> 3 gelu -> 2 linear;

    /// The perceptron's step, which only infers.
    struct Perceptron: 3 -> 4 step -> 2 sigmoid;
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

type LossFn = fn(&mut Tape, Var, Var) -> Result<Var, TapeError>;

/// `max |got - want|` must be within `1e-5` of the larger magnitude in `want` (at least 1e-3):
/// f32 rounding of sums taken in different orders.
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

/// Moves batch normalisation's running statistics away from their start (mean 0, variance 1),
/// so that inference reads values of its own.
fn randomise_running_statistics<N: Network<Scalar = f32>>(net: &mut N, seed: u64) {
    let mut d = Data(seed + 100);
    let roles: Vec<TensorRole> = N::LAYERS
        .iter()
        .flat_map(|l| l.tensors().chain(l.buffers()).map(|t| t.role))
        .collect();
    for (slice, role) in net.state_mut().zip(roles) {
        for v in slice {
            match role {
                TensorRole::RunningMean => *v = 0.5 * d.signed(),
                TensorRole::RunningVar => *v = 0.5 + d.uniform(),
                _ => {}
            }
        }
    }
}

/// Runs `net` on the tape and through the generated code: outputs at inference, then the loss
/// and every parameter's gradient of one training step on the batch `xs`, `ys`.
fn compare<N, L>(
    net: &N,
    loss: L,
    tape_loss: LossFn,
    xs: &[N::Input],
    ys: &[N::Output],
    seed: u64,
    what: &str,
) where
    N: Trainable<L, Scalar = f32>,
{
    let customs = [Function::custom::<Softsign>()];
    let mut tape = Tape::new();
    let tn = TapeNetwork::record_with(&mut tape, net, &customs).unwrap();
    let inputs: Vec<Var> = xs.iter().map(|x| tape.leaf(x.as_ref())).collect();

    let outputs = tn
        .forward_batch(&mut tape, &inputs, Mode::Inference)
        .unwrap();
    for (i, (x, &out)) in xs.iter().zip(&outputs[0]).enumerate() {
        assert_close(
            tape.value(out).unwrap(),
            net.forward(x).as_ref(),
            &format!("{what}: inference output of sample {i}"),
        );
    }

    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    ws.set_seed(seed);
    let l = net
        .gradient_batch(loss, xs, ys, &mut grads, &mut ws)
        .unwrap();
    let seeds: Vec<u64> = (0..N::LAYERS.len()).map(|k| ws.mask_seed(k)).collect();
    let outputs = tn
        .forward_batch(&mut tape, &inputs, Mode::Training { mask_seeds: &seeds })
        .unwrap();
    let losses: Vec<Var> = outputs[0]
        .iter()
        .zip(ys)
        .map(|(&a, y)| {
            let y = tape.leaf(y.as_ref());
            tape_loss(&mut tape, a, y).unwrap()
        })
        .collect();
    let mean = tape.mean(&losses).unwrap();
    tape.backward(mean).unwrap();
    assert_close(
        &[tape.value(mean).unwrap()[0]],
        &[l],
        &format!("{what}: training loss"),
    );
    let tape_grads: Vec<Vec<f32>> = tn
        .parameters()
        .map(|p| tape.grad(p).unwrap().to_vec())
        .collect();
    assert_eq!(
        tape_grads.len(),
        nn::model::tensor_count(N::LAYERS),
        "{what}"
    );
    for (k, (t, g)) in tape_grads.iter().zip(grads.parameters()).enumerate() {
        let tensor = nn::model::Parameter::locate(N::LAYERS, k, 0).expect("a tensor per slice");
        assert_close(t, g, &format!("{what}: gradient of {tensor}"));
    }
}

/// `n` samples of `N` inputs in (-1, 1) with one-hot targets of `M` classes.
fn classes<const N: usize, const M: usize>(seed: u64, n: usize) -> (Vec<[f32; N]>, Vec<[f32; M]>) {
    let mut data = Data(seed);
    (data.rows(n, Data::signed), data.one_hot(n))
}

#[test]
fn a_lenet_like_convolutional_network_runs_the_same_on_the_tape() {
    for seed in 1..=3 {
        let (xs, ys) = classes::<144, 5>(seed, 4);
        let net = LeNetLike::new(seed);
        compare(
            &net,
            CrossEntropy,
            Tape::cross_entropy,
            &xs,
            &ys,
            seed,
            &format!("LeNetLike seed {seed}"),
        );
    }
}

#[test]
fn strided_padded_convolutions_and_image_normalisation_run_the_same_on_the_tape() {
    for seed in 1..=3 {
        let (xs, ys) = classes::<162, 3>(seed, 5);
        let mut net = Strided::new(seed);
        randomise_running_statistics(&mut net, seed);
        compare(
            &net,
            CrossEntropy,
            Tape::cross_entropy,
            &xs,
            &ys,
            seed,
            &format!("Strided seed {seed}"),
        );
    }
}

#[test]
fn flat_normalisation_runs_the_same_on_the_tape() {
    for seed in 1..=3 {
        let (xs, ys) = classes::<8, 4>(seed, 6);
        let mut net = Mlp::new(seed);
        randomise_running_statistics(&mut net, seed);
        compare(
            &net,
            CrossEntropy,
            Tape::cross_entropy,
            &xs,
            &ys,
            seed,
            &format!("Mlp seed {seed}"),
        );

        let mut data = Data(seed + 7);
        let xs: Vec<[f32; 4]> = data.rows(5, Data::signed);
        let ys: Vec<[f32; 2]> = data.rows(5, Data::signed);
        let mut net = InputNorms::new(seed);
        randomise_running_statistics(&mut net, seed);
        compare(
            &net,
            MeanSquaredError,
            Tape::mse,
            &xs,
            &ys,
            seed,
            &format!("InputNorms seed {seed}"),
        );
    }
}

#[test]
fn every_activation_runs_the_same_on_the_tape() {
    for seed in 1..=3 {
        let mut data = Data(seed);
        let xs: Vec<[f32; 5]> = data.rows(4, |d| 2.0 * d.signed());
        let ys: Vec<[f32; 3]> = data.rows(4, Data::uniform);
        let net = Activations::new(seed);
        compare(
            &net,
            BinaryCrossEntropy,
            Tape::binary_cross_entropy,
            &xs,
            &ys,
            seed,
            &format!("Activations seed {seed}"),
        );
    }
}

#[test]
fn dropout_replays_the_masks_of_the_training_step() {
    for seed in 1..=3 {
        let (xs, ys) = classes::<6, 3>(seed, 7);
        let net = Drops::new(seed);
        compare(
            &net,
            CrossEntropy,
            Tape::cross_entropy,
            &xs,
            &ys,
            seed,
            &format!("Drops seed {seed}"),
        );
    }
    // Without the masks' seeds, training mode refuses to guess.
    let mut tape = Tape::new();
    let tn = TapeNetwork::record(&mut tape, &Drops::new(1)).unwrap();
    let x = tape.leaf(&[0.0; 6]);
    let err = tn
        .forward_batch(&mut tape, &[x], Mode::Training { mask_seeds: &[1] })
        .unwrap_err();
    assert_eq!(
        err,
        TapeError::MissingMaskSeed {
            layer: "layer2",
            index: 1,
            given: 1
        }
    );
}

#[test]
fn the_step_activation_infers_the_same_on_the_tape() {
    let net = Perceptron::new(3);
    let mut tape = Tape::new();
    let tn = TapeNetwork::record(&mut tape, &net).unwrap();
    let mut data = Data(5);
    for x in data.rows::<3>(8, Data::signed) {
        let xv = tape.leaf(&x);
        let out = tn.forward(&mut tape, xv).unwrap();
        assert_close(tape.value(out).unwrap(), &net.forward(&x), "Perceptron");
    }
}

#[test]
fn an_f64_tape_agrees_with_the_generated_code_within_its_rounding() {
    // The same network in double precision: the generated f32 code is within f32 rounding.
    let net = Mlp::new(4);
    let (xs, _) = classes::<8, 4>(4, 3);
    let mut tape = Tape::<f64>::default();
    let tn = TapeNetwork::record(&mut tape, &net).unwrap();
    for x in &xs {
        let xv = tape.leaf_f32(x);
        let out = tn.forward(&mut tape, xv).unwrap();
        let got: Vec<f32> = tape.value(out).unwrap().iter().map(|&v| v as f32).collect();
        assert_close(&got, &net.forward(x), "Mlp in f64");
    }
}

#[test]
fn a_custom_activation_must_be_given_to_the_tape() {
    let err = TapeNetwork::record(&mut Tape::new(), &Activations::new(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer layer9 has the custom activation `Softsign`, which the tape was not given: pass `Function::custom::<Softsign>()` to `TapeNetwork::record_with`"
    );
}
