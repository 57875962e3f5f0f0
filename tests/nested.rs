//! Layers written as a path: a network declared with `network!` inside another (nesting) and
//! layers of a user's own (`tests/nested/layers.rs`). Their backward passes are checked against
//! finite differences (`nn::check_gradients`) alone and inside networks, for several seeds; a
//! nested network computes exactly what the same layers declared flat compute; the weights
//! files name the tensors by path and read back.

#[path = "nested/layers.rs"]
mod layers;

use layers::{MyNormalize, MyScale};
use nn::typenum::{U4, U6};
use nn_test_support::Data;

use nn::{
    check_gradients, weights, BinaryCrossEntropy, CrossEntropy, GradCheck, LayerKind,
    MeanSquaredError, Network, Trainable, Workspace,
};

nn::network! {
    /// The example, small: a nested network, then a layer of the user's own.
    struct Stack: 12 -> encoder: Encoder -> MyNormalize<U6> -> 3 softmax;
    struct Encoder: 12 -> 8 relu -> 6 tanh;

    /// A nested network alone, and the same layers declared flat.
    struct Nested: 12 -> encoder: Encoder -> 3 softmax;
    struct Flat: 12 -> 8 relu -> 6 tanh -> 3 softmax;

    /// A custom layer reading the network's input, so it is checked alone.
    struct Scaled: 4 -> MyScale<U4> -> 3 softmax;
    /// Two custom layers inside a network, one after the other.
    struct Mixed: 5 -> 4 tanh -> MyScale<U4> -> MyNormalize<U4> -> 2 sigmoid;

    /// Nesting twice: `Stack` holds `Encoder` and a custom layer.
    struct Outer: 12 -> body: Stack -> 6 softplus -> scaled: MyScale<U6> -> 2 linear;

    /// A nested network with normalisation and dropout: running statistics and masks inside.
    struct WithNorms: 6 -> inner: Normed -> 2 softmax;
    struct Normed: 6 -> 5 leaky_relu -> batchnorm -> dropout 0.25 -> 4 gelu;

    /// Nested networks side by side, and one as the first layer of another.
    struct Twice: 6 -> a: Normed -> b: Small -> 1 sigmoid;
    struct Small: 4 -> 3 silu;

    /// An image network as a layer (it reads its input flat, channel-major), and a path layer
    /// after a convolution.
    struct Pictures: 64 -> features: Features -> head: Head -> 2 softmax;
    struct Features: 1x8x8 -> conv 2 3x3 relu -> maxpool 2x2 -> 4 tanh;
    struct Convolved: 1x6x6 -> conv 2 3x3 pad 1 tanh -> head: Head72 -> 2 softmax;
    struct Head: 4 -> 3 relu;
    struct Head72: 72 -> 3 softplus;
}

const SEEDS: [u64; 3] = [1, 7, 42];

fn check<N, L>(mut net: N, loss: L, inputs: &[N::Input], targets: &[N::Output], what: &str)
where
    N: Trainable<L>,
    L: Copy,
{
    let report = check_gradients(&mut net, loss, inputs, targets, GradCheck::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(report.checked, N::parameter_count(), "{what}");
    assert!(report.passed(), "{what}: {report}");
}

#[test]
fn gradients_of_a_nested_network_and_a_custom_layer_match_finite_differences() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x12 = d.rows::<12>(6, Data::signed);
        let y3 = d.one_hot::<3>(6);
        check(Stack::new(seed), CrossEntropy, &x12, &y3, "stack");
        check(Nested::new(seed), CrossEntropy, &x12, &y3, "nested");

        let x4 = d.rows::<4>(6, Data::signed);
        check(
            Scaled::new(seed),
            CrossEntropy,
            &x4,
            &y3,
            "custom layer alone",
        );

        let x5 = d.rows::<5>(6, Data::signed);
        let y2 = d.rows::<2>(6, Data::uniform);
        check(
            Mixed::new(seed),
            BinaryCrossEntropy,
            &x5,
            &y2,
            "custom layers inside",
        );

        check(
            Outer::new(seed),
            MeanSquaredError,
            &x12,
            &y2,
            "nested twice",
        );

        let x6 = d.rows::<6>(8, Data::signed);
        let y2 = d.one_hot::<2>(8);
        check(WithNorms::new(seed), CrossEntropy, &x6, &y2, "nested norms");
        let y1 = d.rows::<1>(8, Data::uniform);
        check(
            Twice::new(seed),
            BinaryCrossEntropy,
            &x6,
            &y1,
            "side by side",
        );
    }
}

/// `Nested` with `Flat`'s weights.
fn same_weights(seed: u64) -> (Nested, Flat) {
    let flat = Flat::new(seed);
    let mut nested = Nested::zeros();
    for (to, from) in nested.parameters_mut().zip(flat.parameters()) {
        to.copy_from_slice(from);
    }
    (nested, flat)
}

