nn::network! {
    struct Nothing: 0 -> 1 sigmoid;
}

fn main() {
    let _ = Nothing::new(1);
}
