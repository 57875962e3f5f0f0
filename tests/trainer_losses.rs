//! The L1 and Huber losses, gradient-checked through whole networks with `nn::check_gradients`
//! (the loss's own delta is checked against an f64 central difference in nn-core's unit tests),
//! and what they are for: a regression with outliers.

use nn::{check_gradients, GradCheck, Huber, Loss, MeanAbsoluteError, Trainable};
use nn_test_support::Data;

nn::network! {
    struct TanhNet: 3 -> 4 tanh -> 2 linear;
    struct SigmoidNet: 3 -> 5 sigmoid -> 2 sigmoid;
    struct SoftplusNet: 3 -> 4 softplus -> 3 tanh -> 2 linear;
}

fn check<N, L>(mut net: N, loss: L, inputs: &[N::Input], targets: &[N::Output], what: &str)
where
    N: Trainable<L>,
    L: Copy,
{
    let report = check_gradients(&mut net, loss, inputs, targets, GradCheck::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(report.checked, N::parameter_count());
    assert!(report.passed(), "{what}: {report}");
}

#[test]
fn l1_and_huber_gradients_match_finite_differences() {
    for seed in [1u64, 2, 3] {
        let mut d = Data(seed);
        let x = d.rows::<3>(6, Data::signed);
        // Targets far from the outputs, so no residual sits at L1's kink (0) or Huber's (±δ).
        let y = d.rows_between::<2>(6, 2.0, 4.0);
        let y_unit = d.rows::<2>(6, Data::uniform);
        check(TanhNet::new(seed), MeanAbsoluteError, &x, &y, "tanh/L1");
        check(
            TanhNet::new(seed),
            Huber::new(1.0),
            &x,
            &y,
            "tanh/Huber 1, linear part",
        );
        check(
            TanhNet::new(seed),
            Huber::new(10.0),
            &x,
            &y,
            "tanh/Huber 10, quadratic part",
        );
        check(
            SigmoidNet::new(seed),
            Huber::new(0.05),
            &x,
            &y_unit,
            "sigmoid/Huber 0.05",
        );
        check(SoftplusNet::new(seed), MeanAbsoluteError, &x, &y, "deep/L1");
        check(
            SoftplusNet::new(seed),
            Huber::new(2.5),
            &x,
            &y,
            "deep/Huber",
        );
    }
}

#[test]
fn huber_is_mse_near_the_target_and_l1_far_from_it() {
    // h_δ(r) = r²/2 for |r| ≤ δ, δ(|r| - δ/2) beyond; averaged over the outputs.
    let h = Huber::new(2.0);
    let loss = |a: f32| <Huber as Loss<nn::Linear>>::loss(&h, &[], &[a], &[0.0]);
    assert_eq!(loss(1.5), 1.125);
    assert_eq!(loss(-2.0), 2.0);
    assert_eq!(loss(5.0), 2.0 * (5.0 - 1.0));
    let l1 = |a: [f32; 2]| {
        <MeanAbsoluteError as Loss<nn::Linear>>::loss(&MeanAbsoluteError, &[], &a, &[1.0, 1.0])
    };
    assert_eq!(l1([0.0, 4.0]), 2.0);
}
