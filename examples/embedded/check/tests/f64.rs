//! An `f64` network without `std` or `alloc`: declared with `network!`, built at compile time
//! from plain `f64` arrays into a `static` (its weights inline), and its `forward` the formula
//! in f64, computed here by hand.

use nn::typenum::{U1, U2, U3};
use nn::{Dense, Sigmoid, Tanh};

nn::network! {
    /// XOR's shape, in double precision.
    pub struct Tiny64: f64 2 -> 3 tanh -> 1 sigmoid;
}

const W1: [[f64; 2]; 3] = [[0.5, -1.25], [2.0, 0.75], [-0.3, 0.1]];
const B1: [f64; 3] = [0.1, -0.2, 0.3];
const W2: [[f64; 3]; 1] = [[1.5, -0.5, 0.25]];
const B2: [f64; 1] = [-0.05];

static TINY: Tiny64 = Tiny64 {
    layer1: Dense::<U2, U3, Tanh, f64>::from_arrays(&W1, &B1),
    layer2: Dense::<U3, U1, Sigmoid, f64>::from_arrays(&W2, &B2),
};

#[test]
fn an_f64_forward_pass_runs_without_std_and_is_the_formula() {
    for x in [[0.0, 0.0], [1.0, -1.0], [0.25, 3.0], [-2.0, 0.5]] {
        let hidden: Vec<f64> = (0..3)
            .map(|j| (B1[j] + W1[j][0] * x[0] + W1[j][1] * x[1]).tanh())
            .collect();
        let z = B2[0] + (0..3).map(|j| W2[0][j] * hidden[j]).sum::<f64>();
        let want = 1.0 / (1.0 + (-z).exp());
        let got = TINY.forward(&x);
        assert!(
            (got[0] - want).abs() <= 1e-15,
            "nn {}, by hand {want}",
            got[0]
        );
    }
}

#[test]
fn the_f64_network_is_inline() {
    // Eight bytes a weight or bias, in the value itself: 2·3 + 3 + 3·1 + 1 = 13 of them.
    assert_eq!(core::mem::size_of::<Tiny64>(), 13 * 8);
}
