nn::network! {
    struct Huge: 2 -> 99999999999999999999999 relu -> 1 sigmoid;
}

fn main() {}
