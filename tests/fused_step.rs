//! `train_step`: a batch-1 step with the first layer's weight gradient fused into the
//! optimizer's update gives the bits of `gradient` followed by `step`, step after step, for
//! momentum and gradient descent, on every network it exists for (a chain whose first
//! layer is dense), in f32 and in f64 (run also with `NN_KERNEL=portable`), and allocates
//! nothing.

use nn::{
    CrossEntropy, FusedStep, GradientDescent, MeanSquaredError, Momentum, Network, Optimizer,
    Workspace,
};
use nn_test_support::{allocations, CountingAllocator, Data};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

nn::network! {
    /// The seminar's digit classifier.
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
    /// Other layer kinds after the first, and weight decay.
    struct Mixed: 12 -> 9 relu -> batchnorm -> dropout 0.25 -> 7 tanh -> layernorm -> 3 linear;
    /// In f64.
    struct Precise: f64 20 -> 8 tanh -> 5 gelu -> 3 softmax;
}

fn bits32<N: Network<Scalar = f32>>(net: &N) -> Vec<u32> {
    net.parameters().flatten().map(|v| v.to_bits()).collect()
}

fn bits64<N: Network<Scalar = f64>>(net: &N) -> Vec<u64> {
    net.parameters().flatten().map(|v| v.to_bits()).collect()
}

/// An image-like sample: a third of the pixels exactly zero, as in MNIST's background.
fn sample<const N: usize>(d: &mut Data) -> [f32; N] {
    std::array::from_fn(|k| if k % 3 == 0 { 0.0 } else { d.uniform() })
}

#[test]
fn the_seminar_networks_fused_steps_are_the_unfused_bits() {
    let mut fused = Digits::new(3);
    let mut plain = fused.clone_weights();
    let (mut opt_fused, mut opt_plain) = (Momentum::new(0.1, 0.9), Momentum::new(0.1, 0.9));
    let (mut g_fused, mut g_plain) = (Digits::zeros(), Digits::zeros());
    let (mut ws_fused, mut ws_plain) = (Workspace::new(), Workspace::new());
    let mut d = Data(9);
    for step in 0..40 {
        let x = sample::<784>(&mut d);
        let mut y = [0.0; 10];
        y[step % 10] = 1.0;
        let l_fused = fused.train_step(
            CrossEntropy,
            &x,
            &y,
            &mut opt_fused,
            &mut g_fused,
            &mut ws_fused,
        );
        let l_plain = plain.gradient(CrossEntropy, &x, &y, &mut g_plain, &mut ws_plain);
        opt_plain.step(&mut plain, &g_plain);
        assert_eq!(l_fused.to_bits(), l_plain.to_bits(), "step {step}: loss");
        assert_eq!(bits32(&fused), bits32(&plain), "step {step}: weights");
        assert_eq!(
            bits32(opt_fused.velocity()),
            bits32(opt_plain.velocity()),
            "step {step}: velocity"
        );
        // Every gradient but the first layer's weights is in `grads`, as `gradient` writes it.
        let rest = |g: &Digits| {
            g.parameters()
                .skip(1)
                .flatten()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rest(&g_fused),
            rest(&g_plain),
            "step {step}: the other gradients"
        );
    }
    // The first layer's weight gradient was never written.
    assert!(g_fused.layer1.weights_flat().iter().all(|&g| g == 0.0));
}

trait CloneWeights {
    fn clone_weights(&self) -> Self;
}

impl<N: Network> CloneWeights for N {
    fn clone_weights(&self) -> Self {
        let mut copy = N::zeros();
        for (to, from) in copy.state_mut().zip(self.state()) {
            to.copy_from_slice(from);
        }
        copy
    }
}

#[test]
fn other_layer_kinds_and_weight_decay_keep_the_unfused_bits() {
    let mut fused = Mixed::new(5);
    let mut plain = fused.clone_weights();
    let mut opt_fused = Momentum::new(0.05, 0.9).with_weight_decay(0.01);
    let mut opt_plain = Momentum::new(0.05, 0.9).with_weight_decay(0.01);
    let (mut g_fused, mut g_plain) = (Mixed::zeros(), Mixed::zeros());
    let (mut ws_fused, mut ws_plain) = (Workspace::new(), Workspace::new());
    ws_fused.set_seed(4);
    ws_plain.set_seed(4);
    let mut d = Data(2);
    for step in 0..25 {
        let x = sample::<12>(&mut d);
        let y = [d.signed(), d.signed(), d.signed()];
        let l_fused = fused.train_step(
            MeanSquaredError,
            &x,
            &y,
            &mut opt_fused,
            &mut g_fused,
            &mut ws_fused,
        );
        let l_plain = plain.gradient(MeanSquaredError, &x, &y, &mut g_plain, &mut ws_plain);
        opt_plain.step(&mut plain, &g_plain);
        assert_eq!(l_fused.to_bits(), l_plain.to_bits(), "step {step}: loss");
        let state = |n: &Mixed| n.state().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            state(&fused),
            state(&plain),
            "step {step}: weights and running statistics"
        );
    }
}

