//! The input both sides run the image networks on (shared by `#[path]` with the main
//! workspace's `tests/embedded.rs`).

/// An 8 × 8 image with values in `[-0.3, 0.7]`, a different one per `seed`.
pub fn image(seed: usize) -> [f32; 64] {
    let mut x = [0.0; 64];
    for (k, v) in x.iter_mut().enumerate() {
        *v = ((k * 7 + seed * 3) % 11) as f32 / 10.0 - 0.3;
    }
    x
}

/// How many images each side runs.
pub const IMAGES: usize = 4;
