//! What a generated network is and does: its fields, shapes, forward passes and errors.

use nn::{ActivationKind, CrossEntropy, Error, LayerShape, Network, Shape};

/// Each layer's output width, from the network's description.
fn widths<N: Network>() -> Vec<usize> {
    N::LAYERS.iter().map(|l| l.output.len()).collect()
}

nn::network! {
    /// Named layers become named fields.
    #[derive(Clone, Debug)]
    pub struct Tiny: 2 -> hidden: 3 tanh -> out: 1 sigmoid;

    /// Widths beyond typenum's named constants, and a single-neuron layer.
    struct Wide: 1500 -> 1 relu -> 3 softmax;

    /// Wider than the per-sample stack buffers allow: this layer's buffer goes on the heap.
    struct Wider: 3 -> 5000 relu -> 2 linear;

    /// A perceptron: runs forward, cannot be trained by gradients.
    struct Perceptron: 3 -> 1 step;

    /// Several networks in one invocation, unnamed layers.
    pub(crate) struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

fn tiny() -> Tiny {
    let mut t = Tiny::zeros();
    t.hidden
        .set_weights(&[[1.0, -1.0], [0.5, 0.25], [0.0, 2.0]]);
    t.hidden.set_bias(&[0.0, 0.1, -0.5]);
    t.out.set_weights(&[[1.0, -2.0, 0.5]]);
    t.out.set_bias(&[0.25]);
    t
}

#[test]
fn forward_is_the_formula() {
    let t = tiny();
    let x = [0.3f32, -0.7];
    // By hand, in f64: h = tanh(W1 x + b1), y = sigmoid(W2 h + b2).
    let (x0, x1) = (f64::from(x[0]), f64::from(x[1]));
    let h = [
        (x0 - x1).tanh(),
        (0.5 * x0 + 0.25 * x1 + 0.1).tanh(),
        (2.0 * x1 - 0.5).tanh(),
    ];
    let z = h[0] - 2.0 * h[1] + 0.5 * h[2] + 0.25;
    let y = 1.0 / (1.0 + (-z).exp());
    let out = t.forward(&x);
    assert!((f64::from(out[0]) - y).abs() < 1e-6, "{} vs {y}", out[0]);

    let all = t.forward_all(&x);
    for (got, want) in all.hidden.iter().zip(h) {
        assert!((f64::from(*got) - want).abs() < 1e-6);
    }
    assert_eq!(all.out, out);
}

#[test]
fn batch_forward_matches_sample_forward() {
    let net = Digits::new(3);
    let xs: Vec<[f32; 784]> = (0..5)
        .map(|s| core::array::from_fn(|i| ((i * 7 + s * 13) % 256) as f32 / 255.0))
        .collect();
    let mut out = vec![[0.0f32; 10]; 5];
    let mut ws = nn::Workspace::new();
    net.forward_batch(&xs, &mut out, &mut ws).unwrap();
    for (x, o) in xs.iter().zip(&out) {
        let single = net.forward(x);
        for (a, b) in single.iter().zip(o) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!((o.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert_eq!(ws.capacity(), 5);
}

#[test]
fn any_width_works() {
    let net = Wide::new(1);
    assert_eq!(net.layer1.weights().len(), 1);
    assert_eq!(net.layer1.weights()[0].len(), 1500);
    let x = [0.01f32; 1500];
    let y = net.forward(&x);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert_eq!(widths::<Wide>(), [1, 3]);
    assert_eq!(Wide::LAYERS[0].input, Shape::Flat(1500));

    let wider = Wider::new(2);
    let y = wider.forward(&[1.0, -1.0, 0.5]);
    let all = wider.forward_all(&[1.0, -1.0, 0.5]);
    assert_eq!(all.layer2, y);
    assert_eq!(all.layer1.len(), 5000);
    assert_eq!(Wider::parameter_count(), 3 * 5000 + 5000 + 5000 * 2 + 2);
}

#[test]
fn a_step_network_runs_forward() {
    // The seminar's "will I visit grandma" perceptron: bias, friends, pie, diet.
    let mut p = Perceptron::zeros();
    p.layer1.set_weights(&[[-1.0, 10.0, -20.0]]);
    p.layer1.set_bias(&[-5.0]);
    assert_eq!(p.forward(&[0.0, 1.0, 0.0]), [1.0]);
    assert_eq!(p.forward(&[0.0, 1.0, 1.0]), [0.0]);
    assert_eq!(p.forward(&[0.0, 0.0, 0.0]), [0.0]);
}

#[test]
fn shape_constants() {
    assert_eq!(Digits::INPUT, 784);
    assert_eq!(Digits::OUTPUT, 10);
    assert_eq!(widths::<Digits>(), [16, 16, 10]);
    let names = |layers: &[LayerShape]| layers.iter().map(|l| l.name).collect::<Vec<_>>();
    assert_eq!(names(Digits::LAYERS), ["layer1", "layer2", "layer3"]);
    assert_eq!(names(Tiny::LAYERS), ["hidden", "out"]);
    let activations = Digits::LAYERS
        .iter()
        .map(|l| l.activation().map(ActivationKind::name));
    assert_eq!(
        activations.collect::<Vec<_>>(),
        [Some("sigmoid"), Some("sigmoid"), Some("softmax")]
    );
    assert_eq!(
        Tiny::LAYERS,
        [
            LayerShape::dense("hidden", 2, 3, ActivationKind::Tanh),
            LayerShape::dense("out", 3, 1, ActivationKind::Sigmoid),
        ]
    );
    assert_eq!(
        Digits::DECLARATION,
        "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax"
    );
    assert_eq!(Tiny::DECLARATION, "2 -> hidden: 3 tanh -> out: 1 sigmoid");
    assert_eq!(
        Digits::parameter_count(),
        784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    );
}

#[test]
fn weights_live_on_the_heap_in_out_in_order() {
    let net = Digits::new(9);
    let w = net.layer1.weights();
    assert_eq!(w.len(), 16);
    assert_eq!(w[0].len(), 784);
    assert_eq!(net.layer1.weights_flat()[784], w[1][0]);
    // Xavier range for 784 -> 16.
    let r = (6.0f32 / 800.0).sqrt();
    assert!(net.layer1.weights_flat().iter().all(|v| v.abs() <= r));
    assert!(net.layer1.bias().iter().all(|b| *b == 0.0));
    // The struct itself holds only pointers.
    assert!(core::mem::size_of::<Digits>() <= 6 * core::mem::size_of::<usize>());
}

#[test]
fn malformed_batches_are_errors() {
    let net = Digits::new(1);
    let mut ws = nn::Workspace::new();
    let mut grads = Digits::zeros();
    let xs = vec![[0.0f32; 784]; 3];
    let ys = vec![[0.0f32; 10]; 2];
    let err = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap_err();
    assert_eq!(
        err,
        Error::BatchMismatch {
            inputs: 3,
            targets: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "the batch has 3 inputs but 2 targets (or outputs): expected one per input"
    );
    let err = net
        .gradient_batch(CrossEntropy, &[], &[], &mut grads, &mut ws)
        .unwrap_err();
    assert_eq!(err, Error::EmptyBatch);
    let mut out = vec![[0.0f32; 10]; 4];
    assert!(net.forward_batch(&xs, &mut out, &mut ws).is_err());
    assert!(net.forward_batch(&[], &mut [], &mut ws).is_ok());
    // Nothing was written on error.
    assert!(grads.parameters().flatten().all(|g| *g == 0.0));
}

#[test]
fn derives_pass_through() {
    let t = tiny();
    let c = t.clone();
    assert_eq!(format!("{:?}", c.hidden), "Dense(2 -> 3 tanh)");
    assert!(format!("{c:?}").starts_with("Tiny"));
}
