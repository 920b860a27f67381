//! Sessions over a real socket: typed data, changed-only saving, `cycle_id`, `flush`, the idle
//! timeout and absolute lifetime (on a manual clock), the signed cookie store (tampering, key
//! rotation, the size limit), the cookie's flags, and flash messages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use brisk::csrf::{Csrf, CsrfToken};
use brisk::handler::BoxFuture;
use brisk::http::request::Parts;
use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::{
    CookieStore, Level, ManualClock, MemoryStore, Record, SecureCookies, Session, SessionConfig, SessionId,
    SessionStore,
};
use brisk::testing::{TestClient, TestResponse};
use serde_json::{json, Value};

const KEY: &str = "a test key that is long enough: 0123456789";
const OLD_KEY: &str = "the key before the rotation, also long enough";

fn key() -> SecretKey {
    SecretKey::new(KEY).unwrap()
}

/// A memory store that counts its writes.
#[derive(Clone, Default)]
struct Counting {
    inner: MemoryStore,
    saves: Arc<AtomicUsize>,
    deletes: Arc<AtomicUsize>,
}

impl Counting {
    fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
}

impl SessionStore for Counting {
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, brisk::Result<Option<Record>>> {
        self.inner.load(cookie)
    }
    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, brisk::Result<String>> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(record)
    }
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, brisk::Result<()>> {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(id)
    }
}

async fn set(session: Session, Path((key, value)): Path<(String, String)>) -> Result<&'static str> {
    session.insert(&key, value)?;
    Ok("set")
}

async fn read(session: Session, Path(key): Path<String>) -> Result<Json<Option<String>>> {
    Ok(Json(session.get::<String>(&key)?))
}

async fn read_number(session: Session, Path(key): Path<String>) -> Result<Json<Option<u32>>> {
    Ok(Json(session.get::<u32>(&key)?))
}

async fn remove(session: Session, Path(key): Path<String>) -> Result<Json<Option<String>>> {
    Ok(Json(session.remove::<String>(&key)?))
}

async fn count(session: Session) -> Result<Json<u32>> {
    let n = session.get::<u32>("n")?.unwrap_or(0) + 1;
    session.insert("n", n)?;
    Ok(Json(n))
}

async fn keys(session: Session) -> Json<Vec<String>> {
    Json(session.keys())
}

async fn flush(session: Session) -> &'static str {
    session.flush();
    "flushed"
}

async fn cycle(session: Session) -> Json<Value> {
    let before = session.id().map(|id| id.as_str().to_owned());
    session.cycle_id();
    Json(json!({ "before": before }))
}

async fn untouched() -> &'static str {
    "no session here"
}

async fn big(session: Session) -> (StatusCode, String) {
    match session.insert("blob", "x".repeat(5000)) {
        Ok(()) => (StatusCode::OK, "kept".into()),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn many_flashes(session: Session) -> &'static str {
    for _ in 0..10 {
        session.flash(Level::INFO, "y".repeat(500));
    }
    "flashed"
}

async fn flash(session: Session) -> &'static str {
    session.flash("success", "Saved.");
    session.flash(Level::ERROR, "But the mail did not go out.");
    "ok"
}

async fn messages(session: Session) -> Json<Value> {
    let flashes = session.take_flashes();
    Json(json!(flashes
        .iter()
        .map(|f| json!({"level": f.level.as_str(), "message": f.message}))
        .collect::<Vec<_>>()))
}

/// What synchronous code (a template context processor) sees of a session nothing loaded.
async fn unloaded(parts: Parts) -> String {
    let loaded = Session::loaded(&parts.extensions).is_some();
    let token_refused = parts.extensions.get::<Session>().map(|s| CsrfToken::for_session(s).is_err());
    format!("{loaded} {token_refused:?}")
}

async fn loaded(session: Session, parts: Parts) -> String {
    let same = Session::loaded(&parts.extensions).map(|s| s.get::<String>("a").ok().flatten());
    format!("{} {same:?}", session.is_loaded())
}

fn app(config: SessionConfig) -> App {
    App::new()
        .sessions(config)
        // These tests are about sessions; the CSRF check has tests of its own.
        .csrf(Csrf::disabled())
        .route("/set/{key}/{value}", get(set))
        .route("/get/{key}", get(read))
        .route("/number/{key}", get(read_number))
        .route("/remove/{key}", get(remove))
        .route("/count", get(count))
        .route("/keys", get(keys))
        .route("/flush", get(flush))
        .route("/cycle", get(cycle))
        .route("/untouched", get(untouched))
        .route("/big", get(big))
        .route("/many-flashes", get(many_flashes))
        .route("/flash", get(flash))
        .route("/messages", get(messages))
        .route("/unloaded", get(unloaded))
        .route("/loaded", get(loaded))
}

