nn::network! {
    struct Net: 3 -> hidden: 2 relu -> 1 sigmoid;
}

fn main() {
    let mut net = Net::zeros();
    net.hidden.set_weights(&[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]);
    net.hidden.set_bias(&[0.5, 0.5, 0.5]);
}
