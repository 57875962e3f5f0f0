//! Saving and loading weights as safetensors: round trips, the PyTorch layout, errors, and the
//! fixture files that `scripts/check_safetensors.py` checks from Python.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use nn::weights::{self, WeightsError};
use nn::{Network, Workspace};
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    /// The seminar's digit classifier.
    #[derive(Clone, Debug)]
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;

    /// Named layers: the tensors are still numbered like `nn.Sequential`'s modules.
    struct Named: 2 -> hidden: 3 tanh -> out: 1 sigmoid;

    /// Digits with a wider second layer.
    struct Wider: 784 -> 16 sigmoid -> 32 sigmoid -> 10 softmax;

    /// Digits without hidden layers.
    struct Flat: 784 -> 10 softmax;
}

/// The seed of the network in the fixture files.
const FIXTURE_SEED: u64 = 2024;

/// Every parameter's bits, in order.
fn bits<N: Network<Scalar = f32>>(network: &N) -> Vec<u32> {
    network
        .parameters()
        .flat_map(|p| p.iter().map(|v| v.to_bits()))
        .collect()
}

/// Deterministic inputs in `[0, 1]`, different for each sample.
fn inputs(count: usize) -> Vec<[f32; 784]> {
    (0..count)
        .map(|s| core::array::from_fn(|i| ((i * 7 + s * 13 + i * i % 11) % 256) as f32 / 255.0))
        .collect()
}

/// Saves `network` to a file, loads it back as an `N` and checks every parameter's bits.
fn round_trip<N: Network<Scalar = f32>>(network: &N, path: &Path) -> Result<N, Box<dyn Error>> {
    weights::save(network, path)?;
    let back: N = weights::load(path)?;
    assert_eq!(bits(&back), bits(network));
    Ok(back)
}

#[test]
fn save_then_load_is_bit_for_bit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let net = Digits::new(7);
    let back = round_trip(&net, &dir.path().join("digits.safetensors"))?;
    assert_eq!(back.layer2.weights(), net.layer2.weights());
    let xs = inputs(5);
    for x in &xs {
        assert_eq!(
            back.forward(x).map(f32::to_bits),
            net.forward(x).map(f32::to_bits)
        );
    }
    let mut ws = Workspace::new();
    let (mut a, mut b) = (vec![[0.0f32; 10]; 5], vec![[0.0f32; 10]; 5]);
    net.forward_batch(&xs, &mut a, &mut ws)?;
    back.forward_batch(&xs, &mut b, &mut ws)?;
    assert_eq!(a, b);

    let mut named = Named::new(3);
    named.out.set_bias(&[-0.5]);
    let back = round_trip(&named, &dir.path().join("named.safetensors"))?;
    assert_eq!(back.forward(&[0.25, -1.0]), named.forward(&[0.25, -1.0]));
    Ok(())
}

#[test]
fn tensors_are_named_and_shaped_for_nn_sequential() -> TestResult {
    let net = Digits::new(11);
    let bytes = weights::to_bytes(&net)?;
    let file = SafeTensors::deserialize(&bytes)?;
    let mut names = file.names();
    names.sort_unstable();
    assert_eq!(
        names,
        ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    );
    let shapes = [
        ("0.weight", vec![16, 784]),
        ("0.bias", vec![16]),
        ("2.weight", vec![16, 16]),
        ("2.bias", vec![16]),
        ("4.weight", vec![10, 16]),
        ("4.bias", vec![10]),
    ];
    for (name, shape) in shapes {
        let t = file.tensor(name)?;
        assert_eq!((t.dtype(), t.shape()), (Dtype::F32, &shape[..]), "{name}");
    }
    // [out][in], row-major, little-endian: element `in * o + i` is weight[o][i].
    let w = file.tensor("0.weight")?.data();
    let at = |i: usize| f32::from_le_bytes([w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]]);
    assert_eq!(at(784), net.layer1.weights()[1][0]);
    assert_eq!(at(784 * 15 + 783), net.layer1.weights()[15][783]);
    assert_eq!(at(1), net.layer1.weights()[0][1]);

    // Named layers do not change the names; the declaration goes in the metadata.
    let named = weights::to_bytes(&Named::new(1))?;
    let (_, metadata) = SafeTensors::read_metadata(&named)?;
    let mut names = metadata.offset_keys();
    names.sort_unstable();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    let declared = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(weights::NETWORK_KEY))
        .cloned();
    assert_eq!(
        declared.as_deref(),
        Some("2 -> hidden: 3 tanh -> out: 1 sigmoid")
    );
    Ok(())
}

