//! Small networks for nn-core's own unit tests, declared with the real `network!` (the crate
//! names itself `nn` in tests, so the code the macro writes resolves here too).

nn_macros::network! {
    /// One linear neuron over one input: `y = w·x + b`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Line: 1 -> layer: 1 linear;

    /// Two inputs, two softmax outputs: a linear classifier of two classes.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Pair: 2 -> layer: 2 softmax;
}
