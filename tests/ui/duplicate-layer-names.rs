nn::network! {
    struct Digits: 784 -> hidden: 16 sigmoid -> hidden: 16 sigmoid -> out: 10 softmax;
}

fn main() {
    let _ = Digits::new(1);
}
