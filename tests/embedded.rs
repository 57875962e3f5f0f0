//! The no_std example's network (`examples/embedded/plain`), run here by `nn` with its `std`
//! feature, gives the bits that the `#![no_std]` build computes: both sides compare their
//! outputs with `examples/embedded/check/tests/expected.txt`, this test here and
//! `examples/embedded/check/tests/plain.rs` there (run by `.ci/run`: that workspace's `nn` has no
//! default features). Equal files on both sides mean equal
//! bits, from one declaration and one set of weights.
//!
//! Regenerate the file (after a change of the network or of the arithmetic) with
//! `NN_BLESS=1 cargo test --test embedded`, then run the embedded test to see that it agrees.

use nn::Dense;

#[path = "../examples/embedded/plain/src/net.rs"]
mod net;

/// Where both sides read the expected bits.
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/check/tests/expected.txt"
);

#[test]
fn the_embedded_network_gives_the_no_std_bits() {
    // The no_std library is compiled for the baseline target, so without AVX it runs the
    // portable kernels (its kernels are chosen at compile time); this process must run them too.
    // The only test of this binary, so nothing has chosen a back end before.
    std::env::set_var("NN_KERNEL", "portable");
    assert_eq!(nn::kernel::backend_name(), "portable");

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
