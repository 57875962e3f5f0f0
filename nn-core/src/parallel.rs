//! Data-parallel gradients: one batch split across threads, the gradients reduced.
//!
//! [`DataParallel::gradient_batch`] does what [`Trainable::gradient_batch`] does, on several cores:
//! the batch is cut into one contiguous chunk per thread, each thread runs the network's own
//! backprop on its chunk into its own [`Workspace`] and gradient buffer, and the chunks' mean
//! gradients are combined into the batch's, weighted by chunk size:
//!
//! `∂L/∂w = Σ_t (n_t / n)·∂L_t/∂w`, and the same for the mean loss,
//!
//! where chunk `t` holds `n_t` of the batch's `n` samples. The calling thread works on the first
//! chunk; the others go to worker threads that [`DataParallel::new`] starts once and keeps for
//! its lifetime (a `rayon-core` thread pool of its own). Every chunk is done before the call
//! returns, so the network and the batch are only borrowed.
//!
//! Handing a chunk to a worker costs a few microseconds and one small allocation (the job), so
//! a batch smaller than two [`DataParallel::min_chunk`]s runs on the calling thread alone,
//! where it allocates nothing. When its own chunk is done, the calling thread waits for the
//! workers by spinning (for at most as long as its chunk took) rather than sleeping: waking a
//! sleeping thread cost tens of microseconds on the benchmark machine, a VM.
//!
//! The sum is the same mathematically but rounded differently from the one-thread gradient
//! (each chunk is a mean, then the means are weighted), so results differ from
//! [`Trainable::gradient_batch`] by f32 rounding; for a given batch and thread count they are the
//! same bits on every run.
//!
//! [`DataParallel::new`] starts at most [`max_threads`] threads, [`THREADS_PER_CORE`] for each
//! thread the machine runs at once, and refuses more with [`Error::TooManyThreads`]: more
//! threads than cores only slow a step down, and a mistaken count (65,536, or `usize::MAX`)
//! would otherwise take seconds or never return.
//!
//! ```
//! use nn_core::{DataParallel, Network};
//! # use nn_core::{CrossEntropy, Trainable};
//! # fn demo<N: Trainable<CrossEntropy, Scalar = f32> + Send + Sync>(
//! #     net: &N, xs: &[N::Input], ys: &[N::Output],
//! # ) -> Result<(), nn_core::Error> where N::Input: Sync, N::Output: Sync {
//! let mut parallel = DataParallel::<N>::new(2)?;
//! let mut grads = N::zeros();
//! let loss = parallel.gradient_batch(net, CrossEntropy, xs, ys, &mut grads)?;
//! # let _ = loss; Ok(()) }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::error::Error;
use crate::network::{check_batch, Network, Trainable, Workspace};

/// How many threads [`DataParallel::new`] starts at most for each thread the machine runs at
/// once: a few more than the cores leave room to try oversubscription, and no more, since each
/// thread costs a stack and a copy of the network's gradients.
pub const THREADS_PER_CORE: usize = 4;

/// The most threads [`DataParallel::new`] starts: [`THREADS_PER_CORE`] times
/// [`std::thread::available_parallelism`] (taken as 1 if unknown).
pub fn max_threads() -> usize {
    available_parallelism().saturating_mul(THREADS_PER_CORE)
}

/// The number of threads the machine runs at once, 1 if unknown.
fn available_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One helper thread's share of a step: its buffers, and the result of its last chunk.
struct Helper<N: Network<Scalar = f32>> {
    /// The workspace of the chunks this helper runs.
    workspace: Workspace<N>,
    /// The mean gradient of its last chunk.
    grads: N,
    /// The mean loss of its last chunk, or why it failed; `None` until it ran.
    loss: Option<Result<f32, Error>>,
}

/// The buffers and threads of data-parallel training: a [`Workspace`] for each thread, a
/// gradient for each thread but the caller's, and a pool of worker threads kept alive across
/// steps. Make one and keep it across steps, like a workspace.
pub struct DataParallel<N: Network<Scalar = f32>> {
    /// The calling thread's workspace.
    workspace: Workspace<N>,
    /// The other threads' buffers.
    helpers: Vec<Helper<N>>,
    /// The worker threads that run the helpers' chunks; `None` for one thread, or if the
    /// operating system would not start them.
    pool: Option<rayon_core::ThreadPool>,
    /// The smallest chunk worth a thread of its own.
    min_chunk: usize,
}

impl<N: Network<Scalar = f32>> DataParallel<N> {
    /// The smallest chunk, in samples, that [`new`](Self::new) gives a thread of its own: below
    /// it, handing a chunk to a worker and waiting for it costs about what it saves. Measured
    /// on the seminar's `784 -> 16 -> 16 -> 10` network on two cores (see BENCHMARKS.md), a
    /// training step on two threads against one: 0.87 times as fast at batch 32, 1.19 at 64,
    /// 1.44 at 128 and 1.81 at 256.
    pub const DEFAULT_MIN_CHUNK: usize = 64;

    /// Buffers for `threads` threads (the calling one included; 0 counts as 1), and a pool of
    /// `threads - 1` worker threads, started here and stopped when this is dropped.
    ///
    /// If the operating system refuses to start the workers, every batch runs on the calling
    /// thread ([`threads`](Self::threads) is then 1).
    ///
    /// # Errors
    ///
    /// [`Error::TooManyThreads`] for more than [`max_threads`] threads, before any is started.
    pub fn new(threads: usize) -> Result<Self, Error> {
        let limit = max_threads();
        if threads > limit {
            return Err(Error::TooManyThreads {
                requested: threads,
                limit,
                per_core: THREADS_PER_CORE,
            });
        }
        Ok(Self::start(threads))
    }

