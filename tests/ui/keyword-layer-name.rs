nn::network! {
    struct Typed: 2 -> type: 3 relu -> 1 sigmoid;
    struct Selfish: 2 -> 3 relu -> self: 1 sigmoid;
}

fn main() {}
