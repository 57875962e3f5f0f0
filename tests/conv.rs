//! Image layers: convolution and pooling, with the norms and dropout after them, declared with
//! image inputs. The LeNet compiles and trains; small image networks pass the
//! finite-difference check on several seeds; the macro's shapes are the ones PyTorch computes.

use nn::model::{LayerKind, Shape};
use nn::{
    check_gradients, Adam, CrossEntropy, GradCheck, MeanSquaredError, Network, Optimizer, Workspace,
};
use nn_test_support::Data;

nn::network! {
    /// LeNet-style digit classifier on 28x28 greyscale images.
    pub struct LeNet: 1x28x28
        -> conv 6 5x5 pad 2 relu       // 6 filters of 5x5, stride 1: 6x28x28
        -> maxpool 2x2                 // 6x14x14 (stride defaults to the window)
        -> conv 16 5x5 relu            // 16x10x10
        -> maxpool 2x2                 // 16x5x5
        -> dropout 0.25
        -> 120 relu                    // a dense layer flattens channel-major, as torch.flatten
        -> 84 relu
        -> 10 softmax;

    struct Small: 2x6x6 -> conv 3 3x3 pad 1 tanh -> maxpool 2x2 -> 4 silu -> 3 softmax;
    struct Strided: 1x7x5 -> features: conv 2 3x2 stride 2 pad 1 gelu -> avgpool 2x2 stride 1
        -> 3 tanh -> 2 sigmoid;
    struct Normed: 3x9x7 -> conv 4 3x3 silu -> batchnorm -> avgpool 3x3 stride 2 -> layernorm
        -> dropout 0.2 -> 3 softmax;
    struct Stacked: 1x8x8 -> conv 2 3x3 tanh -> conv 3 2x2 stride 2 pad 1 leaky_relu 0.2 -> 2 linear;
}

fn sample<const N: usize, const M: usize>(seed: u64, n: usize) -> (Vec<[f32; N]>, Vec<[f32; M]>) {
    let mut data = Data(seed);
    (data.rows(n, Data::signed), data.one_hot(n))
}

#[test]
fn lenet_shapes_are_pytorchs() {
    let shapes: Vec<String> = LeNet::LAYERS.iter().map(|l| l.output.to_string()).collect();
    assert_eq!(
        shapes,
        ["6x28x28", "6x14x14", "16x10x10", "16x5x5", "16x5x5", "120", "84", "10"]
    );
    assert_eq!(LeNet::INPUT, 784);
    assert_eq!(
        LeNet::LAYERS[0].input,
        Shape::Image {
            channels: 1,
            height: 28,
            width: 28
        }
    );
    assert!(matches!(
        LeNet::LAYERS[2].kind,
        LayerKind::Conv {
            filters: 16,
            kernel: [5, 5],
            stride: 1,
            pad: 0,
            ..
        }
    ));
    // nn.Conv2d(1, 6, 5) has 6·25 + 6, nn.Conv2d(6, 16, 5) 16·150 + 16, then 400·120 + 120, ...
    assert_eq!(
        LeNet::parameter_count(),
        156 + 2416 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    );
    assert_eq!(
        LeNet::DECLARATION,
        "1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu -> maxpool 2x2 \
         -> dropout 0.25 -> 120 relu -> 84 relu -> 10 softmax"
    );
    let shapes: Vec<String> = Strided::LAYERS
        .iter()
        .map(|l| l.output.to_string())
        .collect();
    // (7 + 2 - 3)/2 + 1 = 4 rows, (5 + 2 - 2)/2 + 1 = 3 columns; then a 2x2 window at stride 1.
    assert_eq!(shapes, ["2x4x3", "2x3x2", "3", "2"]);
    let shapes: Vec<String> = Normed::LAYERS
        .iter()
        .map(|l| l.output.to_string())
        .collect();
    // The floor rule: (7 - 3)/2 + 1 = 3 rows and (5 - 3)/2 + 1 = 2 columns of windows.
    assert_eq!(shapes, ["4x7x5", "4x7x5", "4x3x2", "4x3x2", "4x3x2", "3"]);
}

