//! Residual blocks and concatenations (issue 13): shapes, the forward pass against a plain
//! re-computation from the layers' own outputs, and backprop against finite differences for
//! each construct alone and combined, several seeds, with every layer kind inside a block.

use nn_test_support::Data;

use nn::model::{BlockKind, Node};
use nn::{
    check_gradients, BinaryCrossEntropy, CrossEntropy, GradCheck, MeanSquaredError, Network,
    Trainable, Workspace,
};

nn::network! {
    /// The residual network.
    struct Deep: 64 -> 128 relu -> residual { 128 relu -> 128 linear } -> 10 softmax;
    /// The concatenation: 16 + 8 = 24 wide.
    struct Wide: 32 -> concat { 16 tanh, 16 relu -> 8 relu } -> 4 softmax;
    /// Small versions for the gradient check.
    struct Res: 3 -> 4 tanh -> skip: residual { 5 tanh -> 4 linear } -> 2 sigmoid;
    struct ResFirst: 4 -> residual { 3 softplus -> 4 tanh } -> 2 linear;
    struct Cat: 3 -> concat { 2 tanh, 3 sigmoid -> 2 softplus, 1 linear } -> 3 softmax;
    struct CatFirst: 3 -> concat { 2 tanh, 2 sigmoid } -> 1 sigmoid;
    /// Blocks in blocks, one after the other, and every other layer kind inside.
    struct Nested: 4 -> 5 tanh
        -> residual { concat { 3 tanh, 2 softplus } -> layernorm -> 5 tanh }
        -> residual { 5 sigmoid -> dropout 0.25 -> 5 linear }
        -> concat { residual { 5 tanh -> 5 linear }, 2 tanh }
        -> 2 softmax;
    struct NormBlock: 4 -> 6 tanh -> residual { batchnorm -> 6 tanh } -> 2 linear;
    /// Channel-wise concatenation of images, and a residual block of convolutions.
    struct Images: 1x6x6 -> conv 2 3x3 pad 1 tanh
        -> residual { conv 3 3x3 pad 1 tanh -> conv 2 3x3 pad 1 linear }
        -> concat { conv 1 3x3 tanh, avgpool 3x3 stride 1 -> conv 2 1x1 tanh }
        -> 3 softmax;
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
fn shapes_in_numbers() {
    assert_eq!((Deep::INPUT, Deep::OUTPUT), (64, 10));
    assert_eq!(Deep::LAYERS.len(), 4);
    assert_eq!(Wide::LAYERS[3].input, nn::Shape::Flat(24));
    assert_eq!(
        Deep::DECLARATION,
        "64 -> 128 relu -> residual { 128 relu -> 128 linear } -> 10 softmax"
    );
    assert_eq!(
        Res::DECLARATION,
        "3 -> 4 tanh -> skip: residual { 5 tanh -> 4 linear } -> 2 sigmoid"
    );
    let Node::Block(block) = Wide::GRAPH[0] else {
        panic!("{:?}", Wide::GRAPH)
    };
    assert_eq!(block.kind, BlockKind::Concat);
    assert_eq!(
        block.branches,
        &[&[Node::Layer(0)][..], &[Node::Layer(1), Node::Layer(2)]]
    );
    assert_eq!(
        nn::model::graph_layer_count(Nested::GRAPH),
        Nested::LAYERS.len()
    );
    assert_eq!(nn::model::block_count(Nested::GRAPH), 5);
    // Channel-wise: 1 + 2 channels of 4x4.
    assert_eq!(
        Images::LAYERS[6].input,
        nn::Shape::Image {
            channels: 3,
            height: 4,
            width: 4
        }
    );
    assert!(<Deep as Network>::GRAPH.len() == 3);
}

#[test]
fn residual_forward_adds_the_skip() {
    let net = Res::new(3);
    let x = [0.3, -0.7, 1.1];
    let all = net.forward_all(&x);
    for k in 0..4 {
        let sum = all.layer1[k] + all.layer3[k];
        assert!((all.skip[k] - sum).abs() < 1e-6, "{k}: {all:?}");
    }
    let mut out = [0.0; 2];
    net.layer4.forward(
        nn::__private::array(&all.skip),
        nn::__private::array_mut(&mut out),
    );
    assert_eq!(out, net.forward(&x));
    assert_eq!(out, all.layer4);
}

#[test]
fn concat_forward_joins_the_branches() {
    let net = Cat::new(5);
    let all = net.forward_all(&[0.2, 0.4, -0.9]);
    let joined: Vec<f32> = all
        .layer1
        .iter()
        .chain(&all.layer3)
        .chain(&all.layer4)
        .copied()
        .collect();
    assert_eq!(all.block1.to_vec(), joined);
    // A batch gives each sample's one-sample result.
    let mut d = Data(9);
    let x = d.rows::<3>(6, Data::signed);
    let mut out = vec![[0.0; 3]; 6];
    let mut ws = Workspace::new();
    net.forward_batch(&x, &mut out, &mut ws).unwrap();
    for (row, x) in out.iter().zip(&x) {
        assert_eq!(*row, net.forward(x));
    }
}

#[test]
fn residual_gradients() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x = d.rows::<3>(5, Data::signed);
        let y = d.rows::<2>(5, Data::uniform);
        check(Res::new(seed), BinaryCrossEntropy, &x, &y, "res/bce");
        check(Res::new(seed), MeanSquaredError, &x, &y, "res/mse");
        let x = d.rows::<4>(5, Data::signed);
        check(
            ResFirst::new(seed),
            MeanSquaredError,
            &x,
            &y,
            "res first/mse",
        );
    }
}

