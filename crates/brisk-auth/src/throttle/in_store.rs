//! Login attempts counted in a rate-limit store ([`Throttle::in_store`](super::Throttle::in_store),
//! or the app's own when it is shared): each key's failures are GCRA's requests under a quota
//! of its limit per window. An attempt is counted (`check`) before its password is checked; a
//! success resets its username's key and gives the address's request back (`refund`).

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

pub(super) async fn attempt(
    store: &dyn RateLimitStore,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<Option<Duration>, brisk_orm::Error> {
    for (counted, (key, limit)) in keys.iter().enumerate() {
        let decision = store.check(&name(key), Quota::new(*limit, window)).await.map_err(orm_error)?;
        if !decision.allowed {
            // Refused: the keys this attempt counted before this one get it back.
            for (key, limit) in &keys[..counted] {
                store.refund(&name(key), Quota::new(*limit, window)).await.map_err(orm_error)?;
            }
            // `Retry-After` is in whole seconds: never tell a client to come back at once.
            return Ok(Some(decision.retry_after.max(Duration::from_secs(1))));
        }
    }
    Ok(None)
}

pub(super) async fn succeeded(
    store: &dyn RateLimitStore,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<(), brisk_orm::Error> {
    for (key, limit) in keys {
        if key.starts_with(super::USER) {
            store.reset(&name(key)).await.map_err(orm_error)?;
        } else {
            store.refund(&name(key), Quota::new(*limit, window)).await.map_err(orm_error)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use brisk::rate_limit::MemoryRateLimits;

    use super::super::Throttle;
    use super::*;

    #[tokio::test]
    async fn the_wait_is_one_interval_and_blocked_counts_nothing() {
        let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
        let throttle = Throttle { per_username: 3, ..Throttle::default() }.in_store(MemoryRateLimits::new());
        for _ in 0..3 {
            assert_eq!(
                throttle.blocked(&db, "erin", None).await.expect("blocked"),
                None,
                "peeking counts nothing"
            );
            assert_eq!(throttle.attempt(&db, "erin", None).await.expect("attempt").refused(), None);
        }
        let wait = throttle.blocked(&db, "Erin", None).await.expect("blocked").expect("blocked now");
        // GCRA: 3 per 15 minutes at once, then one every 5 minutes.
        assert!(wait > Duration::from_secs(4 * 60) && wait <= Duration::from_secs(5 * 60), "{wait:?}");
        let refused = throttle.attempt(&db, "erin", None).await.expect("attempt").refused().expect("refused");
        assert!(
            refused > Duration::from_secs(4 * 60) && refused <= Duration::from_secs(5 * 60),
            "{refused:?}"
        );
    }
}
