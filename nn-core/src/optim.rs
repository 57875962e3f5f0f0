//! Optimizers: how a gradient becomes a change of the weights.
//!
//! An optimizer walks a network's parameters and its gradient side by side (both have the same
//! shape, see [`Network::parameters`]) and updates every weight and bias in place. Nothing is
//! allocated in a step; an optimizer's state (momentum's velocity, Adam's moments) is allocated
//! once, when the optimizer is made.
//!
//! | optimizer | update of each weight `w` with gradient `g` |
//! | --- | --- |
//! | [`GradientDescent`] | `w ← w - α·g` |
//! | [`Momentum`] | `v ← α·g + μ·v`, then `w ← w - v` |
//! | [`Adam`] | `m ← β₁·m + (1-β₁)·g`, `v ← β₂·v + (1-β₂)·g²`, then `w ← w - α·m̂ / (√v̂ + ε)` with `m̂ = m/(1-β₁ᵗ)`, `v̂ = v/(1-β₂ᵗ)` |
//!
//! # Decoupled weight decay
//!
//! Each optimizer takes a weight decay `λ` (`with_weight_decay`, default 0), applied to every
//! weight and bias *before* the gradient step and apart from it (Loshchilov & Hutter,
//! "Decoupled Weight Decay Regularization", 2019), scaled by the learning rate as in PyTorch:
//!
//! ```text
//! w ← w - α·λ·w          then the optimizer's own step from g
//! ```
//!
//! For [`Adam`] this is AdamW (`torch.optim.AdamW`): the decay does not pass through the
//! moments, so it is not rescaled by `√v̂`. For [`GradientDescent`] it equals an L2 penalty
//! `λ/2·‖w‖²` on the loss; for [`Momentum`] it does not enter the velocity (SGDW). With
//! `λ = 0` the step is exactly the one without decay, bit for bit.
//!
//! # Learning rate and state
//!
//! Every optimizer reports and accepts its learning rate ([`Optimizer::learning_rate`],
//! [`Optimizer::set_learning_rate`]), which is how a [schedule](crate::train::Schedule) steers
//! it, and lists its state ([`Optimizer::buffers`], [`Optimizer::counter`]) for checkpoints.

#[cfg(not(feature = "std"))]
use crate::math::Float as _;
use crate::network::Network;
use crate::scalar::Scalar;
use alloc::vec::Vec;

/// Something that updates a network's parameters from their gradient.
pub trait Optimizer<N: Network> {
    /// One update of `network` from `grads`, the gradient of the loss (shaped like the network).
    /// Every optimizer here ends its step with [`Network::fold_statistics`], so batch
    /// normalisation's running statistics follow the training steps; an optimizer of your own
    /// should do the same.
    fn step(&mut self, network: &mut N, grads: &N);

    /// The step size `α` the next [`step`](Optimizer::step) uses.
    fn learning_rate(&self) -> f32;

    /// Sets the step size of the following steps (a schedule calls this before each batch).
    fn set_learning_rate(&mut self, learning_rate: f32);

    /// A short name recorded in checkpoints, so that a checkpoint is not resumed with another
    /// kind of optimizer.
    fn name(&self) -> &'static str {
        "optimizer"
    }

    /// The optimizer's state shaped like the network, with a name for each buffer (momentum's
    /// velocity, Adam's moments); empty for a stateless optimizer.
    fn buffers(&self) -> Vec<(&'static str, &N)> {
        Vec::new()
    }

    /// The buffers of [`buffers`](Optimizer::buffers), in the same order, to restore them.
    fn buffers_mut(&mut self) -> Vec<(&'static str, &mut N)> {
        Vec::new()
    }

    /// A step counter that the optimizer's update depends on (Adam's `t`); 0 if none.
    fn counter(&self) -> u64 {
        0
    }

    /// Restores the counter of [`counter`](Optimizer::counter).
    fn set_counter(&mut self, _counter: u64) {}
}

