// A network baked in from a file computes in f32.
nn::network! {
    #[weights("tests/fixtures/baked/xor.safetensors")]
    pub struct Xor: f64 2 -> 3 tanh -> 1 sigmoid;
}

fn main() {}
