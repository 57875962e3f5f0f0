//! The tape's operations, each alone and combined into graphs (a residual block, parallel
//! branches concatenated, two heads with their losses weighted into one objective), checked
//! against central finite differences in `f64`.

use nn::model::{ActivationKind as A, LayerKind, LayerShape, PoolKind, Real, Shape};
use nn::tape::{Function, Image, Mode, Node, Plan, Tape, TapeError, TapeNetwork, Var, Window};
use nn::CustomActivation;
use nn_test_support::Data;

type R = Result<Var, TapeError>;

/// A graph recorded from leaves, ending in a scalar.
type Build<'a> = &'a dyn Fn(&mut Tape<f64>, &[Var]) -> R;

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

/// The finite-difference step and the tolerance: with `h = 1e-6` in `f64` the central
/// difference is off by `h²·f'''` (about 1e-12) plus rounding of `1e-16·|f| / h` (about 1e-10).
const H: f64 = 1e-6;
const TOLERANCE: f64 = 1e-7;

/// `n` values in `[-1, 1)` from `data`.
fn values(data: &mut Data, n: usize) -> Vec<f64> {
    (0..n).map(|_| f64::from(data.signed())).collect()
}

/// `Σ rₖ vₖ` with fixed, distinct weights `rₖ`: a scalar whose gradient reaches every value of
/// `v` differently.
fn project(tape: &mut Tape<f64>, v: Var) -> R {
    let n = tape.value(v)?.len();
    let r: Vec<f64> = (0..n).map(|k| (k as f64 * 0.7 + 0.3).sin()).collect();
    let r = tape.leaf(&r);
    let p = tape.mul(v, r)?;
    tape.sum(p)
}

