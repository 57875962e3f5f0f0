//! Slide 7, loss functions: the same MNIST network, from the same initial weights, trained the
//! same way once with mean squared error and once with cross-entropy. Prints the test accuracy
//! after each epoch and at the end, and draws both loss curves and both accuracy curves in
//! `out/losses.svg`.
//!
//! `cargo run --release --example losses`

use nn::data::Mnist;
use nn::{
    CrossEntropy, History, MeanSquaredError, Momentum, Samples, Trainable, Trainer, Workspace,
};
use plotters::prelude::*;

nn::network! {
    /// The seminar's digit classifier.
    #[derive(Clone)]
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

const EPOCHS: usize = 15;
const LEARNING_RATE: f32 = 0.1;
const MOMENTUM: f32 = 0.9;

/// One run: the loss before training, then each epoch's training loss and test accuracy.
struct Run {
    name: &'static str,
    initial_loss: f32,
    history: History,
}

fn train<L>(
    name: &'static str,
    loss: L,
    learning_rate: f32,
    start: &Digits,
    mnist: &Mnist,
) -> Result<Run, Box<dyn std::error::Error>>
where
    L: Copy,
    Digits: Trainable<L>,
{
    let mut net = start.clone();
    let mut ws = Workspace::new();
    let initial_loss = <Digits as Trainable<L>>::loss_batch(
        &net,
        loss,
        &mnist.train.inputs,
        &mnist.train.targets,
        &mut ws,
    )?;
    let mut optimizer = Momentum::new(learning_rate, MOMENTUM);
    let trainer = Trainer {
        epochs: EPOCHS,
        batch_size: 32,
        seed: 1,
    };
    let history = trainer.fit(
        &mut net,
        &mut optimizer,
        loss,
        Samples::new(&mnist.train.inputs, &mnist.train.targets),
        Some(Samples::new(&mnist.test.inputs, &mnist.test.targets)),
        &mut |_| {},
    )?;
    Ok(Run {
        name,
        initial_loss,
        history,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))?;
    println!(
        "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax on {} training digits, accuracy on {} test digits",
        mnist.train.len(),
        mnist.test.len()
    );
    println!(
        "same initial weights (seed 1), momentum α = {LEARNING_RATE}, μ = {MOMENTUM}, batches of 32, {EPOCHS} epochs"
    );
    let start = Digits::new(1);
    let runs = [
        train(
            "mean squared error  Σ(a - y)²/10",
            MeanSquaredError,
            LEARNING_RATE,
            &start,
            &mnist,
        )?,
        // nn's MSE averages over the 10 outputs, so its gradient carries a factor 2/10 that
        // cross-entropy's does not: this run undoes it, leaving only the softmax's derivative.
        train(
            "mean squared error, α × 5",
            MeanSquaredError,
            5.0 * LEARNING_RATE,
            &start,
            &mnist,
        )?,
        train(
            "cross-entropy       -Σ y ln a",
            CrossEntropy,
            LEARNING_RATE,
            &start,
            &mnist,
        )?,
    ];

    println!();
    println!("test accuracy after each epoch:");
    for run in &runs {
        let acc: Vec<String> = run
            .history
            .test_accuracy()
            .map(|a| format!("{:.0}", (100.0 * a).floor()))
            .collect();
        println!("  {:<34} {}%", run.name, acc.join(" "));
    }
    println!();
    for run in &runs {
        let last = run.history.last();
        let reached = run
            .history
            .epochs
            .iter()
            .find(|e| e.test_accuracy.is_some_and(|a| a >= 0.9))
            .map_or(format!("not in {EPOCHS} epochs"), |e| {
                format!("in epoch {}", e.epoch)
            });
        println!(
            "{:<34} loss {:.4} -> {:.4}, final test accuracy {:.1}%, 90% reached {reached}",
            run.name,
            run.initial_loss,
            last.map_or(f32::NAN, |e| e.train_loss),
            100.0 * last.and_then(|e| e.test_accuracy).unwrap_or(f32::NAN)
        );
    }
    println!("with softmax, cross-entropy's gradient with respect to z is a - y; MSE's is 2(a - y)/10 passed");
    println!("through softmax's derivative aᵢ(δᵢⱼ - aⱼ), which is small wherever the output is confident, right");
    println!("or wrong. The α × 5 run undoes the 2/10 and leaves only that derivative.");

    std::fs::create_dir_all("out")?;
    let path = "out/losses.svg";
    plot(path, &runs)?;
    println!("loss and accuracy curves: {path}");
    Ok(())
}

fn plot(path: &str, runs: &[Run]) -> Result<(), Box<dyn std::error::Error>> {
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
    ];
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);

    let mut chart = ChartBuilder::on(&left)
        .caption("training loss per epoch (log scale)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(55)
        .build_cartesian_2d(0usize..EPOCHS, (1e-3f32..5f32).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (run, &color) in runs.iter().zip(&colors) {
        let points = std::iter::once((0, run.initial_loss))
            .chain(run.history.epochs.iter().map(|e| (e.epoch, e.train_loss)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(run.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    let mut chart = ChartBuilder::on(&right)
        .caption("test accuracy per epoch", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(1usize..EPOCHS, 0f32..100f32)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .draw()?;
    for (run, &color) in runs.iter().zip(&colors) {
        let points = run
            .history
            .epochs
            .iter()
            .filter_map(|e| Some((e.epoch, 100.0 * e.test_accuracy?)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(run.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
