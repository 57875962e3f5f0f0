nn::network! {
    struct Deep: 64 -> 128 relu -> residual { 128 relu -> 64 linear } -> 10 softmax;
}

fn main() {
    let _ = Deep::new(1);
}
