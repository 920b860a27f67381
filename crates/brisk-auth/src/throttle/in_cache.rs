//! Login failures counted in a shared cache ([`Throttle::in_cache`](super::Throttle::in_cache)):
//! per key, a counter (`INCR`, atomic across processes) and the time its window started (kept
//! by the first failure with `add`), both expiring when the window ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brisk::cache::Cache;
use brisk::http::StatusCode;

/// Where the cache keeps one count, and its window's start.
fn names(key: &str) -> (String, String) {
    (format!("auth-throttle:{key}"), format!("auth-throttle:{key}:start"))
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The cache's error as the ORM's, keeping its meaning: unreachable is a 503, else a 500.
fn orm_error(e: brisk::Error) -> brisk_orm::Error {
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        brisk_orm::Error::Unavailable { message: "the login throttle's cache does not answer".into() }
    } else {
        brisk_orm::Error::Database { message: format!("the login throttle's cache: {e}"), code: None }
    }
}

pub(super) async fn blocked(
    cache: &Cache,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<Option<Duration>, brisk_orm::Error> {
    let mut wait: Option<Duration> = None;
    for (key, limit) in keys {
        let (count, start) = names(key);
        let found = cache.get_many::<i64>(&[&count, &start]).await.map_err(orm_error)?;
        let (Some(Some(failures)), started) = (found.first(), found.get(1)) else { continue };
        if *failures < i64::from(*limit) {
            continue;
        }
        // The window ends `window` after its start; a start already gone means it is ending.
        let left = match started {
            Some(Some(start)) => {
                let ends = start.saturating_add(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
                Duration::from_millis(u64::try_from(ends - now_millis()).unwrap_or(0))
            }
            _ => Duration::ZERO,
        };
        let left = left.max(Duration::from_secs(1));
        wait = Some(wait.map_or(left, |w| w.max(left)));
    }
    Ok(wait)
}

pub(super) async fn failed(
    cache: &Cache,
    window: Duration,
    keys: &[(String, u32)],
) -> Result<(), brisk_orm::Error> {
    for (key, _) in keys {
        let (count, start) = names(key);
        // The first failure of a window marks its start; later ones find it there.
        cache.add(&start, &now_millis(), Some(window)).await.map_err(orm_error)?;
        cache.incr_with_ttl(&count, 1, window).await.map_err(orm_error)?;
    }
    Ok(())
}

pub(super) async fn succeeded(cache: &Cache, key: &str) -> Result<(), brisk_orm::Error> {
    let (count, start) = names(key);
    cache.delete(&count).await.map_err(orm_error)?;
    cache.delete(&start).await.map_err(orm_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use brisk::cache::MemoryCache;

    use super::super::Throttle;
    use super::*;

    #[tokio::test]
    async fn the_limits_hold_and_a_success_clears_the_username() {
        let db = brisk_orm::Database::open("sqlite::memory:").expect("a database");
        let throttle = Throttle { per_username: 3, per_address: 5, ..Throttle::default() }
            .in_cache(Cache::new(MemoryCache::default()));
        let addr = "203.0.113.9".parse().ok();
        for _ in 0..3 {
            assert_eq!(throttle.blocked(&db, "Alice", addr).await.expect("blocked"), None);
            throttle.failed(&db, "Alice", addr).await.expect("failed");
        }
        let wait = throttle.blocked(&db, "alice", addr).await.expect("blocked").expect("the 4th is refused");
        assert!(wait > Duration::from_secs(14 * 60) && wait <= Duration::from_secs(15 * 60), "{wait:?}");
        // Another name from the same address is not blocked yet, the table is never touched.
        assert_eq!(throttle.blocked(&db, "bob", addr).await.expect("blocked"), None);

        throttle.succeeded(&db, "ALICE").await.expect("succeeded");
        assert_eq!(throttle.blocked(&db, "alice", addr).await.expect("blocked"), None, "cleared");
        // The address kept its 3 failures: 2 more block it for every name.
        throttle.failed(&db, "bob", addr).await.expect("failed");
        throttle.failed(&db, "carol", addr).await.expect("failed");
        assert!(throttle.blocked(&db, "dave", addr).await.expect("blocked").is_some());
        assert_eq!(throttle.blocked(&db, "dave", "198.51.100.1".parse().ok()).await.expect("blocked"), None);
    }
}