/// An optimizer that takes a batch-1 training step with the first layer's weight gradient
/// fused into its update: each gradient value `δⱼ·xₖ` is computed as the weight is updated and
/// never stored, so the step spares writing and reading a gradient as large as the layer (the
/// seminar's first layer: 50 KB of a 52 KB gradient). What a network's `train_step` calls.
///
/// The result is the bits of [`step`](Optimizer::step) after a `gradient` of the same sample:
/// [`kernel::momentum_outer`](crate::kernel::momentum_outer) rounds each value as the back end's
/// weight gradient does.
pub trait FusedStep<N: Network>: Optimizer<N> {
    /// [`step`](Optimizer::step), with the gradient of the first tensor (the first layer's
    /// weights, `o × i`) given as the outer product of `delta` (its `o` deltas) and `input`
    /// (the sample, `i` values) instead of in `grads`, whose first tensor is not read.
    fn step_fused_first(
        &mut self,
        network: &mut N,
        grads: &N,
        delta: &[N::Scalar],
        input: &[N::Scalar],
    );
}

/// The value `δ·x` of a batch-1 weight gradient as the back end's weight gradient rounds it:
/// `fma(δ, x, 0)` where its products fuse (exactly `δ·x`, but `+0` for an exact zero), else
/// `0 + δ·x` (`+0` for any zero, an underflow's included). Plain arithmetic either way, so an
/// optimizer's own loop gives the unfused bits.
#[inline(always)]
fn outer_value<T: Scalar>(d: T, x: T, fused: bool) -> T {
    if fused {
        if d == T::ZERO || x == T::ZERO {
            T::ZERO
        } else {
            d * x
        }
    } else {
        T::ZERO + d * x
    }
}

/// `w ← w·(1 - α·λ)` over every parameter: decoupled weight decay (nothing for `λ = 0`).
fn decay<N: Network>(network: &mut N, learning_rate: f32, weight_decay: f32) {
    if weight_decay == 0.0 {
        return;
    }
    let keep =
        N::Scalar::ONE - N::Scalar::from_f32(learning_rate) * N::Scalar::from_f32(weight_decay);
    for w in network.parameters_mut() {
        for w in w.iter_mut() {
            *w *= keep;
        }
    }
}

/// Plain gradient descent: `w ← w - α·∂L/∂w`, with `α` the learning rate (and, with a weight
/// decay `λ`, first `w ← w - α·λ·w`).
///
/// ```
/// use nn_core::GradientDescent;
/// let sgd = GradientDescent::new(0.1).with_weight_decay(1e-4);
/// assert_eq!((sgd.learning_rate, sgd.weight_decay), (0.1, 1e-4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientDescent {
    /// The step size `α`.
    pub learning_rate: f32,
    /// The decoupled weight decay `λ` (see the [module docs](self)), 0 for none.
    pub weight_decay: f32,
}

impl GradientDescent {
    /// Gradient descent with learning rate `α`, without weight decay.
    pub fn new(learning_rate: f32) -> Self {
        Self {
            learning_rate,
            weight_decay: 0.0,
        }
    }

    /// The same with decoupled weight decay `λ`.
    #[must_use]
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<N: Network> Optimizer<N> for GradientDescent {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }

    fn name(&self) -> &'static str {
        "gradient descent"
    }

    fn step(&mut self, network: &mut N, grads: &N) {
        decay(network, self.learning_rate, self.weight_decay);
        let lr = N::Scalar::from_f32(self.learning_rate);
        for (w, g) in network.parameters_mut().zip(grads.parameters()) {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= lr * g;
            }
        }
        network.fold_statistics(grads);
    }
}

impl<N: Network> FusedStep<N> for GradientDescent {
    fn step_fused_first(
        &mut self,
        network: &mut N,
        grads: &N,
        delta: &[N::Scalar],
        input: &[N::Scalar],
    ) {
        decay(network, self.learning_rate, self.weight_decay);
        let lr = N::Scalar::from_f32(self.learning_rate);
        let fused = N::Scalar::products_fuse();
        for (t, (w, g)) in network.parameters_mut().zip(grads.parameters()).enumerate() {
            if t == 0 {
                let i = input.len().max(1);
                for (row, &d) in w.chunks_exact_mut(i).zip(delta) {
                    for (w, &x) in row.iter_mut().zip(input) {
                        *w -= lr * outer_value(d, x, fused);
                    }
                }
            } else {
                for (w, &g) in w.iter_mut().zip(g) {
                    *w -= lr * g;
                }
            }
        }
        network.fold_statistics(grads);
    }
}

