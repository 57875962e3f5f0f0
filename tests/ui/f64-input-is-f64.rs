// An f64 network's input is `[f64; N]`: an f32 array is a type error in numbers.
nn::network! {
    struct Precise: f64 3 -> 1 linear;
}

fn main() {
    let net = Precise::new(1);
    let x = [1.0f32, 2.0, 3.0];
    let _ = net.forward(&x);
}
