//! A layer 1500 wide: past typenum's named `U1024`, so its type is built bit by bit.

nn::network! {
    struct Wide: 3 -> wide: 1500 relu -> 2 softmax;
}

fn main() {
    let net = Wide::new(1);
    let y = net.forward(&[0.1, 0.2, 0.3]);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(net.wide.weights_flat().len(), 3 * 1500);

    let mut grads = Wide::zeros();
    let mut ws = nn::Workspace::new();
    let loss = net.gradient(nn::CrossEntropy, &[0.1, 0.2, 0.3], &[1.0, 0.0], &mut grads, &mut ws);
    assert!(loss.is_finite());
}
