//! Slide 4, activation functions: sigmoid (two ways of writing it), the mirrored sigmoid, tanh,
//! relu, softplus and step; their curves and derivatives in one picture, a table of values, and
//! what happens at ±100 and ±1000 when the formulas are taken literally.
//!
//! `cargo run --release --example activations`

use nn::{Activation, Differentiable, Relu, Sigmoid, Softplus, Step, Tanh};
use plotters::prelude::*;

/// One curve of the picture: a name, the function and its derivative.
struct Curve {
    name: &'static str,
    f: fn(f32) -> f32,
    df: fn(f32) -> f32,
    color: RGBColor,
}

/// `f(t)` of a library activation.
fn value<A: Activation>(t: f32) -> f32 {
    let mut v = [t];
    A::apply(&mut v);
    v[0]
}

/// `f'(t)` of a library activation, from its backward pass.
fn slope<A: Differentiable>(t: f32) -> f32 {
    let mut g = [1.0];
    A::backward(&[t], &[value::<A>(t)], &mut g);
    g[0]
}

const CURVES: [Curve; 6] = [
    Curve {
        name: "sigmoid 1/(1+e^-t)",
        f: value::<Sigmoid>,
        df: slope::<Sigmoid>,
        color: RGBColor(31, 119, 180),
    },
    Curve {
        name: "mirrored 1/(1+e^t)",
        f: |t| value::<Sigmoid>(-t),
        df: |t| -slope::<Sigmoid>(-t),
        color: RGBColor(255, 127, 14),
    },
    Curve {
        name: "tanh",
        f: value::<Tanh>,
        df: slope::<Tanh>,
        color: RGBColor(44, 160, 44),
    },
    Curve {
        name: "relu max(0,t)",
        f: value::<Relu>,
        df: slope::<Relu>,
        color: RGBColor(214, 39, 40),
    },
    Curve {
        name: "softplus ln(1+e^t)",
        f: value::<Softplus>,
        df: slope::<Softplus>,
        color: RGBColor(148, 103, 189),
    },
    Curve {
        name: "step (1 if t > 0)",
        f: value::<Step>,
        // Step has no derivative in nn (it cannot be trained with gradients): 0 but at 0.
        df: |_| 0.0,
        color: RGBColor(127, 127, 127),
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("values at a few points (sigmoid written both ways: 1/(1+e^-t) and e^t/(e^t+1))");
    println!(
        "{:>5} | {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5}",
        "t", "sigmoid", "e^t/(..)", "mirrored", "tanh", "relu", "softplus", "step"
    );
    for t in [-5.0f32, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0] {
        let other_form = t.exp() / (t.exp() + 1.0);
        println!(
            "{t:>5} | {:>9.5} {other_form:>9.5} {:>9.5} {:>9.5} {:>9.5} {:>9.5} {:>5}",
            value::<Sigmoid>(t),
            value::<Sigmoid>(-t),
            value::<Tanh>(t),
            value::<Relu>(t),
            value::<Softplus>(t),
            value::<Step>(t),
        );
    }
    println!("derivatives: sigmoid' = s(1-s), mirrored' = -s(-t)(1-s(-t)), tanh' = 1-tanh², relu' = [t > 0], softplus' = sigmoid");

    println!();
    println!("large |t|: the formulas taken literally in f32 against nn's implementations");
    println!(
        "{:>6} | {:>11} {:>11} {:>11} | {:>11} {:>11} {:>11}",
        "t", "1/(1+e^-t)", "e^t/(e^t+1)", "ln(1+e^t)", "nn sigmoid", "nn softplus", "nn tanh"
    );
    for t in [-1000.0f32, -100.0, 100.0, 1000.0] {
        let (e, em) = (t.exp(), (-t).exp());
        println!(
            "{t:>6} | {:>11.4e} {:>11.4e} {:>11.4e} | {:>11.4e} {:>11.4e} {:>11.4e}",
            1.0 / (1.0 + em),
            e / (e + 1.0),
            (1.0 + e).ln(),
            value::<Sigmoid>(t),
            value::<Softplus>(t),
            value::<Tanh>(t),
        );
    }
    println!("e^t overflows f32 above t ≈ 88.7: e^t/(e^t+1) becomes inf/inf = NaN and ln(1+e^t) becomes inf;");
    println!("at t = -100, 1/(1+e^-t) and ln(1+e^t) round the true 3.8e-44 to 0. nn picks the form by the sign");
    println!("of t (sigmoid) and computes softplus as max(t,0) + ln(1+e^-|t|): right, and finite, everywhere");

    std::fs::create_dir_all("out")?;
    let path = "out/activations.svg";
    plot(path)?;
    println!();
    println!("curves and derivatives: {path}");
    Ok(())
}

fn plot(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    for (area, title, derivative, y_range) in [
        (left, "activation functions f(t)", false, -1.2f32..5.2f32),
        (right, "their derivatives f'(t)", true, -0.4f32..1.1f32),
    ] {
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-5f32..5f32, y_range)?;
        chart.configure_mesh().x_desc("t").draw()?;
        for c in &CURVES {
            let f = if derivative { c.df } else { c.f };
            let points = (0..=1000)
                .map(|i| -5.0 + 10.0 * i as f32 / 1000.0)
                .map(|t| (t, f(t)));
            let color = c.color;
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(c.name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
