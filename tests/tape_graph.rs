//! The tape records graph networks (residual blocks, concatenations, heads, blocks in blocks)
//! from their `GRAPH` through `TapeNetwork::record` and agrees with the generated code: the same
//! outputs at inference, and in a training step the same loss (for heads, each head's loss and
//! their weighted total, as the generated `gradient_batch` with the `...Losses` struct reports
//! them) and the same gradient of every parameter, on several seeds.

use nn::model::TensorRole;
use nn::tape::{Mode, Plan, Tape, TapeError, TapeNetwork, Var};
use nn::{
    BinaryCrossEntropy, CrossEntropy, MeanSquaredError, Network, Shape, Trainable, Workspace,
};
use nn_test_support::Data;

nn::network! {
    /// The issue's two-head reader.
    struct Reader: 784 -> trunk: 64 relu -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };

    /// The issue's residual network.
    struct Deep: 64 -> 128 relu -> residual { 128 relu -> 128 linear } -> 10 softmax;

    /// The issue's concatenation: 16 + 8 = 24 wide.
    struct Wide: 32 -> concat { 16 tanh, 16 relu -> 8 relu } -> 4 softmax;

    /// Images joined channel-wise (1 + 2 + 2 channels of 4x4), after a residual block of
    /// convolutions, with batch normalisation and pooling inside the branches.
    struct Images: 1x6x6 -> conv 2 3x3 pad 1 tanh
        -> residual { conv 3 3x3 pad 1 tanh -> batchnorm -> conv 2 3x3 pad 1 linear }
        -> concat { conv 1 3x3 tanh, avgpool 3x3 stride 1 -> conv 2 1x1 tanh, maxpool 3x3 stride 1 }
        -> 3 softmax;

    /// Blocks in blocks: a concatenation in a residual block, a residual block in a
    /// concatenation, normalisations and dropout inside.
    struct Nested: 4 -> 5 tanh
        -> residual { concat { 3 tanh, 2 softplus } -> layernorm -> 5 tanh }
        -> residual { 5 sigmoid -> dropout 0.25 -> 5 linear }
        -> concat { residual { 5 tanh -> batchnorm -> 5 linear }, 2 tanh -> dropout 0.5 }
        -> 2 softmax;

    /// Blocks in the trunk and in the heads, nested, dropout in a head; three heads, three
    /// losses.
    struct NestedHeads: 4 -> 6 tanh
        -> residual { concat { 3 tanh, 3 sigmoid -> residual { 3 gelu -> 3 linear } } }
        -> heads {
            class: concat { 3 relu, 2 tanh -> dropout 0.3 } -> 3 softmax,
            value: residual { 6 tanh -> batchnorm -> 6 linear } -> 2 linear,
            flag: 1 sigmoid,
        };

    /// Image heads: one pools and normalises; one joins a convolution and a pooling
    /// channel-wise, then drops out.
    struct ImageHeads: 1x5x5 -> conv 2 3x3 pad 1 tanh -> heads {
        a: avgpool 2x2 -> layernorm -> 2 softmax,
        b: concat { conv 1 3x3 tanh, maxpool 3x3 stride 1 } -> dropout 0.2 -> 1 sigmoid,
    };
}

const SEEDS: [u64; 3] = [1, 7, 42];

type LossFn = fn(&mut Tape, Var, Var) -> Result<Var, TapeError>;

/// `max |got - want|` must be within `1e-5` of the larger magnitude in `want` (at least 1e-3):
/// f32 rounding of sums taken in different orders.
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_close_above(got, want, 1e-3, what);
}