/// Checks the tape's gradient of `forward`'s scalar with respect to every value of the leaves
/// `vars` (recorded first, on `tape`) against central differences, perturbing each value with
/// [`Tape::set_leaf`] and recording the forward pass again.
fn fd_on(tape: &mut Tape<f64>, vars: &[Var], forward: &dyn Fn(&mut Tape<f64>) -> R, what: &str) {
    let keep = tape.len();
    let loss = forward(tape).unwrap_or_else(|e| panic!("{what}: {e}"));
    tape.backward(loss).unwrap();
    let grads: Vec<Vec<f64>> = vars
        .iter()
        .map(|&v| tape.grad(v).unwrap().to_vec())
        .collect();
    let eval = |tape: &mut Tape<f64>| {
        tape.truncate(keep);
        let l = forward(tape).unwrap();
        tape.value(l).unwrap()[0]
    };
    let mut checked = 0;
    for (leaf, (&v, grad)) in vars.iter().zip(&grads).enumerate() {
        let base = tape.value(v).unwrap().to_vec();
        for k in 0..base.len() {
            let mut p = base.clone();
            p[k] += H;
            tape.set_leaf(v, &p).unwrap();
            let up = eval(tape);
            p[k] = base[k] - H;
            tape.set_leaf(v, &p).unwrap();
            let down = eval(tape);
            tape.set_leaf(v, &base).unwrap();
            let want = (up - down) / (2.0 * H);
            assert!(
                (grad[k] - want).abs() <= TOLERANCE * (1.0 + want.abs()),
                "{what}: leaf {leaf}[{k}]: tape {}, finite differences {want}",
                grad[k]
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: nothing checked");
}

/// Records `leaves` (values and columns: 1 for a vector, else a row-major matrix) on a fresh
/// `f64` tape and checks `forward` against finite differences with respect to all of them.
fn fd_check(
    what: &str,
    leaves: &[(Vec<f64>, usize)],
    forward: &dyn Fn(&mut Tape<f64>, &[Var]) -> R,
) {
    fd_check_but(what, leaves, &[], forward);
}

/// [`fd_check`] but for the leaves numbered in `constants` (targets, which the losses treat as
/// constants: no gradient flows into them).
fn fd_check_but(
    what: &str,
    leaves: &[(Vec<f64>, usize)],
    constants: &[usize],
    forward: &dyn Fn(&mut Tape<f64>, &[Var]) -> R,
) {
    let mut tape = Tape::<f64>::default();
    let vars: Vec<Var> = leaves
        .iter()
        .map(|(v, cols)| {
            if *cols == 1 {
                tape.leaf(v)
            } else {
                tape.matrix(v, v.len() / cols, *cols).unwrap()
            }
        })
        .collect();
    let checked: Vec<Var> = (0..vars.len())
        .filter(|i| !constants.contains(i))
        .map(|i| vars[i])
        .collect();
    fd_on(&mut tape, &checked, &|t| forward(t, &vars), what);
}

#[test]
fn arithmetic_and_reductions_match_finite_differences() {
    for seed in 1..=3 {
        let mut d = Data(seed);
        let (a, b, m) = (values(&mut d, 5), values(&mut d, 5), values(&mut d, 15));
        let leaves = [(a, 1), (b, 1), (m, 5)];
        let ops: [(&str, Build); 11] = [
            ("add", &|t, v| {
                let o = t.add(v[0], v[1])?;
                project(t, o)
            }),
            ("sub", &|t, v| {
                let o = t.sub(v[0], v[1])?;
                project(t, o)
            }),
            ("mul", &|t, v| {
                let o = t.mul(v[0], v[1])?;
                project(t, o)
            }),
            ("mul of a value by itself", &|t, v| {
                let o = t.mul(v[0], v[0])?;
                project(t, o)
            }),
            ("scale", &|t, v| {
                let o = t.scale(v[0], -1.7)?;
                project(t, o)
            }),
            ("offset", &|t, v| {
                let o = t.offset(v[0], 0.3)?;
                let o = t.mul(o, v[1])?;
                project(t, o)
            }),
            ("rsqrt", &|t, v| {
                let sq = t.mul(v[0], v[0])?;
                let pos = t.offset(sq, 0.5)?;
                let o = t.rsqrt(pos)?;
                project(t, o)
            }),
            ("sum", &|t, v| {
                let o = t.mul(v[0], v[1])?;
                t.sum(o)
            }),
            ("mean", &|t, v| {
                let s1 = project(t, v[0])?;
                let p = t.mul(v[0], v[1])?;
                let s2 = t.sum(p)?;
                t.mean(&[s1, s2, s1])
            }),
            ("weighted_sum", &|t, v| {
                let o = t.weighted_sum(&[(v[0], 0.25), (v[1], -2.0), (v[0], 1.5)])?;
                let o = t.mul(o, v[1])?;
                project(t, o)
            }),
            ("matvec", &|t, v| {
                let o = t.matvec(v[2], v[0])?;
                let o = t.mul(o, o)?;
                project(t, o)
            }),
        ];
        for (what, op) in ops {
            fd_check(&format!("{what}, seed {seed}"), &leaves, op);
        }
    }
}

#[test]
fn every_activation_matches_finite_differences() {
    let functions = [
        Function::Sigmoid,
        Function::Tanh,
        Function::Relu,
        Function::Softplus,
        Function::Linear,
        Function::Step,
        Function::Softmax,
        Function::LeakyRelu {
            slope: Real::new(0.01),
        },
        Function::LeakyRelu {
            slope: Real::new(0.2),
        },
        Function::Gelu,
        Function::Silu,
    ];
    for seed in 1..=3 {
        let mut d = Data(seed);
        let x: Vec<f64> = values(&mut d, 7).iter().map(|v| 3.0 * v).collect();
        for f in functions {
            fd_check(
                &format!("{f:?}, seed {seed}"),
                &[(x.clone(), 1)],
                &|t, v| {
                    let o = t.apply(f, v[0])?;
                    project(t, o)
                },
            );
        }
    }
}

#[test]
fn a_custom_activation_gets_its_derivative_on_the_tape() {
    // The user's functions are f32: compare with f32 rounding of the values, not f64's.
    let mut tape = Tape::<f64>::default();
    let x = tape.leaf(&[-1.5, 0.25, 2.0]);
    let y = tape.apply(Function::custom::<Softsign>(), x).unwrap();
    let s = tape.sum(y).unwrap();
    tape.backward(s).unwrap();
    for (k, &z) in [-1.5f64, 0.25, 2.0].iter().enumerate() {
        let want = 1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()));
        assert!((tape.grad(x).unwrap()[k] - want).abs() < 1e-7);
        assert!((tape.value(y).unwrap()[k] - z / (1.0 + z.abs())).abs() < 1e-7);
    }
    assert_eq!(Function::custom::<Softsign>().name(), "Softsign");
}

#[test]
fn losses_match_finite_differences() {
    for seed in 1..=3 {
        let mut d = Data(seed);
        let z = values(&mut d, 4);
        let target: Vec<f64> = (0..4)
            .map(|k| if k == seed as usize % 4 { 1.0 } else { 0.0 })
            .collect();
        let soft: Vec<f64> = values(&mut d, 4).iter().map(|v| 0.5 + 0.4 * v).collect();
        let leaves = [(z, 1), (target, 1), (soft, 1)];
        let losses: [(&str, Build); 4] = [
            ("mse", &|t, v| t.mse(v[0], v[2])),
            ("cross_entropy of softmax", &|t, v| {
                let p = t.softmax(v[0])?;
                t.cross_entropy(p, v[1])
            }),
            ("binary_cross_entropy of sigmoid, hard targets", &|t, v| {
                let p = t.sigmoid(v[0])?;
                t.binary_cross_entropy(p, v[1])
            }),
            ("binary_cross_entropy of sigmoid, soft targets", &|t, v| {
                let p = t.sigmoid(v[0])?;
                t.binary_cross_entropy(p, v[2])
            }),
        ];
        for (what, loss) in losses {
            // The targets are constants: the losses give them no gradient.
            fd_check_but(&format!("{what}, seed {seed}"), &leaves, &[1, 2], loss);
        }
    }
}

#[test]
fn concatenation_fan_out_and_channel_reductions_match_finite_differences() {
    for seed in 1..=3 {
        let mut d = Data(seed);
        let leaves = [
            (values(&mut d, 6), 1),
            (values(&mut d, 3), 1),
            (values(&mut d, 2), 1),
        ];
        fd_check(
            &format!("concat with a part twice, seed {seed}"),
            &leaves,
            &|t, v| {
                let c = t.concat(&[v[0], v[1], v[0]])?;
                let c = t.mul(c, c)?;
                project(t, c)
            },
        );
        fd_check(
            &format!("one value, three consumers, seed {seed}"),
            &leaves,
            &|t, v| {
                let a = t.tanh(v[1])?;
                let b = t.sigmoid(v[1])?;
                let c = t.mul(a, b)?;
                let e = t.add(c, v[1])?;
                project(t, e)
            },
        );
        fd_check(
            &format!("channel_sum and broadcast, seed {seed}"),
            &leaves,
            &|t, v| {
                // 6 values as 3 channels of 2, and as 2 channels of 3.
                let s3 = t.channel_sum(v[0], 3)?;
                let p = t.mul(s3, v[1])?;
                let back = t.broadcast(p, 2)?;
                let q = t.mul(back, v[0])?;
                let s2 = t.channel_sum(q, 2)?;
                let s2 = t.mul(s2, v[2])?;
                let scalar = t.sum(s2)?;
                let spread = t.broadcast(scalar, 3)?;
                let r = t.mul(spread, v[1])?;
                project(t, r)
            },
        );
    }
}

#[test]
fn convolutions_match_finite_differences() {
    // (channels, height, width, filters, kernel, stride, pad)
    let cases = [
        (1, 5, 5, 2, [3, 3], 1, 0),
        (2, 5, 6, 3, [3, 2], 1, 0),
        (2, 7, 6, 2, [3, 3], 2, 1),
        (3, 4, 4, 2, [1, 1], 1, 0),
        (1, 6, 5, 2, [2, 3], 3, 2),
    ];
    for (seed, (c, h, w, f, k, s, p)) in (1..).zip(cases) {
        let mut d = Data(seed);
        let image = Image::new(c, h, w);
        let window = Window {
            size: k,
            stride: s,
            pad: p,
        };
        let out = window.output("test", image, f).unwrap();
        let leaves = [
            (values(&mut d, image.len()), 1),
            (values(&mut d, f * c * k[0] * k[1]), c * k[0] * k[1]),
            (values(&mut d, f), 1),
        ];
        let what = format!(
            "conv2d {c}x{h}x{w}, {f} filters {}x{} stride {s} pad {p}",
            k[0], k[1]
        );
        fd_check(&what, &leaves, &|t, v| {
            let o = t.conv2d(v[0], v[1], image, window)?;
            assert_eq!(t.value(o)?.len(), out.len());
            let b = t.broadcast(v[2], out.spatial())?;
            let o = t.add(o, b)?;
            let o = t.tanh(o)?;
            project(t, o)
        });
    }
}

#[test]
fn a_convolution_computes_the_textbook_sum() {
    // One 3x3 image, one 2x2 filter, pad 1 stride 2: the four corners, each one tap inside.
    let mut tape = Tape::new();
    let x = tape.leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let w = tape.matrix(&[10.0, 20.0, 30.0, 40.0], 1, 4).unwrap();
    let window = Window {
        size: [2, 2],
        stride: 2,
        pad: 1,
    };
    let o = tape.conv2d(x, w, Image::new(1, 3, 3), window).unwrap();
    // out[0][0] reads x[-1..1][-1..1]: only x[0][0] = 1, under w[1][1] = 40.
    assert_eq!(
        tape.value(o).unwrap(),
        &[
            40.0,
            30.0 * 2.0 + 40.0 * 3.0,
            20.0 * 4.0 + 40.0 * 7.0,
            10.0 * 5.0 + 20.0 * 6.0 + 30.0 * 8.0 + 40.0 * 9.0
        ]
    );
}

#[test]
fn pooling_matches_finite_differences() {
    for seed in 1..=3 {
        let mut d = Data(seed);
        let image = Image::new(2, 7, 6);
        let leaves = [(values(&mut d, image.len()), 1)];
        for (size, stride) in [([2, 2], 2), ([3, 3], 1), ([2, 3], 2), ([3, 2], 3)] {
            let window = Window {
                size,
                stride,
                pad: 0,
            };
            fd_check(
                &format!("max_pool {size:?} stride {stride}, seed {seed}"),
                &leaves,
                &|t, v| {
                    let o = t.max_pool(v[0], image, window)?;
                    let o = t.mul(o, o)?;
                    project(t, o)
                },
            );
            fd_check(
                &format!("avg_pool {size:?} stride {stride}, seed {seed}"),
                &leaves,
                &|t, v| {
                    let o = t.avg_pool(v[0], image, window)?;
                    let o = t.mul(o, o)?;
                    project(t, o)
                },
            );
        }
    }
    // The floor rule: a 3x3 window over 7x6 with stride 3 keeps 2x2 windows.
    let mut tape = Tape::new();
    let x = tape.leaf(&[0.0; 42]);
    let window = Window {
        size: [3, 3],
        stride: 3,
        pad: 0,
    };
    let o = tape.max_pool(x, Image::new(1, 7, 6), window).unwrap();
    assert_eq!(tape.value(o).unwrap().len(), 4);
}

/// Records the weights of a two-head network with a residual block by hand: `x (6) → h = tanh(W₁x
/// + b₁) (5) → r = h + W₃·relu(W₂h + b₂) + b₃ (5)`, then head `digit` `softmax(W₄r + b₄)` (3) and
/// head `even` `sigmoid(W₅·relu(W₆r + b₆) + b₅)` (1), each with its loss, weighted 1 and 0.5.
fn two_heads(t: &mut Tape<f64>, v: &[Var]) -> R {
    let dense = |t: &mut Tape<f64>, w: Var, b: Var, x: Var| -> R {
        let z = t.matvec(w, x)?;
        t.add(z, b)
    };
    let (x, y_digit, y_even) = (v[0], v[1], v[2]);
    let z = dense(t, v[3], v[4], x)?;
    let h = t.tanh(z)?;
    // The residual block: h feeds both the branch and the sum.
    let z = dense(t, v[5], v[6], h)?;
    let f = t.relu(z)?;
    let f = dense(t, v[7], v[8], f)?;
    let r = t.add(h, f)?;
    // Two heads read r: its gradient is the sum of theirs.
    let z = dense(t, v[9], v[10], r)?;
    let digit = t.softmax(z)?;
    let z = dense(t, v[13], v[14], r)?;
    let hidden = t.relu(z)?;
    let z = dense(t, v[11], v[12], hidden)?;
    let even = t.sigmoid(z)?;
    let l_digit = t.cross_entropy(digit, y_digit)?;
    let l_even = t.binary_cross_entropy(even, y_even)?;
    t.weighted_sum(&[(l_digit, 1.0), (l_even, 0.5)])
}

#[test]
fn a_two_head_network_with_a_residual_block_built_by_hand_matches_finite_differences() {
    for seed in 1..=4 {
        let mut d = Data(seed);
        let mut v = |n| values(&mut d, n);
        let leaves = [
            (v(6), 1),
            (vec![0.0, 1.0, 0.0], 1),
            (vec![1.0], 1),
            (v(30), 6),
            (v(5), 1),
            (v(25), 5),
            (v(5), 1),
            (v(25), 5),
            (v(5), 1),
            (v(15), 5),
            (v(3), 1),
            (v(4), 4),
            (v(1), 1),
            (v(20), 5),
            (v(4), 1),
        ];
        fd_check_but(
            &format!("two heads, residual, seed {seed}"),
            &leaves,
            &[1, 2],
            &two_heads,
        );
    }
}

#[test]
fn image_branches_concatenated_along_the_channels_match_finite_differences() {
    // 2x6x6 → concat { conv 3 3x3 pad 1 relu, conv 2 1x1 tanh } = 5x6x6 → conv 2 3x3 silu →
    // avgpool 2x2 → 2x2x2 flattened → softmax → cross-entropy.
    for seed in 1..=3 {
        let mut d = Data(seed);
        let mut v = |n| values(&mut d, n);
        let leaves = [
            (v(72), 1),
            (v(3 * 2 * 9), 18),
            (v(3), 1),
            (v(2 * 2), 2),
            (v(2), 1),
            (v(2 * 5 * 9), 45),
            (v(2), 1),
            (vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 1),
        ];
        let input = Image::new(2, 6, 6);
        fd_check_but(
            &format!("channel concat, seed {seed}"),
            &leaves,
            &[7],
            &|t, v| {
                let conv = |t: &mut Tape<f64>, x, w, b, image: Image, k: usize, pad, f| -> R {
                    let window = Window {
                        size: [k, k],
                        stride: 1,
                        pad,
                    };
                    let o = t.conv2d(x, w, image, window)?;
                    let spatial = t.value(o)?.len() / t.value(b)?.len();
                    let bias = t.broadcast(b, spatial)?;
                    let o = t.add(o, bias)?;
                    t.apply(f, o)
                };
                let a = conv(t, v[0], v[1], v[2], input, 3, 1, Function::Relu)?;
                let b = conv(t, v[0], v[3], v[4], input, 1, 0, Function::Tanh)?;
                let joined = t.concat(&[a, b])?;
                let c = conv(
                    t,
                    joined,
                    v[5],
                    v[6],
                    Image::new(5, 6, 6),
                    3,
                    0,
                    Function::Silu,
                )?;
                let window = Window {
                    size: [2, 2],
                    stride: 2,
                    pad: 0,
                };
                let p = t.avg_pool(c, Image::new(2, 4, 4), window)?;
                let p = t.softmax(p)?;
                t.cross_entropy(p, v[7])
            },
        );
    }
}

/// The graph shapes, small: `6 -> trunk: 5 tanh -> residual { 4 relu -> 5 linear } ->
/// concat { 3 tanh, 4 relu -> 2 relu } -> layernorm -> heads { digit: 3 softmax, even: 2 relu
/// -> 1 sigmoid }`.
fn graph_plan() -> Plan {
    let dense = |name, i, o, a| Node::Layer(LayerShape::dense(name, i, o, a));
    Plan {
        input: Shape::Flat(6),
        trunk: vec![
            dense("trunk", 6, 5, A::Tanh),
            Node::Residual(vec![
                dense("r1", 5, 4, A::Relu),
                dense("r2", 4, 5, A::Linear),
            ]),
            Node::Concat(vec![
                vec![dense("c1", 5, 3, A::Tanh)],
                vec![dense("c2", 5, 4, A::Relu), dense("c3", 4, 2, A::Relu)],
            ]),
            Node::Layer(LayerShape::new(
                "norm",
                LayerKind::LayerNorm,
                Shape::Flat(5),
                Shape::Flat(5),
            )),
        ],
        heads: vec![
            ("digit", vec![dense("digit", 5, 3, A::Softmax)]),
            (
                "even",
                vec![dense("e1", 5, 2, A::Relu), dense("e2", 2, 1, A::Sigmoid)],
            ),
        ],
    }
}

/// Random `f32` tensors of the sizes the plan's layers take, in its order.
fn graph_state(seed: u64) -> Vec<Vec<f32>> {
    let mut d = Data(seed);
    let sizes = [
        30, 5, 20, 4, 20, 5, 15, 3, 20, 4, 8, 2, 5, 5, 15, 3, 10, 2, 2, 1,
    ];
    sizes
        .iter()
        .map(|&n| (0..n).map(|_| d.signed()).collect())
        .collect()
}

#[test]
fn a_graph_from_a_plan_matches_finite_differences_through_its_parameters() {
    for seed in 1..=3 {
        let state = graph_state(seed);
        let mut tape = Tape::<f64>::default();
        let net = TapeNetwork::from_plan(
            &mut tape,
            &graph_plan(),
            state.iter().map(Vec::as_slice),
            &[],
        )
        .unwrap();
        assert_eq!(net.heads().collect::<Vec<_>>(), ["digit", "even"]);
        let mut d = Data(seed + 10);
        let xs: Vec<Var> = (0..3).map(|_| tape.leaf(&values(&mut d, 6))).collect();
        let y_digit: Vec<Var> = (0..3)
            .map(|i| {
                let mut y = [0.0; 3];
                y[i] = 1.0;
                tape.leaf(&y)
            })
            .collect();
        let y_even: Vec<Var> = [1.0, 0.0, 1.0].iter().map(|&y| tape.leaf(&[y])).collect();
        let params: Vec<Var> = net.parameters().collect();
        assert_eq!(params.len(), state.len());
        let forward = |t: &mut Tape<f64>| -> R {
            let outs = net.forward_batch(t, &xs, Mode::Inference)?;
            let mut digit = Vec::new();
            let mut even = Vec::new();
            for i in 0..xs.len() {
                digit.push(t.cross_entropy(outs[0][i], y_digit[i])?);
                even.push(t.binary_cross_entropy(outs[1][i], y_even[i])?);
            }
            let digit = t.mean(&digit)?;
            let even = t.mean(&even)?;
            t.weighted_sum(&[(digit, 1.0), (even, 0.5)])
        };
        fd_on(
            &mut tape,
            &params,
            &forward,
            &format!("graph plan, seed {seed}"),
        );
    }
}

#[test]
fn a_graph_that_does_not_fit_is_an_error_in_numbers() {
    let state = graph_state(1);
    let mut plan = graph_plan();
    plan.trunk[1] = Node::Residual(vec![Node::Layer(LayerShape::dense("r1", 5, 4, A::Relu))]);
    let err = TapeNetwork::from_plan(
        &mut Tape::new(),
        &plan,
        state.iter().map(Vec::as_slice),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "residual: the residual block takes 5 and gives 4"
    );

    let mut plan = graph_plan();
    plan.heads[0].1 = vec![Node::Layer(LayerShape::dense("digit", 4, 3, A::Softmax))];
    let err = TapeNetwork::from_plan(
        &mut Tape::new(),
        &plan,
        state.iter().map(Vec::as_slice),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "digit: the layer reads 4 values (4), but what comes before gives 5"
    );

    let mut more = state.clone();
    more.push(vec![1.0; 7]);
    let err = TapeNetwork::from_plan(
        &mut Tape::new(),
        &graph_plan(),
        more.iter().map(Vec::as_slice),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err, TapeError::Parameters { found: 7, .. }),
        "{err}"
    );

    let err = TapeNetwork::from_plan(
        &mut Tape::new(),
        &graph_plan(),
        state[..6].iter().map(Vec::as_slice),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TapeError::Parameters {
                layer: "c1",
                found: 0,
                ..
            }
        ),
        "{err}"
    );

    let mut tape = Tape::new();
    let net = TapeNetwork::from_plan(
        &mut tape,
        &graph_plan(),
        state.iter().map(Vec::as_slice),
        &[],
    )
    .unwrap();
    let x = tape.leaf(&[0.0; 6]);
    assert_eq!(
        net.forward(&mut tape, x),
        Err(TapeError::Heads { heads: 2 })
    );
    let short = tape.leaf(&[0.0; 5]);
    assert!(matches!(
        net.forward_batch(&mut tape, &[short], Mode::Inference),
        Err(TapeError::ShapeMismatch { op: "matvec", .. })
    ));
}

