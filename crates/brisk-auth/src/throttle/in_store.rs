//! Login failures counted in a rate-limit store ([`Throttle::in_store`](super::Throttle::in_store),
//! or the app's own when it is shared): each key's failures are GCRA's requests under a quota
//! of its limit per window. A login first peeks (would one more failure be allowed?), a
//! failure is counted with `check`, a success resets its username's key.

use std::time::Duration;

use brisk::http::StatusCode;
use brisk::rate_limit::{Quota, RateLimitStore};

/// Where the store keeps one count (the store adds its own prefix).
fn name(key: &str) -> String {
    format!("auth-login:{key}")
}

/// The store's error as the ORM's, keeping its meaning: unreachable is a 503, else a 500.
fn orm_error(e: brisk::Error) -> brisk_orm::Error {
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        brisk_orm::Error::Unavailable { message: "the login throttle's store does not answer".into() }
    } else {
        brisk_orm::Error::Database { message: format!("the login throttle's store: {e}"), code: None }
    }
}

pub(super) async fn blocked(
    store: &dyn RateLimitStore,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<Option<Duration>, brisk_orm::Error> {
    let mut wait: Option<Duration> = None;
    for (key, limit) in keys {
        let next = store.peek(&name(key), Quota::new(*limit, window)).await.map_err(orm_error)?;
        if !next.allowed {
            // `Retry-After` is in whole seconds: never tell a client to come back at once.
            let left = next.retry_after.max(Duration::from_secs(1));
            wait = Some(wait.map_or(left, |w| w.max(left)));
        }
    }
    Ok(wait)
}

pub(super) async fn failed(
    store: &dyn RateLimitStore,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<(), brisk_orm::Error> {
    for (key, limit) in keys {
        // Refused (a failure past the limit, raced in by another process): nothing to count.
        store.check(&name(key), Quota::new(*limit, window)).await.map_err(orm_error)?;
    }
    Ok(())
}

pub(super) async fn succeeded(store: &dyn RateLimitStore, key: &str) -> Result<(), brisk_orm::Error> {
    store.reset(&name(key)).await.map_err(orm_error)
}

#[cfg(test)]
mod tests {
    use brisk::rate_limit::MemoryRateLimits;

    use super::super::Throttle;
    use super::*;

    #[tokio::test]
    async fn the_limits_hold_and_a_success_clears_the_username() {
        let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
        let throttle = Throttle { per_username: 3, per_address: 5, ..Throttle::default() }
            .in_store(MemoryRateLimits::new());
        let addr = "203.0.113.9".parse().ok();
        for _ in 0..3 {
            assert_eq!(throttle.blocked(&db, "Alice", addr).await.expect("blocked"), None);
            throttle.failed(&db, "Alice", addr).await.expect("failed");
        }
        let wait = throttle.blocked(&db, "alice", addr).await.expect("blocked").expect("the 4th is refused");
        // GCRA: 3 per 15 minutes at once, then one every 5 minutes.
        assert!(wait > Duration::from_secs(4 * 60) && wait <= Duration::from_secs(5 * 60), "{wait:?}");
        // Another name from the same address is not blocked yet; the table is never touched.
        assert_eq!(throttle.blocked(&db, "bob", addr).await.expect("blocked"), None);

        throttle.succeeded(&db, "ALICE").await.expect("succeeded");
        assert_eq!(throttle.blocked(&db, "alice", addr).await.expect("blocked"), None, "cleared");
        // The address kept its 3 failures: 2 more block it for every name.
        throttle.failed(&db, "bob", addr).await.expect("failed");
        throttle.failed(&db, "carol", addr).await.expect("failed");
        assert!(throttle.blocked(&db, "dave", addr).await.expect("blocked").is_some());
        assert_eq!(throttle.blocked(&db, "dave", "198.51.100.1".parse().ok()).await.expect("blocked"), None);
    }

    #[tokio::test]
    async fn blocked_counts_nothing() {
        let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
        let throttle = Throttle { per_username: 2, ..Throttle::default() }.in_store(MemoryRateLimits::new());
        for _ in 0..10 {
            assert_eq!(throttle.blocked(&db, "erin", None).await.expect("blocked"), None);
        }
        throttle.failed(&db, "erin", None).await.expect("failed");
        assert_eq!(throttle.blocked(&db, "erin", None).await.expect("blocked"), None, "one failure of two");
        throttle.failed(&db, "erin", None).await.expect("failed");
        assert!(throttle.blocked(&db, "erin", None).await.expect("blocked").is_some());
    }
}
