// A layer written as a path works in a chain only: inside a residual block it is one error,
// at the path.
nn::network! {
    struct Deep: 8 -> residual { enc: Encoder -> 8 relu } -> 2 softmax;
    struct Encoder: 8 -> 4 relu;
}

fn main() {}
