// Evaluating a loss needs no gradient: mean squared error judges a `step` output layer, though
// it cannot train one.

nn::network! {
    struct Perceptron: 2 -> 1 step;
}

fn main() {
    let mut net = Perceptron::zeros();
    net.layer1.set_weights(&[[1.0, 1.0]]);
    // step(1·0 + 1·1) = 1 against a target of 0: a squared error of 1.
    assert_eq!(net.loss(nn::MeanSquaredError, &[0.0, 1.0], &[0.0]), 1.0);
}
