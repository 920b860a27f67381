//! Micro-batching for model inference: many concurrent calls, one batch function call.
//!
//! A model usually serves a batch of 32 inputs almost as fast as one. A [`Batcher`] gathers
//! the inputs of concurrent requests until it has `max_batch_size` of them or the first has
//! waited `max_wait`, runs one call of an async batch function, and gives each caller its own
//! output (or the batch's error). Callers that go away drop out; a bounded queue refuses
//! calls with a 503 instead of letting latency grow without limit; [`Batcher::metrics`]
//! tells how big the batches really are.
//!
//! ```
//! use std::time::Duration;
//! use brisk::batch::Batcher;
//! use brisk::prelude::*;
//!
//! /// A stand-in for a model: scores a whole batch of texts at once.
//! async fn score_batch(texts: Vec<String>) -> Result<Vec<usize>, std::convert::Infallible> {
//!     Ok(texts.iter().map(|t| t.len()).collect())
//! }
//!
//! async fn score(
//!     State(batcher): State<Batcher<String, usize>>,
//!     Json(text): Json<String>,
//! ) -> Result<Json<usize>> {
//!     // Overloaded becomes 503 with Retry-After; a failed batch a 500 (the cause is logged).
//!     Ok(Json(batcher.call(text).await?))
//! }
//!
//! let batcher = Batcher::new(32, Duration::from_millis(5), score_batch).with_queue_limit(1024);
//! let app = App::new().route("/score", post(score)).with_state(batcher);
//! ```

mod error;
mod metrics;
mod worker;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;

pub use error::BatchError;
pub use metrics::BatchMetrics;

use metrics::Stats;
use worker::{BatchFn, Request, Worker};

/// Gathers concurrent calls into batches for one async batch function.
///
/// - [`call`](Self::call) waits until `max_batch_size` calls are waiting, or `max_wait` has
///   passed since the first call of the batch, then the batch function runs once with all
///   their inputs and each caller gets the output at its input's position.
/// - If the batch function returns an error (or panics, or returns a different number of
///   outputs than it got inputs), every caller of that batch gets a [`BatchError`]; other
///   batches are not affected.
/// - A caller whose future is dropped before its batch starts leaves the batch: its input is
///   never passed to the batch function and its place goes to the next call. If the batch has
///   started, its output is thrown away.
/// - One batch runs at a time unless [`with_concurrency`](Self::with_concurrency) allows more;
///   calls keep queueing while batches run.
/// - [`with_queue_limit`](Self::with_queue_limit) bounds the calls waiting: beyond it `call`
///   fails at once with [`BatchError::Overloaded`], which answers 503 with `Retry-After`.
///
/// A `Batcher` is a cheap handle (an `Arc`): clone it, keep it in the app's state. Its worker
/// task starts on the Tokio runtime of the first call (so a `Batcher` can be built before the
/// runtime, as `brisk::run` apps do) and ends when the last handle is dropped; batches already
/// running finish.
///
/// ```
/// use std::time::Duration;
/// use brisk::batch::Batcher;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let double = Batcher::new(4, Duration::from_millis(5), |xs: Vec<u32>| async move {
///         Ok::<_, std::convert::Infallible>(xs.into_iter().map(|x| x * 2).collect())
///     });
///     // Six concurrent calls, batches of at most four: two batch calls, six answers.
///     let answers = futures_util::future::join_all((0..6).map(|x| double.call(x))).await;
///     let answers: Vec<u32> = answers.into_iter().map(|a| a.unwrap()).collect();
///     assert_eq!(answers, [0, 2, 4, 6, 8, 10]);
///
///     let metrics = double.metrics();
///     assert_eq!(metrics.batches, 2);
///     assert_eq!(metrics.batch_sizes.get(&4), Some(&1));
///     assert_eq!(metrics.batch_sizes.get(&2), Some(&1));
/// }
/// ```
pub struct Batcher<I, O> {
    inner: Arc<Inner<I, O>>,
}

struct Inner<I, O> {
    tx: mpsc::UnboundedSender<Request<I, O>>,
    /// The worker, until the first call starts it on its runtime.
    worker: Mutex<Option<Worker<I, O>>>,
    started: AtomicBool,
    queue_limit: AtomicUsize,
    retry_after_nanos: AtomicU64,
    stats: Arc<Stats>,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Batcher { inner: self.inner.clone() }
    }
}

