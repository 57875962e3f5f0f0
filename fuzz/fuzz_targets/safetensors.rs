//! safetensors bytes through `weights::from_bytes`: no panic on any input, and a file that
//! loads holds only finite values and saves back to the same values, bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::weights::{self, Dtype};
use nn::Network;

nn::network! {
    /// Four tensors: `0.weight` [3, 2], `0.bias` [3], `2.weight` [2, 3], `2.bias` [2].
    struct Small: 2 -> 3 relu -> 2 softmax;
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(net) = weights::from_bytes::<Small>(bytes) else {
        return;
    };
    assert!(net.parameters().flatten().all(|v| v.is_finite()));
    let saved = weights::to_bytes_as(&net, Dtype::F32).expect("finite weights save");
    let back: Small = weights::from_bytes(&saved).expect("a saved file loads");
    assert!(back
        .parameters()
        .flatten()
        .map(|v| v.to_bits())
        .eq(net.parameters().flatten().map(|v| v.to_bits())));
});