/// The `Set-Cookie` headers of a response.
fn set_cookies(res: &TestResponse) -> Vec<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect()
}

/// `name=value` of the one session cookie the response sets.
fn cookie(res: &TestResponse) -> String {
    let cookies = set_cookies(res);
    assert_eq!(cookies.len(), 1, "expected one Set-Cookie, got {cookies:?}");
    cookies[0].split(';').next().unwrap_or_default().to_owned()
}

async fn get_with(client: &TestClient, path: &str, cookie: &str) -> TestResponse {
    client.get(path).header("cookie", cookie).send().await
}

#[tokio::test]
async fn typed_get_insert_remove() {
    let client = TestClient::serve(app(SessionConfig::new(key()).store(MemoryStore::new()))).await;
    let res = client.get("/set/color/blue").send().await;
    assert_eq!(res.status(), 200);
    let c = cookie(&res);
    assert!(c.starts_with("session="), "{c}");
    assert_eq!(get_with(&client, "/get/color", &c).await.json::<Value>(), json!("blue"));
    assert_eq!(get_with(&client, "/get/size", &c).await.json::<Value>(), json!(null));
    // Asking for the wrong type is the code's mistake: a 500, not garbage.
    assert_eq!(get_with(&client, "/number/color", &c).await.status(), 500);
    // Counters keep their type across requests.
    for expected in 1..=3 {
        assert_eq!(get_with(&client, "/count", &c).await.json::<u32>(), expected);
    }
    let res = get_with(&client, "/remove/color", &c).await;
    assert_eq!(res.json::<Value>(), json!("blue"));
    assert_eq!(get_with(&client, "/get/color", &c).await.json::<Value>(), json!(null));
    assert_eq!(get_with(&client, "/keys", &c).await.json::<Vec<String>>(), vec!["n".to_owned()]);
}

#[tokio::test]
async fn only_changes_are_saved() {
    let store = Counting::default();
    let client = TestClient::serve(app(SessionConfig::new(key()).store(store.clone()))).await;
    // No session used: no cookie, no write, no Vary.
    let res = client.get("/untouched").send().await;
    assert!(set_cookies(&res).is_empty());
    assert!(res.header("vary").is_none());
    // Read but empty: nothing either.
    let res = client.get("/keys").send().await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(res.header("vary"), Some("Cookie"));
    assert_eq!(store.saves(), 0);

    let c = cookie(&client.get("/set/a/1").send().await);
    assert_eq!(store.saves(), 1);
    // Read, unchanged: no Set-Cookie, no write.
    let res = get_with(&client, "/get/a", &c).await;
    assert!(set_cookies(&res).is_empty(), "{:?}", set_cookies(&res));
    // The same value again is no change.
    let res = get_with(&client, "/set/a/1", &c).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(store.saves(), 1);
    // A new value is.
    let res = get_with(&client, "/set/a/2", &c).await;
    assert_eq!(cookie(&res), c, "a server-side session keeps its id");
    assert_eq!(store.saves(), 2);
}

#[tokio::test]
async fn cycle_id_keeps_the_data_under_a_new_id() {
    let store = MemoryStore::new();
    let client = TestClient::serve(app(SessionConfig::new(key()).store(store.clone()))).await;
    let old = cookie(&client.get("/set/user/alice").send().await);
    let res = get_with(&client, "/cycle", &old).await;
    let new = cookie(&res);
    assert_ne!(new, old);
    assert_eq!(res.json::<Value>()["before"], json!(old.trim_start_matches("session=")));
    assert_eq!(get_with(&client, "/get/user", &new).await.json::<Value>(), json!("alice"));
    // The old id no longer works, and only the new session is stored.
    assert_eq!(get_with(&client, "/get/user", &old).await.json::<Value>(), json!(null));
    assert_eq!(store.len(), 1);
    let id = SessionId::parse(new.trim_start_matches("session=")).unwrap();
    assert!(store.get(&id).is_some());
}

#[tokio::test]
async fn flush_deletes_the_session_and_its_cookie() {
    let store = MemoryStore::new();
    let client = TestClient::serve(app(SessionConfig::new(key()).store(store.clone()))).await;
    let c = cookie(&client.get("/set/user/alice").send().await);
    let res = get_with(&client, "/flush", &c).await;
    let expired = set_cookies(&res);
    assert_eq!(expired.len(), 1);
    assert!(expired[0].starts_with("session=;"), "{expired:?}");
    assert!(expired[0].contains("Max-Age=0"), "{expired:?}");
    assert!(store.is_empty());
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!(null));
}

