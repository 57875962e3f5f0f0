nn::network! {
    struct Net: 2 -> 3 relu -> 1 sigmoid ->;
}

fn main() {}
