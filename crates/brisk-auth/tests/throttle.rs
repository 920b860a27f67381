//! Login throttling across two app instances sharing one database (two processes behind a
//! load balancer), on SQLite and on PostgreSQL: the 11th bad attempt is 429 with Retry-After,
//! a right password is refused too while blocked, and a success clears the username's count.
//! Then the throttle's counting itself, in the table on both databases and in a rate-limit
//! store: attempts made at once, refusals that cost nothing, what a success gives back, a
//! store that is down, IPv6 clients.

mod common;

use std::time::Duration;

use brisk::handler::BoxFuture;
use brisk::rate_limit::{Decision, MemoryRateLimits, Quota, RateLimitStore};
use brisk_auth::models::LoginFailure;
use brisk_auth::{Attempt, Counted, Throttle};
use brisk_orm::Model;
use common::{app_with, auth, databases, user, Browser};
use futures_util::future::join_all;
use serde_json::{json, Value};

#[tokio::test]
async fn the_eleventh_bad_attempt_is_refused_across_instances() {
    for test in databases().await {
        let db = test.database();
        user(&db, "gus", "gus's long passphrase").await;
        let mut one = Browser::new(app_with(&db, auth())).await;
        let mut two = Browser::new(app_with(&db, auth())).await;
        for attempt in 1..=10 {
            let browser = if attempt % 2 == 0 { &mut one } else { &mut two };
            let res = browser.login("gus", &format!("guess {attempt}")).await;
            assert_eq!(res.status(), 400, "attempt {attempt}");
        }
        for browser in [&mut one, &mut two] {
            let res = browser.login("gus", "guess 11").await;
            assert_eq!(res.status(), 429);
            assert_eq!(
                res.json::<Value>(),
                json!({"detail": "Too many failed login attempts; try again later"})
            );
            let retry: u64 =
                res.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
            assert!((1..=15 * 60).contains(&retry), "{retry}");
        }
        // While blocked, the right password is refused too (a guess cannot be confirmed).
        assert_eq!(one.login("gus", "gus's long passphrase").await.status(), 429);
        // Another name is not blocked (its address allows 100).
        user(&db, "hal", "hal's long passphrase").await;
        assert_eq!(one.login("hal", "hal's long passphrase").await.status(), 200);
        // Names are counted case-folded.
        assert_eq!(two.login("GUS", "guess").await.status(), 429);
    }
}

#[tokio::test]
async fn a_success_clears_the_username_count_and_limits_are_configurable() {
    for test in databases().await {
        let db = test.database();
        user(&db, "ida", "ida's long passphrase").await;
        let strict = Throttle { per_username: 2, ..Throttle::default() };
        let mut browser = Browser::new(app_with(&db, auth().throttle(strict))).await;
        assert_eq!(browser.login("ida", "no").await.status(), 400);
        assert_eq!(
            LoginFailure::objects().count(&db).await.expect("count"),
            2,
            "one per username, one per address"
        );
        assert_eq!(browser.login("ida", "ida's long passphrase").await.status(), 200);
        let keys: Vec<String> =
            LoginFailure::objects().all(&db).await.expect("rows").into_iter().map(|r| r.key).collect();
        assert!(keys.iter().all(|k| k.starts_with("addr:")), "the username's count is cleared: {keys:?}");
        assert_eq!(browser.login("ida", "no").await.status(), 400);
        assert_eq!(browser.login("ida", "no").await.status(), 400);
        assert_eq!(browser.login("ida", "no").await.status(), 429, "the limit of 2 holds");

        // Per address: one client guessing many names (counted afresh).
        LoginFailure::objects().delete(&db).await.expect("cleared");
        let per_address = Throttle { per_username: 0, per_address: 3, ..Throttle::default() };
        let mut guesser = Browser::new(app_with(&db, auth().throttle(per_address))).await;
        for name in ["a1", "a2", "a3"] {
            assert_eq!(guesser.login(name, "x").await.status(), 400);
        }
        assert_eq!(guesser.login("a4", "x").await.status(), 429);

        // Off: never refused.
        let mut free = Browser::new(app_with(&db, auth().throttle(Throttle::off()))).await;
        for _ in 0..12 {
            assert_eq!(free.login("ida", "no").await.status(), 400);
        }
    }
}

