//! brisk-auth's login throttle counting in Redis's rate-limit store (GCRA, one Lua script): two
//! throttles with their own Redis clients (two processes) share the count — the 11th failure
//! for a name is refused in both.

mod common;

use std::time::Duration;

use brisk_auth::{Attempt, Throttle};
use common::{cleanup, keys, redis, unique_prefix, URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_failure_is_refused_across_processes() {
    let prefix = unique_prefix("login-throttle");
    // The table is never used when the throttle counts in Redis.
    let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
    let throttles = [
        Throttle::default().in_store(redis(&prefix).rate_limits()),
        Throttle::default().in_store(redis(&prefix).rate_limits()),
    ];
    let addr = "203.0.113.7".parse().ok();
    let mut last = None;
    for attempt in 0..10 {
        let throttle = &throttles[attempt % 2];
        assert_eq!(throttle.blocked(&db, "gus", addr).await.expect("blocked"), None, "attempt {attempt}");
        match throttle.attempt(&db, "gus", addr).await.expect("attempt") {
            Attempt::Counted(counted) => last = Some(counted),
            Attempt::Refused(wait) => panic!("attempt {attempt} refused for {wait:?}"),
        }
    }
    for throttle in &throttles {
        assert!(throttle.blocked(&db, "Gus", addr).await.expect("blocked").is_some());
        let wait = throttle.attempt(&db, "Gus", addr).await.expect("attempt").refused().expect("refused");
        // GCRA: 10 per 15 minutes at once, then one more every 90 seconds.
        assert!(wait > Duration::from_secs(80) && wait <= Duration::from_secs(90), "{wait:?}");
    }
    // The counts expire when they are back to their full quota, within the window.
    let stored = keys(URL, &prefix).await;
    assert_eq!(stored.len(), 2, "one time per username and per address: {stored:?}");
    for key in &stored {
        let ttl = common::pttl(URL, key).await;
        assert!((1..=15 * 60 * 1000).contains(&ttl), "{key}: {ttl}");
    }
    // The tenth attempt's password was right (its check ended after the refusals above).
    throttles[1].succeeded(&db, last.expect("counted")).await.expect("succeeded");
    assert_eq!(throttles[0].blocked(&db, "gus", addr).await.expect("blocked"), None, "cleared everywhere");

    // Attempts sent at once through both: no more than the limit are let through.
    let many = futures_util::future::join_all(
        (0..30).map(|n| throttles[n % 2].attempt(&db, "ivy", "198.51.100.4".parse().ok())),
    )
    .await;
    assert_eq!(many.iter().filter(|o| matches!(o, Ok(Attempt::Counted(_)))).count(), 10, "{many:?}");
    cleanup(URL, &prefix).await;
}

/// An app with brisk-auth and Redis installed, on `db`: its login throttle counts in Redis by
/// itself (the app's rate-limit store is shared), in whichever order the two are installed.
fn app(db: &brisk_orm::Database, redis: brisk_redis::Redis, redis_first: bool) -> brisk::testing::TestClient {
    use brisk::secret_key::SecretKey;
    use brisk::sessions::SessionConfig;
    let auth = brisk_auth::Auth::default().argon2(brisk_auth::Argon2Cost {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    });
    let app = brisk::App::new().install(db.clone());
    let app = if redis_first { app.install(redis).install(auth) } else { app.install(auth).install(redis) };
    let key = SecretKey::new("a test secret key that is long enough 0123456789").expect("a key");
    brisk::testing::TestClient::new(app.sessions(SessionConfig::new(key)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_with_redis_throttles_logins_in_redis_without_being_told() {
    use brisk_orm::migrations::Migrator;
    let prefix = unique_prefix("login-throttle-app");
    let test_db = brisk_orm::testing::TestDatabase::empty_sqlite().expect("sqlite");
    let db = test_db.database();
    Migrator::new(db.clone(), Vec::new()).expect("graph").migrate().await.expect("migrated");
    // Two processes: each its own Redis client, both on one database and one Redis.
    let apps = [app(&db, redis(&prefix), true), app(&db, redis(&prefix), false)];
    let wrong = serde_json::json!({"username": "nobody", "password": "not the password"});
    for attempt in 0..10 {
        let res = apps[attempt % 2].post("/auth/login").json(&wrong).send().await;
        assert_eq!(res.status(), 400, "attempt {attempt}: {}", res.text());
    }
    for client in &apps {
        let res = client.post("/auth/login").json(&wrong).send().await;
        assert_eq!(res.status(), 429, "{}", res.text());
        assert!(res.header("retry-after").is_some());
    }
    // Counted in Redis, not in the database's table.
    let in_table: Vec<(i64,)> =
        brisk_orm::Raw::new("SELECT COUNT(*) FROM auth_loginfailure").fetch(&db).await.expect("count");
    assert_eq!(in_table, [(0,)]);
    assert!(!keys(URL, &prefix).await.is_empty(), "the counts are in Redis");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_while_redis_is_down_is_a_503_then_works_again() {
    use brisk_orm::migrations::Migrator;
    let mut server = common::PrivateRedis::start().await;
    let test_db = brisk_orm::testing::TestDatabase::empty_sqlite().expect("sqlite");
    let db = test_db.database();
    Migrator::new(db.clone(), Vec::new()).expect("graph").migrate().await.expect("migrated");
    let redis = brisk_redis::Redis::new(&server.url()).expect("url").with_prefix(unique_prefix("login-down"));
    let client = app(&db, redis, false);
    let wrong = serde_json::json!({"username": "nobody", "password": "not the password"});
    assert_eq!(client.post("/auth/login").json(&wrong).send().await.status(), 400);

    // The throttle cannot count: the login is refused with 503 and Retry-After, not let
    // through uncounted (and not a 500).
    server.kill();
    let res = client.post("/auth/login").json(&wrong).send().await;
    assert_eq!(res.status(), 503, "{}", res.text());
    assert!(res.header("retry-after").is_some());

    server.restart().await;
    let mut status = 0;
    for _ in 0..50 {
        status = client.post("/auth/login").json(&wrong).send().await.status().as_u16();
        if status == 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 400, "counting again once Redis is back");
}