/// [`assert_close`] with the scale at least `floor`.
fn assert_close_above(got: &[f32], want: &[f32], floor: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want
        .iter()
        .fold(0.0f32, |m, w| m.max(w.abs()))
        .max(floor)
        .max(1e-3);
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
    assert_eq!(net.state().count(), roles.len());
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

/// The length of each output of `N`: each head's, or the one output of a network without heads.
fn output_lengths<N: Network<Scalar = f32>>() -> Vec<usize> {
    match nn::model::heads(N::GRAPH) {
        Some(heads) => heads.heads.iter().map(|h| h.output.len()).collect(),
        None => vec![N::OUTPUT],
    }
}

/// What the tape computed in the training step: each output's mean loss and the weighted total.
struct TapeLosses {
    heads: Vec<f32>,
    total: f32,
}

/// Runs `net` on the tape and through the generated code: every output at inference (the
/// joined outputs of `Network::forward`, split by head), then one training step on `xs`, `ys`:
/// the tape's weighted sum of each output's mean loss (`tape_losses`, in head order) against
/// the generated `gradient_batch`'s total, and every parameter's gradient. Returns the tape's
/// losses, for a caller to compare with each head's loss the generated code reports.
fn compare<N, L>(
    net: &N,
    loss: L,
    tape_losses: &[(LossFn, f32)],
    xs: &[N::Input],
    ys: &[N::Output],
    seed: u64,
    what: &str,
) -> TapeLosses
where
    N: Trainable<L, Scalar = f32>,
{
    let lengths = output_lengths::<N>();
    assert_eq!(
        lengths.len(),
        tape_losses.len(),
        "{what}: a loss per output"
    );
    assert_eq!(lengths.iter().sum::<usize>(), N::OUTPUT, "{what}");
    let split = |joined: &[f32]| -> Vec<Vec<f32>> {
        let mut start = 0;
        lengths
            .iter()
            .map(|&n| {
                start += n;
                joined[start - n..start].to_vec()
            })
            .collect()
    };

    let mut tape = Tape::new();
    let tn = TapeNetwork::record(&mut tape, net).unwrap();
    assert_eq!(
        tn.heads().count(),
        lengths.len() * usize::from(lengths.len() > 1)
    );
    let inputs: Vec<Var> = xs.iter().map(|x| tape.leaf(x.as_ref())).collect();

    let outputs = tn
        .forward_batch(&mut tape, &inputs, Mode::Inference)
        .unwrap();
    assert_eq!(outputs.len(), lengths.len(), "{what}: outputs");
    for (i, x) in xs.iter().enumerate() {
        let want = split(net.forward(x).as_ref());
        for (h, want) in want.iter().enumerate() {
            assert_close(
                tape.value(outputs[h][i]).unwrap(),
                want,
                &format!("{what}: inference output {h} of sample {i}"),
            );
        }
    }

    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    ws.set_seed(seed);
    let total = net
        .gradient_batch(loss, xs, ys, &mut grads, &mut ws)
        .unwrap();
    let seeds: Vec<u64> = (0..N::LAYERS.len()).map(|k| ws.mask_seed(k)).collect();
    let outputs = tn
        .forward_batch(&mut tape, &inputs, Mode::Training { mask_seeds: &seeds })
        .unwrap();
    let targets: Vec<Vec<Vec<f32>>> = ys.iter().map(|y| split(y.as_ref())).collect();
    let mut means = Vec::with_capacity(lengths.len());
    for (h, &(tape_loss, weight)) in tape_losses.iter().enumerate() {
        let losses: Vec<Var> = outputs[h]
            .iter()
            .zip(&targets)
            .map(|(&a, y)| {
                let y = tape.leaf(&y[h]);
                tape_loss(&mut tape, a, y).unwrap()
            })
            .collect();
        means.push((tape.mean(&losses).unwrap(), weight));
    }
    let objective = tape.weighted_sum(&means).unwrap();
    tape.backward(objective).unwrap();
    let got = TapeLosses {
        heads: means
            .iter()
            .map(|&(m, _)| tape.value(m).unwrap()[0])
            .collect(),
        total: tape.value(objective).unwrap()[0],
    };
    assert_close(&[got.total], &[total], &format!("{what}: training loss"));

    let tape_grads: Vec<Vec<f32>> = tn
        .parameters()
        .map(|p| tape.grad(p).unwrap().to_vec())
        .collect();
    assert_eq!(
        tape_grads.len(),
        nn::model::tensor_count(N::LAYERS),
        "{what}"
    );
    assert_eq!(tape_grads.len(), grads.parameters().count(), "{what}");
    // A tensor's gradient is a sum over the batch of terms about as large as the network's
    // gradients; where they cancel (the bias of a layer before a batch normalisation, whose
    // input gradient sums to zero over the batch) the rounding is the terms', not the small
    // sum's. So the scale is at least a tenth of the largest gradient in the network.
    let largest = grads
        .parameters()
        .flatten()
        .fold(0.0f32, |m, g| m.max(g.abs()));
    for (k, (t, g)) in tape_grads.iter().zip(grads.parameters()).enumerate() {
        let tensor = nn::model::Parameter::locate(N::LAYERS, k, 0).expect("a tensor per slice");
        assert_close_above(
            t,
            g,
            0.1 * largest,
            &format!("{what}: gradient of {tensor}"),
        );
    }
    got
}

/// `n` samples of `N` inputs in (-1, 1) with one-hot targets of `M` classes.
fn classes<const N: usize, const M: usize>(seed: u64, n: usize) -> (Vec<[f32; N]>, Vec<[f32; M]>) {
    let mut data = Data(seed);
    (data.rows(n, Data::signed), data.one_hot(n))
}

#[test]
fn the_plan_of_a_graph_network_is_its_graph() {
    use nn::tape::Node::{Concat, Layer, Residual};
    let plan = Plan::of::<Nested>();
    let l = |i: usize| Layer(Nested::LAYERS[i]);
    assert_eq!(plan.input, Shape::Flat(4));
    assert_eq!(
        plan.trunk,
        [
            l(0),
            Residual(vec![Concat(vec![vec![l(1)], vec![l(2)]]), l(3), l(4)]),
            Residual(vec![l(5), l(6), l(7)]),
            Concat(vec![
                vec![Residual(vec![l(8), l(9), l(10)])],
                vec![l(11), l(12)]
            ]),
            l(13),
        ]
    );
    assert!(plan.heads.is_empty());

    let plan = Plan::of::<NestedHeads>();
    let l = |i: usize| Layer(NestedHeads::LAYERS[i]);
    assert_eq!(
        plan.trunk,
        [
            l(0),
            Residual(vec![Concat(vec![
                vec![l(1)],
                vec![l(2), Residual(vec![l(3), l(4)])]
            ])]),
        ]
    );
    assert_eq!(
        plan.heads,
        [
            (
                "class",
                vec![Concat(vec![vec![l(5)], vec![l(6), l(7)]]), l(8)]
            ),
            ("value", vec![Residual(vec![l(9), l(10), l(11)]), l(12)]),
            ("flag", vec![l(13)]),
        ]
    );
    // The image network reads its image.
    assert_eq!(
        Plan::of::<Images>().input,
        Shape::Image {
            channels: 1,
            height: 6,
            width: 6
        }
    );
}

#[test]
fn the_issues_two_head_reader_runs_the_same_on_the_tape() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let xs = d.rows::<784>(4, Data::uniform);
        let targets: Vec<ReaderOutputs> = d
            .one_hot::<10>(4)
            .into_iter()
            .map(|digit| {
                let even = [f32::from(u8::from(nn::argmax(&digit).is_multiple_of(2)))];
                ReaderOutputs { digit, even }
            })
            .collect();
        let joined: Vec<[f32; 11]> = targets.iter().map(|&t| t.into()).collect();
        let losses = ReaderLosses {
            digit: (CrossEntropy, 1.0),
            even: (BinaryCrossEntropy, 0.5),
        };
        let net = Reader::new(seed);
        let tape = compare(
            &net,
            losses,
            &[
                (Tape::cross_entropy, 1.0),
                (Tape::binary_cross_entropy, 0.5),
            ],
            &xs,
            &joined,
            seed,
            &format!("Reader seed {seed}"),
        );
        // Each head's loss as the generated code reports it.
        let got = net
            .gradient_batch(
                losses,
                &xs,
                &targets,
                &mut Reader::zeros(),
                &mut Workspace::new(),
            )
            .unwrap();
        let what = format!("Reader seed {seed}: loss of");
        assert_close(&[tape.heads[0]], &[got.digit], &format!("{what} digit"));
        assert_close(&[tape.heads[1]], &[got.even], &format!("{what} even"));
        assert_close(&[tape.total], &[got.total], &format!("{what} both"));
    }
}

