//! Micro-batching: `brisk::batch::Batcher`.
//!
//! Most tests run on the test's current-thread runtime and start their calls together with
//! `join_all`, which enqueues every call in one poll before the worker runs: how the calls
//! fall into batches then depends on the batch size alone, not on how loaded the machine is.
//! Every wait is bounded by a timeout so that a bug fails a test instead of hanging it.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brisk::batch::{BatchError, Batcher};
use brisk::error::ErrorKind;
use brisk::http::header::RETRY_AFTER;
use brisk::prelude::*;
use brisk::testing::TestClient;
use futures_util::future::{join_all, poll_immediate};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Long enough that a test never reaches it unless it means to.
const FOREVER: Duration = Duration::from_secs(60);

/// Every batch the batch function was called with, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Vec<u32>>>>);

impl Log {
    fn record(&self, inputs: &[u32]) {
        self.0.lock().expect("log lock").push(inputs.to_vec());
    }

    fn batches(&self) -> Vec<Vec<u32>> {
        self.0.lock().expect("log lock").clone()
    }
}

/// A batcher whose batch function multiplies by 10 and records each batch.
fn tenfold(max_batch_size: usize, max_wait: Duration) -> (Batcher<u32, u32>, Log) {
    let log = Log::default();
    let recorder = log.clone();
    let batcher = Batcher::new(max_batch_size, max_wait, move |xs: Vec<u32>| {
        recorder.record(&xs);
        async move { Ok::<_, Infallible>(xs.into_iter().map(|x| x * 10).collect()) }
    });
    (batcher, log)
}

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(10), future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within 10 s"),
    }
}

async fn call_all(
    batcher: &Batcher<u32, u32>,
    inputs: impl IntoIterator<Item = u32>,
) -> Vec<Result<u32, BatchError>> {
    bounded("the calls", join_all(inputs.into_iter().map(|x| batcher.call(x)))).await
}

#[tokio::test]
async fn n_concurrent_calls_with_batch_size_b_make_ceil_n_over_b_batch_calls() {
    for (n, b) in [(10usize, 4usize), (8, 4), (1, 4), (5, 10), (7, 1), (12, 5)] {
        let (batcher, log) = tenfold(b, Duration::from_millis(20));
        let results = call_all(&batcher, 0..n as u32).await;
        // Each caller gets the output of its own input.
        for (x, result) in results.into_iter().enumerate() {
            assert_eq!(result, Ok(x as u32 * 10), "n={n} b={b}");
        }
        let batches = log.batches();
        assert_eq!(batches.len(), n.div_ceil(b), "n={n} b={b}: {batches:?}");
        assert!(batches.iter().all(|batch| batch.len() <= b), "n={n} b={b}: {batches:?}");
        // Inputs reach the batch function once each, in the order of the calls.
        assert_eq!(batches.concat(), (0..n as u32).collect::<Vec<_>>());

        let metrics = batcher.metrics();
        assert_eq!(metrics.batches, n.div_ceil(b) as u64);
        assert_eq!(metrics.items, n as u64);
        let mut sizes = BTreeMap::new();
        for batch in &batches {
            *sizes.entry(batch.len()).or_insert(0) += 1;
        }
        assert_eq!(metrics.batch_sizes, sizes, "n={n} b={b}");
    }
}

