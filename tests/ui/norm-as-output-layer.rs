nn::network! {
    struct Normed: 4 -> 3 relu -> batchnorm;
}

fn main() {
    let _ = Normed::new(1);
}
