//! After a layer written as a path, whose width only its type knows, a layer that needs the
//! width to be written.
nn::network! {
    struct Net: 8 -> encoder: Encoder -> batchnorm -> 2 softmax;
    struct Encoder: 8 -> 4 relu;
}

fn main() {}
