// An f64 network is a chain of dense layers: a convolution computes in f32 only.
nn::network! {
    struct Image: f64 1x6x6 -> conv 2 3x3 relu -> 4 softmax;
}

fn main() {
    let _ = Image::new(1);
}
