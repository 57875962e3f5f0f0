//! What the `mnist` and `cnn` examples share: their argument checks, an error with context,
//! the loss and accuracy plot, and the test digits drawn in characters. Included by both with
//! `#[path = "shared/digits.rs"] mod shared;` (a folder without `main.rs` is not an example of
//! its own).

use std::error::Error;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

use nn::data::Mnist;
use nn::Network;

/// The exit code of a run: on an error, the error and each of its causes on standard error.
pub fn exit_code(result: Result<(), Box<dyn Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// The MNIST files in `data`, after making sure the output folder `out` exists (before
/// training, so that a bad `--out` does not cost a training run).
pub fn load(data: &Path, out: &Path) -> Result<Mnist, Box<dyn Error>> {
    let mnist = Mnist::load(data).map_err(|e| {
        Context::new(
            format!(
                "cannot load MNIST from {} (point --data or NN_MNIST_DIR at a folder with the \
                 four MNIST files)",
                data.display()
            ),
            e,
        )
    })?;
    fs::create_dir_all(out).map_err(|e| {
        Context::new(
            format!("cannot create the output folder {}", out.display()),
            e,
        )
    })?;
    Ok(mnist)
}

/// A whole number of at least 1 (clap value parser).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("expected at least 1, found 0".into()),
        Ok(v) => Ok(v),
        Err(e) => Err(format!("expected a whole number: {e}")),
    }
}

/// A finite number above 0 (clap value parser).
pub fn positive(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("expected a finite number above 0, found {v}")),
        Err(e) => Err(format!("expected a number: {e}")),
    }
}

/// An error with what was being done, the cause kept as its `source()`.
#[derive(Debug)]
pub struct Context {
    what: String,
    cause: Box<dyn Error>,
}

impl Context {
    /// `what` failed because of `cause`.
    pub fn new(what: String, cause: impl Error + 'static) -> Self {
        Self {
            what,
            cause: Box::new(cause),
        }
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl Error for Context {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.cause.as_ref())
    }
}

/// `v` as written by a person: `0.1`, `1e-5`, `1e38`.
pub fn number(v: f32) -> String {
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Writes the training loss and test accuracy per epoch side by side as an SVG, all at once
/// through a temporary file so an existing plot is never left half-written.
pub fn plot_curves(history: &nn::History, path: &Path) -> Result<(), Box<dyn Error>> {
    use plotters::prelude::*;

    let epochs = history.epochs.len().max(1) as f32;
    let loss: Vec<(f32, f32)> = history
        .epochs
        .iter()
        .map(|e| (e.epoch as f32, e.train_loss))
        .collect();
    let accuracy: Vec<(f32, f32)> = history
        .epochs
        .iter()
        .filter_map(|e| Some((e.epoch as f32, 100.0 * e.test_accuracy?)))
        .collect();
    let max_loss = loss.iter().map(|p| p.1).fold(0.0f32, f32::max) * 1.1;
    let min_acc = accuracy.iter().map(|p| p.1).fold(100.0f32, f32::min);
    let acc_floor = ((min_acc - 2.0) / 5.0).floor().max(0.0) * 5.0;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(480);
        let panels = [
            (
                &left,
                "training loss (cross-entropy)",
                0.0..max_loss.max(1e-3),
                &loss,
                RED,
                1,
            ),
            (
                &right,
                "test accuracy (%)",
                acc_floor..100.0,
                &accuracy,
                BLUE,
                0,
            ),
        ];
        for (area, title, y_range, points, color, decimals) in panels {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 20))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0.0f32..epochs, y_range)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.decimals$}"))
                .draw()?;
            chart.draw_series(
                LineSeries::new(points.iter().copied(), color.stroke_width(2)).point_size(3),
            )?;
        }
        root.present()?;
    }
    let temp = path.with_extension("svg.tmp");
    fs::write(&temp, svg)
        .and_then(|()| fs::rename(&temp, path))
        .map_err(|e| {
            let _ = fs::remove_file(&temp);
            Context::new(format!("cannot write {}", path.display()), e)
        })?;
    Ok(())
}

/// Draws the first `count` test digits and the first two the network gets wrong, two side by
/// side, with the network's reading.
pub fn show_digits<N: Network<Input = [f32; 784], Output = [f32; 10]>>(
    net: &N,
    mnist: &Mnist,
    count: usize,
) {
    let test = &mnist.test;
    let reading = |i: usize| {
        let out = net.forward(&test.inputs[i]);
        let digit = nn::argmax(&out);
        (digit, out[digit])
    };
    let mistakes = (count..test.len())
        .filter(|&i| reading(i).0 != usize::from(test.labels[i]))
        .take(2);
    let shown: Vec<usize> = (0..count.min(test.len())).chain(mistakes).collect();
    if shown.is_empty() {
        return;
    }
    const COLUMN: usize = 36;
    println!();
    for pair in shown.chunks(2) {
        let header: Vec<String> = pair
            .iter()
            .map(|&i| {
                let (digit, confidence) = reading(i);
                let label = test.labels[i];
                let verdict = if digit == usize::from(label) {
                    "right"
                } else {
                    "WRONG"
                };
                format!(
                    "#{i} read {digit} ({:.0}%), is {label}: {verdict}",
                    100.0 * confidence
                )
            })
            .collect();
        let art: Vec<[String; 14]> = pair.iter().map(|&i| digit_art(&test.inputs[i])).collect();
        let lines = core::iter::once(header)
            .chain((0..14).map(|row| art.iter().map(|a| a[row].clone()).collect::<Vec<_>>()));
        for cells in lines {
            let line: String = cells.iter().map(|c| format!("{c:<COLUMN$}")).collect();
            println!("{}", format!("  {line}").trim_end());
        }
        println!();
    }
}

/// A 28×28 digit as 14 lines of 28 characters: each character is the mean of two pixels one
/// above the other (terminal cells are about twice as tall as wide), by intensity from ' ' to
/// '@'.
pub fn digit_art(pixels: &[f32; 784]) -> [String; 14] {
    const RAMP: &[u8] = b" .:-=+*#%@";
    core::array::from_fn(|row| {
        (0..28)
            .map(|col| {
                let v = (pixels[2 * row * 28 + col] + pixels[(2 * row + 1) * 28 + col]) / 2.0;
                let level = (v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32).round() as usize;
                char::from(RAMP[level.min(RAMP.len() - 1)])
            })
            .collect()
    })
}
