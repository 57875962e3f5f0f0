// A custom activation's function takes an f32, so an f64 network cannot use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softsign;

impl nn::CustomActivation for Softsign {
    const NAME: &'static str = "Softsign";
    fn function(z: f32) -> f32 {
        z / (1.0 + z.abs())
    }
    fn derivative(z: f32, _a: f32) -> f32 {
        1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))
    }
}

nn::network! {
    struct Soft: f64 4 -> 3 Softsign -> 2 softmax;
}

fn main() {
    let _ = Soft::new(1);
}
