nn::network! {
    struct Digits: 784;
}

fn main() {
    let _ = Digits::new(1);
}