#[test]
fn the_issues_residual_network_runs_the_same_on_the_tape() {
    for seed in SEEDS {
        let (xs, ys) = classes::<64, 10>(seed, 5);
        compare(
            &Deep::new(seed),
            CrossEntropy,
            &[(Tape::cross_entropy, 1.0)],
            &xs,
            &ys,
            seed,
            &format!("Deep seed {seed}"),
        );
    }
}

#[test]
fn the_issues_concatenation_runs_the_same_on_the_tape() {
    for seed in SEEDS {
        let (xs, ys) = classes::<32, 4>(seed, 5);
        compare(
            &Wide::new(seed),
            CrossEntropy,
            &[(Tape::cross_entropy, 1.0)],
            &xs,
            &ys,
            seed,
            &format!("Wide seed {seed}"),
        );
    }
}

#[test]
fn images_joined_channel_wise_run_the_same_on_the_tape() {
    for seed in SEEDS {
        let (xs, ys) = classes::<36, 3>(seed, 4);
        let mut net = Images::new(seed);
        randomise_running_statistics(&mut net, seed);
        compare(
            &net,
            CrossEntropy,
            &[(Tape::cross_entropy, 1.0)],
            &xs,
            &ys,
            seed,
            &format!("Images seed {seed}"),
        );
    }
}

