//! A nested network with two custom layers against PyTorch: the state_dict that
//! `scripts/nested_pytorch_fixture.py` wrote with the module `weights::pytorch_sequential`
//! prints (tensors named by path) loads with `nn::weights::load`, and nn's outputs, loss and
//! every gradient match PyTorch's autograd (float64) to within `2e-5 + 1e-4·|value|`.

#[path = "nested/layers.rs"]
mod layers;

use std::error::Error;

use layers::{MyNormalize, MyScale};
use nn::typenum::U6;
use nn::{weights, CrossEntropy, Network, Workspace};
use safetensors::SafeTensors;

nn::network! {
    struct Fixture: 12 -> encoder: Encoder -> MyNormalize<U6> -> scaled: MyScale<U6> -> 3 softmax;
    struct Encoder: 12 -> 8 relu -> 6 tanh;
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weights");

fn tensor(file: &SafeTensors<'_>, name: &str) -> Result<Vec<f32>, Box<dyn Error>> {
    Ok(file
        .tensor(name)?
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 2e-5 + 1e-4 * w.abs(),
            "{what}[{i}]: nn {g}, PyTorch {w}"
        );
    }
}

fn rows<const N: usize>(flat: &[f32]) -> Vec<[f32; N]> {
    flat.chunks_exact(N)
        .map(|c| c.try_into().expect("chunks of N"))
        .collect()
}

#[test]
fn the_fixture_is_the_networks_pytorch_module() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/nested_pytorch_fixture.py"
    ))
    .unwrap();
    let module = weights::pytorch_sequential::<Fixture>();
    assert!(
        script.contains(&format!("    return {module}\n")),
        "the script builds {module}"
    );
}

#[test]
fn loads_pytorchs_state_dict_and_matches_its_autograd() -> Result<(), Box<dyn Error>> {
    let net: Fixture = weights::load(format!("{DIR}/nested-pytorch.safetensors"))?;
    let bytes = std::fs::read(format!("{DIR}/nested-pytorch-io.safetensors"))?;
    let io = SafeTensors::deserialize(&bytes)?;
    let xs = rows::<12>(&tensor(&io, "inputs")?);
    let ys = rows::<3>(&tensor(&io, "targets")?);

    let mut out = vec![[0.0; 3]; xs.len()];
    let mut ws = Workspace::new();
    net.forward_batch(&xs, &mut out, &mut ws)?;
    assert_close("outputs", out.as_flattened(), &tensor(&io, "outputs")?);

    let mut grads = Fixture::zeros();
    let loss = net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)?;
    assert_close("loss", &[loss], &tensor(&io, "loss")?);
    let names = weights::tensor_names::<Fixture>();
    assert_eq!(names.len(), 7);
    for (name, g) in names.iter().zip(grads.parameters()) {
        assert_close(name, g, &tensor(&io, &format!("grad.{name}"))?);
    }
    // And back: nn writes the same file PyTorch wrote, tensor for tensor.
    let again: Fixture = weights::from_bytes(&weights::to_bytes(&net)?)?;
    let (a, b): (Vec<&[f32]>, Vec<&[f32]>) =
        (net.parameters().collect(), again.parameters().collect());
    assert_eq!(a, b);
    Ok(())
}