#[tokio::test]
async fn a_full_batch_runs_without_waiting_for_max_wait() {
    let (batcher, log) = tenfold(4, FOREVER);
    let results = call_all(&batcher, 0..8).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(log.batches(), [vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
}

#[tokio::test]
async fn max_wait_flushes_a_partial_batch() {
    let max_wait = Duration::from_millis(50);
    let (batcher, log) = tenfold(100, max_wait);

    let started = Instant::now();
    let results = call_all(&batcher, [1, 2, 3]).await;
    let waited = started.elapsed();
    assert_eq!(results, [Ok(10), Ok(20), Ok(30)]);
    assert!(waited >= max_wait, "flushed after {waited:?}, before max_wait");
    assert_eq!(log.batches(), [vec![1, 2, 3]]);

    // A lone call later is a batch of its own, after max_wait again.
    let started = Instant::now();
    assert_eq!(bounded("a lone call", batcher.call(4)).await, Ok(40));
    assert!(started.elapsed() >= max_wait);
    assert_eq!(log.batches(), [vec![1, 2, 3], vec![4]]);
    assert_eq!(batcher.metrics().batch_sizes, BTreeMap::from([(1, 1), (3, 1)]));
}

#[tokio::test]
async fn a_failed_batch_fails_its_own_callers_only() {
    let batcher = Batcher::new(3, Duration::from_millis(20), |xs: Vec<u32>| async move {
        if xs.contains(&4) {
            Err(format!("model crashed on {xs:?}"))
        } else {
            Ok(xs.into_iter().map(|x| x + 100).collect())
        }
    });
    let results = call_all(&batcher, 0..9).await;
    for (x, result) in results.into_iter().enumerate() {
        match x {
            3..=5 => assert_eq!(result, Err(BatchError::Failed("model crashed on [3, 4, 5]".into()))),
            _ => assert_eq!(result, Ok(x as u32 + 100)),
        }
    }
    let metrics = batcher.metrics();
    assert_eq!((metrics.batches, metrics.failed_batches, metrics.items), (3, 1, 9));

    // In a handler the failure is a 500 whose cause stays on the server.
    let error = Error::from(BatchError::Failed("model crashed".into()));
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(matches!(error.kind(), ErrorKind::Internal(_)));

    // The batcher keeps working after a failed batch.
    assert_eq!(bounded("a call after the failure", batcher.call(7)).await, Ok(107));
}

#[tokio::test]
async fn a_wrong_number_of_outputs_fails_every_caller_of_the_batch() {
    // One output too few for the batch starting at 0, one too many for the others.
    let batcher = Batcher::new(3, Duration::from_millis(20), |xs: Vec<u32>| async move {
        let n = if xs.first() == Some(&0) { xs.len() - 1 } else { xs.len() + 1 };
        Ok::<_, Infallible>(vec![7u32; n])
    });
    let results = call_all(&batcher, 0..6).await;
    for (x, result) in results.into_iter().enumerate() {
        let got = if x < 3 { 2 } else { 4 };
        assert_eq!(result, Err(BatchError::WrongOutputCount { expected: 3, got }), "caller {x}");
    }
    let metrics = batcher.metrics();
    assert_eq!((metrics.batches, metrics.failed_batches), (2, 2));
    assert_eq!(Error::from(BatchError::WrongOutputCount { expected: 3, got: 2 }).status(), 500);
}

#[tokio::test]
async fn a_panicking_batch_function_fails_its_callers_and_the_batcher_keeps_working() {
    let batcher = Batcher::new(2, Duration::from_millis(20), |xs: Vec<u32>| {
        assert!(!xs.contains(&13), "unlucky batch");
        async move { Ok::<_, Infallible>(xs) }
    });
    assert_eq!(call_all(&batcher, [12, 13]).await, [Err(BatchError::Panicked), Err(BatchError::Panicked)]);
    assert_eq!(call_all(&batcher, [1, 2]).await, [Ok(1), Ok(2)]);
    let metrics = batcher.metrics();
    assert_eq!((metrics.batches, metrics.failed_batches, metrics.in_flight), (2, 1, 0));
}

#[tokio::test]
async fn a_caller_that_leaves_before_the_worker_sees_it_never_reaches_the_batch_function() {
    let (batcher, log) = tenfold(3, FOREVER);
    // Call with 3, poll it once (it is queued), then go away.
    let mut leaver = Box::pin(batcher.call(3));
    assert!(poll_immediate(&mut leaver).await.is_none());
    assert_eq!(batcher.metrics().queued, 1);
    drop(leaver);
    assert_eq!((batcher.metrics().queued, batcher.metrics().dropped), (0, 1));

    // Its place goes to the next call: 1, 2 and 4 fill the batch of 3.
    let results = call_all(&batcher, [1, 2, 4]).await;
    assert_eq!(results, [Ok(10), Ok(20), Ok(40)]);
    assert_eq!(log.batches(), [vec![1, 2, 4]]);
    let metrics = batcher.metrics();
    assert_eq!((metrics.items, metrics.dropped, metrics.discarded), (3, 1, 0));
}

#[tokio::test]
async fn a_caller_that_leaves_while_its_batch_is_forming_gives_up_its_place() {
    let (batcher, log) = tenfold(3, FOREVER);
    let first = tokio::spawn({
        let batcher = batcher.clone();
        async move { batcher.call(1).await }
    });
    let mut leaver = Box::pin(batcher.call(3));
    assert!(poll_immediate(&mut leaver).await.is_none());
    // Let the worker take both into the batch it is forming (and wait for more).
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(batcher.metrics().queued, 2);
    drop(leaver);
    assert_eq!((batcher.metrics().queued, batcher.metrics().dropped), (1, 1));

    let rest = call_all(&batcher, [2, 4]).await;
    assert_eq!(rest, [Ok(20), Ok(40)]);
    assert_eq!(bounded("the first call", first).await.expect("join"), Ok(10));
    assert_eq!(log.batches(), [vec![1, 2, 4]]);
    assert_eq!(batcher.metrics().batch_sizes, BTreeMap::from([(3, 1)]));
}

#[tokio::test]
async fn a_caller_that_leaves_after_its_batch_started_has_its_output_discarded() {
    let started = Arc::new(Notify::new());
    let finish = Arc::new(Notify::new());
    let log = Log::default();
    let batcher = Batcher::new(2, FOREVER, {
        let (started, finish, log) = (started.clone(), finish.clone(), log.clone());
        move |xs: Vec<u32>| {
            log.record(&xs);
            let (started, finish) = (started.clone(), finish.clone());
            async move {
                started.notify_one();
                finish.notified().await;
                Ok::<_, Infallible>(xs.into_iter().map(|x| x * 10).collect())
            }
        }
    });
    let mut leaver = Box::pin(batcher.call(3));
    assert!(poll_immediate(&mut leaver).await.is_none());
    let stayer = tokio::spawn({
        let batcher = batcher.clone();
        async move { batcher.call(1).await }
    });
    bounded("the batch start", started.notified()).await;
    assert_eq!(batcher.metrics().in_flight, 1);
    drop(leaver);
    finish.notify_one();
    assert_eq!(bounded("the staying call", stayer).await.expect("join"), Ok(10));

    assert_eq!(log.batches(), [vec![3, 1]]);
    let metrics = batcher.metrics();
    assert_eq!((metrics.items, metrics.dropped, metrics.discarded), (2, 0, 1));
}

#[tokio::test]
async fn a_full_queue_refuses_calls_with_overloaded_which_is_a_503_with_retry_after() {
    let (batcher, log) = tenfold(10, Duration::from_millis(50));
    let batcher = batcher.with_queue_limit(2).with_retry_after(Duration::from_secs(3));
    let mut first = Box::pin(batcher.call(1));
    let mut second = Box::pin(batcher.call(2));
    assert!(poll_immediate(&mut first).await.is_none());
    assert!(poll_immediate(&mut second).await.is_none());

    // Refused at once, without waiting for the queue to drain.
    let refused = batcher.call(3).await;
    assert_eq!(refused, Err(BatchError::Overloaded { retry_after: Duration::from_secs(3) }));
    let error = Error::from(refused.expect_err("overloaded"));
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after = error.headers().and_then(|h| h.get(RETRY_AFTER)).and_then(|v| v.to_str().ok());
    assert_eq!(retry_after, Some("3"));

    // The queued calls are served; then there is room again.
    assert_eq!(bounded("the queued calls", async { (first.await, second.await) }).await, (Ok(10), Ok(20)));
    assert_eq!(bounded("a call after the queue drained", batcher.call(4)).await, Ok(40));
    assert_eq!(log.batches(), [vec![1, 2], vec![4]]);
    let metrics = batcher.metrics();
    assert_eq!((metrics.calls, metrics.items, metrics.overloaded, metrics.queued), (4, 3, 1, 0));
}

#[tokio::test]
async fn a_queue_limit_of_zero_refuses_every_call() {
    let (batcher, log) = tenfold(4, Duration::from_millis(1));
    let batcher = batcher.with_queue_limit(0);
    for x in 0..3 {
        assert!(matches!(batcher.call(x).await, Err(BatchError::Overloaded { .. })));
    }
    assert!(log.batches().is_empty());
    assert_eq!(batcher.metrics().overloaded, 3);
}

/// A batch function that sleeps a little and records how many batches ran at once.
fn overlapping(concurrency: Option<usize>) -> (Batcher<u32, u32>, Arc<AtomicUsize>) {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let batcher = Batcher::new(2, Duration::from_millis(10), {
        let most = most.clone();
        move |xs: Vec<u32>| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Infallible>(xs)
            }
        }
    });
    let batcher = match concurrency {
        Some(k) => batcher.with_concurrency(k),
        None => batcher,
    };
    (batcher, most)
}

