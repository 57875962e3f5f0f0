nn::network! {
    struct Wide: 2 -> wide: 1500 relu -> 1 sigmoid;
}

fn main() {
    let mut net = Wide::zeros();
    net.wide.set_bias(&[0.0; 1500]);
}
