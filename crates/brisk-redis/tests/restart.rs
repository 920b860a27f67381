//! A private Redis killed and started again under the same clients: meanwhile requests that
//! need Redis answer 503 with `Retry-After` and others 200; afterwards everything works again
//! without a new client, and a subscriber sees a gap, then new messages.

mod common;

use std::time::Duration;

use brisk::cache::{Cache, ResponseCache};
use brisk::http::StatusCode;
use brisk::prelude::*;
use brisk::pubsub::{Broker, Delivery};
use brisk::rate_limit::{Quota, RateLimitStore};
use brisk::sessions::SessionStore;
use brisk::testing::TestClient;
use brisk_redis::Redis;
use common::PrivateRedis;
use futures_util::StreamExt;

async fn count(cache: Cache) -> Result<String> {
    Ok(cache.incr("visits", 1).await?.to_string())
}

async fn plain() -> &'static str {
    "no Redis needed"
}

/// A cached page: each answer made (not served from the cache) has the next number.
async fn page(State(made): State<std::sync::Arc<std::sync::atomic::AtomicUsize>>) -> String {
    format!("page {}", made.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
}

/// `/cached`'s status, `X-Cache` and body.
async fn cached(app: &TestClient) -> (StatusCode, Option<String>, String) {
    let res = app.get("/cached").send().await;
    (res.status(), res.header("x-cache").map(str::to_owned), res.text())
}

fn retry_after(e: &brisk::Error) -> Option<String> {
    e.headers().and_then(|h| h.get("retry-after")).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Calls `attempt` until it succeeds, at most ~15 s (Redis is back; the clients reconnect).
async fn until_ok<T, F, Fut>(mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = brisk::Result<T>>,
{
    for _ in 0..300 {
        if let Ok(value) = attempt().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("still failing 15 s after Redis came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_the_same_clients() {
    let mut server = PrivateRedis::start().await;
    let redis = Redis::new(&server.url())
        .expect("URL")
        .with_prefix("restart:")
        .with_retry_after(Duration::from_secs(2));
    let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = TestClient::new(
        App::new()
            .install(redis.clone())
            .with_state(made.clone())
            .route("/count", post(count))
            .route("/plain", get(plain))
            .route("/cached", get(page).layer(ResponseCache::new(Duration::from_secs(60)))),
    );
    let limits = redis.rate_limits();
    let sessions = redis.sessions();
    let broker = redis.broker();
    let publisher = Redis::new(&server.url()).expect("URL").with_prefix("restart:").broker();
    let quota = Quota::new(100, Duration::from_secs(60));

    // Up: everything works; the page is made once, then served from Redis.
    assert_eq!(app.post("/count").send().await.text(), "1");
    assert_eq!(cached(&app).await, (StatusCode::OK, Some("MISS".into()), "page 1".into()));
    assert_eq!(cached(&app).await, (StatusCode::OK, Some("HIT".into()), "page 1".into()));
    assert!(limits.check("k", quota).await.expect("check").allowed);
    let mut sub = broker.subscribe("events").await.expect("subscribe");
    publisher.publish("events", "before".into()).await.expect("publish");
    let first = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("delivered");
    assert_eq!(first, Some(Delivery::Message("before".into())));

    server.kill();

    // Down: what needs Redis answers 503 with Retry-After; the rest keeps working.
    let res = app.post("/count").send().await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header("retry-after"), Some("2"));
    assert_eq!(app.get("/plain").send().await.status(), StatusCode::OK);
    // The response cache is skipped, not a failure: the page is made afresh each time, with
    // no `X-Cache` (the layer could not look).
    assert_eq!(cached(&app).await, (StatusCode::OK, None, "page 2".into()));
    assert_eq!(cached(&app).await, (StatusCode::OK, None, "page 3".into()));
    let e = limits.check("k", quota).await.expect_err("no limit without Redis");
    assert_eq!((e.status(), retry_after(&e).as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("2")));
    let e = sessions.load("AAAAAAAAAAAAAAAAAAAAAA").await.expect_err("no sessions without Redis");
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    let e = publisher.publish("events", "lost".into()).await.expect_err("no publishing without Redis");
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    let e = redis.ping().await.expect_err("not ready");
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Still down on a second try (the reconnection keeps failing, quickly).
    assert_eq!(app.post("/count").send().await.status(), StatusCode::SERVICE_UNAVAILABLE);

    server.restart().await;

    // Back: the same clients work again (the data is gone: the server keeps none).
    let visits = until_ok(|| async {
        let res = app.post("/count").send().await;
        if res.status() == StatusCode::OK {
            Ok(res.text())
        } else {
            Err(brisk::Error::from_status(res.status()))
        }
    })
    .await;
    assert_eq!(visits, "1");
    // The cache fills again (the restarted server kept nothing): made once more, then a hit.
    assert_eq!(cached(&app).await, (StatusCode::OK, Some("MISS".into()), "page 4".into()));
    assert_eq!(cached(&app).await, (StatusCode::OK, Some("HIT".into()), "page 4".into()));
    assert!(until_ok(|| limits.check("k", quota)).await.allowed);
    assert!(until_ok(|| sessions.load("AAAAAAAAAAAAAAAAAAAAAA")).await.is_none());
    until_ok(|| redis.ping()).await;

    // The subscriber is told it may have missed messages, then gets the new ones.
    let gap =
        tokio::time::timeout(Duration::from_secs(15), sub.next()).await.expect("a gap once reconnected");
    assert_eq!(gap, Some(Delivery::Gap));
    until_ok(|| publisher.publish("events", "after".into())).await;
    let after = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("delivered");
    assert_eq!(after, Some(Delivery::Message("after".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answered_fails_fast_and_subscribing_waits_for_nothing() {
    // A port nothing listens on.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let redis = Redis::new(&format!("redis://127.0.0.1:{port}")).expect("URL");
    let e = redis.cache().get::<String>("x").await.expect_err("nothing there");
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    let e = redis.broker().subscribe("x").await.err().expect("no subscription without Redis");
    assert_eq!((e.status(), retry_after(&e).as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_hangs_answers_503_after_the_timeout_then_works_again() {
    let server = PrivateRedis::start().await;
    let redis = Redis::new(&server.url())
        .expect("URL")
        .with_timeouts(Duration::from_millis(200), Duration::from_millis(300));
    let cache = redis.cache();
    cache.set("k", &1, None).await.expect("set");
    server.signal("STOP");
    let e = cache.get::<i32>("k").await.expect_err("a frozen server answers nothing");
    assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&e).is_some());
    server.signal("CONT");
    assert_eq!(until_ok(|| cache.get::<i32>("k")).await, Some(1), "the same client works again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_load_gives_only_successes_and_503s() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let mut server = PrivateRedis::start().await;
    let redis = Redis::new(&server.url()).expect("URL");
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, unavailable, other) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for n in 0..16 {
        let (cache, limits) = (redis.cache(), redis.rate_limits());
        let (stop, ok, unavailable, other) = (stop.clone(), ok.clone(), unavailable.clone(), other.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let outcome = if n % 2 == 0 {
                    cache.incr("load", 1).await.map(|_| ())
                } else {
                    limits
                        .check(&format!("k{n}"), Quota::new(1_000_000, Duration::from_secs(1)))
                        .await
                        .map(|_| ())
                };
                let counter = match outcome {
                    Ok(()) => &ok,
                    Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE && retry_after(&e).is_some() => {
                        &unavailable
                    }
                    Err(_) => &other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }));
    }
    until_ok(|| async {
        if ok.load(Ordering::Relaxed) > 100 {
            Ok(())
        } else {
            Err(brisk::Error::not_found())
        }
    })
    .await;
    server.kill();
    until_ok(|| async {
        if unavailable.load(Ordering::Relaxed) > 100 {
            Ok(())
        } else {
            Err(brisk::Error::not_found())
        }
    })
    .await;
    server.restart().await;
    let before = ok.load(Ordering::Relaxed);
    until_ok(|| async {
        if ok.load(Ordering::Relaxed) > before + 100 {
            Ok(())
        } else {
            Err(brisk::Error::not_found())
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("no worker panicked");
    }
    assert_eq!(other.load(Ordering::Relaxed), 0, "only successes and 503s with Retry-After");
}
