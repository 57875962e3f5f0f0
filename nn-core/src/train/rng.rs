//! The shuffling generator, with a state that a checkpoint can save and restore.

use core::convert::Infallible;

/// xoshiro256++ (Blackman and Vigna), seeded through SplitMix64: the same algorithm and seeding
/// as `rand::rngs::Xoshiro256PlusPlus::seed_from_u64`, so a seed gives the same shuffles as
/// before, but with its 256-bit state readable ([`state`](Self::state)) and settable
/// ([`from_state`](Self::from_state)), which is what resuming a run from a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShuffleRng {
    s: [u64; 4],
}

impl ShuffleRng {
    /// The generator for `seed`: the four state words are four outputs of SplitMix64 started
    /// at `seed`.
    pub fn seed_from_u64(mut seed: u64) -> Self {
        const PHI: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut s = [0u64; 4];
        for word in &mut s {
            seed = seed.wrapping_add(PHI);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *word = z ^ (z >> 31);
        }
        Self { s }
    }

    /// The generator in state `s`, as [`state`](Self::state) returned it. The all-zero state,
    /// from which xoshiro would only ever return 0, becomes the state of seed 0.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Self::seed_from_u64(0);
        }
        Self { s }
    }

    /// The 256-bit state.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl rand::TryRng for ShuffleRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        // The upper bits: the lowest ones of xoshiro have linear dependencies.
        Ok((self.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    #[test]
    fn it_is_rands_xoshiro256plusplus_and_its_state_round_trips() {
        for seed in [0u64, 1, 7, u64::MAX] {
            let mut ours = ShuffleRng::seed_from_u64(seed);
            let mut theirs = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
            for _ in 0..100 {
                assert_eq!(ours.next_u64(), theirs.next_u64());
                assert_eq!(ours.next_u32(), theirs.next_u32());
            }
            // The same shuffles.
            let (mut a, mut b): (Vec<u32>, Vec<u32>) = ((0..50).collect(), (0..50).collect());
            a.shuffle(&mut ours);
            b.shuffle(&mut theirs);
            assert_eq!(a, b);
            // A copy from the state continues the same stream.
            let mut copy = ShuffleRng::from_state(ours.state());
            assert_eq!(copy.next_u64(), ours.next_u64());
        }
        assert_eq!(ShuffleRng::from_state([0; 4]), ShuffleRng::seed_from_u64(0));
    }
}
