//! Baked networks with convolutions and poolings run without `alloc` and give the bits that
//! `nn` with `std` gives with their files loaded at run time: `convnet.txt`, which the main
//! workspace's `tests/embedded.rs` writes and checks.

use nn_embedded_check::convnet::{input, BakedConvNet, BakedImage};

/// One line a network and image: the ten outputs' bits.
fn line(p: &[f32; 10]) -> String {
    let words: Vec<String> = p.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
    words.join(" ") + "\n"
}

#[test]
fn baked_image_networks_give_the_std_bits_without_alloc() {
    let mut text = String::new();
    for k in 0..input::IMAGES {
        text += &line(&BakedImage.forward(&input::image(k)));
    }
    for k in 0..input::IMAGES {
        text += &line(&BakedConvNet.forward(&input::image(k)));
    }
    assert_eq!(text, include_str!("convnet.txt"));
}
