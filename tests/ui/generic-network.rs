nn::network! {
    struct Digits<const N: usize>: 784 -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let _ = Digits::<1>::new(1);
}
