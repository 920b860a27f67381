//! brisk-auth's login throttle counting in Redis: two throttles with their own Redis clients
//! (two processes) share the count — the 11th failure for a name is refused in both.

mod common;

use std::time::Duration;

use brisk_auth::Throttle;
use common::{cleanup, keys, redis, unique_prefix, URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_failure_is_refused_across_processes() {
    let prefix = unique_prefix("login-throttle");
    // The table is never used when the throttle counts in Redis.
    let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
    let throttles = [
        Throttle::default().in_cache(redis(&prefix).cache()),
        Throttle::default().in_cache(redis(&prefix).cache()),
    ];
    let addr = "203.0.113.7".parse().ok();
    for attempt in 0..10 {
        let throttle = &throttles[attempt % 2];
        assert_eq!(throttle.blocked(&db, "gus", addr).await.expect("blocked"), None, "attempt {attempt}");
        throttle.failed(&db, "gus", addr).await.expect("failed");
    }
    for throttle in &throttles {
        let wait = throttle.blocked(&db, "Gus", addr).await.expect("blocked").expect("refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(15 * 60), "{wait:?}");
    }
    // The counts expire with the window.
    let stored = keys(URL, &prefix).await;
    assert_eq!(stored.len(), 4, "a count and a start per username and address: {stored:?}");
    for key in &stored {
        let ttl = common::pttl(URL, key).await;
        assert!((1..=15 * 60 * 1000).contains(&ttl), "{key}: {ttl}");
    }
    throttles[1].succeeded(&db, "gus").await.expect("succeeded");
    assert_eq!(throttles[0].blocked(&db, "gus", addr).await.expect("blocked"), None, "cleared everywhere");
    cleanup(URL, &prefix).await;
}
