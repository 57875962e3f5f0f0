nn::network! {
    struct Reader: 784 -> 64 relu -> heads { digit: 10 softmax, digit: 1 sigmoid };
}

fn main() {}