#[test]
fn the_pytorch_module_and_declaration() {
    assert_eq!(
        weights::pytorch_sequential::<Digits>(),
        "nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), \
         nn.Linear(16, 10), nn.Softmax(dim=-1))"
    );
    assert_eq!(
        weights::declaration::<Digits>(),
        "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax"
    );
}

#[test]
fn another_networks_file_is_refused_and_nothing_changes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wider = dir.path().join("wider.safetensors");
    weights::save(&Wider::new(1), &wider)?;
    let mut net = Digits::new(5);
    let before = bits(&net);

    let e = match weights::load_into(&mut net, &wider) {
        Ok(()) => return Err("loading a wider network's file succeeded".into()),
        Err(e) => e,
    };
    assert!(
        matches!(&e, WeightsError::Shape { name, expected, found, file: Some(f) }
            if name == "2.weight" && expected == &[16, 16] && found == &[32, 16] && f == &wider),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "tensor `2.weight` in {} has shape [32, 16], expected [16, 16]",
            wider.display()
        )
    );
    // 0.weight and 0.bias fitted, and were still not written.
    assert_eq!(bits(&net), before);

    let flat = dir.path().join("flat.safetensors");
    weights::save(&Flat::new(1), &flat)?;
    let e = match weights::load_into(&mut net, &flat) {
        Ok(()) => return Err("loading a smaller network's file succeeded".into()),
        Err(e) => e,
    };
    assert!(
        matches!(&e, WeightsError::MissingTensor { name, found, .. }
            if name == "2.weight" && found == &["0.bias", "0.weight"]),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("the file has `0.bias`, `0.weight`"),
        "{e}"
    );
    assert_eq!(bits(&net), before);

    let digits = dir.path().join("digits.safetensors");
    weights::save(&net, &digits)?;
    let e = match weights::load::<Flat>(&digits) {
        Ok(_) => return Err("loading a larger network's file succeeded".into()),
        Err(e) => e,
    };
    assert!(
        matches!(&e, WeightsError::UnexpectedTensor { name, .. } if name == "2.bias"),
        "{e:?}"
    );
    assert!(
        e.to_string().ends_with(
            "is not a parameter of this network, which has exactly `0.weight`, `0.bias`"
        ),
        "{e}"
    );
    Ok(())
}

/// The fixture files `scripts/check_safetensors.py` reads: the weights of
/// `Digits::new(FIXTURE_SEED)`, and a few inputs with this code's outputs for them.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

/// The inputs and outputs file: tensors `inputs` `[n, 784]` and `outputs` `[n, 10]`, `F32`.
fn io_bytes(net: &Digits, xs: &[[f32; 784]]) -> Result<Vec<u8>, Box<dyn Error>> {
    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let ys: Vec<[f32; 10]> = xs.iter().map(|x| net.forward(x)).collect();
    let (x, y) = (le(xs.as_flattened()), le(ys.as_flattened()));
    let tensors = [
        (
            "inputs",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![xs.len(), 784], &x)?,
        ),
        (
            "outputs",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![ys.len(), 10], &y)?,
        ),
    ];
    Ok(safetensors::serialize(tensors, None)?)
}