#[test]
fn image_operations_refuse_what_does_not_fit() {
    let mut tape = Tape::new();
    let x = tape.leaf(&[0.0; 18]);
    let w = tape.matrix(&[0.0; 8], 2, 4).unwrap();
    let window = Window {
        size: [2, 2],
        stride: 1,
        pad: 0,
    };
    // 18 values are 2x3x3: filters of 4 values are 1x2x2, not 2x2x2.
    let err = tape.conv2d(x, w, Image::new(2, 3, 3), window).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conv2d: filters of 4 values cannot be 2x2x2 kernels"
    );
    let err = tape.conv2d(x, w, Image::new(1, 4, 4), window).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conv2d: 18 values are not a 1x4x4 image (16 values)"
    );
    let big = Window {
        size: [4, 4],
        stride: 1,
        pad: 0,
    };
    let err = tape.max_pool(x, Image::new(2, 3, 3), big).unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_pool: a 4x4 window with stride 1 and pad 0 does not fit 3x3"
    );
    let padded = Window { pad: 1, ..window };
    assert!(matches!(
        tape.avg_pool(x, Image::new(2, 3, 3), padded),
        Err(TapeError::Geometry { op: "avg_pool", .. })
    ));
    assert!(matches!(
        tape.channel_sum(x, 4),
        Err(TapeError::Geometry { .. })
    ));
    assert_eq!(
        tape.concat(&[]),
        Err(TapeError::NoOperands { op: "concat" })
    );
    assert_eq!(
        tape.weighted_sum(&[]),
        Err(TapeError::NoOperands { op: "weighted_sum" })
    );
    let s = tape.sum(x).unwrap();
    assert_eq!(
        tape.set_leaf(s, &[1.0]),
        Err(TapeError::NotALeaf { index: s.index() })
    );
    assert!(matches!(
        tape.set_leaf(x, &[1.0]),
        Err(TapeError::Length { .. })
    ));
}

#[test]
fn pool_kinds_are_named_as_the_description_names_them() {
    // The tape's pooling follows the description's kinds one to one.
    let shape = LayerShape::new(
        "pool",
        LayerKind::Pool {
            kind: PoolKind::Average,
            window: [2, 2],
            stride: 2,
        },
        Shape::Image {
            channels: 1,
            height: 4,
            width: 4,
        },
        Shape::Image {
            channels: 1,
            height: 2,
            width: 2,
        },
    );
    let mut tape = Tape::new();
    let layer =
        nn::tape::TapeLayer::record(&mut tape, &shape, 0, &mut core::iter::empty(), &[]).unwrap();
    let x = tape.leaf(&(0..16).map(|v| v as f32).collect::<Vec<_>>());
    let out = layer.forward(&mut tape, &[x], Mode::Inference).unwrap();
    assert_eq!(tape.value(out[0]).unwrap(), &[2.5, 4.5, 10.5, 12.5]);
}
