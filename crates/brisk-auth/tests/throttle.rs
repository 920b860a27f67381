//! Login throttling across two app instances sharing one database (two processes behind a
//! load balancer), on SQLite and on PostgreSQL: the 11th bad attempt is 429 with Retry-After,
//! a right password is refused too while blocked, and a success clears the username's count.

mod common;

use brisk_auth::models::LoginFailure;
use brisk_auth::Throttle;
use brisk_orm::Model;
use common::{app_with, auth, databases, user, Browser};
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
