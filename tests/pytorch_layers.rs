//! The image and norm layers against PyTorch's autograd: the fixture
//! `tests/fixtures/layers/conv-pool-norm.safetensors`, written by
//! `scripts/pytorch_layers_fixture.py` (torch, float64 rounded to float32; CI never runs torch),
//! holds a small conv + pool + batchnorm + layernorm network's parameters, a batch, the
//! training-mode outputs, loss and every gradient, the running statistics after that step and the
//! inference-mode outputs. nn matches all of it to within `2e-5 + 1e-4·|value|` (float32
//! arithmetic against float64).

use std::error::Error;

use nn::{CrossEntropy, GradientDescent, Network, Optimizer, Workspace};
use safetensors::SafeTensors;

nn::network! {
    struct Fixture: 2x7x6 -> conv 3 3x3 pad 1 relu -> batchnorm -> maxpool 2x2
        -> avgpool 2x2 stride 1 -> layernorm -> 5 gelu -> 3 softmax;
}

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/layers/conv-pool-norm.safetensors"
);

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
    let bytes = std::fs::read(FIXTURE)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let mut net = Fixture::new(0);
    let count = nn::model::tensor_count(Fixture::LAYERS);
    assert_eq!(count, 10);
    for (k, p) in net.parameters_mut().enumerate() {
        let values = tensor(&file, &format!("param.{k}"))?;
        assert_eq!(values.len(), p.len(), "param.{k}");
        p.copy_from_slice(&values);
    }
    let xs: Vec<[f32; 84]> = rows(&tensor(&file, "inputs")?);
    let ys: Vec<[f32; 3]> = rows(&tensor(&file, "targets")?);

    // Training mode: batch statistics, the loss and every gradient.
    let mut grads = Fixture::zeros();
    let mut ws = Workspace::new();
    let loss = net.gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)?;
    assert_close("loss", &[loss], &tensor(&file, "loss")?);
    for (k, g) in grads.parameters().enumerate() {
        let tensor_name =
            nn::model::Parameter::locate(Fixture::LAYERS, k, 0).map(|p| p.to_string());
        assert_close(
            &format!("grad.{k} ({})", tensor_name.unwrap_or_default()),
            g,
            &tensor(&file, &format!("grad.{k}"))?,
        );
    }
    // The training-mode outputs: the loss body runs the same forward pass.
    let train_loss = net.loss_batch(CrossEntropy, &xs, &ys, &mut ws)?;
    assert_eq!(train_loss, loss);
    let outputs = tensor(&file, "outputs")?;
    let all_train = ws_outputs(&net, &xs, &ys)?;
    assert_close("outputs (training)", &all_train, &outputs);

    // One optimizer step of size 0 folds the batch statistics in, as PyTorch's forward did.
    GradientDescent::new(0.0).step(&mut net, &grads);
    assert_close(
        "running_mean",
        net.layer2.running_mean(),
        &tensor(&file, "running_mean")?,
    );
    assert_close(
        "running_var",
        net.layer2.running_var(),
        &tensor(&file, "running_var")?,
    );

    // Inference mode: the running statistics.
    let mut out = vec![[0.0f32; 3]; xs.len()];
    net.forward_batch(&xs, &mut out, &mut ws)?;
    assert_close(
        "eval_outputs",
        out.as_flattened(),
        &tensor(&file, "eval_outputs")?,
    );
    Ok(())
}

/// The training-mode outputs: the softmax of each sample, recovered from the per-sample
/// cross-entropy of one-hot targets (`L = -ln a_label`) for every label.
fn ws_outputs(
    net: &Fixture,
    xs: &[[f32; 84]],
    ys: &[[f32; 3]],
) -> Result<Vec<f32>, Box<dyn Error>> {
    let mut outputs = Vec::new();
    let mut ws = Workspace::new();
    let mut grads = Fixture::zeros();
    // Batch statistics depend on the whole batch, so each probe keeps the batch and its targets
    // and reads one sample's loss through a target that is zero elsewhere.
    net.gradient_batch(CrossEntropy, xs, ys, &mut grads, &mut ws)?;
    for i in 0..xs.len() {
        for c in 0..3 {
            let mut probe = vec![[0.0f32; 3]; xs.len()];
            probe[i][c] = 1.0;
            let mean = net.loss_batch(CrossEntropy, xs, &probe, &mut ws)?;
            outputs.push((-mean * xs.len() as f32).exp());
        }
    }
    Ok(outputs)
}

#[test]
fn the_pytorch_module_is_the_fixtures() {
    assert_eq!(
        nn::weights::pytorch_sequential::<Fixture>(),
        "nn.Sequential(nn.Conv2d(2, 3, kernel_size=(3, 3), stride=1, padding=1), nn.ReLU(), \
         nn.BatchNorm2d(3), nn.MaxPool2d(kernel_size=(2, 2), stride=2), \
         nn.AvgPool2d(kernel_size=(2, 2), stride=1), nn.LayerNorm([3, 2, 2]), nn.Flatten(), \
         nn.Linear(12, 5), nn.GELU(approximate='tanh'), nn.Linear(5, 3), nn.Softmax(dim=-1))"
    );
    assert_eq!(
        nn::weights::tensor_names::<Fixture>(),
        [
            "0.weight",
            "0.bias",
            "2.weight",
            "2.bias",
            "2.running_mean",
            "2.running_var",
            "2.num_batches_tracked",
            "5.weight",
            "5.bias",
            "7.weight",
            "7.bias",
            "9.weight",
            "9.bias"
        ]
    );
}
