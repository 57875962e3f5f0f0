use nn::Network;
nn::network! {
    struct Stack: 8 -> encoder: Encoder -> 3 softmax;
    struct Encoder: 8 -> 5 relu -> 4 tanh;
}
#[test]
fn smoke() {
    let s = Stack::new(1);
    let p = s.forward(&[0.5; 8]);
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let names: Vec<_> = Stack::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(names, ["encoder.layer1", "encoder.layer2", "layer2"]);
}