#[test]
fn a_convolution_computes_the_sum_of_products_by_hand() {
    // One 3x3 image, one 2x2 filter, pad 0: each output is the window's products plus the bias.
    nn::network! { struct One: 1x3x3 -> conv 1 2x2 linear -> 1 linear; }
    let mut net = One::zeros();
    net.layer1
        .weights_mut()
        .copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
    net.layer1.parameters_mut()[1][0] = 0.5;
    net.layer2.set_weights(&[[1.0, 10.0, 100.0, 1000.0]]);
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let all = net.forward_all(&x);
    // [1 2; 4 5]·[1 2; 3 4] = 1 + 4 + 12 + 20 = 37, then 47, 67, 77; each + 0.5.
    assert_eq!(all.layer1, [37.5, 47.5, 67.5, 77.5]);
    assert_eq!(all.layer2, [37.5 + 475.0 + 6750.0 + 77500.0]);
}

/// The smallest gap between the largest and the second largest value of any 2x2 window of
/// `Small`'s first layer on `x`: max pooling has a kink where they tie.
fn pool_margin(net: &Small, x: &[f32; 72]) -> f32 {
    let a = net.forward_all(x).layer1;
    let mut margin = f32::INFINITY;
    for c in 0..3 {
        for oy in 0..3 {
            for ox in 0..3 {
                let mut w: Vec<f32> = (0..4)
                    .map(|k| a[(c * 6 + 2 * oy + k / 2) * 6 + 2 * ox + k % 2])
                    .collect();
                w.sort_by(|p, q| q.total_cmp(p));
                margin = margin.min(w[0] - w[1]);
            }
        }
    }
    margin
}

#[test]
fn image_networks_pass_the_gradient_check_on_several_seeds() {
    for seed in 1..=4 {
        // As for relu (see nn::gradcheck), the check is valid where no nudge crosses a kink:
        // draw samples until three have every max-pool window's winner clear by 0.05.
        let net = Small::new(seed);
        let mut data = Data(seed);
        let mut xs: Vec<[f32; 72]> = Vec::new();
        while xs.len() < 3 {
            let x: [f32; 72] = data.rows(1, Data::signed)[0];
            if pool_margin(&net, &x) > 0.05 {
                xs.push(x);
            }
        }
        let ys: Vec<[f32; 3]> = data.one_hot(3);
        let report = check_gradients(
            &mut Small::new(seed),
            CrossEntropy,
            &xs,
            &ys,
            GradCheck::default(),
        )
        .unwrap();
        assert!(report.passed(), "Small seed {seed}: {report}");

        let (xs, ys) = sample::<35, 2>(seed, 4);
        let report = check_gradients(
            &mut Strided::new(seed),
            MeanSquaredError,
            &xs,
            &ys,
            GradCheck::default(),
        )
        .unwrap();
        assert!(report.passed(), "Strided seed {seed}: {report}");

        let (xs, ys) = sample::<189, 3>(seed, 3);
        let report = check_gradients(
            &mut Normed::new(seed),
            CrossEntropy,
            &xs,
            &ys,
            GradCheck::default(),
        )
        .unwrap();
        assert!(report.passed(), "Normed seed {seed}: {report}");

        let (xs, ys) = sample::<64, 2>(seed, 3);
        let report = check_gradients(
            &mut Stacked::new(seed),
            MeanSquaredError,
            &xs,
            &ys,
            GradCheck::default(),
        )
        .unwrap();
        assert!(report.passed(), "Stacked seed {seed}: {report}");
    }
}

#[test]
fn lenet_trains_and_infers_without_dropout() {
    // Ten "digits", each a fixed random image plus noise: LeNet learns them in a few steps.
    let mut data = Data(5);
    let prototypes: Vec<[f32; 784]> = data.rows(10, Data::uniform);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..20 {
        let mut x = prototypes[i % 10];
        for v in &mut x {
            *v += 0.1 * data.signed();
        }
        let mut y = [0.0f32; 10];
        y[i % 10] = 1.0;
        xs.push(x);
        ys.push(y);
    }
    let mut net = LeNet::new(1);
    let mut grads = LeNet::zeros();
    let mut opt = Adam::new(3e-3);
    let mut ws = Workspace::new();
    let first = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap();
    let mut last = first;
    for _ in 0..20 {
        last = net
            .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
            .unwrap();
        opt.step(&mut net, &grads);
    }
    assert!(last < 0.3 * first, "loss {first} -> {last}");
    let mut out = vec![[0.0f32; 10]; 20];
    net.forward_batch(&xs, &mut out, &mut ws).unwrap();
    let right = out
        .iter()
        .zip(&ys)
        .filter(|(o, y)| nn::argmax(&o[..]) == nn::argmax(&y[..]))
        .count();
    assert!(right >= 18, "{right}/20");
    // Inference is deterministic (no dropout) and one sample is a batch of one.
    assert_eq!(net.forward(&xs[7]), out[7]);
    let all = net.forward_all(&xs[7]);
    assert_eq!(all.layer5, all.layer4);
    assert_eq!(all.layer8, out[7]);
}