#[tokio::test]
async fn idle_timeout_on_a_manual_clock() {
    let clock = ManualClock::new();
    let store = Counting::default();
    let config = SessionConfig::new(key())
        .store(store.clone())
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(100));
    let client = TestClient::serve(app(config)).await;
    let res = client.get("/set/user/alice").send().await;
    assert!(set_cookies(&res)[0].contains("Max-Age=100"), "{:?}", set_cookies(&res));
    let c = cookie(&res);

    // Used after 60 s: still there, and its deadline moves (one write, a fresh Max-Age).
    clock.advance(Duration::from_secs(60));
    let res = get_with(&client, "/get/user", &c).await;
    assert_eq!(res.json::<Value>(), json!("alice"));
    assert!(set_cookies(&res)[0].contains("Max-Age=100"), "{:?}", set_cookies(&res));
    assert_eq!(store.saves(), 2);
    // Used again within a hundredth of the timeout: no write.
    let res = get_with(&client, "/get/user", &c).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(store.saves(), 2);

    // 60 s more is 120 s after it was created, 60 s after it was last used: alive.
    clock.advance(Duration::from_secs(60));
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("alice"));

    // Unused for more than 100 s: empty, its stale cookie expired, its record deleted.
    clock.advance(Duration::from_secs(101));
    let res = get_with(&client, "/get/user", &c).await;
    assert_eq!(res.json::<Value>(), json!(null));
    assert!(set_cookies(&res)[0].contains("Max-Age=0"));
    assert!(store.inner.is_empty());
}

#[tokio::test]
async fn absolute_lifetime_ends_a_busy_session() {
    let clock = ManualClock::new();
    let config = SessionConfig::new(key())
        .store(MemoryStore::new())
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(100))
        .absolute_lifetime(Some(Duration::from_secs(150)));
    let client = TestClient::serve(app(config)).await;
    let c = cookie(&client.get("/set/user/alice").send().await);
    clock.advance(Duration::from_secs(90));
    let res = get_with(&client, "/get/user", &c).await;
    assert_eq!(res.json::<Value>(), json!("alice"));
    // The deadline moved, but not past the absolute lifetime: 150 - 90 s left.
    assert!(set_cookies(&res)[0].contains("Max-Age=60"), "{:?}", set_cookies(&res));
    clock.advance(Duration::from_secs(50));
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("alice"));
    clock.advance(Duration::from_secs(20));
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!(null));
}

#[tokio::test]
async fn memory_store_removes_expired_sessions() {
    let store = MemoryStore::new();
    let clock = ManualClock::new();
    let config = SessionConfig::new(key())
        .store(store.clone())
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(10));
    let client = TestClient::serve(app(config)).await;
    for _ in 0..3 {
        client.get("/set/a/b").send().await;
    }
    assert_eq!(store.len(), 3);
    assert_eq!(store.delete_expired(SystemTime::now()).await.unwrap(), 0);
    assert_eq!(store.delete_expired(clock.now_plus(Duration::from_secs(11))).await.unwrap(), 3);
    assert!(store.is_empty());
}

trait NowPlus {
    fn now_plus(&self, by: Duration) -> SystemTime;
}

impl NowPlus for ManualClock {
    fn now_plus(&self, by: Duration) -> SystemTime {
        brisk::sessions::Clock::now(self) + by
    }
}

#[tokio::test]
async fn cookie_store_round_trip_and_tampering() {
    // The cookie store is the default without a database.
    let client = TestClient::serve(app(SessionConfig::new(key()))).await;
    let c = cookie(&client.get("/set/user/alice").send().await);
    assert!(c.len() > 60, "the data travels in the cookie: {c}");
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("alice"));
    // Flip one character of the payload, then of the signature: an empty session, never a 500.
    let value = c.trim_start_matches("session=");
    for at in [2, value.len() - 3] {
        let mut bytes = value.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let forged = format!("session={}", String::from_utf8(bytes).unwrap());
        let res = get_with(&client, "/get/user", &forged).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>(), json!(null));
        // The bad cookie is expired.
        assert!(set_cookies(&res)[0].contains("Max-Age=0"));
    }
    for junk in ["session=", "session=garbage", "session=a.b.c", "session=%FF%FE"] {
        let res = get_with(&client, "/get/user", junk).await;
        assert_eq!(res.status(), 200, "{junk}");
        assert_eq!(res.json::<Value>(), json!(null), "{junk}");
    }
}

