//! Data-parallel gradients: one batch split across threads, the gradients reduced.
//!
//! [`DataParallel::gradient_batch`] does what [`Train::gradient_batch`] does, on several cores:
//! the batch is cut into one contiguous chunk per thread, each thread runs the network's own
//! backprop on its chunk into its own [`Workspace`] and gradient buffer, and the chunks' mean
//! gradients are combined into the batch's, weighted by chunk size:
//!
//! `∂L/∂w = Σ_t (n_t / n)·∂L_t/∂w`, and the same for the mean loss,
//!
//! where chunk `t` holds `n_t` of the batch's `n` samples. The calling thread works on the first
//! chunk; the others run on threads of [`std::thread::scope`], started for the call and joined
//! before it returns, so nothing outlives it and the network is only borrowed.
//!
//! Starting a thread costs tens of microseconds and allocates (its stack and handle), so a batch
//! smaller than [`DataParallel::min_chunk`] samples a thread runs on the calling thread alone,
//! where it allocates nothing. The sum is the same mathematically but rounded differently from
//! the one-thread gradient (each chunk is a mean, then the means are weighted), so results
//! differ from [`Train::gradient_batch`] by f32 rounding; for a given batch and thread count
//! they are the same bits on every run.
//!
//! ```
//! use nn_core::{DataParallel, Network};
//! # use nn_core::{CrossEntropy, Train};
//! # fn demo<N: Train<CrossEntropy> + Send + Sync>(
//! #     net: &N, xs: &[N::Input], ys: &[N::Output],
//! # ) -> Result<(), nn_core::Error> where N::Input: Sync, N::Output: Sync {
//! let mut parallel = DataParallel::<N>::new(2);
//! let mut grads = N::zeros();
//! let loss = parallel.gradient_batch(net, CrossEntropy, xs, ys, &mut grads)?;
//! # let _ = loss; Ok(()) }
//! ```

use crate::error::Error;
use crate::network::{check_batch, Network, Train, Workspace};

/// The buffers of data-parallel training: a [`Workspace`] for each thread and a gradient for each
/// thread but the caller's. Make one and keep it across steps, like a workspace.
pub struct DataParallel<N> {
    /// The calling thread's workspace.
    workspace: Workspace<N>,
    /// The other threads' workspaces and gradients.
    helpers: Vec<(Workspace<N>, N)>,
    /// The smallest chunk worth a thread of its own.
    min_chunk: usize,
}

impl<N: Network> DataParallel<N> {
    /// The smallest chunk, in samples, that [`new`](Self::new) gives a thread of its own: below
    /// it, starting the thread (about 30 µs on the benchmark machine) costs more than it saves.
    /// Measured on the seminar's `784 -> 16 -> 16 -> 10` network on two cores (see
    /// BENCHMARKS.md): a batch of 256 split in two is no faster than on one thread, one of 512
    /// is about 1.5 times faster.
    pub const DEFAULT_MIN_CHUNK: usize = 256;

    /// Buffers for `threads` threads (the calling one included; 0 counts as 1).
    pub fn new(threads: usize) -> Self {
        Self {
            workspace: Workspace::new(),
            helpers: (1..threads)
                .map(|_| (Workspace::new(), N::zeros()))
                .collect(),
            min_chunk: Self::DEFAULT_MIN_CHUNK,
        }
    }

    /// Buffers for as many threads as the machine runs at once
    /// ([`std::thread::available_parallelism`], 1 if unknown).
    pub fn available() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
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

    /// The gradient of the mean `loss` over a batch, as [`Train::gradient_batch`], computed on
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
        N: Train<L> + Send + Sync,
        N::Input: Sync,
        N::Output: Sync,
        L: Copy + Send,
    {
        let n = check_batch(inputs.len(), targets.len())?;
        let threads = self.threads_for(n);
        if threads == 1 {
            return network.gradient_batch(loss, inputs, targets, grads, &mut self.workspace);
        }
        // Chunk t holds samples bounds(t)..bounds(t + 1): sizes differ by at most one.
        let bounds = |t: usize| t * n / threads;
        let helpers = &mut self.helpers[..threads - 1];
        let (first, helper_losses) = std::thread::scope(|scope| {
            let handles: Vec<_> = helpers
                .iter_mut()
                .enumerate()
                .map(|(h, (workspace, grads))| {
                    let (lo, hi) = (bounds(h + 1), bounds(h + 2));
                    let (x, y) = (&inputs[lo..hi], &targets[lo..hi]);
                    scope.spawn(move || network.gradient_batch(loss, x, y, grads, workspace))
                })
                .collect();
            let end = bounds(1);
            let first = network.gradient_batch(
                loss,
                &inputs[..end],
                &targets[..end],
                grads,
                &mut self.workspace,
            );
            let losses: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect();
            (first, losses)
        });

        // Weighted sum of the chunks' means, in chunk order.
        let weight = |t: usize| (bounds(t + 1) - bounds(t)) as f32 / n as f32;
        let mut mean_loss = weight(0) * first?;
        for p in grads.parameters_mut() {
            for g in p.iter_mut() {
                *g *= weight(0);
            }
        }
        for (h, ((_, helper), loss)) in helpers.iter().zip(helper_losses).enumerate() {
            let w = weight(h + 1);
            mean_loss += w * loss?;
            for (p, q) in grads.parameters_mut().zip(helper.parameters()) {
                for (g, &x) in p.iter_mut().zip(q) {
                    *g += w * x;
                }
            }
        }
        Ok(mean_loss)
    }
}

impl<N: Network> Default for DataParallel<N> {
    /// As [`DataParallel::available`].
    fn default() -> Self {
        Self::available()
    }
}

impl<N: Network> core::fmt::Debug for DataParallel<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DataParallel")
            .field("threads", &self.threads())
            .field("min_chunk", &self.min_chunk)
            .finish()
    }
}