/// The fixtures are what this code writes today. Run with `NN_BLESS=1` to rewrite them after
/// a deliberate change, then run `python3 scripts/check_safetensors.py`.
///
/// The weights file must match byte for byte (the format is stable); the outputs only to
/// within 1e-6, so that a faster kernel summing in another order does not make them stale.
#[test]
fn fixtures_are_current() -> TestResult {
    let net = Digits::new(FIXTURE_SEED);
    let xs = inputs(4);
    let weights_file = weights::to_bytes(&net)?;
    if std::env::var_os("NN_BLESS").is_some() {
        fs::create_dir_all(fixture(""))?;
        fs::write(fixture("digits.safetensors"), &weights_file)?;
        fs::write(fixture("digits-io.safetensors"), io_bytes(&net, &xs)?)?;
    }
    let stale = "is stale: rerun with NN_BLESS=1 and check it with scripts/check_safetensors.py";
    assert!(
        fs::read(fixture("digits.safetensors"))? == weights_file,
        "tests/fixtures/weights/digits.safetensors {stale}"
    );
    let back: Digits = weights::load(fixture("digits.safetensors"))?;
    assert_eq!(bits(&back), bits(&net));

    let io = fs::read(fixture("digits-io.safetensors"))?;
    let io = SafeTensors::deserialize(&io)?;
    let floats = |name: &str| -> Result<Vec<f32>, Box<dyn Error>> {
        let t = io.tensor(name)?;
        assert_eq!(t.dtype(), Dtype::F32);
        Ok(t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    assert!(
        floats("inputs")? == xs.as_flattened(),
        "tests/fixtures/weights/digits-io.safetensors {stale}"
    );
    let outputs = floats("outputs")?;
    assert_eq!(outputs.len(), 4 * 10);
    for (x, stored) in xs.iter().zip(outputs.chunks_exact(10)) {
        for (now, then) in net.forward(x).iter().zip(stored) {
            assert!(
                (now - then).abs() <= 1e-6,
                "output {now} vs stored {then}: digits-io.safetensors {stale}"
            );
        }
    }
    Ok(())
}

/// A file written from Python the way `safetensors.torch.save_file(model.state_dict(), path)`
/// writes one (metadata `{"format": "pt"}`, no `nn.network`), by
/// `python3 scripts/check_safetensors.py --write-python-copy`, loads into the network whose
/// weights it holds.
#[test]
fn a_file_written_by_python_loads() -> TestResult {
    let from_python = fs::read(fixture("digits-from-python.safetensors"))?;
    assert_ne!(from_python, weights::to_bytes(&Digits::new(FIXTURE_SEED))?);
    let net: Digits = weights::load(fixture("digits-from-python.safetensors"))?;
    assert_eq!(bits(&net), bits(&Digits::new(FIXTURE_SEED)));
    Ok(())
}

/// The values of a tensor of `F16`, `BF16`, `F32` or `F64`, decoded by hand from the
/// little-endian bytes (IEEE 754 binary16 by its fields; bfloat16 as the top half of an f32),
/// as `f64`.
fn decoded(view: &safetensors::tensor::TensorView<'_>) -> Vec<f64> {
    let data = view.data();
    match view.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| {
                f64::from(f32::from_bits(
                    u32::from(u16::from_le_bytes([c[0], c[1]])) << 16,
                ))
            })
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| {
                let h = u16::from_le_bytes([c[0], c[1]]);
                let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
                let exponent = i32::from((h >> 10) & 0x1f);
                let fraction = f64::from(h & 0x3ff);
                sign * match exponent {
                    0 => fraction * 2f64.powi(-24),
                    31 => f64::NAN,
                    e => (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
                }
            })
            .collect(),
        other => panic!("unexpected dtype {other}"),
    }
}