#[tokio::test]
async fn cookie_store_key_rotation() {
    let old = TestClient::serve(app(SessionConfig::new(SecretKey::new(OLD_KEY).unwrap()))).await;
    let c = cookie(&old.get("/set/user/alice").send().await);
    // Rotated: the new key signs, the old one still verifies.
    let rotated = SecretKey::new(KEY).unwrap().with_fallbacks([OLD_KEY]).unwrap();
    let client = TestClient::serve(app(SessionConfig::new(rotated))).await;
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("alice"));
    let resigned = cookie(&get_with(&client, "/set/user/bob", &c).await);
    // Once the fallback is dropped, old cookies stop working; new ones keep working.
    let client = TestClient::serve(app(SessionConfig::new(key()))).await;
    assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!(null));
    assert_eq!(get_with(&client, "/get/user", &resigned).await.json::<Value>(), json!("bob"));
}

#[tokio::test]
async fn cookie_store_size_limit() {
    let config = SessionConfig::new(key()).store(CookieStore::new(&key()).max_cookie_bytes(2048));
    let client = TestClient::serve(app(config)).await;
    // Refused where the handler sees it ...
    let res = client.get("/big").send().await;
    assert_eq!(res.status(), 500);
    assert!(res.text().contains("does not fit in its cookie"), "{}", res.text());
    assert!(res.text().contains("DatabaseStore"), "{}", res.text());
    assert!(set_cookies(&res).is_empty());
    // ... and at write, for what grew past the limit without a check (flash messages): the
    // answer is a 500, not a success whose session silently vanished.
    let res = client.get("/many-flashes").send().await;
    assert_eq!(res.status(), 500);
    assert!(set_cookies(&res).is_empty());
}

#[tokio::test]
async fn cookie_flags_follow_https() {
    let plain = TestClient::serve(app(SessionConfig::new(key()).store(MemoryStore::new()))).await;
    let res = plain.get("/set/a/b").header("x-forwarded-proto", "https").send().await;
    let set = &set_cookies(&res)[0];
    assert!(set.starts_with("session="), "an untrusted X-Forwarded-Proto changes nothing: {set}");
    assert!(
        set.contains("; Path=/") && set.contains("; HttpOnly") && set.contains("; SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");

    let proxied = TestClient::serve(app(SessionConfig::new(key())
        .store(MemoryStore::new())
        .trust_forwarded_proto(true)))
    .await;
    let res = proxied.get("/set/a/b").header("x-forwarded-proto", "https").send().await;
    let set = &set_cookies(&res)[0];
    assert!(set.starts_with("__Host-session="), "{set}");
    assert!(set.ends_with("; HttpOnly; SameSite=Lax; Secure"), "{set}");
    // The secure cookie is read back under its prefixed name.
    let c = set.split(';').next().unwrap().to_owned();
    let res = proxied.get("/get/a").header("x-forwarded-proto", "https").header("cookie", &c).send().await;
    assert_eq!(res.json::<Value>(), json!("b"));
    // Over plain HTTP there, no secure cookie.
    let res = proxied.get("/set/a/b").send().await;
    assert!(set_cookies(&res)[0].starts_with("session="));

    let always = TestClient::serve(app(SessionConfig::new(key())
        .store(MemoryStore::new())
        .secure(SecureCookies::Always)
        .domain("example.com")))
    .await;
    let set = &set_cookies(&always.get("/set/a/b").send().await)[0];
    assert!(set.starts_with("__Secure-session="), "{set}");
    assert!(set.contains("; Domain=example.com") && set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn flash_messages_are_shown_once() {
    let client = TestClient::serve(app(SessionConfig::new(key()).store(MemoryStore::new()))).await;
    let c = cookie(&client.get("/flash").send().await);
    let res = get_with(&client, "/messages", &c).await;
    assert_eq!(
        res.json::<Value>(),
        json!([{"level": "success", "message": "Saved."}, {"level": "error", "message": "But the mail did not go out."}])
    );
    // Taking them emptied the session, so its cookie goes.
    let after = cookie(&res);
    assert_eq!(after, "session=");
    assert_eq!(get_with(&client, "/messages", &c).await.json::<Value>(), json!([]));
}

#[tokio::test]
async fn session_without_sessions_enabled_is_a_clear_500() {
    let client = TestClient::new(App::new().route("/keys", get(keys)));
    let res = client.get("/keys").send().await;
    assert_eq!(res.status(), 500);
}

#[tokio::test]
async fn synchronous_code_sees_only_a_loaded_session() {
    let client = TestClient::serve(app(SessionConfig::new(key()).store(MemoryStore::new()))).await;
    let c = cookie(&client.get("/set/a/b").send().await);
    assert_eq!(get_with(&client, "/unloaded", &c).await.text(), "false Some(true)");
    assert_eq!(get_with(&client, "/loaded", &c).await.text(), "true Some(Some(\"b\"))");
}
