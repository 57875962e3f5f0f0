// A baked network is inference only: it has no training methods.
nn::network! {
    #[weights("tests/fixtures/baked/xor.safetensors")]
    pub struct Xor: 2 -> 3 tanh -> 1 sigmoid;
}

fn main() {
    let _ = Xor.forward(&[0.0, 1.0]);
    let _ = Xor.gradient(nn::MeanSquaredError, &[0.0, 1.0], &[1.0]);
}
