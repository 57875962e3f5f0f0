//! Slide 2, a linear neuron is linear regression: gradient descent on `J = Σ (X·W - Y)²`
//! finds the same coefficients as the closed form. Draws the data, the closed-form line and the
//! neuron's line on the way to it in `out/regression.svg`.
//!
//! `cargo run --release --example regression`

use nn::least_squares::{normal_equations, simple_regression};
use nn::{GradientDescent, MeanSquaredError, Optimizer, Scalar, Workspace};
use plotters::prelude::*;

nn::network! {
    /// One input, one linear neuron: y = w·x + b.
    struct Line: 1 -> 1 linear;
    /// Three inputs, one linear neuron: y = w1·x1 + w2·x2 + w3·x3 + b.
    struct Plane: 3 -> 1 linear;
    /// The same neuron in double precision.
    struct Plane64: f64 3 -> 1 linear;
}

/// Anscombe's quartet, data set I (Anscombe 1973), the textbook's y = 3.00 + 0.500·x.
const X: [f32; 11] = [10.0, 8.0, 13.0, 9.0, 11.0, 14.0, 6.0, 4.0, 12.0, 7.0, 5.0];
const Y: [f32; 11] = [
    8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- One input: the closed form from the sums.
    let x64: Vec<f64> = X.iter().map(|&x| f64::from(x)).collect();
    let y64: Vec<f64> = Y.iter().map(|&y| f64::from(y)).collect();
    let line = simple_regression(&x64, &y64)?;
    println!("simple regression on Anscombe's data set I (11 points)");
    println!(
        "  closed form       b1 = (nΣxy - ΣxΣy)/(nΣx² - (Σx)²) = {:.5}   b0 = mean(y) - b1·mean(x) = {:.5}",
        line.slope, line.intercept
    );

    // The same by gradient descent on a `1 -> 1 linear` neuron. nn's mean squared error is
    // J/n, which has the same minimum; its curvature along w is 2·mean(x²) ≈ 182, so the
    // learning rate stays below 2/182.
    let xs: Vec<[f32; 1]> = X.iter().map(|&x| [x]).collect();
    let ys: Vec<[f32; 1]> = Y.iter().map(|&y| [y]).collect();
    let mut net = Line::zeros();
    let mut snapshots = Vec::new();
    let steps = descend(&mut net, &xs, &ys, 0.01, 1e-4, |step, net: &Line| {
        if [10, 100, 1000].contains(&step) {
            snapshots.push((step, net.layer1.weights_flat()[0], net.layer1.bias()[0]));
        }
    })?;
    snapshots.push((steps, net.layer1.weights_flat()[0], net.layer1.bias()[0]));
    println!(
        "  gradient descent  w  = {:.5}   b  = {:.5}   ({steps} steps from zero, learning rate 0.01)",
        net.layer1.weights_flat()[0],
        net.layer1.bias()[0]
    );

    // --- Three inputs: the normal equations (XᵀX)⁻¹XᵀY, with a column of ones for the bias.
    let (xs, ys) = noisy_plane();
    let rows: Vec<[f64; 4]> = xs
        .iter()
        .map(|x| [1.0, f64::from(x[0]), f64::from(x[1]), f64::from(x[2])])
        .collect();
    let y64: Vec<f64> = ys.iter().map(|y| f64::from(y[0])).collect();
    let beta = normal_equations(&rows, &y64)?;
    println!();
    println!("three inputs, 30 noisy samples of y = 1 + 2·x1 - 3·x2 + 0.5·x3");
    println!(
        "  normal equations  b = {:.5}   w = ({:.5}, {:.5}, {:.5})",
        beta[0], beta[1], beta[2], beta[3]
    );
    let mut net = Plane::zeros();
    let steps = descend(&mut net, &xs, &ys, 0.05, 1e-4, |_, _| {})?;
    let w = net.layer1.weights_flat();
    println!(
        "  gradient descent  b = {:.5}   w = ({:.5}, {:.5}, {:.5})   ({steps} steps)",
        net.layer1.bias()[0],
        w[0],
        w[1],
        w[2]
    );
    // In f64 (`struct Plane64: f64 3 -> 1 linear`), descent goes on to the closed form itself.
    let xs64: Vec<[f64; 3]> = xs.iter().map(|x| x.map(f64::from)).collect();
    let ys64: Vec<[f64; 1]> = ys.iter().map(|y| y.map(f64::from)).collect();
    let mut net = Plane64::zeros();
    let steps = descend(&mut net, &xs64, &ys64, 0.05, 1e-13, |_, _| {})?;
    let got = [
        net.layer1.bias()[0],
        net.layer1.weights()[0][0],
        net.layer1.weights()[0][1],
        net.layer1.weights()[0][2],
    ];
    let off = got
        .iter()
        .zip(&beta)
        .fold(0.0f64, |m, (g, b)| m.max((g - b).abs()));
    println!(
        "  in f64            b = {:.5}   w = ({:.5}, {:.5}, {:.5})   ({steps} steps; {off:.1e} from the closed form)",
        got[0], got[1], got[2], got[3]
    );

    // A dependent column makes XᵀX singular: the closed form says so.
    let dependent: Vec<[f64; 3]> = rows.iter().map(|r| [r[0], r[1], 2.0 * r[1]]).collect();
    if let Err(e) = normal_equations(&dependent, &y64) {
        println!("  with x3 = 2·x1 instead: {e}");
    }

    std::fs::create_dir_all("out")?;
    let path = "out/regression.svg";
    plot(path, line, &snapshots)?;
    println!();
    println!(
        "Anscombe's points, the closed-form line and gradient descent's lines on the way: {path}"
    );
    Ok(())
}

