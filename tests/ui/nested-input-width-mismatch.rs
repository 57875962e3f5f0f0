//! A nested network that reads 784 values after a layer that gives 64.
nn::network! {
    struct Stack: 784 -> 64 relu -> encoder: Encoder -> 10 softmax;
    struct Encoder: 784 -> 32 relu;
}

fn main() {
    let _ = Stack::new(1);
}
