//! The bare FMA rate of one core, measured at the start of a run: the ceiling the harness's
//! `peak_pct` is read against (the same loop as `benches/seminar.rs`'s `fma_peak_*`: twelve
//! independent chains of FMAs on registers, no memory traffic).

use std::time::Instant;

/// Independent accumulators: more than FMA latency (4 cycles) × pipes (2).
const CHAINS: usize = 12;
/// Rounds of one FMA on every chain, a call.
const ROUNDS: usize = 1 << 16;

/// The instruction set measured: the widest this CPU has.
#[cfg(target_arch = "x86_64")]
pub const ISA: &str = "avx512f if present, else avx2+fma";
/// The instruction set measured.
#[cfg(not(target_arch = "x86_64"))]
pub const ISA: &str = "none (not x86-64)";

/// GFLOP/s of the widest FMA this CPU has (the best of 20 calls of about 1 ms), or 1 where it
/// has none (then `peak_pct` is GFLOP/s · 100).
pub fn fma_peak_gflops() -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let (lanes, run): (usize, fn(f32) -> f32) = if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked here).
            (16, |s| unsafe { fma_loop_512(s) })
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked here).
            (8, |s| unsafe { fma_loop_256(s) })
        } else {
            return 1.0;
        };
        let flop = (2 * lanes * CHAINS * ROUNDS) as f64;
        let mut best = 0.0f64;
        for _ in 0..20 {
            let t = Instant::now();
            std::hint::black_box(run(std::hint::black_box(1.0)));
            best = best.max(flop / t.elapsed().as_secs_f64() / 1e9);
        }
        best
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        1.0
    }
}

/// `CHAINS × ROUNDS` sixteen-lane FMAs; returns one lane of their sum so none is dead code.
///
/// # Safety
///
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_512(seed: f32) -> f32 {
    use core::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(seed); CHAINS];
    let (a, b) = (_mm512_set1_ps(0.999_9), _mm512_set1_ps(1e-4));
    for _ in 0..ROUNDS {
        for v in &mut acc {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = acc[0];
    for v in &acc[1..] {
        sum = _mm512_add_ps(sum, *v);
    }
    _mm512_reduce_add_ps(sum)
}

/// [`fma_loop_512`] in eight lanes.
///
/// # Safety
///
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_256(seed: f32) -> f32 {
    use core::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(seed); CHAINS];
    let (a, b) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(1e-4));
    for _ in 0..ROUNDS {
        for v in &mut acc {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = acc[0];
    for v in &acc[1..] {
        sum = _mm256_add_ps(sum, *v);
    }
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
    lanes[0]
}
