nn::network! {
    struct A: 2 -> 1 sigmoid
    struct B: 2 -> 1 sigmoid;
}

fn main() {}