#[test]
fn blocks_in_blocks_run_the_same_on_the_tape() {
    for seed in SEEDS {
        let (xs, ys) = classes::<4, 2>(seed, 6);
        let mut net = Nested::new(seed);
        randomise_running_statistics(&mut net, seed);
        compare(
            &net,
            CrossEntropy,
            &[(Tape::cross_entropy, 1.0)],
            &xs,
            &ys,
            seed,
            &format!("Nested seed {seed}"),
        );
    }
}

#[test]
fn nested_blocks_in_three_heads_run_the_same_on_the_tape() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let xs = d.rows::<4>(6, Data::signed);
        let targets: Vec<NestedHeadsOutputs> = d
            .one_hot::<3>(6)
            .into_iter()
            .map(|class| NestedHeadsOutputs {
                class,
                value: [d.signed(), d.signed()],
                flag: [d.uniform()],
            })
            .collect();
        let joined: Vec<[f32; 6]> = targets.iter().map(|&t| t.into()).collect();
        let losses = NestedHeadsLosses {
            class: (CrossEntropy, 1.0),
            value: (MeanSquaredError, 0.25),
            flag: (BinaryCrossEntropy, 2.0),
        };
        let mut net = NestedHeads::new(seed);
        randomise_running_statistics(&mut net, seed);
        let tape = compare(
            &net,
            losses,
            &[
                (Tape::cross_entropy, 1.0),
                (Tape::mse, 0.25),
                (Tape::binary_cross_entropy, 2.0),
            ],
            &xs,
            &joined,
            seed,
            &format!("NestedHeads seed {seed}"),
        );
        let mut ws = Workspace::new();
        ws.set_seed(seed);
        let got = net
            .gradient_batch(losses, &xs, &targets, &mut NestedHeads::zeros(), &mut ws)
            .unwrap();
        let what = format!("NestedHeads seed {seed}: loss of");
        assert_close(&[tape.heads[0]], &[got.class], &format!("{what} class"));
        assert_close(&[tape.heads[1]], &[got.value], &format!("{what} value"));
        assert_close(&[tape.heads[2]], &[got.flag], &format!("{what} flag"));
        assert_close(&[tape.total], &[got.total], &format!("{what} all"));
    }
}

#[test]
fn image_heads_run_the_same_on_the_tape() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let xs = d.rows::<25>(5, Data::signed);
        let ys: Vec<[f32; 3]> = d
            .one_hot::<2>(5)
            .into_iter()
            .map(|a| ImageHeadsOutputs {
                a,
                b: [d.uniform()],
            })
            .map(Into::into)
            .collect();
        compare(
            &ImageHeads::new(seed),
            ImageHeadsLosses {
                a: (CrossEntropy, 0.5),
                b: (BinaryCrossEntropy, 1.5),
            },
            &[
                (Tape::cross_entropy, 0.5),
                (Tape::binary_cross_entropy, 1.5),
            ],
            &xs,
            &ys,
            seed,
            &format!("ImageHeads seed {seed}"),
        );
    }
}
