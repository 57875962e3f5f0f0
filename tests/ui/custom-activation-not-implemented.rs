/// A type that is not an activation: it does not implement `nn::CustomActivation`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wobbly;

nn::network! {
    struct Custom: 4 -> 3 Wobbly -> 2 softmax;
}

fn main() {
    let _ = Custom::new(1);
}
