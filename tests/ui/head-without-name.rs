nn::network! {
    struct Reader: 784 -> 64 relu -> heads { digit: 10 softmax, 1 sigmoid };
}

fn main() {}
