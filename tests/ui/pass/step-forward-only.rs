//! A network with `step` layers compiles and runs forward; only training it is an error.

nn::network! {
    /// AND of two inputs, by hand-set perceptron weights.
    struct And: 2 -> 1 step;
    /// Step in a hidden layer, trained output: still fine to run forward.
    struct Mixed: 2 -> hidden: 3 step -> out: 1 sigmoid;
}

fn main() {
    let mut and = And::zeros();
    and.layer1.set_weights(&[[1.0, 1.0]]);
    and.layer1.set_bias(&[-1.5]);
    assert_eq!(and.forward(&[1.0, 1.0]), [1.0]);
    assert_eq!(and.forward(&[1.0, 0.0]), [0.0]);

    let mixed = Mixed::new(3);
    let y = mixed.forward(&[0.5, -0.5])[0];
    assert!(y > 0.0 && y < 1.0);
    // The loss needs no gradient, so it is available even through a step layer.
    let mut ws = nn::Workspace::new();
    let l = mixed
        .loss_batch(nn::BinaryCrossEntropy, &[[0.5, -0.5]], &[[1.0]], &mut ws)
        .unwrap();
    assert!(l.is_finite());
}
