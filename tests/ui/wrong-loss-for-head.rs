use nn::{BinaryCrossEntropy, CrossEntropy, Workspace};

nn::network! {
    struct Reader: 784 -> 64 relu -> heads {
        digit: 10 softmax,
        even: 16 relu -> 1 sigmoid,
    };
}

fn main() {
    let net = Reader::new(1);
    let mut grads = Reader::zeros();
    let mut ws = Workspace::new();
    let targets = [ReaderOutputs::zeros()];
    // Cross-entropy trains a softmax layer, not the sigmoid of head `even`.
    let losses = ReaderLosses {
        digit: (CrossEntropy, 1.0),
        even: (CrossEntropy, 0.5),
    };
    let _ = net.gradient_batch(losses, &[[0.0; 784]], &targets, &mut grads, &mut ws);
    let _ = BinaryCrossEntropy;
}
