// tests/fixtures/baked/batchnorm-short-var.safetensors holds `4 -> 3 relu -> batchnorm -> 2
// softmax` with a `2.running_var` of two values: the batch normalisation's tensor is named with
// both shapes, at its layer.
nn::network! {
    #[weights("tests/fixtures/baked/batchnorm-short-var.safetensors")]
    pub struct ShortVar: 4 -> 3 relu -> batchnorm -> 2 softmax;
}

fn main() {
    let _ = ShortVar.forward(&[0.0, 1.0, 2.0, 3.0]);
}
