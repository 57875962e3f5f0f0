//! The no_std examples (`examples/embedded/plain`, `examples/embedded/baked`), run here by `nn`
//! with its `std` feature, give the bits that their `#![no_std]` builds compute: both sides
//! compare their outputs with a file in `examples/embedded/check/tests/` (`expected.txt` for
//! `plain`, `baked.txt` for `baked`), this test here and `examples/embedded/check/tests/*.rs`
//! there (run by `.ci/run`: that workspace's `nn` has no default features). Equal files on both
//! sides mean equal bits, from one declaration and one set of weights.
//!
//! The third file, `convnet.txt`, holds the outputs of baked networks with convolutions and
//! poolings, which `examples/embedded/check/src/convnet.rs` compiles without `alloc`; here the
//! same declarations, trainable, load the same files at run time.
//!
//! `plain`'s network is its very file, included here; `baked`'s is the trainable network of its
//! declaration with `examples/embed.safetensors` (the file `baked` compiles in) loaded at run
//! time, on the same test digit, read from the shipped MNIST files by nn's loader.
//!
//! Regenerate the files (after a change of a network, of its weights file or of the
//! arithmetic) with `NN_BLESS=1 cargo test --test embedded`, then run the embedded tests to see
//! that they agree. The blessing also writes the baked digit, `examples/embedded/baked/src/
//! digit.rs`, from test digit [`BAKED_DIGIT`] of `data/mnist`.

use std::fmt::Write as _;
use std::sync::Once;

use nn::Dense;

#[path = "../examples/embedded/plain/src/net.rs"]
mod net;

/// Where both sides read the expected bits.
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/check/tests/expected.txt"
);

/// The no_std libraries are compiled for the baseline target, so without AVX they run the
/// portable kernels (their kernels are chosen at compile time); this process must run them
/// too. Every test calls this before any kernel runs: the first sets the variable, before
/// nn chooses its back end (once, on the first kernel call).
fn portable_kernels() {
    static SET: Once = Once::new();
    SET.call_once(|| std::env::set_var("NN_KERNEL", "portable"));
    assert_eq!(nn::kernel::backend_name(), "portable");
}

#[test]
fn the_embedded_network_gives_the_no_std_bits() {
    portable_kernels();

    // On the heap here (nn has `alloc`), inline in the static there: the same values.
    let digits = net::Digits {
        layer1: Dense::from_arrays(&net::W1, &net::B1),
        layer2: Dense::from_arrays(&net::W2, &net::B2),
        layer3: Dense::from_arrays(&net::W3, &net::B3),
    };
    let mut text = String::new();
    for k in 0..net::IMAGES {
        let p = digits.forward(&net::image(k));
        let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
        text += &format!("{} {}\n", words.join(" "), nn::argmax(&p));
    }
    if std::env::var_os("NN_BLESS").is_some() {
        std::fs::write(EXPECTED, &text).expect("write the expected bits");
    }
    let expected = std::fs::read_to_string(EXPECTED).expect("read the expected bits");
    assert_eq!(text, expected, "std and the file {EXPECTED} disagree");
    // Each image has outputs of its own.
    let lines: std::collections::BTreeSet<&str> = text.lines().collect();
    assert_eq!(lines.len(), net::IMAGES, "{text}");
}

nn::network! {
    /// `examples/embedded/baked`'s declaration, trainable: its weights loaded at run time.
    struct Digits: 784 -> 16 relu -> 10 softmax;
}

/// The file `examples/embedded/baked` bakes in (`#[weights("../../embed.safetensors")]`).
const BAKED_WEIGHTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embed.safetensors");

/// Where both sides read the baked crate's expected bits.
const BAKED_EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/check/tests/baked.txt"
);

/// The baked digit's source, which the blessing writes.
const BAKED_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/baked/src/digit.rs"
);

/// Which test digit of `data/mnist` the baked crate holds: the first.
const BAKED_DIGIT: usize = 0;

#[path = "../examples/embedded/baked/src/digit.rs"]
mod digit;

/// `digit.rs` for test digit `index`: its label and its pixels (`x · 255`, exact: the loader
/// divided a byte by 255), one image row a line so that the digit shows.
fn digit_source(index: usize, x: &[f32; 784], label: u8) -> String {
    let mut rows = String::new();
    for row in x.chunks(28) {
        rows += "   ";
        for v in row {
            let _ = write!(rows, "{:3},", (v * 255.0).round() as u8);
        }
        rows += "\n";
    }
    format!(
        "//! The digit `examples/embedded/baked` reads: test digit {index} of the shipped MNIST set\n\
         //! (`data/mnist/t10k-*`). Written by `NN_BLESS=1 cargo test --test embedded` (the main\n\
         //! workspace's `tests/embedded.rs`), which checks it against the data set.\n\
         \n\
         /// The digit's index in the test set.\n\
         pub const INDEX: usize = {index};\n\
         \n\
         /// The digit's label.\n\
         pub const LABEL: u32 = {label};\n\
         \n\
         /// The 28 × 28 pixels, row-major, one image row a line: 0 for background, 255 for full\n\
         /// ink.\n\
         #[rustfmt::skip]\n\
         pub const PIXELS: [u8; 784] = [\n{rows}];\n"
    )
}

