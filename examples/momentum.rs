//! Slide 6, momentum: the same network on the same problem, trained by plain gradient descent
//! and by gradient descent with momentum, `v <- α·dL/dw + μ·v; w <- w - v`. One picture of
//! both loss curves, and the number of steps each needs to reach a target loss.
//!
//! `cargo run --release --example momentum`

use nn::{GradientDescent, MeanSquaredError, Momentum, Optimizer, Workspace};
use plotters::prelude::*;

nn::network! {
    /// The XOR network of the seminar.
    #[derive(Clone)]
    struct Xor: 2 -> hidden: 2 sigmoid -> out: 1 sigmoid;
}

const X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];
const STEPS: usize = 4_000;
const TARGET: f32 = 0.01;
const ALPHA: f32 = 0.5;
const MU: f32 = 0.9;

/// Trains a copy of `start` for `STEPS` steps; returns the loss before each step.
fn train(start: &Xor, optimizer: &mut dyn Optimizer<Xor>) -> Result<Vec<f32>, nn::Error> {
    let mut net = start.clone();
    let mut grads = Xor::zeros();
    let mut ws = Workspace::new();
    let mut losses = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        losses.push(net.gradient_batch(MeanSquaredError, &X, &Y, &mut grads, &mut ws)?);
        optimizer.step(&mut net, &grads);
    }
    Ok(losses)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Xor::new(4);
    println!("XOR, 2 -> 2 sigmoid -> 1 sigmoid, mean squared error, the same start (seed 4), {STEPS} steps");
    let plain = train(&start, &mut GradientDescent::new(ALPHA))?;
    let momentum = train(&start, &mut Momentum::new(ALPHA, MU))?;

    let reach = |losses: &[f32]| losses.iter().position(|&l| l <= TARGET);
    for (name, losses) in [
        (
            format!("gradient descent  w <- w - α·dL/dw, α = {ALPHA}"),
            &plain,
        ),
        (
            format!("momentum          v <- α·dL/dw + μ·v, w <- w - v, α = {ALPHA}, μ = {MU}"),
            &momentum,
        ),
    ] {
        let last = losses.last().copied().unwrap_or(f32::NAN);
        match reach(losses) {
            Some(step) => println!("{name}: loss {TARGET} after {step} steps (final {last:.5})"),
            None => {
                println!("{name}: loss {TARGET} not reached in {STEPS} steps (final {last:.5})")
            }
        }
    }
    if let (Some(p), Some(m)) = (reach(&plain), reach(&momentum)) {
        println!("momentum needs {:.1}× fewer steps; with μ = {MU} a steady gradient moves w up to 1/(1-μ) = {:.0}× as far per step", p as f32 / m as f32, 1.0 / (1.0 - MU));
    }

    std::fs::create_dir_all("out")?;
    let path = "out/momentum.svg";
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("XOR: loss per step, log scale", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0..STEPS, (1e-4f32..1f32).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("mean squared error")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (name, losses, color) in [
        ("gradient descent", &plain, RGBColor(31, 119, 180)),
        ("momentum μ = 0.9", &momentum, RGBColor(214, 39, 40)),
    ] {
        chart
            .draw_series(LineSeries::new(
                losses.iter().enumerate().map(|(i, &l)| (i, l.max(1e-4))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            [(0, TARGET), (STEPS, TARGET)],
            GREEN.stroke_width(1),
        ))?
        .label(format!("target {TARGET}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], GREEN));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    println!("loss curves: {path}");
    Ok(())
}
