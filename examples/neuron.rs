//! Slide 1, the artificial neuron: a weighted sum of the inputs, as a matrix product, then an
//! activation, with the bias either as a dummy input of 1 or as an explicit `+ b`.
//!
//! `cargo run --release --example neuron`

nn::network! {
    /// One sigmoid neuron with three inputs.
    struct Neuron: 3 -> 1 sigmoid;
}

fn sigmoid(t: f32) -> f32 {
    1.0 / (1.0 + (-t).exp())
}

fn main() -> Result<(), nn::Error> {
    let x = [0.5f32, -1.0, 2.0];
    let w = [0.4f32, 0.3, -0.2];
    let b = 0.1f32;

    // 1. The weighted sum, term by term.
    let sum = x[0] * w[0] + x[1] * w[1] + x[2] * w[2];
    let terms: Vec<String> = x
        .iter()
        .zip(&w)
        .map(|(x, w)| format!("{}*{}", paren(*x), paren(*w)))
        .collect();
    println!(
        "weighted sum  x1*w1 + x2*w2 + x3*w3 = {} = {}",
        terms.join(" + "),
        num(sum)
    );

    // 2. The same as a matrix product: X is 1×3 (one sample a row), W is 3×1.
    let xw: f32 = x.iter().zip(&w).map(|(x, w)| x * w).sum();
    println!(
        "as a matrix product  X * W = [{}] · [{}]ᵀ = {}",
        fmt(&x),
        fmt(&w),
        num(xw)
    );

    // Four samples at once: X is 4×3, X * W is a column of four weighted sums.
    let batch = [
        [0.5f32, -1.0, 2.0],
        [1.0, 1.0, 1.0],
        [0.0, 2.0, -1.0],
        [-1.0, 0.0, 0.5],
    ];
    let column: Vec<f32> = batch
        .iter()
        .map(|row| row.iter().zip(&w).map(|(x, w)| x * w).sum())
        .collect();
    println!("a batch  X (4×3) * W (3×1) = [{}]ᵀ", fmt(&column));

    // 3. The activation: y = f(X * W).
    println!("y = f(X * W) = sigmoid({}) = {}", num(xw), num(sigmoid(xw)));

    // 4. The bias, two ways. As a dummy input that is always 1, with its own weight b ...
    let x1 = [1.0f32, x[0], x[1], x[2]];
    let w1 = [b, w[0], w[1], w[2]];
    let dummy: f32 = x1.iter().zip(&w1).map(|(x, w)| x * w).sum();
    // ... or as an explicit + b.
    let explicit = xw + b;
    println!(
        "bias as a dummy input  [{}] · [{}]ᵀ = {} -> y = {}",
        fmt(&x1),
        fmt(&w1),
        num(dummy),
        num(sigmoid(dummy))
    );
    println!(
        "bias as an explicit + b  X * W + b = {} + {} = {} -> y = {}",
        num(xw),
        num(b),
        num(explicit),
        num(sigmoid(explicit))
    );

    // 5. The generated network does the explicit + b: a 3 -> 1 sigmoid layer with these numbers.
    let mut net = Neuron::zeros();
    net.layer1.set_weights(&[w]);
    net.layer1.set_bias(&[b]);
    let y = net.forward(&x)[0];
    println!("network! `3 -> 1 sigmoid`  forward(x) = {}", num(y));

    // And on the batch: forward_batch is f(X·Wᵀ + b) over the rows.
    let mut out = [[0.0f32; 1]; 4];
    net.forward_batch(&batch, &mut out, &mut nn::Workspace::new())?;
    let by_hand: Vec<f32> = column.iter().map(|z| sigmoid(z + b)).collect();
    println!(
        "network! on the batch  [{}]ᵀ, by hand [{}]ᵀ",
        fmt(&out.map(|o| o[0])),
        fmt(&by_hand)
    );

    let same = (dummy - explicit).abs() <= 1e-6 && (sigmoid(explicit) - y).abs() <= 1e-6;
    println!(
        "dummy input, explicit + b and the network agree: {}",
        if same { "yes" } else { "NO" }
    );
    Ok(())
}

/// A number with at most 4 decimals, trailing zeros dropped.
fn num(v: f32) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A number, in parentheses if negative.
fn paren(v: f32) -> String {
    if v < 0.0 {
        format!("({})", num(v))
    } else {
        num(v)
    }
}

fn fmt(v: &[f32]) -> String {
    v.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", ")
}
