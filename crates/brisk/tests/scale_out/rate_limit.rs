use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk::handler::BoxFuture;
use brisk::prelude::*;
use brisk::rate_limit::{Decision, MemoryRateLimits, Quota, RateLimit, RateLimitStore};
use brisk::testing::TestClient;

async fn ok() -> &'static str {
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_against_ten_a_minute_give_exactly_ten() {
    let app = App::new().route("/limited", get(ok).rate_limit(RateLimit::per_minute(10)));
    let client = Arc::new(TestClient::serve(app).await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let res = client.get("/limited").send().await;
                (res.status().as_u16(), res.header("retry-after").map(str::to_owned))
            })
        })
        .collect();
    let mut allowed = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            (200, None) => allowed += 1,
            (429, Some(after)) => {
                let secs: u64 = after.parse().expect("whole seconds");
                assert!((1..=6).contains(&secs), "one emission interval (6 s) at most, got {secs}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((allowed, refused), (10, 40));
}

#[tokio::test]
async fn every_limited_answer_carries_the_ratelimit_headers_and_a_refusal_is_brisks_error() {
    let app = App::new().route("/login", post(ok).rate_limit(RateLimit::per_minute(2).name("login")));
    let client = TestClient::new(app);
    let first = client.post("/login").send().await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.header("ratelimit-limit"), Some("2"));
    assert_eq!(first.header("ratelimit-remaining"), Some("1"));
    assert_eq!(first.header("ratelimit-reset"), Some("30"));
    assert_eq!(first.header("ratelimit-policy"), Some("2;w=60"));
    let second = client.post("/login").send().await;
    assert_eq!(second.header("ratelimit-remaining"), Some("0"));
    let refused = client.post("/login").send().await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.header("retry-after"), Some("30"));
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    assert_eq!(refused.header("ratelimit-reset"), Some("60"));
    assert_eq!(refused.json::<serde_json::Value>(), serde_json::json!({"detail": "Too Many Requests"}));
}

#[tokio::test]
async fn a_router_limit_is_one_budget_for_the_routes_added_before_it() {
    let api = Router::new()
        .route("/a", get(ok))
        .route("/b", get(ok))
        .rate_limit(RateLimit::per_minute(3))
        .route("/free", get(ok));
    let client = TestClient::new(App::new().merge(api));
    for path in ["/a", "/b", "/a"] {
        assert_eq!(client.get(path).send().await.status(), 200, "{path}");
    }
    assert_eq!(client.get("/b").send().await.status(), 429, "the routes share the budget");
    let free = client.get("/free").send().await;
    assert_eq!(free.status(), 200);
    assert_eq!(free.header("ratelimit-limit"), None, "added after the limit: not limited");
}

#[tokio::test]
async fn a_key_function_limits_each_key_apart_and_none_is_unlimited() {
    let limit = RateLimit::per_minute(1)
        .name("api")
        .key_by(|parts| parts.headers.get("x-api-key")?.to_str().ok().map(str::to_owned));
    let client = TestClient::new(App::new().route("/", get(ok).rate_limit(limit)));
    let with = |key: &'static str| client.get("/").header("x-api-key", key);
    assert_eq!(with("k1").send().await.status(), 200);
    assert_eq!(with("k1").send().await.status(), 429);
    assert_eq!(with("k2").send().await.status(), 200, "another key, another budget");
    for _ in 0..3 {
        let anonymous = client.get("/").send().await;
        assert_eq!(anonymous.status(), 200);
        assert_eq!(anonymous.header("ratelimit-limit"), None);
    }
}

#[tokio::test]
async fn a_trusted_proxy_header_keys_by_the_client_it_names() {
    let limit = RateLimit::per_minute(1).client_header("x-forwarded-for");
    let client = TestClient::serve(App::new().route("/", get(ok).rate_limit(limit))).await;
    let from = |ip: &'static str| client.get("/").header("x-forwarded-for", ip);
    assert_eq!(from("192.0.2.1").send().await.status(), 200);
    assert_eq!(from("192.0.2.1").send().await.status(), 429);
    assert_eq!(from("10.9.9.9, 192.0.2.2").send().await.status(), 200, "the proxy's (last) entry counts");
    // Without the header: the TCP peer, a key of its own.
    assert_eq!(client.get("/").send().await.status(), 200);
    assert_eq!(client.get("/").send().await.status(), 429);
    client.shutdown().await;
}

/// A store that counts its calls and refuses everything.
struct Counting(Arc<AtomicUsize>);

impl RateLimitStore for Counting {
    fn check<'a>(&'a self, key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        assert_eq!(key, "rl:named:unknown");
        self.0.fetch_add(1, Ordering::SeqCst);
        let refused = Decision {
            allowed: false,
            remaining: 0,
            retry_after: Duration::from_millis(2500),
            reset_after: Duration::from_secs(9),
        };
        Box::pin(async move { Ok(refused) })
    }

    fn peek<'a>(&'a self, _key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        unreachable!("a rate limit only checks")
    }

    fn refund<'a>(&'a self, _key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<(), Error>> {
        unreachable!("a rate limit only checks")
    }

    fn reset<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        unreachable!("a rate limit only checks")
    }
}

#[tokio::test]
async fn the_apps_store_is_found_when_the_request_comes_whatever_the_order() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = App::new()
        .route("/", get(ok).rate_limit(RateLimit::per_minute(100).name("named")))
        .rate_limit_store(Counting(calls.clone()));
    let client = TestClient::new(app);
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.header("retry-after"), Some("3"), "rounded up");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

struct Down;

impl RateLimitStore for Down {
    fn check<'a>(&'a self, _key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        Box::pin(async { Err(Error::internal("connection refused")) })
    }

    fn peek<'a>(&'a self, _key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        Box::pin(async { Err(Error::internal("connection refused")) })
    }

    fn refund<'a>(&'a self, _key: &'a str, _quota: Quota) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Err(Error::internal("connection refused")) })
    }

    fn reset<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Err(Error::internal("connection refused")) })
    }
}

#[tokio::test]
async fn a_store_that_fails_answers_503_with_retry_after_not_the_handler() {
    let client = TestClient::new(
        App::new().route("/", get(ok).rate_limit(RateLimit::per_second(5))).rate_limit_store(Down),
    );
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.header("retry-after"), Some("1"));
    assert_eq!(res.json::<serde_json::Value>()["detail"], "Service Unavailable");
}

#[tokio::test]
async fn limited_operations_document_the_429() {
    let app = App::new()
        .route("/limited", get(ok).rate_limit(RateLimit::per_minute(5)))
        .route("/open", get(ok))
        .rate_limit_store(MemoryRateLimits::new());
    let doc = serde_json::to_value(app.openapi().expect("document")).expect("json");
    assert!(doc["paths"]["/limited"]["get"]["responses"]["429"].is_object(), "{doc}");
    assert!(doc["paths"]["/open"]["get"]["responses"].get("429").is_none());
}
