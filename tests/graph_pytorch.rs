//! A two-head network with a residual block and a concatenation against PyTorch's autograd:
//! the fixture `tests/fixtures/graph/two-heads-residual.safetensors`, written by
//! `scripts/graph_pytorch_fixture.py` (torch, float64 rounded to float32; CI never runs torch),
//! holds the parameters, a batch, each head's outputs and loss, the weighted total and every
//! gradient, computed by the PyTorch module `nn::weights::pytorch_module` prints for this
//! network (the script stores the source it ran in the fixture's metadata). nn matches all of it
//! to within `2e-5 + 1e-4·|value|`. `state-dict.safetensors` is PyTorch's `state_dict()` of the
//! same module: nn loads it by its path names, and writes the same names and shapes.

use std::error::Error;

use nn::{BinaryCrossEntropy, CrossEntropy, Network, Workspace};
use safetensors::SafeTensors;

nn::network! {
    struct GraphFixture: 6 -> 5 tanh -> residual { 4 relu -> 5 linear }
        -> concat { 3 tanh, 2 sigmoid -> 2 softplus }
        -> heads { label: 3 softmax, score: 4 tanh -> 2 sigmoid };
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph");

/// The fixture's float32 tensor `name`, flat.
fn tensor(file: &SafeTensors<'_>, name: &str) -> Result<Vec<f32>, Box<dyn Error>> {
    let view = file.tensor(name)?;
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `got` matches `want` to within `2e-5 + 1e-4·|want|`, value by value.
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
fn matches_pytorch_autograd() -> Result<(), Box<dyn Error>> {
    let bytes = std::fs::read(format!("{DIR}/two-heads-residual.safetensors"))?;
    let file = SafeTensors::deserialize(&bytes)?;
    let mut net = GraphFixture::new(0);
    assert_eq!(nn::model::tensor_count(GraphFixture::LAYERS), 18);
    for (k, p) in net.parameters_mut().enumerate() {
        let values = tensor(&file, &format!("param.{k}"))?;
        assert_eq!(values.len(), p.len(), "param.{k}");
        p.copy_from_slice(&values);
    }
    let xs: Vec<[f32; 6]> = rows(&tensor(&file, "inputs")?);
    let labels: Vec<[f32; 3]> = rows(&tensor(&file, "label")?);
    let scores: Vec<[f32; 2]> = rows(&tensor(&file, "score")?);
    let targets: Vec<GraphFixtureOutputs> = labels
        .iter()
        .zip(&scores)
        .map(|(&label, &score)| GraphFixtureOutputs { label, score })
        .collect();
    let losses = GraphFixtureLosses {
        label: (CrossEntropy, 1.0),
        score: (BinaryCrossEntropy, 0.7),
    };

    let mut grads = GraphFixture::zeros();
    let mut ws = Workspace::new();
    let got = net.gradient_batch(losses, &xs, &targets, &mut grads, &mut ws)?;
    assert_close("loss.label", &[got.label], &tensor(&file, "loss.label")?);
    assert_close("loss.score", &[got.score], &tensor(&file, "loss.score")?);
    assert_close("loss", &[got.total], &tensor(&file, "loss")?);
    for (k, g) in grads.parameters().enumerate() {
        let at = nn::model::Parameter::locate(GraphFixture::LAYERS, k, 0).map(|p| p.to_string());
        assert_close(
            &format!("grad.{k} ({})", at.unwrap_or_default()),
            g,
            &tensor(&file, &format!("grad.{k}"))?,
        );
    }
    let mut out = vec![GraphFixtureOutputs::zeros(); xs.len()];
    net.forward_batch(&xs, &mut out, &mut ws)?;
    let label_out: Vec<f32> = out.iter().flat_map(|o| o.label).collect();
    let score_out: Vec<f32> = out.iter().flat_map(|o| o.score).collect();
    assert_close("out.label", &label_out, &tensor(&file, "out.label")?);
    assert_close("out.score", &score_out, &tensor(&file, "out.score")?);

    // nn prints the very module PyTorch ran.
    let (_, metadata) = SafeTensors::read_metadata(&bytes)?;
    let module = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get("module"))
        .cloned()
        .ok_or("the fixture has no `module` metadata")?;
    assert_eq!(nn::weights::pytorch_module::<GraphFixture>(), module);
    Ok(())
}

#[test]
fn loads_pytorch_state_dict_by_path_and_writes_the_same_names() -> Result<(), Box<dyn Error>> {
    let fixture = std::fs::read(format!("{DIR}/two-heads-residual.safetensors"))?;
    let fixture = SafeTensors::deserialize(&fixture)?;
    let net: GraphFixture = nn::weights::load(format!("{DIR}/state-dict.safetensors"))?;
    for (k, p) in net.parameters().enumerate() {
        assert_eq!(
            p,
            &tensor(&fixture, &format!("param.{k}"))?[..],
            "param.{k}"
        );
    }
    let theirs = std::fs::read(format!("{DIR}/state-dict.safetensors"))?;
    let theirs = SafeTensors::deserialize(&theirs)?;
    let ours = nn::weights::to_bytes(&net)?;
    let ours = SafeTensors::deserialize(&ours)?;
    let shapes = |f: &SafeTensors<'_>| {
        let mut v: Vec<(String, Vec<usize>)> = f
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, view.shape().to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(shapes(&ours), shapes(&theirs));
    assert_eq!(
        nn::weights::tensor_names::<GraphFixture>()[6..8],
        ["3.0.0.weight", "3.0.0.bias"]
    );
    Ok(())
}