#[test]
fn a_nested_network_computes_what_its_layers_declared_flat_compute() {
    for seed in SEEDS {
        let (nested, flat) = same_weights(seed);
        let mut d = Data(seed);
        let xs = d.rows::<12>(5, Data::signed);
        let ys = d.one_hot::<3>(5);

        assert_eq!(nested.forward(&xs[0]), flat.forward(&xs[0]));
        let all = nested.forward_all(&xs[0]);
        let flat_all = flat.forward_all(&xs[0]);
        assert_eq!(*all.encoder, flat_all.layer2);
        assert_eq!(all.layer2, flat_all.layer3);

        let (mut out, mut flat_out) = (vec![[0.0; 3]; 5], vec![[0.0; 3]; 5]);
        nested
            .forward_batch(&xs, &mut out, &mut Workspace::new())
            .unwrap();
        flat.forward_batch(&xs, &mut flat_out, &mut Workspace::new())
            .unwrap();
        assert_eq!(out, flat_out);

        let (mut g, mut flat_g) = (Nested::zeros(), Flat::zeros());
        let loss = nested
            .gradient_batch(CrossEntropy, &xs, &ys, &mut g, &mut Workspace::new())
            .unwrap();
        let flat_loss = flat
            .gradient_batch(CrossEntropy, &xs, &ys, &mut flat_g, &mut Workspace::new())
            .unwrap();
        assert_eq!(loss, flat_loss);
        let grads: Vec<&[f32]> = g.parameters().collect();
        let flat_grads: Vec<&[f32]> = flat_g.parameters().collect();
        assert_eq!(grads, flat_grads);
        assert_eq!(
            nested
                .loss_batch(CrossEntropy, &xs, &ys, &mut Workspace::new())
                .unwrap(),
            flat_loss
        );
    }
}

#[test]
fn parameters_come_in_declaration_order() {
    let stack = Stack::new(3);
    let lens: Vec<usize> = stack.parameters().map(<[f32]>::len).collect();
    assert_eq!(lens, [8 * 12, 8, 6 * 8, 6, 3 * 6, 3]);
    let encoder: Vec<&[f32]> = nn::Layer::parameters(&stack.encoder).collect();
    let all: Vec<&[f32]> = stack.parameters().collect();
    assert_eq!(all[..4], encoder[..]);
    assert_eq!(Stack::parameter_count(), 96 + 8 + 48 + 6 + 18 + 3);

    let outer = Outer::new(3);
    let lens: Vec<usize> = outer.parameters().map(<[f32]>::len).collect();
    assert_eq!(lens, [96, 8, 48, 6, 18, 3, 6 * 3, 6, 6, 2 * 6, 2]);
}

#[test]
fn layers_describe_nested_and_custom_layers_by_path() {
    let names: Vec<&str> = Outer::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        [
            "body.encoder.layer1",
            "body.encoder.layer2",
            "body.layer2",
            "body.layer3",
            "layer2",
            "scaled",
            "layer4"
        ]
    );
    let normalize = Stack::LAYERS[2];
    assert_eq!(
        normalize.kind,
        LayerKind::Custom {
            name: "MyNormalize",
            tensors: &[],
            scratch: 1
        }
    );
    assert_eq!(normalize.kind.name(), "MyNormalize");
    assert_eq!((normalize.input.len(), normalize.output.len()), (6, 6));
    // The layer after a path layer reads the type's width.
    assert_eq!(Stack::LAYERS[3].input.len(), 6);
    assert_eq!(<Encoder as nn::Layer>::INPUT, 12);
    assert_eq!(<Encoder as nn::Layer>::OUTPUT, 6);
    assert_eq!(
        Stack::DECLARATION,
        "12 -> encoder: Encoder -> MyNormalize<U6> -> 3 softmax"
    );
}