/// The data, the closed-form line, and the neuron's line after some of the descent's steps.
fn plot(
    path: &str,
    line: nn::least_squares::Line,
    snapshots: &[(usize, f32, f32)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (800, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "a linear neuron trained by gradient descent meets the closed form",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f32..16f32, 0f32..12f32)?;
    chart.configure_mesh().x_desc("x").y_desc("y").draw()?;
    chart
        .draw_series(
            X.iter()
                .zip(&Y)
                .map(|(&x, &y)| Circle::new((x, y), 4, BLACK.filled())),
        )?
        .label("Anscombe's data set I")
        .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.filled()));
    let (b0, b1) = (line.intercept as f32, line.slope as f32);
    chart
        .draw_series(LineSeries::new(
            [(0.0, b0), (16.0, b0 + 16.0 * b1)],
            BLACK.stroke_width(3),
        ))?
        .label(format!("closed form y = {b0:.3} + {b1:.3}x"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.stroke_width(3)));
    let colors = [
        RGBColor(253, 174, 97),
        RGBColor(244, 109, 67),
        RGBColor(215, 48, 39),
        RGBColor(69, 117, 180),
    ];
    for (&(step, w, b), &color) in snapshots.iter().zip(colors.iter().cycle()) {
        chart
            .draw_series(LineSeries::new(
                [(0.0, b), (16.0, b + 16.0 * w)],
                color.stroke_width(2),
            ))?
            .label(format!(
                "gradient descent, step {step}: y = {b:.3} + {w:.3}x"
            ))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Plain gradient descent on the mean squared error until every partial derivative is below
/// `tolerance` (at most 100,000 steps), calling `after` with the step count after each step;
/// returns the number of steps. In `f32` or `f64`, whichever the network computes in.
fn descend<N: nn::Trainable<MeanSquaredError>>(
    net: &mut N,
    xs: &[N::Input],
    ys: &[N::Output],
    learning_rate: f32,
    tolerance: f64,
    mut after: impl FnMut(usize, &N),
) -> Result<usize, nn::Error> {
    let mut grads = N::zeros();
    let mut ws = Workspace::new();
    let mut gd = GradientDescent::new(learning_rate);
    for step in 1..=100_000 {
        net.gradient_batch(MeanSquaredError, xs, ys, &mut grads, &mut ws)?;
        let largest = grads
            .parameters()
            .flatten()
            .fold(0.0f64, |m, g| m.max(g.to_f64().abs()));
        if largest < tolerance {
            return Ok(step - 1);
        }
        gd.step(net, &grads);
        after(step, net);
    }
    Ok(100_000)
}

/// 30 samples of y = 1 + 2·x1 - 3·x2 + 0.5·x3 plus uniform noise in ±0.15.
fn noisy_plane() -> (Vec<[f32; 3]>, Vec<[f32; 1]>) {
    let mut state = 12345u32;
    let mut noise = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    (0..30)
        .map(|i| {
            let x = [
                (i % 5) as f32 * 0.5,
                (i % 3) as f32 - 1.0,
                ((i * 7) % 11) as f32 / 5.0,
            ];
            (
                x,
                [1.0 + 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2] + 0.3 * noise()],
            )
        })
        .unzip()
}