/// The failures counted per username in the table.
async fn name_counts(db: &brisk_orm::Database) -> Vec<i64> {
    counts(db, "user:").await
}

/// The failures counted in the table for keys starting with `prefix`.
async fn counts(db: &brisk_orm::Database, prefix: &str) -> Vec<i64> {
    let rows = LoginFailure::objects().all(db).await.expect("rows");
    rows.into_iter().filter(|r| r.key.starts_with(prefix)).map(|r| r.failures).collect()
}

/// What a counted attempt hands to `succeeded`.
fn counted(attempt: Attempt) -> Counted {
    match attempt {
        Attempt::Counted(counted) => counted,
        Attempt::Refused(wait) => panic!("refused for {wait:?}"),
    }
}

/// Where a throttle counts, for the tests below: each test database's table, and a rate-limit
/// store (the memory one; brisk-redis's is tested in its crate).
async fn counting_places(
    throttle: Throttle,
) -> Vec<(String, Throttle, Option<brisk_orm::testing::TestDatabase>)> {
    let mut places: Vec<_> = databases()
        .await
        .into_iter()
        .map(|test| (format!("{:?}", test.database().dialect()), throttle.clone(), Some(test)))
        .collect();
    places.push(("memory store".into(), throttle.in_store(MemoryRateLimits::new()), None));
    places
}

#[tokio::test]
async fn attempts_made_at_once_pass_at_most_the_limit() {
    // In the table (the memory store answers at once, nothing interleaves there; brisk-redis
    // tests its store the same way).
    for test in databases().await {
        let db = test.database();
        let throttle = Throttle { per_username: 5, per_address: 0, ..Throttle::default() };
        // Forty guesses at once: each is counted before its password would be checked, so no
        // more than the limit get through, however they interleave.
        let outcomes = join_all((0..40).map(|_| throttle.attempt(&db, "zed", None))).await;
        let passed = outcomes.iter().filter(|o| matches!(o, Ok(Attempt::Counted(_)))).count();
        let place = db.dialect();
        assert_eq!(passed, 5, "{place:?}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| o.is_ok()), "{place:?}");
        assert!(throttle.blocked(&db, "zed", None).await.expect("blocked").is_some(), "{place:?}");
        let rows = LoginFailure::objects().all(&db).await.expect("rows");
        assert_eq!(
            rows.iter().map(|r| r.failures).collect::<Vec<_>>(),
            [5],
            "{place:?}: refusals count nothing"
        );

        // Ten names at once from one address allowed 3: whichever get refused by the address
        // after their name was counted give their name's count back.
        LoginFailure::objects().delete(&db).await.expect("cleared");
        let throttle = Throttle { per_username: 5, per_address: 3, ..Throttle::default() };
        let addr = "203.0.113.50".parse().ok();
        let names: Vec<String> = (0..10).map(|n| format!("name{n}")).collect();
        let outcomes = join_all(names.iter().map(|name| throttle.attempt(&db, name, addr))).await;
        let passed = outcomes.iter().filter(|o| matches!(o, Ok(Attempt::Counted(_)))).count();
        assert_eq!(passed, 3, "{place:?}: {outcomes:?}");
        let names_counted: i64 = name_counts(&db).await.iter().sum();
        assert_eq!(names_counted, 3, "{place:?}: only the names let through keep a count");
    }
}

#[tokio::test]
async fn wrong_passwords_sent_at_once_over_http_are_checked_at_most_the_limit() {
    for test in databases().await {
        let db = test.database();
        user(&db, "lee", "lee's long passphrase").await;
        let strict = Throttle { per_username: 4, ..Throttle::default() };
        // Over a real socket, each request on its own connection: they run at once.
        let client = brisk::testing::TestClient::serve(app_with(&db, auth().throttle(strict))).await;
        let wrong = json!({"username": "lee", "password": "a guess"});
        let send = || client.post("/auth/login").header("sec-fetch-site", "same-origin").json(&wrong).send();
        let answers = join_all((0..24).map(|_| send())).await;
        let checked = answers.iter().filter(|r| r.status() == 400).count();
        let refused = answers.iter().filter(|r| r.status() == 429).count();
        assert_eq!((checked, refused), (4, 20), "{:?}", db.dialect());
    }
}

#[tokio::test]
async fn a_refused_attempt_costs_nothing_and_a_success_gives_the_address_its_attempt_back() {
    let sqlite = brisk_orm::testing::TestDatabase::sqlite().await.expect("sqlite");
    for (place, throttle, test) in
        counting_places(Throttle { per_username: 2, per_address: 3, ..Throttle::default() }).await
    {
        let db = test.as_ref().map_or(sqlite.database(), |t| t.database());
        let (a, b, c) = ("203.0.113.1".parse().ok(), "203.0.113.2".parse().ok(), "203.0.113.3".parse().ok());
        let attempt = |name: &'static str, addr| {
            let (throttle, db) = (&throttle, &db);
            async move { throttle.attempt(db, name, addr).await.expect("attempt") }
        };
        let refused = |name: &'static str, addr| async move { attempt(name, addr).await.refused() };
        assert_eq!(refused("alice", a).await, None);
        assert_eq!(refused("alice", a).await, None);
        assert!(refused("alice", a).await.is_some(), "{place}: alice's limit of 2");
        let bobs = attempt("bob", a).await;
        assert_eq!(bobs.refused(), None, "{place}: the refusal took none of a's 3");
        // Refused by the address: carol's own count is given back.
        assert!(refused("carol", a).await.is_some(), "{place}: a's limit of 3");
        assert_eq!(refused("carol", b).await, None);
        assert_eq!(refused("carol", b).await, None, "{place}: carol's refused attempt cost nothing");
        // Bob logs in: his count is cleared, and a gets his attempt back (not its failures).
        throttle.succeeded(&db, counted(bobs)).await.expect("succeeded");
        assert_eq!(refused("dave", a).await, None, "{place}: the success was given back");
        assert!(refused("erin", a).await.is_some(), "{place}: a's failures still count");
        assert_eq!(refused("bob", c).await, None);
        assert_eq!(refused("bob", c).await, None, "{place}: bob's count starts again");
        assert!(refused("bob", c).await.is_some(), "{place}: and holds");
    }
}