#[tokio::test]
async fn batches_run_one_at_a_time_unless_concurrency_allows_more() {
    let (one_at_a_time, most) = overlapping(None);
    let results = call_all(&one_at_a_time, 0..8).await;
    assert_eq!(results, (0..8).map(Ok).collect::<Vec<_>>());
    assert_eq!(most.load(Ordering::SeqCst), 1);
    assert_eq!(one_at_a_time.metrics().batches, 4);

    let (three_at_a_time, most) = overlapping(Some(3));
    let results = call_all(&three_at_a_time, 0..12).await;
    assert_eq!(results, (0..12).map(Ok).collect::<Vec<_>>());
    assert_eq!(most.load(Ordering::SeqCst), 3);
    assert_eq!(three_at_a_time.metrics().batches, 6);
}

#[tokio::test]
async fn metrics_add_up() {
    let batcher = Batcher::new(4, Duration::from_millis(20), |xs: Vec<u32>| async move {
        if xs.contains(&99) {
            Err("no 99s")
        } else {
            Ok(xs)
        }
    })
    .with_queue_limit(5);
    // Six calls at once: five are queued, the sixth is refused; batches of 4 and 1.
    let results = call_all(&batcher, 0..6).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5);
    assert!(matches!(results[5], Err(BatchError::Overloaded { .. })));
    // One caller goes away.
    let mut leaver = Box::pin(batcher.call(50));
    assert!(poll_immediate(&mut leaver).await.is_none());
    drop(leaver);
    // One batch fails.
    assert!(matches!(bounded("the failing call", batcher.call(99)).await, Err(BatchError::Failed(_))));

    let m = batcher.metrics();
    assert_eq!(m.calls, 8);
    assert_eq!((m.items, m.dropped, m.overloaded, m.discarded), (6, 1, 1, 0));
    assert_eq!(m.calls, m.items + m.dropped + m.overloaded);
    assert_eq!((m.batches, m.failed_batches), (3, 1));
    assert_eq!(m.batch_sizes, BTreeMap::from([(1, 2), (4, 1)]));
    assert_eq!(m.batches, m.batch_sizes.values().sum::<u64>());
    assert_eq!(m.items, m.batch_sizes.iter().map(|(size, n)| *size as u64 * n).sum::<u64>());
    assert_eq!((m.queued, m.in_flight), (0, 0));
    assert_eq!(m.mean_batch_size(), 2.0);
}

