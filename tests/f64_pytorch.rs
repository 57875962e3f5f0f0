//! Two `f64` networks against PyTorch in float64: the state_dicts that
//! `scripts/f64_pytorch_fixture.py` wrote (from the modules `weights::pytorch_sequential`
//! prints) load with `nn::weights::load`, and nn's outputs, loss and every gradient match
//! PyTorch's autograd to within `1e-13 + 1e-12·|value|`, f64 rounding (f32 networks match to
//! `1e-5`).

use std::error::Error;

use nn::{weights, CrossEntropy, MeanSquaredError, Trainable, Workspace};
use safetensors::SafeTensors;

nn::network! {
    struct Deep: f64 4 -> 6 tanh -> 5 sigmoid -> 5 softplus -> 4 gelu -> 4 silu
        -> 3 leaky_relu 0.5 -> 3 softmax;
    struct Kinked: f64 5 -> 7 relu -> 6 tanh -> 2 linear;
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weights");

fn tensor(file: &SafeTensors<'_>, name: &str) -> Result<Vec<f64>, Box<dyn Error>> {
    let view = file.tensor(name)?;
    assert_eq!(view.dtype(), safetensors::Dtype::F64, "{name} is float64");
    Ok(view
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-13 + 1e-12 * w.abs(),
            "{what}[{i}]: nn {g}, PyTorch {w}"
        );
    }
}

fn rows<const N: usize>(flat: &[f64]) -> Vec<[f64; N]> {
    flat.chunks_exact(N)
        .map(|c| c.try_into().expect("chunks of N"))
        .collect()
}

#[test]
fn the_fixtures_are_the_networks_pytorch_modules() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/f64_pytorch_fixture.py"
    ))
    .unwrap();
    for module in [
        weights::pytorch_sequential::<Deep>(),
        weights::pytorch_sequential::<Kinked>(),
    ] {
        assert!(
            script.contains(&format!("    return {module}\n")),
            "the script builds {module}"
        );
    }
}

/// Loads `f64-NAME.safetensors`, then matches the forward pass, the loss and the gradient of
/// `loss` with those in `f64-NAME-io.safetensors`.
fn matches_pytorch<N, L, const I: usize, const O: usize>(
    name: &str,
    loss: L,
) -> Result<(), Box<dyn Error>>
where
    N: Trainable<L, Scalar = f64, Input = [f64; I], Output = [f64; O]>,
    L: Copy,
{
    let net: N = weights::load(format!("{DIR}/f64-{name}.safetensors"))?;
    let bytes = std::fs::read(format!("{DIR}/f64-{name}-io.safetensors"))?;
    let io = SafeTensors::deserialize(&bytes)?;
    let xs = rows::<I>(&tensor(&io, "inputs")?);
    let ys = rows::<O>(&tensor(&io, "targets")?);

    let mut out = vec![[0.0; O]; xs.len()];
    let mut ws = Workspace::new();
    net.forward_batch(&xs, &mut out, &mut ws)?;
    assert_close(
        &format!("{name}: outputs"),
        out.as_flattened(),
        &tensor(&io, "outputs")?,
    );

    let mut grads = N::zeros();
    let mean = net.gradient_batch(loss, &xs, &ys, &mut grads, &mut ws)?;
    assert_close(&format!("{name}: loss"), &[mean], &tensor(&io, "loss")?);
    let names = weights::tensor_names::<N>();
    assert_eq!(names.len(), 2 * N::LAYERS.len());
    for (key, g) in names.iter().zip(grads.parameters()) {
        assert_close(
            &format!("{name}: grad.{key}"),
            g,
            &tensor(&io, &format!("grad.{key}"))?,
        );
    }
    Ok(())
}

#[test]
fn every_smooth_activation_matches_pytorchs_float64_autograd() -> Result<(), Box<dyn Error>> {
    matches_pytorch::<Deep, _, 4, 3>("deep", CrossEntropy)
}

#[test]
fn relu_and_mean_squared_error_match_pytorchs_float64_autograd() -> Result<(), Box<dyn Error>> {
    matches_pytorch::<Kinked, _, 5, 2>("kinked", MeanSquaredError)
}
