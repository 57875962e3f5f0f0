//! `../baked` without `std` gives the bits that `nn` with `std` gives: this test calls the
//! library's C functions (its very code, on this workspace's `nn`: no `std`, no `alloc`, the
//! weights baked in at compile time) and compares their outputs with `baked.txt`, which the
//! main workspace's `tests/embedded.rs` writes and checks from `nn` with `std`, the same digit
//! and the same weights file loaded at run time.

use nn_embedded_check::baked::{
    digit, net, nn_baked_classify, nn_baked_digit_class, nn_baked_digit_forward,
    nn_baked_digit_label, nn_baked_forward, DIGIT,
};

/// One line of `baked.txt`: the ten outputs' bits and the class.
fn line(p: &[f32; 10], class: u32) -> String {
    let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
    format!("{} {class}\n", words.join(" "))
}

#[test]
fn the_no_std_library_gives_the_std_bits() {
    let mut p = [0.0f32; 10];
    nn_baked_digit_forward(&mut p);
    assert_eq!(line(&p, nn_baked_digit_class()), include_str!("baked.txt"));
}

#[test]
fn the_baked_digit_is_read_right() {
    let mut p = [0.0f32; 10];
    nn_baked_digit_forward(&mut p);
    assert_eq!(nn_baked_digit_label(), digit::LABEL);
    assert_eq!(nn_baked_digit_class(), digit::LABEL, "{p:?}");
    // The class is the largest output, and the outputs are probabilities.
    assert!(p.iter().all(|&v| v <= p[digit::LABEL as usize]), "{p:?}");
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
}

#[test]
fn the_digit_and_any_input_take_the_same_path() {
    // `DIGIT` is the pixels divided by 255 while compiling; dividing them here gives its bits,
    // and the functions over any input give the baked digit's outputs.
    let x: Vec<f32> = digit::PIXELS
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&x), bits(&DIGIT));
    let (mut a, mut b) = ([0.0f32; 10], [0.0f32; 10]);
    nn_baked_forward(&DIGIT, &mut a);
    nn_baked_digit_forward(&mut b);
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(nn_baked_classify(&DIGIT), net::class(&a));
}

#[test]
fn the_network_is_zero_sized_and_its_weights_are_the_files() {
    // The weights are statics, not fields: the network itself holds nothing.
    assert_eq!(core::mem::size_of::<net::Digits>(), 0);
    assert_eq!(net::Digits::WEIGHTS_FILE, "../../embed.safetensors");
    let params: usize = net::Digits::LAYERS
        .iter()
        .map(nn::LayerShape::parameter_count)
        .sum();
    assert_eq!(params, 784 * 16 + 16 + 16 * 10 + 10);
}