#[test]
fn a_batcher_is_built_without_a_runtime_and_its_worker_ends_with_the_last_handle() {
    let alive = Arc::new(());
    let batcher = Batcher::new(2, Duration::from_millis(5), {
        let alive = alive.clone();
        move |xs: Vec<u32>| {
            let _ = &alive;
            async move { Ok::<_, Infallible>(xs) }
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    runtime.block_on(async {
        let other = batcher.clone();
        assert_eq!(call_all(&batcher, [1, 2, 3]).await, [Ok(1), Ok(2), Ok(3)]);
        assert_eq!(bounded("a call from a clone", other.call(4)).await, Ok(4));
        // The batch function is held by the worker only.
        assert_eq!(Arc::strong_count(&alive), 2);
        drop(other);
        drop(batcher);
        bounded("the worker's end", async {
            while Arc::strong_count(&alive) > 1 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
    });
}

// Over a real socket: the batcher as app state behind routes.

#[derive(Clone)]
struct Doubler(Batcher<u32, u32>);

#[derive(Clone)]
struct Busy(Batcher<u32, u32>);

#[derive(Clone)]
struct Broken(Batcher<u32, u32>);

async fn double(State(Doubler(batcher)): State<Doubler>, Json(x): Json<u32>) -> Result<Json<u32>> {
    Ok(Json(batcher.call(x).await?))
}

async fn busy(State(Busy(batcher)): State<Busy>, Json(x): Json<u32>) -> Result<Json<u32>> {
    Ok(Json(batcher.call(x).await?))
}

async fn broken(State(Broken(batcher)): State<Broken>, Json(x): Json<u32>) -> Result<Json<u32>> {
    Ok(Json(batcher.call(x).await?))
}

#[tokio::test]
async fn over_a_socket_concurrent_requests_share_batches_and_errors_map_to_503_and_500() {
    // A max_wait far above how far apart ten local requests arrive, so only the size splits
    // them: ceil(10 / 4) = 3 batch calls (the last one after max_wait).
    let log = Log::default();
    let doubler = Batcher::new(4, Duration::from_secs(1), {
        let log = log.clone();
        move |xs: Vec<u32>| {
            log.record(&xs);
            async move { Ok::<_, Infallible>(xs.into_iter().map(|x| x * 2).collect()) }
        }
    });
    let (busy_batcher, _) = tenfold(4, Duration::from_millis(1));
    let broken_batcher = Batcher::new(4, Duration::from_millis(1), |_: Vec<u32>| async {
        Err::<Vec<u32>, _>("secret model path /models/x.bin is missing")
    });
    let app = App::new()
        .route("/double", post(double))
        .route("/busy", post(busy))
        .route("/broken", post(broken))
        .with_state(Doubler(doubler.clone()))
        .with_state(Busy(busy_batcher.with_queue_limit(0).with_retry_after(Duration::from_secs(2))))
        .with_state(Broken(broken_batcher));
    let client = TestClient::serve(app).await;

    let responses =
        bounded("ten requests", join_all((0..10u32).map(|x| client.post("/double").json(&x).send()))).await;
    for (x, res) in responses.iter().enumerate() {
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<u32>(), x as u32 * 2);
    }
    let batches = log.batches();
    assert_eq!(batches.len(), 3, "{batches:?}");
    let mut seen = batches.concat();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert_eq!(doubler.metrics().batches, 3);

    let res = bounded("the busy request", client.post("/busy").json(&1).send()).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.header("retry-after"), Some("2"));
    assert_eq!(res.json::<Value>(), json!({"detail": "Server busy, retry later"}));

    let res = bounded("the broken request", client.post("/broken").json(&1).send()).await;
    assert_eq!(res.status(), 500);
    assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));
    assert!(!res.text().contains("secret"));
    client.shutdown().await;
}
