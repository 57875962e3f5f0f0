//! What the baked-network tests share: inputs from a fixed generator with the corner cases,
//! bit patterns, and the check that a baked network gives the loaded one's bits.

use std::error::Error;

/// `count` inputs of `N` values in [-1, 2) from a fixed generator (xorshift from `seed`), and
/// the corner cases: all zeros (a layer norm's zero variance), all ones, large values that
/// saturate every activation.
pub fn inputs<const N: usize>(seed: u64, count: usize) -> Vec<[f32; N]> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        #[allow(clippy::cast_precision_loss)] // 24 random bits, exactly.
        let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
        3.0 * unit - 1.0
    };
    let mut xs: Vec<[f32; N]> = (0..count)
        .map(|_| std::array::from_fn(|_| next()))
        .collect();
    xs.push([0.0; N]);
    xs.push([1.0; N]);
    xs.push(std::array::from_fn(|i| if i % 2 == 0 { 1e4 } else { -1e4 }));
    xs
}

/// The bits of each value.
pub fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The error type of the tests' `same_bits!` (named here so that the macro's users need not
/// import it).
pub type TestError = Box<dyn Error>;

/// Loads `file` into the trainable network and checks that `baked` gives the same bits for
/// every input, in `forward` and in each of the `layers` of `forward_all`; the loaded network.
#[macro_export]
macro_rules! same_bits {
    ($trainable:ty, $baked:expr, $file:expr, $inputs:expr, [$($layer:ident),*]) => {{
        let loaded: $trainable =
            nn::weights::load(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file))?;
        let mut checked = 0;
        for x in &$inputs {
            assert_eq!(common::bits(&$baked.forward(x)), common::bits(&loaded.forward(x)), "{}", $file);
            let (all, baked_all) = (loaded.forward_all(x), $baked.forward_all(x));
            $(assert_eq!(
                common::bits(&all.$layer),
                common::bits(&baked_all.$layer),
                "{}",
                stringify!($layer)
            );)*
            checked += 1;
        }
        assert!(checked > 1000);
        Ok::<_, common::TestError>(loaded)
    }};
}