#[test]
fn the_baked_network_gives_the_no_std_bits() {
    portable_kernels();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let test = nn::data::Dataset::<784, 10>::from_idx(
        format!("{dir}/t10k-images-idx3-ubyte.gz"),
        format!("{dir}/t10k-labels-idx1-ubyte.gz"),
    )
    .expect("the shipped MNIST test set");
    let (x, label) = (&test.inputs[BAKED_DIGIT], test.labels[BAKED_DIGIT]);
    let bless = std::env::var_os("NN_BLESS").is_some();
    if bless {
        std::fs::write(BAKED_SOURCE, digit_source(BAKED_DIGIT, x, label))
            .expect("write the baked digit");
    }
    // The digit the no_std crate holds is this one: its index, its label, and its pixels, each
    // of which, divided by 255 as the loader and the crate's `input` divide, gives the
    // loader's bits.
    let source = std::fs::read_to_string(BAKED_SOURCE).expect("read the baked digit");
    assert_eq!(
        source,
        digit_source(BAKED_DIGIT, x, label),
        "{BAKED_SOURCE} is stale"
    );
    assert_eq!(
        (digit::INDEX, digit::LABEL),
        (BAKED_DIGIT, u32::from(label))
    );
    for (k, (&p, v)) in digit::PIXELS.iter().zip(x).enumerate() {
        assert_eq!((f32::from(p) / 255.0).to_bits(), v.to_bits(), "pixel {k}");
    }

    // The baked crate's weights, loaded at run time by nn with std.
    let net: Digits = nn::weights::load(BAKED_WEIGHTS).expect("load the baked file");
    let p = net.forward(x);
    let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
    let class = nn::argmax(&p);
    let text = format!("{} {class}\n", words.join(" "));
    if bless {
        std::fs::write(BAKED_EXPECTED, &text).expect("write the expected bits");
    }
    let expected = std::fs::read_to_string(BAKED_EXPECTED).expect("read the expected bits");
    assert_eq!(text, expected, "std and the file {BAKED_EXPECTED} disagree");
    // The trained network reads this digit right.
    assert_eq!(class, usize::from(label), "{p:?}");
}

nn::network! {
    /// `examples/embedded/check/src/convnet.rs`'s image network, trainable.
    struct Image: 1x8x8 -> hidden: 12 relu -> dropout 0.25 -> 16 leaky_relu 0.2 -> 10 softmax;

    /// Its convolutional network, trainable.
    struct ConvNet: 1x8x8 -> conv 4 3x3 pad 1 relu -> maxpool 2x2
        -> conv 6 2x2 stride 2 tanh -> avgpool 2x2 -> 10 softmax;
}

#[path = "../examples/embedded/check/src/convnet_input.rs"]
mod convnet_input;

/// Where both sides read the image networks' expected bits.
const CONVNET_EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/check/tests/convnet.txt"
);

#[test]
fn the_baked_image_networks_give_the_no_std_bits() {
    portable_kernels();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/baked");
    let image: Image = nn::weights::load(format!("{fixtures}/image.safetensors"))
        .expect("load the image network's file");
    let conv: ConvNet = nn::weights::load(format!("{fixtures}/convnet.safetensors"))
        .expect("load the convolutional network's file");
    let line = |p: [f32; 10]| {
        let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
        words.join(" ") + "\n"
    };
    let mut text = String::new();
    for k in 0..convnet_input::IMAGES {
        text += &line(image.forward(&convnet_input::image(k)));
    }
    for k in 0..convnet_input::IMAGES {
        text += &line(conv.forward(&convnet_input::image(k)));
    }
    if std::env::var_os("NN_BLESS").is_some() {
        std::fs::write(CONVNET_EXPECTED, &text).expect("write the expected bits");
    }
    let expected = std::fs::read_to_string(CONVNET_EXPECTED).expect("read the expected bits");
    assert_eq!(
        text, expected,
        "std and the file {CONVNET_EXPECTED} disagree"
    );
    let lines: std::collections::BTreeSet<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 * convnet_input::IMAGES, "{text}");
}
