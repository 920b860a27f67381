//! Counters a [`Batcher`](super::Batcher) keeps, and their snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// A snapshot of a [`Batcher`](super::Batcher)'s counters, from
/// [`Batcher::metrics`](super::Batcher::metrics).
///
/// Once the batcher is idle (no call waiting, no batch running) the counters add up:
///
/// - `calls == items + dropped + overloaded` (plus any calls that failed with
///   [`BatchError::Closed`](super::BatchError::Closed));
/// - `batches == batch_sizes.values().sum()`;
/// - `items == batch_sizes.iter().map(|(size, n)| size * n).sum()`.
///
/// While calls are in progress each counter is read on its own, so a snapshot may be a few
/// items apart between counters; `queued` counts the calls not yet in a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchMetrics {
    /// Calls made to [`Batcher::call`](super::Batcher::call), refused ones included.
    pub calls: u64,
    /// Calls of the batch function.
    pub batches: u64,
    /// Inputs passed to the batch function, over all batches.
    pub items: u64,
    /// Batches that failed as a whole: the batch function returned an error, the wrong number
    /// of outputs, or panicked.
    pub failed_batches: u64,
    /// How many batches had each size: `batch_sizes[&4] == 2` means two batches of 4 inputs.
    pub batch_sizes: BTreeMap<usize, u64>,
    /// Calls whose caller went away before their batch started: their input was never passed
    /// to the batch function.
    pub dropped: u64,
    /// Outputs (or errors) thrown away because their caller went away after the batch started.
    pub discarded: u64,
    /// Calls refused with [`BatchError::Overloaded`](super::BatchError::Overloaded).
    pub overloaded: u64,
    /// Now: calls accepted and not yet in a running batch.
    pub queued: usize,
    /// Now: batches running.
    pub in_flight: usize,
}

impl BatchMetrics {
    /// The mean number of inputs per batch, or 0 before the first batch.
    pub fn mean_batch_size(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.items as f64 / self.batches as f64
        }
    }
}

/// The live counters, shared by the handles, the worker and the running batches.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) calls: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) items: AtomicU64,
    pub(super) failed_batches: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) discarded: AtomicU64,
    pub(super) overloaded: AtomicU64,
    /// Calls admitted and not yet claimed by a batch (nor abandoned): what the queue limit bounds.
    pub(super) queued: AtomicUsize,
    pub(super) in_flight: AtomicUsize,
    sizes: Mutex<BTreeMap<usize, u64>>,
}

impl Stats {
    /// A batch of `size` inputs is about to run.
    pub(super) fn batch_started(&self, size: usize) {
        self.batches.fetch_add(1, Relaxed);
        self.items.fetch_add(size as u64, Relaxed);
        self.in_flight.fetch_add(1, Relaxed);
        // Once per batch, never held across an await: a plain mutex is cheap here.
        let mut sizes = self.sizes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *sizes.entry(size).or_insert(0) += 1;
    }

    pub(super) fn snapshot(&self) -> BatchMetrics {
        BatchMetrics {
            calls: self.calls.load(Relaxed),
            batches: self.batches.load(Relaxed),
            items: self.items.load(Relaxed),
            failed_batches: self.failed_batches.load(Relaxed),
            batch_sizes: self.sizes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
            dropped: self.dropped.load(Relaxed),
            discarded: self.discarded.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            queued: self.queued.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
        }
    }
}
