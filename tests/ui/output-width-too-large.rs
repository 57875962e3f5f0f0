nn::network! {
    struct Vocabulary: 16 -> 4000000 relu -> 100000 softmax;
}

fn main() {}