/// Gradient descent with momentum, exactly as on the seminar's slide:
/// `v ← α·∂L/∂w + μ·v; w ← w - v`.
///
/// The velocity `v` remembers past steps, so a direction the gradient keeps pointing in speeds
/// up and a direction it keeps reversing in cancels out. With `μ = 0` this is plain gradient
/// descent. A weight decay `λ` first takes `w ← w - α·λ·w`, outside the velocity (SGDW).
#[derive(Debug, Clone)]
pub struct Momentum<N> {
    /// The step size `α`.
    pub learning_rate: f32,
    /// The momentum `μ`, usually 0.9.
    pub momentum: f32,
    /// The decoupled weight decay `λ` (see the [module docs](self)), 0 for none.
    pub weight_decay: f32,
    velocity: N,
}

impl<N: Network> Momentum<N> {
    /// Momentum with learning rate `α` and momentum `μ`, starting from zero velocity, without
    /// weight decay.
    pub fn new(learning_rate: f32, momentum: f32) -> Self {
        Self {
            learning_rate,
            momentum,
            weight_decay: 0.0,
            velocity: N::zeros(),
        }
    }

    /// The same with decoupled weight decay `λ`.
    #[must_use]
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The velocity, shaped like the network.
    pub fn velocity(&self) -> &N {
        &self.velocity
    }

    /// Sets the velocity back to zero.
    pub fn reset(&mut self) {
        for v in self.velocity.parameters_mut() {
            v.fill(N::Scalar::ZERO);
        }
    }
}

impl<N: Network> Optimizer<N> for Momentum<N> {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }

    fn name(&self) -> &'static str {
        "momentum"
    }

    fn buffers(&self) -> Vec<(&'static str, &N)> {
        vec![("velocity", &self.velocity)]
    }

    fn buffers_mut(&mut self) -> Vec<(&'static str, &mut N)> {
        vec![("velocity", &mut self.velocity)]
    }

    fn step(&mut self, network: &mut N, grads: &N) {
        self.update(network, grads, None);
    }
}

impl<N: Network> FusedStep<N> for Momentum<N> {
    fn step_fused_first(
        &mut self,
        network: &mut N,
        grads: &N,
        delta: &[N::Scalar],
        input: &[N::Scalar],
    ) {
        self.update(network, grads, Some((delta, input)));
    }
}

/// A batch-1 gradient as the outer product of its deltas and its input, `(δ, x)`.
type Outer<'a, T> = (&'a [T], &'a [T]);

impl<N: Network> Momentum<N> {
    /// The step of [`Optimizer::step`] and [`FusedStep::step_fused_first`]: the first tensor's
    /// gradient is read from `grads`, or, given `first = (δ, x)`, computed as `δ·xᵀ` value by
    /// value.
    fn update(&mut self, network: &mut N, grads: &N, first: Option<Outer<'_, N::Scalar>>) {
        decay(network, self.learning_rate, self.weight_decay);
        let lr = N::Scalar::from_f32(self.learning_rate);
        let mu = N::Scalar::from_f32(self.momentum);
        for (t, ((w, v), g)) in network
            .parameters_mut()
            .zip(self.velocity.parameters_mut())
            .zip(grads.parameters())
            .enumerate()
        {
            match first {
                Some((delta, input)) if t == 0 => {
                    N::Scalar::momentum_outer(lr, mu, w, v, delta, input);
                }
                _ => N::Scalar::momentum(lr, mu, w, v, g),
            }
        }
        network.fold_statistics(grads);
    }
}

/// Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015, Algorithm 1): a step
/// per weight scaled by running estimates of the gradient's first and second moments.
///
/// At step `t` (counting from 1), for each weight `w` with gradient `g`:
///
/// ```text
/// m ← β₁·m + (1 - β₁)·g          running mean of the gradient (first moment)
/// v ← β₂·v + (1 - β₂)·g²         running mean of its square (second raw moment)
/// m̂ = m / (1 - β₁ᵗ)              bias correction: m and v start at 0, which pulls the early
/// v̂ = v / (1 - β₂ᵗ)              estimates towards 0; dividing by 1 - βᵗ undoes exactly that
/// w ← w - α·m̂ / (√v̂ + ε)
/// ```
///
/// Each weight moves by about `α` at most, whatever the scale of its gradient: on the first
/// step `m̂ = g` and `√v̂ = |g|`, so every weight with `|g| ≫ ε` moves by `α` against the sign
/// of its gradient. This is the paper's formulation, which is also PyTorch's `torch.optim.Adam`.
///
/// With a weight decay `λ` ([`with_weight_decay`](Adam::with_weight_decay)) it is AdamW
/// (`torch.optim.AdamW`): `w ← w - α·λ·w` before the step above, outside the moments.
#[derive(Debug, Clone)]
pub struct Adam<N> {
    /// The step size `α`, usually 1e-3.
    pub learning_rate: f32,
    /// The decay `β₁` of the first-moment estimate, usually 0.9.
    pub beta1: f32,
    /// The decay `β₂` of the second-moment estimate, usually 0.999.
    pub beta2: f32,
    /// The `ε` added to `√v̂` so that a weight whose gradient has always been 0 does not divide
    /// by 0; usually 1e-8.
    pub epsilon: f32,
    /// The decoupled weight decay `λ` (AdamW, see the [module docs](self)), 0 for none.
    pub weight_decay: f32,
    steps: u64,
    first_moment: N,
    second_moment: N,
}

