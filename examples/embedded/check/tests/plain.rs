//! `../plain` without `std` gives the bits that `nn` with `std` gives: this test calls the
//! library's C functions (its very code, on this workspace's `nn`: no `std`, no `alloc`) and
//! compares their outputs with `expected.txt`, which the main workspace's `tests/embedded.rs`
//! checks against `nn` with `std`.

use nn_embedded_check::plain::{net, nn_digits_classify, nn_digits_forward};

#[test]
fn the_no_std_library_gives_the_std_bits() {
    let mut text = String::new();
    for k in 0..net::IMAGES {
        let x = net::image(k);
        let mut p = [0.0f32; 10];
        nn_digits_forward(&x, &mut p);
        let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
        text += &format!("{} {}\n", words.join(" "), nn_digits_classify(&x));
    }
    assert_eq!(text, include_str!("expected.txt"));
}

#[test]
fn the_network_is_inline_and_uses_no_heap() {
    // Without `alloc`, `Dense` holds its weights: the network is as large as its parameters
    // (784·16 + 16 + 16·16 + 16 + 16·10 + 10 floats), not a few pointers.
    let params = 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10;
    assert_eq!(core::mem::size_of::<net::Digits>(), params * 4);
}
