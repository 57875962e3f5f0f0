//! Networks ending in `heads { ... }` (issue 13): the outputs struct, one loss per head with a
//! weight, each head's loss reported, backprop against finite differences (heads alone, with a
//! residual block and a concatenation in the trunk, several seeds), the trait's joined rows and
//! the trainer.

use nn_test_support::Data;

use nn::{
    check_gradients, BinaryCrossEntropy, CrossEntropy, GradCheck, MeanSquaredError, Network,
    Trainable, Workspace,
};

nn::network! {
    /// The two-head reader.
    pub struct Reader: 784 -> trunk: 64 relu -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };
    /// Small ones for the gradient check.
    struct Two: 3 -> 4 tanh -> heads { a: 3 softmax, b: 2 tanh -> 1 sigmoid };
    struct ResHeads: 3 -> 4 tanh -> residual { 4 softplus -> 4 linear }
        -> heads { class: 2 softmax, value: 3 tanh -> 2 linear, flag: 1 sigmoid };
    struct CatHeads: 4 -> concat { 2 tanh, 3 sigmoid } -> heads { p: 2 softmax, q: 1 linear };
    struct InputHeads: 3 -> heads { left: 2 tanh, right: residual { 3 tanh -> 3 linear } -> 1 sigmoid };
    /// Image layers in the trunk and the heads, a norm and dropout in a head.
    struct ImageHeads: 1x5x5 -> conv 2 3x3 pad 1 tanh -> heads {
        a: avgpool 2x2 -> layernorm -> 2 softmax,
        b: conv 1 3x3 tanh -> dropout 0.2 -> 1 sigmoid,
    };
}

