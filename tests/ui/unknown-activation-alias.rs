nn::network! {
    struct Regression: 3 -> 1 identity;
}

fn main() {
    let _ = Regression::new(1);
}
