nn::network! {}

fn main() {}