#[test]
fn an_f64_networks_fused_steps_are_the_unfused_bits() {
    let mut fused = Precise::new(8);
    let mut plain = fused.clone_weights();
    let (mut opt_fused, mut opt_plain) = (Momentum::new(0.1, 0.9), Momentum::new(0.1, 0.9));
    let (mut g_fused, mut g_plain) = (Precise::zeros(), Precise::zeros());
    let (mut ws_fused, mut ws_plain) = (Workspace::new(), Workspace::new());
    let mut d = Data(6);
    for step in 0..30 {
        let x = sample::<20>(&mut d).map(f64::from);
        let mut y = [0.0; 3];
        y[step % 3] = 1.0;
        fused.train_step(
            CrossEntropy,
            &x,
            &y,
            &mut opt_fused,
            &mut g_fused,
            &mut ws_fused,
        );
        plain.gradient(CrossEntropy, &x, &y, &mut g_plain, &mut ws_plain);
        opt_plain.step(&mut plain, &g_plain);
        assert_eq!(bits64(&fused), bits64(&plain), "step {step}: weights");
        assert_eq!(
            bits64(opt_fused.velocity()),
            bits64(opt_plain.velocity()),
            "step {step}"
        );
    }
}

#[test]
fn a_fused_step_allocates_nothing() {
    let mut net = Digits::new(1);
    let mut grads = Digits::zeros();
    let mut opt = Momentum::new(0.1, 0.9);
    let mut ws = Workspace::with_capacity(1);
    let x = sample::<784>(&mut Data(3));
    let mut y = [0.0; 10];
    y[4] = 1.0;
    net.train_step(CrossEntropy, &x, &y, &mut opt, &mut grads, &mut ws);
    let before = allocations();
    for _ in 0..10 {
        net.train_step(CrossEntropy, &x, &y, &mut opt, &mut grads, &mut ws);
    }
    assert_eq!(allocations() - before, 0);
    // And the step trains: the loss on the sample went down.
    let mut fresh_grads = Digits::zeros();
    let fresh = Digits::new(1).gradient(CrossEntropy, &x, &y, &mut fresh_grads, &mut ws);
    assert!(net.loss(CrossEntropy, &x, &y) < fresh);
}

/// `steps` fused and unfused batch-1 steps of `Digits` with optimizer `make()`: the weights and
/// the loss bit for bit, after every step.
fn fused_is_unfused<O: FusedStep<Digits> + Optimizer<Digits>>(make: impl Fn() -> O, steps: usize) {
    let mut fused = Digits::new(11);
    let mut plain = fused.clone_weights();
    let (mut opt_fused, mut opt_plain) = (make(), make());
    let (mut g_fused, mut g_plain) = (Digits::zeros(), Digits::zeros());
    let (mut ws_fused, mut ws_plain) = (Workspace::new(), Workspace::new());
    let mut d = Data(17);
    for step in 0..steps {
        let x = sample::<784>(&mut d);
        let mut y = [0.0; 10];
        y[(step * 3) % 10] = 1.0;
        let l_fused = fused.train_step(
            CrossEntropy,
            &x,
            &y,
            &mut opt_fused,
            &mut g_fused,
            &mut ws_fused,
        );
        let l_plain = plain.gradient(CrossEntropy, &x, &y, &mut g_plain, &mut ws_plain);
        opt_plain.step(&mut plain, &g_plain);
        assert_eq!(
            l_fused.to_bits(),
            l_plain.to_bits(),
            "{}, step {step}: loss",
            opt_plain.name()
        );
        assert_eq!(
            bits32(&fused),
            bits32(&plain),
            "{}, step {step}: weights",
            opt_plain.name()
        );
        for ((_, a), (_, b)) in opt_fused.buffers().iter().zip(opt_plain.buffers()) {
            assert_eq!(
                bits32(*a),
                bits32(b),
                "{}, step {step}: state",
                opt_plain.name()
            );
        }
    }
}

#[test]
fn gradient_descent_fuses_to_the_unfused_bits_too() {
    fused_is_unfused(|| GradientDescent::new(0.1).with_weight_decay(1e-3), 30);
    fused_is_unfused(|| Momentum::new(0.05, 0.5).with_weight_decay(1e-2), 30);
}

#[test]
fn gradient_descent_fuses_in_f64_too() {
    let mut fused = Precise::new(4);
    let mut plain = fused.clone_weights();
    let (mut opt_fused, mut opt_plain) = (GradientDescent::new(0.2), GradientDescent::new(0.2));
    let (mut g_fused, mut g_plain) = (Precise::zeros(), Precise::zeros());
    let (mut ws_fused, mut ws_plain) = (Workspace::new(), Workspace::new());
    let mut d = Data(12);
    for step in 0..20 {
        let x = sample::<20>(&mut d).map(f64::from);
        let mut y = [0.0; 3];
        y[step % 3] = 1.0;
        fused.train_step(
            CrossEntropy,
            &x,
            &y,
            &mut opt_fused,
            &mut g_fused,
            &mut ws_fused,
        );
        plain.gradient(CrossEntropy, &x, &y, &mut g_plain, &mut ws_plain);
        opt_plain.step(&mut plain, &g_plain);
        assert_eq!(bits64(&fused), bits64(&plain), "step {step}: weights");
    }
}
