//! A type of the user's own named `NetActivations` beside `struct Net`: the user's type wins
//! (it shadows the generated one, which `network!` names by a path of its own), and both work.

nn::network! {
    /// A network whose activations struct's name is taken.
    pub struct Net: 2 -> 3 relu -> out: 1 sigmoid;
}

/// The user's own type of the same name.
#[derive(Debug)]
pub struct NetActivations {
    pub mine: u8,
}

fn main() {
    let net = Net::new(1);
    let all = net.forward_all(&[0.5, -1.0]);
    assert_eq!(all.out, net.forward(&[0.5, -1.0]));
    let own = NetActivations { mine: 7 };
    assert_eq!(own.mine, 7);
}
