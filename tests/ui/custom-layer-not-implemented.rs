//! A layer written as a path to a type that does not implement `nn::Layer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MyNormalize;

nn::network! {
    struct Net: 4 -> 3 relu -> MyNormalize -> 2 softmax;
}

fn main() {
    let _ = Net::new(1);
}