#[test]
fn weight_files_name_tensors_by_path_and_read_back() -> Result<(), weights::WeightsError> {
    assert_eq!(
        weights::tensor_names::<Outer>(),
        [
            "body.encoder.layer1.weight",
            "body.encoder.layer1.bias",
            "body.encoder.layer2.weight",
            "body.encoder.layer2.bias",
            "body.layer3.weight",
            "body.layer3.bias",
            "layer2.weight",
            "layer2.bias",
            "scaled.scale",
            "layer4.weight",
            "layer4.bias"
        ]
    );
    assert_eq!(
        weights::tensor_names::<WithNorms>(),
        [
            "inner.layer1.weight",
            "inner.layer1.bias",
            "inner.layer2.weight",
            "inner.layer2.bias",
            "inner.layer2.running_mean",
            "inner.layer2.running_var",
            "inner.layer2.num_batches_tracked",
            "inner.layer4.weight",
            "inner.layer4.bias",
            "layer2.weight",
            "layer2.bias"
        ]
    );
    assert_eq!(
        weights::pytorch_sequential::<Stack>(),
        "nn.Sequential(OrderedDict([(\"encoder\", nn.Sequential(OrderedDict([(\"layer1\", \
         nn.Linear(12, 8)), (\"layer1_act\", nn.ReLU()), (\"layer2\", nn.Linear(8, 6)), \
         (\"layer2_act\", nn.Tanh())]))), (\"layer2\", MyNormalize()), (\"layer3\", \
         nn.Linear(6, 3)), (\"layer3_act\", nn.Softmax(dim=-1))]))"
    );
    // The program `pytorch_module` prints imports the `OrderedDict` the module is built of.
    assert_eq!(
        weights::pytorch_module::<Stack>(),
        format!(
            "from collections import OrderedDict\n\nmodel = {}\n",
            weights::pytorch_sequential::<Stack>()
        )
    );

    assert_eq!(
        weights::pytorch_sequential::<Convolved>(),
        "nn.Sequential(OrderedDict([(\"layer1\", nn.Conv2d(1, 2, kernel_size=(3, 3), stride=1, \
         padding=1)), (\"layer1_act\", nn.Tanh()), (\"head_flatten\", nn.Flatten()), (\"head\", \
         nn.Sequential(OrderedDict([(\"layer1\", nn.Linear(72, 3)), (\"layer1_act\", \
         nn.Softplus())]))), (\"layer3\", nn.Linear(3, 2)), (\"layer3_act\", \
         nn.Softmax(dim=-1))]))"
    );

    let outer = Outer::new(9);
    let back: Outer = weights::from_bytes(&weights::to_bytes(&outer)?)?;
    let (a, b): (Vec<&[f32]>, Vec<&[f32]>) =
        (outer.parameters().collect(), back.parameters().collect());
    assert_eq!(a, b);
    assert_eq!(back.scaled, outer.scaled);

    // Running statistics travel too: train one step so that they move.
    let mut net = WithNorms::new(2);
    let mut d = Data(2);
    let (xs, ys) = (d.rows::<6>(8, Data::signed), d.one_hot::<2>(8));
    let mut grads = WithNorms::zeros();
    net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut Workspace::new())
        .unwrap();
    nn::Optimizer::step(&mut nn::GradientDescent::new(0.1), &mut net, &grads);
    let state: Vec<Vec<f32>> = net.state().map(<[f32]>::to_vec).collect();
    assert_eq!(state[6], [1.0], "one batch tracked");
    let back: WithNorms = weights::from_bytes(&weights::to_bytes(&net)?)?;
    let back_state: Vec<Vec<f32>> = back.state().map(<[f32]>::to_vec).collect();
    assert_eq!(back_state, state);
    Ok(())
}

#[test]
fn the_tape_records_a_nested_network_of_dense_layers() {
    let net = Nested::new(5);
    let mut d = Data(5);
    let x = d.rows::<12>(1, Data::signed);
    let mut tape = nn::tape::Tape::new();
    let recorded = nn::tape::TapeNetwork::record(&mut tape, &net).unwrap();
    let input = tape.leaf(&x[0]);
    let out = recorded.forward(&mut tape, input).unwrap();
    let values = tape.value(out).unwrap().to_vec();
    let direct = net.forward(&x[0]);
    for (a, b) in values.iter().zip(direct) {
        assert!((a - b).abs() < 1e-5, "{values:?} vs {direct:?}");
    }
}

