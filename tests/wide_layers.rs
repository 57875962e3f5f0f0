//! Very wide layers run on a small stack: every per-sample buffer wider than a few thousand
//! values lives on the heap (the weights from the start, `forward`'s hidden outputs,
//! `forward_all`'s fields), so a network whose layers would each overflow a 2 MiB thread stack
//! as arrays runs on a thread with a 1 MiB one, in a debug build too. The output layer is
//! returned by value and so has a compile-time limit (`tests/ui/output-width-too-large.rs`).

use nn::{MeanSquaredError, Network};

nn::network! {
    /// 600,000 neurons in the hidden layer: one row of the output layer's weights, or the
    /// hidden output, is 2.4 MB.
    #[derive(Clone, PartialEq)]
    struct Wide: 2 -> wide: 600000 relu -> out: 3 linear;
    /// A 600,000-wide input and an output 60,000 wide.
    #[derive(Clone, PartialEq)]
    struct WideEnds: 600000 -> 2 tanh -> out: 60000 linear;
}

/// A stack smaller than any of the buffers above.
const STACK: usize = 1 << 20;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot spawn: {e}"))
        .join()
        .unwrap_or_else(|_| panic!("the wide network failed on a {STACK}-byte stack"))
}

/// A zeroed `[f32; N]` on the heap, as a caller with a wide input would hold it.
fn heap_array<const N: usize>() -> Box<[f32; N]> {
    match vec![0.25f32; N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!(),
    }
}

#[test]
fn a_600000_wide_hidden_layer_runs_on_a_1_mib_stack() {
    on_small_stack(|| {
        let net = Wide::new(7);
        let zeros = Wide::zeros();
        let copy = net.clone();
        assert!(copy.wide.weights_flat() == net.wide.weights_flat());
        assert!(zeros.out.weights_flat().iter().all(|w| *w == 0.0));
        assert_eq!(net.out.weights()[2].len(), 600_000);

        let x = [0.5, -1.0];
        let y = net.forward(&x);
        let all = net.forward_all(&x);
        assert_eq!(all.out, y);
        assert_eq!(all.wide.len(), 600_000);
        assert!(all.wide.iter().all(|a| *a >= 0.0), "relu outputs");

        let mut grads = Wide::zeros();
        let mut ws = nn::Workspace::new();
        let loss = net.gradient(MeanSquaredError, &x, &[0.0, 1.0, 0.0], &mut grads, &mut ws);
        assert!(loss.is_finite());
        assert_eq!(loss, net.loss(MeanSquaredError, &x, &[0.0, 1.0, 0.0]));
        assert_eq!(grads.parameters().count(), net.parameters().count());
    });
}

#[test]
fn a_wide_input_and_a_wide_output_run_on_a_1_mib_stack() {
    on_small_stack(|| {
        let net = WideEnds::new(3);
        let x = heap_array::<600_000>();
        let all = net.forward_all(&x);
        assert_eq!(all.out.len(), 60_000);
        let y = net.forward(&x);
        assert!(y[..] == all.out[..]);
        let copy = net.clone();
        assert!(copy == net);
    });
}
