// A weights file that does not exist: named as written (relative to the crate's manifest
// directory) and in full, and the network's uses raise no further errors.
nn::network! {
    #[weights("tests/fixtures/baked/no-such-file.safetensors")]
    pub struct Xor: 2 -> 3 tanh -> 1 sigmoid;
}

fn main() {
    let _ = Xor.forward(&[0.0, 1.0]);
}