impl<N: Network> Adam<N> {
    /// Adam with learning rate `α` and the paper's defaults `β₁ = 0.9`, `β₂ = 0.999`,
    /// `ε = 1e-8`; change the public fields for others. Starts at step 0 with both moments
    /// zero.
    pub fn new(learning_rate: f32) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            steps: 0,
            first_moment: N::zeros(),
            second_moment: N::zeros(),
        }
    }

    /// AdamW: Adam with decoupled weight decay `λ` (PyTorch's default for `AdamW` is 0.01).
    #[must_use]
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The number of steps taken so far, `t`.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The running mean of the gradient, `m` (before bias correction), shaped like the network.
    pub fn first_moment(&self) -> &N {
        &self.first_moment
    }

    /// The running mean of the squared gradient, `v` (before bias correction), shaped like the
    /// network.
    pub fn second_moment(&self) -> &N {
        &self.second_moment
    }

    /// Goes back to step 0 with both moments zero.
    pub fn reset(&mut self) {
        self.steps = 0;
        for p in self
            .first_moment
            .parameters_mut()
            .chain(self.second_moment.parameters_mut())
        {
            p.fill(N::Scalar::ZERO);
        }
    }
}

impl<N: Network> Optimizer<N> for Adam<N> {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }

    fn name(&self) -> &'static str {
        "adam"
    }

    fn buffers(&self) -> Vec<(&'static str, &N)> {
        vec![
            ("first_moment", &self.first_moment),
            ("second_moment", &self.second_moment),
        ]
    }

    fn buffers_mut(&mut self) -> Vec<(&'static str, &mut N)> {
        vec![
            ("first_moment", &mut self.first_moment),
            ("second_moment", &mut self.second_moment),
        ]
    }

    fn counter(&self) -> u64 {
        self.steps
    }

    fn set_counter(&mut self, counter: u64) {
        self.steps = counter;
    }

    fn step(&mut self, network: &mut N, grads: &N) {
        decay(network, self.learning_rate, self.weight_decay);
        self.steps = self.steps.saturating_add(1);
        let scalar = N::Scalar::from_f32;
        let (b1, b2, eps) = (scalar(self.beta1), scalar(self.beta2), scalar(self.epsilon));
        // 1 - βᵗ in f64: βᵗ is a power, not a product rounded at every step. Past i32::MAX
        // steps βᵗ is 0 to any precision anyway.
        let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
        let correct1 = N::Scalar::from_f64(1.0 / (1.0 - f64::from(self.beta1).powi(t)));
        let correct2 = N::Scalar::from_f64(1.0 / (1.0 - f64::from(self.beta2).powi(t)));
        let (lr, one) = (scalar(self.learning_rate), N::Scalar::ONE);
        for (((w, m), v), g) in network
            .parameters_mut()
            .zip(self.first_moment.parameters_mut())
            .zip(self.second_moment.parameters_mut())
            .zip(grads.parameters())
        {
            for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                *m = b1 * *m + (one - b1) * g;
                *v = b2 * *v + (one - b2) * g * g;
                let m_hat = *m * correct1;
                let v_hat = *v * correct2;
                *w -= lr * m_hat / (v_hat.sqrt() + eps);
            }
        }
        network.fold_statistics(grads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_values_round_as_the_batch_one_weight_gradient() {
        // Zeros of both signs, products that underflow (where `fma(d, x, 0)` keeps a -0 and
        // `0 + d·x` does not), and ordinary ones; against the dispatched kernel (run with
        // `NN_KERNEL=portable` for the other rounding).
        let x = [0.0f32, -0.0, 1e-30, -1e-30, 3e-20, 0.75, -2.5, 1.0];
        for d in [0.0f32, -0.0, 1e-20, -1e-20, 0.5, -3.0] {
            let (mut gw, mut gb) = ([7.0f32; 8], [7.0f32]);
            crate::kernel::weight_grad(1, 8, 1, &x, &[d], &mut gw, &mut gb);
            let fused = <f32 as Scalar>::products_fuse();
            for (&x, &g) in x.iter().zip(&gw) {
                assert_eq!(
                    outer_value(d, x, fused).to_bits(),
                    g.to_bits(),
                    "{d}·{x} on {}",
                    crate::kernel::backend_name()
                );
            }
        }
        let (mut gw, mut gb) = ([7.0f64; 8], [7.0f64]);
        let x64 = x.map(f64::from);
        for d in [0.0f64, -0.0, 1e-200, -1e-200, 0.5] {
            let x64 = x64.map(|v| v * 1e-150);
            <f64 as Scalar>::weight_grad(1, 8, 1, &x64, &[d], &mut gw, &mut gb);
            for (&x, &g) in x64.iter().zip(&gw) {
                assert_eq!(
                    outer_value(d, x, <f64 as Scalar>::products_fuse()).to_bits(),
                    g.to_bits()
                );
            }
        }
    }
    use crate::test_network::Line;

    /// Adam's weight after each step, from the closed forms of its running means
    /// `m_t = (1-β₁)·Σᵢ β₁^(t-i)·gᵢ` and `v_t = (1-β₂)·Σᵢ β₂^(t-i)·gᵢ²` (not the recursion the
    /// optimizer runs), in f64.
    fn closed_form(w0: f64, lr: f64, b1: f64, b2: f64, eps: f64, grads: &[f64]) -> Vec<f64> {
        let mut w = w0;
        let mut out = Vec::new();
        for t in 1..=grads.len() {
            let m: f64 = (1.0 - b1)
                * (1..=t)
                    .map(|i| b1.powi((t - i) as i32) * grads[i - 1])
                    .sum::<f64>();
            let v: f64 = (1.0 - b2)
                * (1..=t)
                    .map(|i| b2.powi((t - i) as i32) * grads[i - 1] * grads[i - 1])
                    .sum::<f64>();
            let m_hat = m / (1.0 - b1.powi(t as i32));
            let v_hat = v / (1.0 - b2.powi(t as i32));
            w -= lr * m_hat / (v_hat.sqrt() + eps);
            out.push(w);
        }
        out
    }

    #[test]
    fn adam_matches_the_closed_form_step_by_step() {
        let grads = [1.0, -2.0, 0.5, 4.0, 0.0, -0.25];
        let mut net = Line::zeros();
        net.layer.set_weights(&[[0.5]]);
        let mut g = Line::zeros();
        let mut adam = Adam::new(0.01);
        let want = closed_form(0.5, 0.01, 0.9, 0.999, 1e-8, &grads);
        for (t, (&gt, want)) in grads.iter().zip(&want).enumerate() {
            g.layer.set_weights(&[[gt as f32]]);
            adam.step(&mut net, &g);
            let got = f64::from(net.layer.weights()[0][0]);
            assert!(
                (got - want).abs() < 1e-6,
                "step {}: weight {got}, closed form {want}",
                t + 1
            );
            // The bias's gradient is always 0: 0 / (0 + ε) leaves it where it was.
            assert_eq!(net.layer.bias()[0], 0.0);
        }
        assert_eq!(adam.steps(), grads.len() as u64);
        // m after the last step, by the closed form: Σ 0.1·0.9^(6-i)·gᵢ.
        let m: f64 = grads
            .iter()
            .enumerate()
            .map(|(i, g)| 0.1 * 0.9f64.powi(5 - i as i32) * g)
            .sum();
        let got = f64::from(adam.first_moment().layer.weights()[0][0]);
        assert!((got - m).abs() < 1e-6, "m = {got}, want {m}");
    }

    #[test]
    fn adam_first_step_is_the_learning_rate_whatever_the_gradient_scale() {
        // t = 1: m̂ = g and √v̂ = |g|, so w moves by α·g/(|g| + ε) ≈ α·sign(g).
        for g in [1e-3f32, 1.0, 250.0, -40.0] {
            let mut net = Line::zeros();
            let mut grads = Line::zeros();
            grads.layer.set_weights(&[[g]]);
            let mut adam = Adam::new(0.05);
            adam.step(&mut net, &grads);
            let want = -0.05 * g.signum();
            let got = net.layer.weights()[0][0];
            assert!(
                (got - want).abs() < 1e-6,
                "g = {g}: moved {got}, want {want}"
            );
        }
    }

    #[test]
    fn adam_constant_gradient_moves_alpha_every_step_and_reset_restarts() {
        // A constant g gives m̂ = g and v̂ = g² at every t (the bias correction is exact), so
        // after t steps w = -t·α·g/(|g| + ε).
        let mut net = Line::zeros();
        let mut grads = Line::zeros();
        grads.layer.set_weights(&[[3.0]]);
        let mut adam = Adam::new(0.1);
        for _ in 0..10 {
            adam.step(&mut net, &grads);
        }
        let got = net.layer.weights()[0][0];
        assert!(
            (got + 1.0).abs() < 1e-5,
            "after 10 steps w = {got}, want -1"
        );

        adam.reset();
        assert_eq!(adam.steps(), 0);
        assert_eq!(adam.first_moment(), &Line::zeros());
        assert_eq!(adam.second_moment(), &Line::zeros());
    }

    #[test]
    fn decoupled_weight_decay_matches_its_closed_forms() {
        // Zero gradient: only the decay acts, so after t steps w = w₀·(1 - αλ)ᵗ for every
        // optimizer (Adam's step is 0/(0 + ε) = 0 on a zero gradient).
        let (w0, lr, wd, t) = (2.0f64, 0.1f64, 0.5f64, 7);
        let want = w0 * (1.0 - lr * wd).powi(t);
        let zero = Line::zeros();
        let run = |opt: &mut dyn Optimizer<Line>| {
            let mut net = Line::zeros();
            net.layer.set_weights(&[[w0 as f32]]);
            for _ in 0..t {
                opt.step(&mut net, &zero);
            }
            f64::from(net.layer.weights()[0][0])
        };
        let sgd = run(&mut GradientDescent::new(lr as f32).with_weight_decay(wd as f32));
        let mom = run(&mut Momentum::new(lr as f32, 0.9).with_weight_decay(wd as f32));
        let adamw = run(&mut Adam::new(lr as f32).with_weight_decay(wd as f32));
        for got in [sgd, mom, adamw] {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }

        // AdamW with a gradient: the decay first, then Adam's step of about α·sign(g), which is
        // not rescaled by the moments: w₁ = w₀(1 - αλ) - α·g/(|g| + ε).
        let mut net = Line::zeros();
        net.layer.set_weights(&[[1.0]]);
        let mut g = Line::zeros();
        g.layer.set_weights(&[[4.0]]);
        Adam::new(0.01).with_weight_decay(0.1).step(&mut net, &g);
        let want = 1.0 * (1.0 - 0.01 * 0.1) - 0.01 * 4.0 / (4.0 + 1e-8);
        assert!((f64::from(net.layer.weights()[0][0]) - want).abs() < 1e-7);

        // SGD's decoupled decay is the gradient of an L2 penalty λ/2·w²: one step from w = 1
        // with gradient 2 is w - α(g + λw).
        let mut net = Line::zeros();
        net.layer.set_weights(&[[1.0]]);
        g.layer.set_weights(&[[2.0]]);
        GradientDescent::new(0.25)
            .with_weight_decay(0.5)
            .step(&mut net, &g);
        assert_eq!(net.layer.weights()[0][0], 1.0 * (1.0 - 0.125) - 0.5);

        // λ = 0 is the plain step, bit for bit; the learning rate is read and set.
        let mut a = GradientDescent::new(0.3);
        assert_eq!(Optimizer::<Line>::learning_rate(&a), 0.3);
        Optimizer::<Line>::set_learning_rate(&mut a, 0.5);
        assert_eq!(a.learning_rate, 0.5);
    }

    #[test]
    fn momentum_and_descent_follow_their_rules() {
        let mut net = Line::zeros();
        let mut grads = Line::zeros();
        grads.layer.set_weights(&[[2.0]]);
        GradientDescent::new(0.25).step(&mut net, &grads);
        assert_eq!(net.layer.weights()[0][0], -0.5);

        let mut net = Line::zeros();
        let mut momentum = Momentum::new(0.5, 0.5);
        momentum.step(&mut net, &grads); // v = 1, w = -1
        momentum.step(&mut net, &grads); // v = 1 + 0.5 = 1.5, w = -2.5
        assert_eq!(net.layer.weights()[0][0], -2.5);
        momentum.reset();
        assert_eq!(momentum.velocity(), &Line::zeros());
    }
}