/// The fixtures PyTorch wrote in F16, BF16 and F64 (`scripts/write_dtype_fixtures.py`, from
/// the weights of `digits.safetensors`) load into the f32 network: every weight is the file's
/// value (exact, as f32 holds each of them), the outputs match PyTorch's float64 forward pass
/// on the same weights, and saving the f32 network in the file's dtype rounds every weight
/// exactly as PyTorch did (the tensors' bytes are equal).
#[test]
fn files_written_by_pytorch_in_each_dtype_load() -> TestResult {
    let original = Digits::new(FIXTURE_SEED);
    let io = fs::read(fixture("digits-dtypes-io.safetensors"))?;
    let io = SafeTensors::deserialize(&io)?;
    let xs: Vec<f64> = decoded(&io.tensor("inputs")?);
    let xs: Vec<[f32; 784]> = xs
        .chunks_exact(784)
        .map(|c| core::array::from_fn(|i| c[i] as f32))
        .collect();
    assert_eq!(xs, inputs(4));
    for (name, dtype, st_dtype) in [
        ("f16", weights::Dtype::F16, Dtype::F16),
        ("bf16", weights::Dtype::BF16, Dtype::BF16),
        ("f64", weights::Dtype::F64, Dtype::F64),
    ] {
        let path = fixture(&format!("digits-{name}.safetensors"));
        let net: Digits = weights::load(&path)?;
        let bytes = fs::read(&path)?;
        let file = SafeTensors::deserialize(&bytes)?;
        let ours = weights::to_bytes_as(&original, dtype)?;
        let ours = SafeTensors::deserialize(&ours)?;
        for (tensor, loaded) in weights::tensor_names::<Digits>()
            .iter()
            .zip(net.parameters())
        {
            let view = file.tensor(tensor)?;
            assert_eq!(view.dtype(), st_dtype, "{name}: {tensor}");
            let values = decoded(&view);
            assert!(
                values.iter().zip(loaded).all(|(&v, &l)| v == f64::from(l)),
                "{name}: {tensor} loaded other values than the file holds"
            );
            assert!(
                ours.tensor(tensor)?.data() == view.data(),
                "{name}: {tensor} saved as {dtype} differs from PyTorch's rounding"
            );
        }
        if dtype == weights::Dtype::F64 {
            assert_eq!(bits(&net), bits(&original), "F64 holds every f32 exactly");
        }
        let expected = decoded(&io.tensor(&format!("outputs_{name}"))?);
        for (x, want) in xs.iter().zip(expected.chunks_exact(10)) {
            for (got, want) in net.forward(x).iter().zip(want) {
                assert!(
                    (f64::from(*got) - want).abs() <= 1e-6,
                    "{name}: output {got} vs PyTorch's {want}"
                );
            }
        }
    }
    Ok(())
}

/// `save_as` writes a file of the chosen dtype that `load` reads back: half the bytes in F16,
/// and every weight as the nearest F16 (checked against the hand decoder above).
#[test]
fn save_as_writes_the_chosen_dtype() -> TestResult {
    let dir = tempfile::tempdir()?;
    let net = Digits::new(3);
    let f32_len = weights::to_bytes(&net)?.len();
    for dtype in [
        weights::Dtype::F16,
        weights::Dtype::BF16,
        weights::Dtype::F64,
    ] {
        let path = dir.path().join(format!("digits-{dtype}.safetensors"));
        weights::save_as(&net, &path, dtype)?;
        let bytes = fs::read(&path)?;
        let data_len = 13_002 * dtype.size();
        assert!(
            bytes.len() > data_len && bytes.len() < data_len + 1024,
            "{dtype}"
        );
        let back: Digits = weights::load(&path)?;
        let file = SafeTensors::deserialize(&bytes)?;
        for (tensor, (loaded, saved)) in weights::tensor_names::<Digits>()
            .iter()
            .zip(back.parameters().zip(net.parameters()))
        {
            let values = decoded(&file.tensor(tensor)?);
            for ((&v, &l), &s) in values.iter().zip(loaded).zip(saved) {
                assert_eq!(v, f64::from(l));
                // Nearest: within half a step of the dtype's 11 or 8 significant bits.
                let step = match dtype {
                    weights::Dtype::F16 => 2f64.powi(-11),
                    weights::Dtype::BF16 => 2f64.powi(-8),
                    _ => 0.0,
                };
                let s = f64::from(s);
                assert!(
                    (v - s).abs() <= step * s.abs().max(2f64.powi(-14)),
                    "{v} vs {s}"
                );
            }
        }
    }
    assert!(f32_len > 13_002 * 4);
    Ok(())
}
