nn::network! {
    struct N: -> 16 sigmoid;
}

fn main() {
    let _ = N::new(1);
}
