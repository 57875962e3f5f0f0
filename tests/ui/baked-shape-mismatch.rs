// tests/fixtures/baked/xor.safetensors holds `2 -> 3 tanh -> 1 sigmoid`; this declares 4 hidden
// neurons. Every tensor that does not fit is named with both shapes, at its layer's width.
nn::network! {
    #[weights("tests/fixtures/baked/xor.safetensors")]
    pub struct Xor: 2 -> 4 tanh -> 1 sigmoid;
}

fn main() {
    let _ = Xor.forward(&[0.0, 1.0]);
}