const SEEDS: [u64; 3] = [3, 8, 21];

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
fn outputs_by_head_and_joined() {
    let net = Reader::new(1);
    let x = [0.25; 784];
    let out: ReaderOutputs = net.forward(&x);
    assert!((out.digit.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!(out.even[0] > 0.0 && out.even[0] < 1.0);
    let joined: [f32; 11] = Network::forward(&net, &x);
    assert_eq!(joined, <[f32; 11]>::from(out));
    assert_eq!(ReaderOutputs::from(joined), out);
    assert_eq!((Reader::INPUT, Reader::OUTPUT), (784, 11));
    let all = net.forward_all(&x);
    assert_eq!(all.layer2, out.digit);
    assert_eq!(all.layer4, out.even);
    assert_eq!(
        Reader::DECLARATION,
        "784 -> trunk: 64 relu -> heads { digit: 10 softmax, even: 16 relu -> 1 sigmoid }"
    );
    let mut d = Data(2);
    let xs = d.rows::<784>(5, Data::uniform);
    let mut outs = vec![ReaderOutputs::zeros(); 5];
    let mut ws = Workspace::new();
    net.forward_batch(&xs, &mut outs, &mut ws).unwrap();
    for (o, x) in outs.iter().zip(&xs) {
        assert_eq!(*o, net.forward(x));
    }
}

#[test]
fn each_head_reports_its_loss_and_the_total_is_weighted() {
    let net = Reader::new(4);
    let mut d = Data(5);
    let xs = d.rows::<784>(6, Data::uniform);
    let targets: Vec<ReaderOutputs> = d
        .one_hot::<10>(6)
        .into_iter()
        .map(|digit| {
            let even = [f32::from(u8::from(nn::argmax(&digit).is_multiple_of(2)))];
            ReaderOutputs { digit, even }
        })
        .collect();
    let losses = ReaderLosses {
        digit: (CrossEntropy, 1.0),
        even: (BinaryCrossEntropy, 0.5),
    };
    let mut grads = Reader::zeros();
    let mut ws = Workspace::new();
    let got = net
        .gradient_batch(losses, &xs, &targets, &mut grads, &mut ws)
        .unwrap();
    assert!(
        (got.total - (got.digit + 0.5 * got.even)).abs() < 1e-6,
        "{got:?}"
    );
    // Each head's loss is its own loss on its own outputs.
    let outs: Vec<ReaderOutputs> = xs.iter().map(|x| net.forward(x)).collect();
    let mean = |f: &dyn Fn(&ReaderOutputs, &ReaderOutputs) -> f32| {
        outs.iter().zip(&targets).map(|(o, t)| f(o, t)).sum::<f32>() / 6.0
    };
    let ce = mean(&|o, t| -(o.digit[nn::argmax(&t.digit)]).ln());
    let bce = mean(&|o, t| {
        let (p, y) = (o.even[0], t.even[0]);
        -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    });
    assert!((got.digit - ce).abs() < 1e-4, "{} vs {ce}", got.digit);
    assert!((got.even - bce).abs() < 1e-4, "{} vs {bce}", got.even);
    let again = net.loss_batch(losses, &xs, &targets, &mut ws).unwrap();
    assert!((again.total - got.total).abs() < 1e-6);
    // The trait's rows give the same total.
    let joined: Vec<[f32; 11]> = targets.iter().map(|&t| t.into()).collect();
    let total = Trainable::loss_batch(&net, losses, &xs, &joined, &mut ws).unwrap();
    assert!((total - got.total).abs() < 1e-6);
}

#[test]
fn head_gradients() {
    for seed in SEEDS {
        let mut d = Data(seed);
        let x = d.rows::<3>(5, Data::signed);
        let y: Vec<[f32; 4]> = d
            .one_hot::<3>(5)
            .into_iter()
            .zip(d.rows::<1>(5, Data::uniform))
            .map(|(a, b)| TwoOutputs { a, b }.into())
            .collect();
        let losses = TwoLosses {
            a: (CrossEntropy, 0.7),
            b: (BinaryCrossEntropy, 1.3),
        };
        check(Two::new(seed), losses, &x, &y, "two");
        let mse = TwoLosses {
            a: (MeanSquaredError, 1.0),
            b: (MeanSquaredError, 2.0),
        };
        check(Two::new(seed), mse, &x, &y, "two/mse");
        let y: Vec<[f32; 5]> = (0..5)
            .map(|_| {
                let class = d.one_hot::<2>(1)[0];
                let value = d.rows::<2>(1, Data::signed)[0];
                let flag = d.rows::<1>(1, Data::uniform)[0];
                ResHeadsOutputs { class, value, flag }.into()
            })
            .collect();
        let losses = ResHeadsLosses {
            class: (CrossEntropy, 1.0),
            value: (MeanSquaredError, 0.5),
            flag: (BinaryCrossEntropy, 2.0),
        };
        check(ResHeads::new(seed), losses, &x, &y, "residual heads");
        let x4 = d.rows::<4>(5, Data::signed);
        let y: Vec<[f32; 3]> = (0..5)
            .map(|_| {
                let p = d.one_hot::<2>(1)[0];
                let q = d.rows::<1>(1, Data::signed)[0];
                CatHeadsOutputs { p, q }.into()
            })
            .collect();
        let losses = CatHeadsLosses {
            p: (CrossEntropy, 1.0),
            q: (MeanSquaredError, 1.0),
        };
        check(CatHeads::new(seed), losses, &x4, &y, "concat heads");
        let y: Vec<[f32; 3]> = d.rows::<3>(5, Data::uniform);
        let losses = InputHeadsLosses {
            left: (MeanSquaredError, 1.0),
            right: (BinaryCrossEntropy, 1.0),
        };
        check(InputHeads::new(seed), losses, &x, &y, "heads on the input");
        let x25 = d.rows::<25>(4, Data::signed);
        let y: Vec<[f32; 3]> = (0..4)
            .map(|_| {
                let a = d.one_hot::<2>(1)[0];
                let b = d.rows::<1>(1, Data::uniform)[0];
                ImageHeadsOutputs { a, b }.into()
            })
            .collect();
        let losses = ImageHeadsLosses {
            a: (CrossEntropy, 1.0),
            b: (BinaryCrossEntropy, 0.5),
        };
        check(ImageHeads::new(seed), losses, &x25, &y, "image heads");
    }
}

#[test]
fn the_trainer_trains_a_network_with_heads() {
    let mut d = Data(7);
    let xs = d.rows::<3>(64, Data::signed);
    // Head `a`: which input is largest; head `b`: whether the first input is positive.
    let ys: Vec<[f32; 4]> = xs
        .iter()
        .map(|x| {
            let mut a = [0.0; 3];
            a[nn::argmax(x)] = 1.0;
            TwoOutputs {
                a,
                b: [f32::from(u8::from(x[0] > 0.0))],
            }
            .into()
        })
        .collect();
    let losses = TwoLosses {
        a: (CrossEntropy, 1.0),
        b: (BinaryCrossEntropy, 1.0),
    };
    let mut net = Two::new(1);
    let mut ws = Workspace::new();
    let before = Trainable::loss_batch(&net, losses, &xs, &ys, &mut ws).unwrap();
    let mut opt = nn::Adam::new(0.05);
    let history = nn::TrainConfig::new()
        .epochs(40)
        .batch_size(16)
        .fit(
            &mut net,
            &mut opt,
            losses,
            nn::Samples::new(&xs, &ys),
            &mut (),
        )
        .unwrap();
    let after = Trainable::loss_batch(&net, losses, &xs, &ys, &mut ws).unwrap();
    assert!(after < before / 3.0, "{before} -> {after}: {history:?}");
}

#[test]
fn weights_of_heads_are_named_by_path() {
    assert_eq!(
        nn::weights::tensor_names::<Reader>(),
        [
            "0.weight",
            "0.bias",
            "2.digit.0.weight",
            "2.digit.0.bias",
            "2.even.0.weight",
            "2.even.0.bias",
            "2.even.2.weight",
            "2.even.2.bias"
        ]
    );
    assert!(nn::weights::pytorch_module::<Reader>().ends_with(
        "model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), Heads({\"digit\": \
         nn.Sequential(nn.Linear(64, 10), nn.Softmax(dim=-1)), \"even\": \
         nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())}))\n"
    ));
    let net = ResHeads::new(3);
    let copy: ResHeads = nn::weights::from_bytes(&nn::weights::to_bytes(&net).unwrap()).unwrap();
    let x = [0.5, -0.25, 1.0];
    assert_eq!(copy.forward(&x), net.forward(&x));
}
