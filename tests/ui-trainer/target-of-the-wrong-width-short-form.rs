// The same through `Trainer::fit`, the short form.
nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let xs = vec![[0.0f32; 784]; 4];
    let ys = vec![[0.0f32; 9]; 4];
    let mut net = Digits::new(1);
    let _ = nn::Trainer::default().fit(
        &mut net,
        &mut nn::GradientDescent::new(0.1),
        nn::CrossEntropy,
        nn::Samples::new(&xs, &ys),
        None,
        &mut |_| {},
    );
}