/// The tape records a nested network of dense layers from its flattened `LAYERS` (its `GRAPH`
/// is empty, so `Plan::of` makes it a chain): a training step's loss and every parameter's
/// gradient are the generated code's, for several seeds.
#[test]
fn the_tape_takes_the_same_gradients_of_a_nested_network() {
    use nn::tape::{Mode, Plan, Tape, TapeNetwork, Var};
    let layers = <Nested as Network>::LAYERS;
    assert_eq!(
        layers.len(),
        3,
        "the encoder's two layers and the output layer"
    );
    assert_eq!(
        Plan::of::<Nested>(),
        Plan::chain(nn::Shape::Flat(12), layers),
        "a nested chain's plan is the chain of its flattened layers"
    );
    for seed in SEEDS {
        let net = Nested::new(seed);
        let mut d = Data(seed);
        let (xs, ys) = (d.rows::<12>(5, Data::signed), d.one_hot::<3>(5));
        let mut grads = Nested::zeros();
        let loss = net
            .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut Workspace::new())
            .unwrap();
        let mut tape = Tape::new();
        let recorded = TapeNetwork::record(&mut tape, &net).unwrap();
        let inputs: Vec<Var> = xs.iter().map(|x| tape.leaf(x)).collect();
        let outputs = recorded
            .forward_batch(&mut tape, &inputs, Mode::Training { mask_seeds: &[] })
            .unwrap();
        let losses: Vec<Var> = outputs[0]
            .iter()
            .zip(&ys)
            .map(|(&p, y)| {
                let y = tape.leaf(y);
                tape.cross_entropy(p, y).unwrap()
            })
            .collect();
        let mean = tape.mean(&losses).unwrap();
        tape.backward(mean).unwrap();
        let tape_loss = tape.value(mean).unwrap()[0];
        assert!(
            (tape_loss - loss).abs() < 1e-5,
            "seed {seed}: {tape_loss} vs {loss}"
        );
        let tape_grads: Vec<Vec<f32>> = recorded
            .parameters()
            .map(|p| tape.grad(p).unwrap().to_vec())
            .collect();
        let generated: Vec<&[f32]> = Network::parameters(&grads).collect();
        assert_eq!(tape_grads.len(), generated.len(), "seed {seed}");
        for (k, (t, g)) in tape_grads.iter().zip(generated).enumerate() {
            assert_eq!(t.len(), g.len(), "seed {seed}, tensor {k}");
            for (a, b) in t.iter().zip(g) {
                assert!(
                    (a - b).abs() < 1e-5 + 1e-4 * b.abs(),
                    "seed {seed}, tensor {k}: {t:?} vs {g:?}"
                );
            }
        }
    }
}

/// A custom layer is a kind the tape cannot know: recording refuses it by name.
#[test]
fn the_tape_refuses_a_custom_layer_by_name() {
    let Err(err) = nn::tape::TapeNetwork::record(&mut nn::tape::Tape::new(), &Scaled::new(1))
    else {
        panic!("a custom layer is not recorded");
    };
    assert_eq!(
        err.to_string(),
        "layer layer1 is a `MyScale` layer, which the tape does not record"
    );
}

#[test]
fn the_one_sample_methods_and_training_run() {
    let mut net = Stack::new(4);
    let mut d = Data(4);
    let xs = d.rows::<12>(16, Data::signed);
    let ys = d.one_hot::<3>(16);
    let mut ws = Workspace::new();
    let mut grads = Stack::zeros();
    let first = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    let mut opt = nn::Adam::new(0.05);
    for _ in 0..40 {
        net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        nn::Optimizer::step(&mut opt, &mut net, &grads);
    }
    let last = net.loss_batch(CrossEntropy, &xs, &ys, &mut ws).unwrap();
    assert!(last < 0.5 * first, "{first} -> {last}");
    let one = net.gradient(CrossEntropy, &xs[0], &ys[0], &mut grads, &mut ws);
    assert!(one.is_finite());
    assert!((net.loss(CrossEntropy, &xs[0], &ys[0]) - one).abs() < 1e-6);
}

#[test]
fn data_parallel_gradients_of_a_nested_network_equal_one_threads() {
    let net = Stack::new(8);
    let mut d = Data(8);
    let xs = d.rows::<12>(64, Data::signed);
    let ys = d.one_hot::<3>(64);
    let mut want = Stack::zeros();
    let want_loss = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut want, &mut Workspace::new())
        .unwrap();
    let mut parallel = nn::DataParallel::<Stack>::new(2).unwrap();
    parallel.set_min_chunk(1);
    let mut got = Stack::zeros();
    let loss = parallel
        .gradient_batch(&net, CrossEntropy, &xs, &ys, &mut got)
        .unwrap();
    assert!((loss - want_loss).abs() <= 1e-6 * want_loss);
    for (a, b) in want.parameters().flatten().zip(got.parameters().flatten()) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
}

#[test]
fn the_pytorch_module_reshapes_where_an_image_meets_flat_values() {
    nn::network! {
        struct Unflattened: 8 -> 36 relu -> image: Image -> 2 softmax;
        struct Image: 1x6x6 -> conv 2 3x3 relu -> 3 relu;
    }
    let module = weights::pytorch_sequential::<Unflattened>();
    assert!(
        module.contains(
            "(\"layer1_act\", nn.ReLU()), (\"image_unflatten\", nn.Unflatten(1, (1, 6, 6))), \
             (\"image\", nn.Sequential(OrderedDict([(\"layer1\", nn.Conv2d(1, 2,"
        ),
        "{module}"
    );
    let module = weights::pytorch_sequential::<Convolved>();
    assert!(
        module.contains("(\"head_flatten\", nn.Flatten())"),
        "{module}"
    );
    // `Features` ends flat and `Head` reads flat: nothing to reshape between them.
    let module = weights::pytorch_sequential::<Pictures>();
    assert!(!module.contains("(\"head_flatten\""), "{module}");
}
