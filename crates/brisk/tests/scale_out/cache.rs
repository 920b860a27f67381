use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk::cache::{Cache, CacheBackend, MemoryCache, ResponseCache};
use brisk::prelude::*;
use brisk::response::{Event, Sse};
use brisk::testing::TestClient;

#[tokio::test]
async fn values_expire_after_their_own_ttl() {
    let cache = Cache::new(MemoryCache::new());
    cache.set("short", &1, Some(Duration::from_millis(300))).await.unwrap();
    cache.set("long", &2, Some(Duration::from_secs(60))).await.unwrap();
    cache.set("forever", &3, None).await.unwrap();
    assert_eq!(cache.get::<i32>("short").await.unwrap(), Some(1));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.get::<i32>("short").await.unwrap(), None);
    assert_eq!(cache.get::<i32>("long").await.unwrap(), Some(2));
    assert_eq!(cache.get::<i32>("forever").await.unwrap(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_adds_exactly_one_wins() {
    let cache = Cache::new(MemoryCache::new());
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.add("lock", &n, None).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
    assert!(!cache.add("lock", &0, None).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_incr_loses_no_update() {
    let cache = Cache::new(MemoryCache::new());
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.incr("hits", 1).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=300).collect::<Vec<i64>>(), "every increment saw its own value");
    assert_eq!(cache.get::<i64>("hits").await.unwrap(), Some(300));
    assert_eq!(cache.decr("hits", 100).await.unwrap(), 200);
}

#[tokio::test]
async fn incr_keeps_the_counters_expiry_and_refuses_a_non_integer() {
    let cache = Cache::new(MemoryCache::new());
    assert_eq!(cache.incr_with_ttl("window", 1, Duration::from_millis(300)).await.unwrap(), 1);
    // A later incr with a long TTL does not extend the window.
    assert_eq!(cache.incr_with_ttl("window", 1, Duration::from_secs(60)).await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.get::<i64>("window").await.unwrap(), None);
    cache.set("name", "alice", None).await.unwrap();
    let e = cache.incr("name", 1).await.unwrap_err();
    assert_eq!(e.status(), 500);
    assert_eq!(cache.get::<String>("name").await.unwrap().as_deref(), Some("alice"), "left as it was");
}

#[tokio::test]
async fn clear_removes_only_its_prefix_and_many_at_once_work() {
    let backend = Arc::new(MemoryCache::new());
    let ours = Cache::from_arc(backend.clone()).with_prefix("a:");
    let theirs = Cache::from_arc(backend.clone()).with_prefix("b:");
    ours.set_many(&[("x", 1), ("y", 2)], None).await.unwrap();
    theirs.set("x", &10, None).await.unwrap();
    assert_eq!(ours.get_many::<i32>(&["x", "nope", "y"]).await.unwrap(), [Some(1), None, Some(2)]);
    ours.clear().await.unwrap();
    assert_eq!(ours.get::<i32>("x").await.unwrap(), None);
    assert_eq!(theirs.get::<i32>("x").await.unwrap(), Some(10));
    assert!(theirs.delete("x").await.unwrap());
    assert!(!theirs.delete("x").await.unwrap());
    assert_eq!(backend.get("b:x").await.unwrap(), None);
}

#[tokio::test]
async fn a_small_cache_evicts_to_stay_within_its_bytes() {
    let cache = Cache::new(MemoryCache::with_max_bytes(10_000));
    let big = "x".repeat(1000);
    for n in 0..100 {
        cache.set(&format!("k{n}"), &big, None).await.unwrap();
    }
    let mut kept = 0;
    for n in 0..100 {
        kept += usize::from(cache.get::<String>(&format!("k{n}")).await.unwrap().is_some());
    }
    assert!(kept <= 10, "at most 10 values of 1 kB fit in 10 kB, {kept} kept");
}

async fn visits(cache: Cache) -> Result<String> {
    Ok(cache.incr("visits", 1).await?.to_string())
}

#[tokio::test]
async fn handlers_take_the_apps_cache_default_or_given() {
    let client = TestClient::new(App::new().route("/", post(visits)));
    client.post("/").send().await;
    assert_eq!(client.post("/").send().await.text(), "2", "a default cache, kept across requests");

    let shared = Cache::new(MemoryCache::new()).with_prefix("app:");
    shared.set("visits", &41, None).await.unwrap();
    let client = TestClient::new(App::new().cache(shared.clone()).route("/", post(visits)));
    assert_eq!(client.post("/").send().await.text(), "42");
    assert_eq!(shared.get::<i64>("visits").await.unwrap(), Some(42));
}

#[test]
fn unavailable_is_a_503_with_retry_after() {
    let e = brisk::cache::unavailable(Duration::from_millis(200));
    assert_eq!(e.status(), 503);
    assert_eq!(e.headers().unwrap()["retry-after"], "1");
}

#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

#[derive(Deserialize, JsonSchema, Validate)]
struct Flags {
    page: Option<u32>,
    cookie: Option<u8>,
    private: Option<u8>,
    vary: Option<u8>,
    missing: Option<u8>,
    big: Option<u8>,
}

async fn counted(State(calls): State<Calls>, Query(q): Query<Flags>) -> Response {
    let n = calls.0.fetch_add(1, Ordering::SeqCst) + 1;
    let mut res = format!("call {n} {:?}", q.page).into_response();
    if q.cookie.is_some() {
        res.headers_mut().insert("set-cookie", "a=b".parse().unwrap());
    }
    if q.private.is_some() {
        res.headers_mut().insert("cache-control", "private, max-age=60".parse().unwrap());
    }
    if q.vary.is_some() {
        res.headers_mut().insert("vary", "cookie".parse().unwrap());
    }
    if q.missing.is_some() {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    if q.big.is_some() {
        *res.body_mut() = brisk::body::Body::from("y".repeat(5000));
    }
    res
}

async fn stream() -> Sse<impl futures_util::Stream<Item = Event<u32>> + Send> {
    Sse::new(futures_util::stream::iter([Event::json(1)]))
}

fn cached_app(calls: &Calls) -> App {
    let pages = Router::new()
        .route("/page", get(counted).post(counted))
        .route("/events", get(stream))
        .layer(ResponseCache::new(Duration::from_secs(60)).vary_by(["accept-language"]).max_body(1000));
    App::new().with_state(calls.clone()).merge(pages)
}

#[tokio::test]
async fn a_get_is_answered_from_the_cache_the_second_time() {
    let calls = Calls::default();
    let client = TestClient::new(cached_app(&calls));
    let first = client.get("/page?page=1").send().await;
    assert_eq!(first.header("x-cache"), Some("MISS"));
    assert_eq!(first.header("age"), None);
    let second = client.get("/page?page=1").send().await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(second.header("age"), Some("0"));
    assert_eq!(second.text(), first.text());
    assert_eq!(second.header("content-type"), first.header("content-type"));
    assert_eq!(calls.0.load(Ordering::SeqCst), 1, "the handler ran once");
    let head = client.head("/page?page=1").send().await;
    assert_eq!(head.header("x-cache"), Some("HIT"), "HEAD shares GET's entry");
    assert!(head.bytes().is_empty());

    // Another query, another header value of the key: other entries.
    assert_eq!(client.get("/page?page=2").send().await.header("x-cache"), Some("MISS"));
    let french = client.get("/page?page=1").header("accept-language", "fr").send().await;
    assert_eq!(french.header("x-cache"), Some("MISS"));
    assert_eq!(calls.0.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn what_must_not_be_shared_is_not_cached() {
    let calls = Calls::default();
    let client = TestClient::new(cached_app(&calls));
    for query in ["cookie", "private", "vary", "missing", "big"] {
        let path = format!("/page?{query}=1");
        client.get(&path).send().await;
        let again = client.get(&path).send().await;
        assert_ne!(again.header("x-cache"), Some("HIT"), "{query} was cached");
    }
    assert_eq!(calls.0.load(Ordering::SeqCst), 10);
    // POST passes through, untouched.
    let posted = client.post("/page").send().await;
    assert_eq!(posted.header("x-cache"), None);
    // A stream is never buffered.
    let events = client.get("/events").send().await;
    assert_eq!(events.header("x-cache"), Some("MISS"));
    assert!(events.text().contains("data: 1"));
    assert_eq!(client.get("/events").send().await.header("x-cache"), Some("MISS"));
}

#[tokio::test]
async fn the_request_can_refuse_the_cache() {
    let calls = Calls::default();
    let client = TestClient::new(cached_app(&calls));
    client.get("/page").send().await;
    let no_store = client.get("/page").header("cache-control", "no-store").send().await;
    assert_eq!(no_store.header("x-cache"), None, "not looked up, not kept");
    assert_eq!(no_store.text(), "call 2 None");
    let refreshed = client.get("/page").header("cache-control", "no-cache").send().await;
    assert_eq!(refreshed.header("x-cache"), Some("MISS"));
    assert_eq!(refreshed.text(), "call 3 None");
    let hit = client.get("/page").send().await;
    assert_eq!(hit.text(), "call 3 None", "the refreshed answer was kept");
    let authorized = client.get("/page").header("authorization", "Bearer x").send().await;
    assert_eq!(authorized.text(), "call 4 None");
}

#[tokio::test]
async fn responses_are_kept_in_the_apps_cache() {
    let calls = Calls::default();
    let shared = Cache::new(MemoryCache::new()).with_prefix("site:");
    // Two "processes" sharing one cache: the second answers from what the first made.
    let one = TestClient::new(cached_app(&calls).cache(shared.clone()));
    let two = TestClient::new(cached_app(&calls).cache(shared.clone()));
    assert_eq!(one.get("/page").send().await.header("x-cache"), Some("MISS"));
    assert_eq!(two.get("/page").send().await.header("x-cache"), Some("HIT"));
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
    shared.clear().await.unwrap();
    assert_eq!(two.get("/page").send().await.header("x-cache"), Some("MISS"));
}

#[cfg(feature = "sessions")]
#[tokio::test]
async fn a_page_that_read_the_session_is_not_shared() {
    use brisk::sessions::{Session, SessionConfig};

    async fn greet(session: Session) -> Result<String> {
        Ok(format!("hello {:?}", session.get::<String>("name")?))
    }
    async fn plain() -> &'static str {
        "same for all"
    }
    let pages = Router::new()
        .route("/greet", get(greet))
        .route("/plain", get(plain))
        .layer(ResponseCache::new(Duration::from_secs(60)));
    let key = brisk::secret_key::SecretKey::generate().expect("a key");
    let config = SessionConfig::new(key).store(brisk::sessions::MemoryStore::new());
    let client =
        TestClient::new(App::new().sessions(config).csrf(brisk::csrf::Csrf::disabled()).merge(pages));
    client.get("/greet").send().await;
    assert_eq!(client.get("/greet").send().await.header("x-cache"), Some("MISS"));
    client.get("/plain").send().await;
    assert_eq!(client.get("/plain").send().await.header("x-cache"), Some("HIT"));
}

#[tokio::test]
async fn a_head_is_never_kept_so_a_later_get_gets_the_whole_body() {
    let calls = Calls::default();
    let client = TestClient::new(cached_app(&calls));
    let head = client.head("/page?page=9").send().await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("x-cache"), Some("MISS"));
    assert!(head.bytes().is_empty());
    let get = client.get("/page?page=9").send().await;
    assert_eq!(get.header("x-cache"), Some("MISS"), "the HEAD kept nothing");
    assert_eq!(get.text(), "call 2 Some(9)");
    let hit = client.get("/page?page=9").send().await;
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert_eq!(hit.text(), "call 2 Some(9)");
    // A HEAD after the GET is served from its entry, with the GET's length and no body.
    let head = client.head("/page?page=9").send().await;
    assert_eq!(head.header("x-cache"), Some("HIT"));
    assert_eq!(head.header("content-length"), Some("14"));
    assert!(head.bytes().is_empty());
    assert_eq!(calls.0.load(Ordering::SeqCst), 2);
}

fn app_wide(calls: &Calls, layer: ResponseCache) -> App {
    App::new().with_state(calls.clone()).route("/page", get(counted)).layer(layer)
}

#[tokio::test]
async fn an_app_wide_response_cache_keeps_responses_in_the_apps_cache() {
    let calls = Calls::default();
    let shared = Cache::new(MemoryCache::new()).with_prefix("wide:");
    let client =
        TestClient::new(app_wide(&calls, ResponseCache::new(Duration::from_secs(60))).cache(shared.clone()));
    assert_eq!(client.get("/page").send().await.header("x-cache"), Some("MISS"));
    let hit = client.get("/page").send().await;
    assert_eq!(hit.header("x-cache"), Some("HIT"), "an app-wide layer uses the app's cache");
    assert_eq!(hit.text(), "call 1 None");
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
    assert!(shared.backend().get("wide:resp:GET:/page").await.unwrap().is_some(), "kept in the app's cache");

    // Without `App::cache`, the app's default cache.
    let calls = Calls::default();
    let client = TestClient::new(app_wide(&calls, ResponseCache::new(Duration::from_secs(60))));
    client.get("/page").send().await;
    assert_eq!(client.get("/page").send().await.header("x-cache"), Some("HIT"));
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
    // A 404 goes through, not kept.
    client.get("/nope").send().await;
    assert_eq!(client.get("/nope").send().await.header("x-cache"), Some("MISS"));
}

#[tokio::test]
async fn an_app_wide_head_is_never_kept() {
    let calls = Calls::default();
    let given = Cache::new(MemoryCache::new());
    let client =
        TestClient::new(app_wide(&calls, ResponseCache::new(Duration::from_secs(60)).with_cache(given)));
    let head = client.head("/page").send().await;
    assert_eq!(head.status(), 200);
    assert!(head.bytes().is_empty());
    let get = client.get("/page").send().await;
    assert_eq!(get.text(), "call 2 None", "a GET after a HEAD gets the whole body");
    let hit = client.get("/page").send().await;
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert_eq!(hit.text(), "call 2 None");
    let head = client.head("/page").send().await;
    assert_eq!(head.header("x-cache"), Some("HIT"));
    assert_eq!(head.header("content-length"), Some("11"));
    assert!(head.bytes().is_empty());
}
