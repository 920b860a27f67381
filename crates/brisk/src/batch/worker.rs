//! The task that forms batches, and the tasks that run them.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::BatchError;
use super::metrics::Stats;

/// The batch function with its error type erased to its message.
pub(super) type BatchFn<I, O> =
    Arc<dyn Fn(Vec<I>) -> BoxFuture<'static, Result<Vec<O>, String>> + Send + Sync>;

/// One waiting call.
pub(super) struct Request<I, O> {
    pub(super) input: I,
    pub(super) enqueued: Instant,
    /// Set once, by whoever gets there first: the worker when it puts the input in a batch
    /// that starts, or the caller when it goes away. Whoever sets it releases the queue slot.
    pub(super) claim: Arc<AtomicBool>,
    pub(super) reply: oneshot::Sender<Result<O, BatchError>>,
}

impl<I, O> Request<I, O> {
    /// The caller went away before its batch started.
    fn abandoned(&self) -> bool {
        self.claim.load(Ordering::Acquire)
    }
}

/// Everything the worker task owns. It holds no handle, so it ends when the last handle
/// (the last sender) is dropped.
pub(super) struct Worker<I, O> {
    pub(super) rx: mpsc::UnboundedReceiver<Request<I, O>>,
    pub(super) batch_fn: BatchFn<I, O>,
    pub(super) max_batch_size: usize,
    pub(super) max_wait: Duration,
    pub(super) concurrency: usize,
    pub(super) stats: Arc<Stats>,
}

impl<I: Send + 'static, O: Send + 'static> Worker<I, O> {
    pub(super) async fn run(mut self) {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut pending: Vec<Request<I, O>> = Vec::with_capacity(self.max_batch_size.min(1024));
        let mut open = true;
        while open || !pending.is_empty() {
            if open {
                open = self.gather(&mut pending).await;
            }
            if pending.is_empty() {
                continue;
            }
            // Wait for a free batch slot; calls keep queueing meanwhile and top up the batch.
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            if open {
                open = self.top_up(&mut pending);
            }
            let batch: Vec<Request<I, O>> =
                pending.drain(..).filter(|r| !r.claim.swap(true, Ordering::AcqRel)).collect();
            if batch.is_empty() {
                continue;
            }
            self.stats.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            self.stats.batch_started(batch.len());
            tokio::spawn(run_batch(self.batch_fn.clone(), batch, permit, self.stats.clone()));
        }
    }

    /// Fills `pending` until it holds `max_batch_size` live calls or the first of them has
    /// waited `max_wait`. Returns whether the channel is still open.
    async fn gather(&mut self, pending: &mut Vec<Request<I, O>>) -> bool {
        loop {
            if !self.top_up(pending) {
                return false;
            }
            if pending.len() >= self.max_batch_size {
                return true;
            }
            let Some(first) = pending.first() else {
                match self.rx.recv().await {
                    Some(request) => push_live(pending, request),
                    None => return false,
                }
                continue;
            };
            let Some(deadline) = first.enqueued.checked_add(self.max_wait) else {
                // A wait too long to represent: only the batch size flushes.
                match self.rx.recv().await {
                    Some(request) => push_live(pending, request),
                    None => return false,
                }
                continue;
            };
            tokio::select! {
                // Calls already queued go into this batch before the deadline is looked at.
                biased;
                request = self.rx.recv() => match request {
                    Some(request) => push_live(pending, request),
                    None => return false,
                },
                () = tokio::time::sleep_until(deadline) => {
                    // The first call may have gone away: the deadline is the first live one's.
                    pending.retain(|r| !r.abandoned());
                    let now = Instant::now();
                    let due = |r: &Request<I, O>| r.enqueued.checked_add(self.max_wait).is_some_and(|d| d <= now);
                    if pending.first().is_some_and(due) {
                        return true;
                    }
                }
            }
        }
    }

    /// Takes calls already queued, without waiting, until `pending` holds `max_batch_size` live
    /// calls; calls whose caller went away give up their place. Returns whether the channel is
    /// still open.
    fn top_up(&mut self, pending: &mut Vec<Request<I, O>>) -> bool {
        loop {
            while pending.len() < self.max_batch_size {
                match self.rx.try_recv() {
                    Ok(request) => push_live(pending, request),
                    Err(TryRecvError::Empty) => return true,
                    Err(TryRecvError::Disconnected) => return false,
                }
            }
            let before = pending.len();
            pending.retain(|r| !r.abandoned());
            if pending.len() == before {
                return true;
            }
        }
    }
}

fn push_live<I, O>(pending: &mut Vec<Request<I, O>>, request: Request<I, O>) {
    if !request.abandoned() {
        pending.push(request);
    }
}

/// Runs one batch and answers each of its callers.
async fn run_batch<I, O>(
    batch_fn: BatchFn<I, O>,
    batch: Vec<Request<I, O>>,
    permit: OwnedSemaphorePermit,
    stats: Arc<Stats>,
) {
    // Releases the batch slot and the in-flight count even if this task is cancelled.
    let _running = Running { _permit: permit, stats: &stats };
    let (inputs, replies): (Vec<I>, Vec<_>) = batch.into_iter().map(|r| (r.input, r.reply)).unzip();
    let expected = inputs.len();
    // Calling the function is inside the guarded future too, so a panic there is caught.
    let outcome = AssertUnwindSafe(async move { batch_fn(inputs).await }).catch_unwind().await;
    let error = match outcome {
        Ok(Ok(outputs)) if outputs.len() == expected => {
            for (reply, output) in replies.into_iter().zip(outputs) {
                answer(&stats, reply, Ok(output));
            }
            return;
        }
        Ok(Ok(outputs)) => BatchError::WrongOutputCount { expected, got: outputs.len() },
        Ok(Err(message)) => BatchError::Failed(message.into()),
        Err(_panic) => BatchError::Panicked,
    };
    stats.failed_batches.fetch_add(1, Ordering::Relaxed);
    tracing::error!(target: "brisk::batch", batch_size = expected, error = %error, "batch failed");
    for reply in replies {
        answer(&stats, reply, Err(error.clone()));
    }
}

fn answer<O>(stats: &Stats, reply: oneshot::Sender<Result<O, BatchError>>, result: Result<O, BatchError>) {
    if reply.send(result).is_err() {
        // The caller went away after its batch started: its result goes nowhere, quietly.
        stats.discarded.fetch_add(1, Ordering::Relaxed);
    }
}

struct Running<'a> {
    _permit: OwnedSemaphorePermit,
    stats: &'a Stats,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