    /// Buffers for as many threads as the machine runs at once
    /// ([`std::thread::available_parallelism`], 1 if unknown).
    pub fn available() -> Self {
        Self::start(available_parallelism())
    }

    /// As [`new`](Self::new), for a number of threads already checked.
    fn start(threads: usize) -> Self {
        let pool = (threads > 1)
            .then(|| {
                rayon_core::ThreadPoolBuilder::new()
                    .num_threads(threads - 1)
                    .thread_name(|t| format!("nn-data-parallel-{t}"))
                    .build()
                    .ok()
            })
            .flatten();
        let helpers = if pool.is_some() { threads - 1 } else { 0 };
        Self {
            workspace: Workspace::new(),
            helpers: (0..helpers)
                .map(|k| Helper {
                    // Each thread's dropout masks from a seed of its own, so that the samples
                    // at the same place in two chunks are not dropped alike.
                    workspace: {
                        let mut ws = Workspace::new();
                        ws.set_seed(k as u64 + 1);
                        ws
                    },
                    grads: N::zeros(),
                    loss: None,
                })
                .collect(),
            pool,
            min_chunk: Self::DEFAULT_MIN_CHUNK,
        }
    }

    /// The number of threads a large batch is split across.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// The smallest chunk, in samples, that gets a thread of its own.
    pub fn min_chunk(&self) -> usize {
        self.min_chunk
    }

    /// Sets the smallest chunk that gets a thread of its own (0 counts as 1).
    pub fn set_min_chunk(&mut self, samples: usize) {
        self.min_chunk = samples.max(1);
    }

    /// The number of threads a batch of `n` samples is split across: as many as give each at
    /// least [`min_chunk`](Self::min_chunk) samples, at least one, at most
    /// [`threads`](Self::threads).
    pub fn threads_for(&self, n: usize) -> usize {
        (n / self.min_chunk).clamp(1, self.threads())
    }

    /// The gradient of the mean `loss` over a batch, as [`Trainable::gradient_batch`], computed on
    /// [`threads_for`](Self::threads_for)`(inputs.len())` threads; returns the mean loss.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyBatch`] for no samples, [`Error::BatchMismatch`] if `targets` does not
    /// have one row per input.
    pub fn gradient_batch<L>(
        &mut self,
        network: &N,
        loss: L,
        inputs: &[N::Input],
        targets: &[N::Output],
        grads: &mut N,
    ) -> Result<f32, Error>
    where
        N: Trainable<L, Scalar = f32> + Send + Sync,
        N::Input: Sync,
        N::Output: Sync,
        L: Copy + Send,
    {
        let n = check_batch(inputs.len(), targets.len())?;
        let threads = self.threads_for(n);
        let Some(pool) = self.pool.as_ref().filter(|_| threads > 1) else {
            return network.gradient_batch(loss, inputs, targets, grads, &mut self.workspace);
        };
        // Chunk t holds samples bounds(t)..bounds(t + 1): sizes differ by at most one.
        let bounds = |t: usize| t * n / threads;
        let helpers = &mut self.helpers[..threads - 1];
        let workspace = &mut self.workspace;
        // The helpers' chunks go to the pool's workers; the calling thread runs the first
        // chunk meanwhile, and the scope ends when every chunk is done. A panic in a chunk
        // is raised again here, after the others finished.
        let pending = AtomicUsize::new(helpers.len());
        let pending = &pending;
        let first = pool.in_place_scope(|scope| {
            for (h, helper) in helpers.iter_mut().enumerate() {
                let (lo, hi) = (bounds(h + 1), bounds(h + 2));
                let (x, y) = (&inputs[lo..hi], &targets[lo..hi]);
                scope.spawn(move |_| {
                    helper.loss = Some(network.gradient_batch(
                        loss,
                        x,
                        y,
                        &mut helper.grads,
                        &mut helper.workspace,
                    ));
                    pending.fetch_sub(1, Ordering::Release);
                });
            }
            let end = bounds(1);
            let started = Instant::now();
            let first =
                network.gradient_batch(loss, &inputs[..end], &targets[..end], grads, workspace);
            // Wait for the helpers by spinning, for as long as this thread's own chunk took,
            // before the end of the scope puts this thread to sleep: a helper's chunk takes
            // about as long, and waking a sleeping thread cost tens of microseconds on the
            // benchmark machine (a VM).
            let patience = started.elapsed();
            let waiting = Instant::now();
            while pending.load(Ordering::Acquire) > 0 {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
                if waiting.elapsed() > patience {
                    break;
                }
            }
            first
        });

        // Weighted sum of the chunks' means, in chunk order.
        let weight = |t: usize| (bounds(t + 1) - bounds(t)) as f32 / n as f32;
        let mut mean_loss = weight(0) * first?;
        for p in grads.parameters_mut() {
            for g in p.iter_mut() {
                *g *= weight(0);
            }
        }
        for (h, helper) in helpers.iter_mut().enumerate() {
            let w = weight(h + 1);
            let chunk_loss = helper
                .loss
                .take()
                .expect("the scope ran every helper's chunk");
            mean_loss += w * chunk_loss?;
            for (p, q) in grads.parameters_mut().zip(helper.grads.parameters()) {
                for (g, &x) in p.iter_mut().zip(q) {
                    *g += w * x;
                }
            }
        }
        Ok(mean_loss)
    }
}

impl<N: Network<Scalar = f32>> Default for DataParallel<N> {
    /// As [`DataParallel::available`].
    fn default() -> Self {
        Self::available()
    }
}

impl<N: Network<Scalar = f32>> core::fmt::Debug for DataParallel<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DataParallel")
            .field("threads", &self.threads())
            .field("min_chunk", &self.min_chunk)
            .finish()
    }
}