#[test]
fn concat_gradients() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x = d.rows::<3>(5, Data::signed);
        let y = d.one_hot::<3>(5);
        check(Cat::new(seed), CrossEntropy, &x, &y, "cat/ce");
        let y = d.rows::<1>(5, Data::uniform);
        check(
            CatFirst::new(seed),
            BinaryCrossEntropy,
            &x,
            &y,
            "cat first/bce",
        );
    }
}

#[test]
fn nested_blocks_and_other_kinds_gradients() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x = d.rows::<4>(6, Data::signed);
        let y = d.one_hot::<2>(6);
        check(Nested::new(seed), CrossEntropy, &x, &y, "nested/ce");
        let y = d.rows::<2>(6, Data::signed);
        check(
            NormBlock::new(seed),
            MeanSquaredError,
            &x,
            &y,
            "batchnorm block/mse",
        );
        let x = d.rows::<36>(3, Data::signed);
        let y = d.one_hot::<3>(3);
        check(Images::new(seed), CrossEntropy, &x, &y, "images/ce");
    }
}

#[test]
fn the_big_ones_train() {
    let mut d = Data(1);
    let x = d.rows::<64>(32, Data::signed);
    let y = d.one_hot::<10>(32);
    let mut net = Deep::new(1);
    let mut grads = Deep::zeros();
    let mut ws = Workspace::new();
    let mut opt = nn::Adam::new(1e-2);
    let first = net
        .gradient_batch(CrossEntropy, &x, &y, &mut grads, &mut ws)
        .unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = net
            .gradient_batch(CrossEntropy, &x, &y, &mut grads, &mut ws)
            .unwrap();
        nn::Optimizer::step(&mut opt, &mut net, &grads);
    }
    assert!(last < first / 4.0, "{first} -> {last}");
    let x = d.rows::<32>(8, Data::signed);
    let y = d.one_hot::<4>(8);
    let mut net = Wide::new(2);
    let mut grads = Wide::zeros();
    let mut ws = Workspace::new();
    let loss = net
        .gradient_batch(CrossEntropy, &x, &y, &mut grads, &mut ws)
        .unwrap();
    assert!(loss.is_finite());
    let _ = &mut net;
}

#[test]
fn weights_are_named_by_path_and_round_trip() {
    assert_eq!(
        nn::weights::tensor_names::<Deep>(),
        [
            "0.weight",
            "0.bias",
            "2.0.weight",
            "2.0.bias",
            "2.2.weight",
            "2.2.bias",
            "3.weight",
            "3.bias"
        ]
    );
    assert_eq!(
        nn::weights::pytorch_sequential::<Deep>(),
        "nn.Sequential(nn.Linear(64, 128), nn.ReLU(), Residual(nn.Linear(128, 128), nn.ReLU(), \
         nn.Linear(128, 128), nn.Identity()), nn.Linear(128, 10), nn.Softmax(dim=-1))"
    );
    assert_eq!(
        nn::weights::tensor_names::<Wide>(),
        [
            "0.0.0.weight",
            "0.0.0.bias",
            "0.1.0.weight",
            "0.1.0.bias",
            "0.1.2.weight",
            "0.1.2.bias",
            "1.weight",
            "1.bias"
        ]
    );
    assert!(nn::weights::pytorch_module::<Wide>().contains("class Concat(nn.ModuleList)"));
    assert!(nn::weights::pytorch_module::<Wide>().ends_with(
        "model = nn.Sequential(Concat(nn.Sequential(nn.Linear(32, 16), nn.Tanh()), \
         nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU())), \
         nn.Linear(24, 4), nn.Softmax(dim=-1))\n"
    ));
    let net = Nested::new(11);
    let bytes = nn::weights::to_bytes(&net).unwrap();
    let copy: Nested = nn::weights::from_bytes(&bytes).unwrap();
    let x = [0.1, -0.2, 0.3, 0.9];
    assert_eq!(copy.forward(&x), net.forward(&x));
    assert!(copy.parameters().flatten().eq(net.parameters().flatten()));
    let names = nn::weights::tensor_names::<Nested>();
    assert_eq!(
        names.len(),
        2 * Nested::LAYERS
            .iter()
            .filter(|l| l.tensors().count() > 0)
            .count()
    );
    assert_eq!(names[2], "2.0.0.0.weight", "{names:?}");
}