impl<I, O> fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher").field("metrics", &self.metrics()).finish_non_exhaustive()
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher of at most `max_batch_size` inputs (at least 1) per call of `batch_fn`, which
    /// waits at most `max_wait` after the first call of a batch for more to come.
    ///
    /// `batch_fn` gets the inputs in the order the calls arrived and must return one output
    /// per input, in the same order. Its error only needs `Display` (a `brisk::Error`, any
    /// `std::error::Error`, a `String`): the message is logged and given to the callers as
    /// [`BatchError::Failed`], never sent to clients.
    ///
    /// Needs no runtime: the worker starts on the first [`call`](Self::call).
    pub fn new<F, Fut, E>(max_batch_size: usize, max_wait: Duration, batch_fn: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<O>, E>> + Send + 'static,
        E: fmt::Display,
    {
        let batch_fn: BatchFn<I, O> =
            Arc::new(move |inputs| batch_fn(inputs).map(|r| r.map_err(|e| e.to_string())).boxed());
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        let worker = Worker {
            rx,
            batch_fn,
            max_batch_size: max_batch_size.max(1),
            max_wait,
            concurrency: 1,
            stats: stats.clone(),
        };
        Batcher {
            inner: Arc::new(Inner {
                tx,
                worker: Mutex::new(Some(worker)),
                started: AtomicBool::new(false),
                queue_limit: AtomicUsize::new(usize::MAX),
                retry_after_nanos: AtomicU64::new(1_000_000_000),
                stats,
            }),
        }
    }

    /// Refuses calls with [`BatchError::Overloaded`] while `limit` calls are already waiting
    /// for a batch (running batches do not count). Unbounded by default.
    pub fn with_queue_limit(self, limit: usize) -> Self {
        self.inner.queue_limit.store(limit, Ordering::Relaxed);
        self
    }

    /// What the `Retry-After` header of an overload 503 says (whole seconds, rounded up, at
    /// least 1); 1 second by default.
    pub fn with_retry_after(self, retry_after: Duration) -> Self {
        let nanos = u64::try_from(retry_after.as_nanos()).unwrap_or(u64::MAX);
        self.inner.retry_after_nanos.store(nanos, Ordering::Relaxed);
        self
    }

    /// Lets up to `batches` (at least 1) batch function calls run at once; 1 by default.
    ///
    /// Takes effect only before the first call, which starts the worker.
    pub fn with_concurrency(self, batches: usize) -> Self {
        let mut worker = self.inner.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(worker) = worker.as_mut() {
            worker.concurrency = batches.clamp(1, Semaphore::MAX_PERMITS);
        }
        drop(worker);
        self
    }

    /// Adds `input` to the next batch and waits for its output.
    ///
    /// Fails at once with [`BatchError::Overloaded`] if the queue is full. Dropping the
    /// returned future before it completes takes the input out of its batch if that batch
    /// has not started yet.
    pub async fn call(&self, input: I) -> Result<O, BatchError> {
        let inner = &*self.inner;
        let stats = &*inner.stats;
        stats.calls.fetch_add(1, Ordering::Relaxed);
        inner.start()?;
        let limit = inner.queue_limit.load(Ordering::Relaxed);
        if stats.queued.fetch_add(1, Ordering::AcqRel) >= limit {
            stats.queued.fetch_sub(1, Ordering::AcqRel);
            stats.overloaded.fetch_add(1, Ordering::Relaxed);
            let retry_after = Duration::from_nanos(inner.retry_after_nanos.load(Ordering::Relaxed));
            return Err(BatchError::Overloaded { retry_after });
        }
        let claim = Arc::new(AtomicBool::new(false));
        let (reply, answer) = oneshot::channel();
        let ticket = Ticket { claim: claim.clone(), stats, waiting: true };
        let request = Request { input, enqueued: Instant::now(), claim, reply };
        if inner.tx.send(request).is_err() {
            ticket.release();
            return Err(BatchError::Closed);
        }
        let answer = answer.await;
        // Answered: the worker claimed the call. Not answered: the worker or its runtime is gone.
        ticket.release();
        answer.unwrap_or(Err(BatchError::Closed))
    }
}

impl<I, O> Batcher<I, O> {
    /// A snapshot of the counters: batches run, their sizes, items processed, callers that
    /// went away, calls refused.
    pub fn metrics(&self) -> BatchMetrics {
        self.inner.stats.snapshot()
    }
}

impl<I: Send + 'static, O: Send + 'static> Inner<I, O> {
    /// Starts the worker on the current runtime, once.
    fn start(&self) -> Result<(), BatchError> {
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut slot = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(worker) = slot.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(worker.run())),
                Err(_) => {
                    *slot = Some(worker);
                    return Err(BatchError::Closed);
                }
            }
        }
        self.started.store(true, Ordering::Release);
        Ok(())
    }
}

/// A call's place in the queue. Whoever sets `claim` first (the worker starting the batch,
/// or this ticket) gives the queue slot back; a ticket dropped while waiting is a caller that
/// went away.
struct Ticket<'a> {
    claim: Arc<AtomicBool>,
    stats: &'a Stats,
    waiting: bool,
}

impl Ticket<'_> {
    /// The call is over without its caller going away.
    fn release(mut self) {
        self.waiting = false;
        if !self.claim.swap(true, Ordering::AcqRel) {
            self.stats.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.waiting && !self.claim.swap(true, Ordering::AcqRel) {
            self.stats.queued.fetch_sub(1, Ordering::AcqRel);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
