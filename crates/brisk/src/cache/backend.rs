//! [`CacheBackend`]: where cached values live. One trait for the in-process backend
//! ([`MemoryCache`](super::MemoryCache)) and Redis (`brisk_redis::RedisCache`); handlers use the
//! typed [`Cache`](super::Cache) in front of it.

use std::time::Duration;

use crate::error::Error;
use crate::handler::BoxFuture;

/// A place cached values are kept, as bytes. Keys arrive already prefixed and versioned by
/// [`Cache`](super::Cache); values are its JSON encoding, and a counter is kept as the decimal
/// text of an `i64` (which is also its JSON), so `incr` and `get::<i64>` see the same value.
///
/// `ttl: None` keeps a value until it is evicted or deleted. A backend that cannot be reached
/// answers `Err` (a 503 with `Retry-After` when it reaches the client, see
/// [`unavailable`](super::unavailable)), never a silent miss.
pub trait CacheBackend: Send + Sync + 'static {
    /// The value under `key`, `None` when absent or expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>>;

    /// Keeps `value` under `key`, replacing what was there.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Keeps `value` only when `key` holds nothing; `true` when it was kept. Atomic: of many
    /// processes adding the same key at once, exactly one gets `true`.
    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Removes `key`; `true` when it held a value.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Error>>;

    /// Adds `delta` to the counter under `key` atomically and returns the new value. A missing
    /// key starts at 0 and gets `ttl`; an existing key keeps its expiry. A value that is not an
    /// integer is an error (422 is wrong here: it is the app's mistake, so a 500).
    fn incr<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<i64, Error>>;

    /// The values under `keys`, in their order.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>>;

    /// Keeps every `(key, value)`, all with `ttl`.
    fn set_many<'a>(
        &'a self,
        items: Vec<(String, Vec<u8>)>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes every key that starts with `prefix` (the [`Cache`](super::Cache)'s own prefix,
    /// so clearing one app's cache leaves another's alone on a shared Redis).
    fn clear<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}