/// A store that must not be called.
struct Untouchable;

impl RateLimitStore for Untouchable {
    fn check<'a>(&'a self, _: &'a str, _: Quota) -> BoxFuture<'a, Result<Decision, brisk::Error>> {
        panic!("checked")
    }
    fn peek<'a>(&'a self, _: &'a str, _: Quota) -> BoxFuture<'a, Result<Decision, brisk::Error>> {
        panic!("peeked")
    }
    fn refund<'a>(&'a self, _: &'a str, _: Quota) -> BoxFuture<'a, Result<(), brisk::Error>> {
        panic!("refunded")
    }
    fn reset<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), brisk::Error>> {
        panic!("reset")
    }
}

/// What a store that cannot be reached (Redis down) answers.
fn down<T: Send + 'static>() -> BoxFuture<'static, Result<T, brisk::Error>> {
    Box::pin(async { Err(brisk::Error::unavailable(Duration::from_secs(1))) })
}

/// The memory store until it is stopped, then a store that cannot be reached.
struct Stoppable {
    store: MemoryRateLimits,
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Stoppable {
    fn new() -> (Stoppable, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        (Stoppable { store: MemoryRateLimits::new(), stopped: stopped.clone() }, stopped)
    }

    fn up(&self) -> bool {
        !self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl RateLimitStore for Stoppable {
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, brisk::Error>> {
        if self.up() {
            self.store.check(key, quota)
        } else {
            down()
        }
    }
    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, brisk::Error>> {
        if self.up() {
            self.store.peek(key, quota)
        } else {
            down()
        }
    }
    fn refund<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<(), brisk::Error>> {
        if self.up() {
            self.store.refund(key, quota)
        } else {
            down()
        }
    }
    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), brisk::Error>> {
        if self.up() {
            self.store.reset(key)
        } else {
            down()
        }
    }
}

#[tokio::test]
async fn off_never_counts_and_a_store_that_is_down_refuses_rather_than_lets_through() {
    let test = brisk_orm::testing::TestDatabase::sqlite().await.expect("sqlite");
    let db = test.database();
    let addr = "203.0.113.1".parse().ok();
    let off = Throttle::off().in_store(Untouchable);
    for _ in 0..3 {
        let attempt = off.attempt(&db, "fay", addr).await.expect("attempt");
        assert_eq!(attempt.refused(), None);
        assert_eq!(off.blocked(&db, "fay", addr).await.expect("blocked"), None);
        off.succeeded(&db, counted(attempt)).await.expect("succeeded");
    }
    // An attempt counted while the store answered; then it stops answering.
    let (store, stopped) = Stoppable::new();
    let throttle = Throttle::default().in_store(store);
    let fays = counted(throttle.attempt(&db, "fay", addr).await.expect("attempt"));
    stopped.store(true, std::sync::atomic::Ordering::SeqCst);
    let unavailable = |e: brisk_orm::Error| matches!(e, brisk_orm::Error::Unavailable { .. });
    assert!(unavailable(throttle.attempt(&db, "fay", addr).await.expect_err("cannot count")));
    assert!(unavailable(throttle.blocked(&db, "fay", addr).await.expect_err("cannot tell")));
    assert!(unavailable(throttle.succeeded(&db, fays).await.expect_err("cannot clear")));
}

/// The token remembers where its attempt was counted: given to a throttle that counts in
/// the table, an attempt counted in a store is given back in that store, and the table is
/// not touched; `failed` keeps it counted.
#[tokio::test]
async fn an_attempt_is_given_back_where_it_was_counted() {
    let test = brisk_orm::testing::TestDatabase::sqlite().await.expect("sqlite");
    let db = test.database();
    let in_store =
        Throttle { per_username: 0, per_address: 1, ..Throttle::default() }.in_store(MemoryRateLimits::new());
    let in_table = Throttle { per_username: 0, per_address: 1, ..Throttle::default() };
    let a = "203.0.113.77".parse().ok();
    let first = counted(in_store.attempt(&db, "uma", a).await.expect("attempt"));
    assert!(in_store.blocked(&db, "uma", a).await.expect("blocked").is_some(), "the store's limit of 1");
    in_table.succeeded(&db, first).await.expect("succeeded");
    assert_eq!(in_store.blocked(&db, "uma", a).await.expect("blocked"), None, "given back in the store");
    assert_eq!(LoginFailure::objects().count(&db).await.expect("count"), 0, "the table untouched");
    // A failure stays counted.
    let second = counted(in_store.attempt(&db, "uma", a).await.expect("attempt"));
    in_store.failed(&db, second);
    assert!(in_store.attempt(&db, "uma", a).await.expect("attempt").refused().is_some());
}

#[tokio::test]
async fn a_client_on_ipv6_is_counted_by_its_64_network() {
    let test = brisk_orm::testing::TestDatabase::sqlite().await.expect("sqlite");
    let db = test.database();
    let throttle =
        Throttle { per_username: 0, per_address: 2, ..Throttle::default() }.in_store(MemoryRateLimits::new());
    for (n, addr) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"].into_iter().enumerate() {
        let refused =
            throttle.attempt(&db, &format!("u{n}"), addr.parse().ok()).await.expect("attempt").refused();
        assert_eq!(refused.is_some(), n == 2, "{addr}: one subscriber's block, one count");
    }
    let other = throttle.attempt(&db, "u9", "2001:db8:1:3::1".parse().ok()).await.expect("attempt");
    assert_eq!(other.refused(), None);
}

#[tokio::test]
async fn under_atomic_requests_a_failed_logins_count_is_kept_though_its_answer_is_an_error() {
    for test in databases().await {
        let db = test.database();
        user(&db, "kim", "kim's long passphrase").await;
        let strict = Throttle { per_username: 3, ..Throttle::default() };
        // Every request in a transaction that rolls back on an error answer — a failed
        // login's 400 among them, were its count not kept.
        let app = app_with(&db, auth().throttle(strict)).layer(brisk_orm::atomic_requests(db.clone()));
        let mut browser = Browser::new(app).await;
        for attempt in 1..=3 {
            assert_eq!(browser.login("kim", "no").await.status(), 400, "attempt {attempt}");
        }
        assert_eq!(browser.login("kim", "no").await.status(), 429, "{:?}", db.dialect());
        assert_eq!(browser.login("kim", "kim's long passphrase").await.status(), 429, "blocked for everyone");
        assert_eq!(name_counts(&db).await, [3]);
    }
}

#[tokio::test]
async fn a_window_that_ended_lets_attempts_in_again_and_one_too_long_to_count_still_blocks() {
    let sqlite = brisk_orm::testing::TestDatabase::sqlite().await.expect("sqlite");
    let short = Throttle {
        per_username: 2,
        per_address: 0,
        window: Duration::from_millis(600),
        ..Throttle::default()
    };
    for (place, throttle, test) in counting_places(short).await {
        let db = test.as_ref().map_or(sqlite.database(), |t| t.database());
        assert_eq!(throttle.attempt(&db, "ned", None).await.expect("attempt").refused(), None);
        assert_eq!(throttle.attempt(&db, "ned", None).await.expect("attempt").refused(), None);
        assert!(throttle.attempt(&db, "ned", None).await.expect("attempt").refused().is_some(), "{place}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(
            throttle.attempt(&db, "ned", None).await.expect("attempt").refused(),
            None,
            "{place}: the window ended"
        );
        assert_eq!(throttle.attempt(&db, "ned", None).await.expect("attempt").refused(), None, "{place}");
        assert!(
            throttle.attempt(&db, "ned", None).await.expect("attempt").refused().is_some(),
            "{place}: and counts again"
        );
    }
    // A window of `Duration::MAX` does not wrap around into one that has always ended.
    let forever = Throttle { per_username: 1, per_address: 0, window: Duration::MAX, ..Throttle::default() };
    for (place, throttle, test) in counting_places(forever).await {
        let db = test.as_ref().map_or(sqlite.database(), |t| t.database());
        assert_eq!(throttle.attempt(&db, "ola", None).await.expect("attempt").refused(), None);
        let wait = throttle.attempt(&db, "ola", None).await.expect("attempt").refused().expect("blocked");
        assert!(wait > Duration::from_secs(365 * 24 * 3600), "{place}: {wait:?}");
    }
}

#[tokio::test]
async fn a_success_gives_back_only_in_the_window_its_attempt_was_counted_in() {
    for test in databases().await {
        let db = test.database();
        let throttle = Throttle {
            per_username: 5,
            per_address: 5,
            window: Duration::from_millis(1500),
            ..Throttle::default()
        };
        let a = "203.0.113.9".parse().ok();
        // Mallory's attempt is counted; its window ends while the password is checked, and a
        // guess at another name from the same address starts the next window.
        let mallorys = counted(throttle.attempt(&db, "mallory", a).await.expect("attempt"));
        tokio::time::sleep(Duration::from_millis(1600)).await;
        assert_eq!(throttle.attempt(&db, "victim", a).await.expect("attempt").refused(), None);
        assert_eq!(counts(&db, "addr:203.0.113.9").await, [1]);
        // Mallory's success gives back in the window that counted it, which has ended: the
        // guess at the victim stays counted.
        throttle.succeeded(&db, mallorys).await.expect("succeeded");
        assert_eq!(
            counts(&db, "addr:203.0.113.9").await,
            [1],
            "{:?}: the next window keeps its count",
            db.dialect()
        );

        // Within the window (a long one, so a slow machine cannot end it), the success is
        // given back.
        let steady = Throttle { per_username: 5, per_address: 5, ..Throttle::default() };
        let b = "198.51.100.9".parse().ok();
        let _guess = counted(steady.attempt(&db, "victim", b).await.expect("attempt"));
        let victims = counted(steady.attempt(&db, "victim", b).await.expect("attempt"));
        assert_eq!(counts(&db, "addr:198.51.100.9").await, [2]);
        steady.succeeded(&db, victims).await.expect("succeeded");
        assert_eq!(counts(&db, "addr:198.51.100.9").await, [1], "{:?}", db.dialect());
    }
}