#[test]
fn the_kernels_match_the_scalar_reference() {
    use nn::kernel::{conv, pool};
    use nn::layer::reference;
    let mut data = Data(3);
    for (c, h, w, f, kh, kw, s, p) in [
        (1, 28, 28, 6, 5, 5, 1, 2),
        (6, 14, 14, 16, 5, 5, 1, 0),
        (2, 7, 6, 3, 3, 3, 1, 1),
        (1, 7, 5, 2, 3, 2, 2, 1),
    ] {
        let g = conv::Conv2d {
            in_channels: c,
            in_height: h,
            in_width: w,
            out_channels: f,
            kernel_height: kh,
            kernel_width: kw,
            stride: s,
            pad: p,
        };
        let r = reference::Conv2d {
            in_channels: c,
            in_height: h,
            in_width: w,
            out_channels: f,
            kernel_height: kh,
            kernel_width: kw,
            stride: s,
            pad: p,
        };
        let n = 3;
        let signed = |d: &mut Data, len: usize| (0..len).map(|_| d.signed()).collect::<Vec<f32>>();
        let x = signed(&mut data, n * g.input_len());
        let wt = signed(&mut data, g.weight_len());
        let b = signed(&mut data, f);
        let delta = signed(&mut data, n * g.output_len());
        let mut scratch = vec![0.0; g.scratch_len(n)];
        let (mut out, mut want) = (vec![0.0; n * g.output_len()], vec![0.0; n * g.output_len()]);
        conv::conv2d_forward(&g, n, &x, &wt, &b, &mut out, &mut scratch);
        reference::conv2d_forward(&r, n, &x, &wt, &b, &mut want, &mut []);
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (i, (a, b)) in a.iter().zip(b).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{what}[{i}]: {a} vs {b}"
                );
            }
        };
        close(&out, &want, "forward");
        let (mut gw, mut gb, mut dx) =
            (vec![0.0; g.weight_len()], vec![0.0; f], vec![0.0; x.len()]);
        let (mut rw, mut rb, mut rx) = (gw.clone(), gb.clone(), dx.clone());
        conv::conv2d_backward(
            &g,
            n,
            &x,
            &wt,
            &delta,
            &mut gw,
            &mut gb,
            Some(&mut dx),
            &mut scratch,
        );
        reference::conv2d_backward(
            &r,
            n,
            &x,
            &wt,
            &delta,
            &mut rw,
            &mut rb,
            Some(&mut rx),
            &mut [],
        );
        close(&gw, &rw, "weight gradient");
        close(&gb, &rb, "bias gradient");
        close(&dx, &rx, "input gradient");

        let (ph, pw) = (g.out_height(), g.out_width());
        let pg = pool::Pool2d {
            channels: f,
            in_height: ph,
            in_width: pw,
            window_height: 2,
            window_width: 2,
            stride: 2,
        };
        let pr = reference::Pool2d {
            channels: f,
            in_height: ph,
            in_width: pw,
            window_height: 2,
            window_width: 2,
            stride: 2,
        };
        let (mut po, mut pwant) = (
            vec![0.0; n * pg.output_len()],
            vec![0.0; n * pg.output_len()],
        );
        let (mut am, mut ram) = (vec![0u32; po.len()], vec![0u32; po.len()]);
        pool::maxpool2d_forward(&pg, n, &out, &mut po, &mut am);
        reference::maxpool2d_forward(&pr, n, &out, &mut pwant, &mut ram);
        assert_eq!(
            (po.clone(), am.clone()),
            (pwant.clone(), ram.clone()),
            "max pooling"
        );
        pool::avgpool2d_forward(&pg, n, &out, &mut po);
        reference::avgpool2d_forward(&pr, n, &out, &mut pwant);
        close(&po, &pwant, "average pooling");
    }
}
