// A plain (not baked) network with a convolution, on nn without `alloc`: its layer types need
// the heap, so the macro says so, once, at the network's name.
nn::network! {
    pub struct Images: 1x8x8 -> conv 4 3x3 relu -> 10 softmax;
}

fn main() {}
