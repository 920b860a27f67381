//! [`MemoryCache`]: the in-process [`CacheBackend`], on moka.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache as Moka;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;

use super::backend::CacheBackend;
use crate::error::Error;
use crate::handler::BoxFuture;

/// The default size bound: 64 MiB of keys and values.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// One cached value and how long it lives.
#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Option<Duration>,
    /// An update that keeps the entry's expiry (an `incr` of an existing counter).
    keep_expiry: bool,
}

/// Per-entry time to live, read from the entry.
struct PerEntry;

impl Expiry<String, Entry> for PerEntry {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _at: Instant) -> Option<Duration> {
        entry.ttl
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _at: Instant,
        left: Option<Duration>,
    ) -> Option<Duration> {
        if entry.keep_expiry {
            left
        } else {
            entry.ttl
        }
    }
}

/// The cache of one process (the default backend of the app's [`Cache`](super::Cache)):
/// moka, bounded by the bytes of its keys and values (64 MiB unless
/// [`MemoryCache::with_max_bytes`] says otherwise; the least useful entries go first), each
/// entry with its own time to live. `add` and `incr` are atomic (moka's per-key compute).
///
/// Processes behind a balancer each have their own; share one with brisk-redis's
/// `RedisCache`.
///
/// Needs feature `cache`.
#[derive(Clone)]
pub struct MemoryCache {
    inner: Moka<String, Entry>,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache").field("entries", &self.inner.entry_count()).finish()
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::with_max_bytes(DEFAULT_MAX_BYTES)
    }
}

impl MemoryCache {
    /// A cache of at most 64 MiB.
    pub fn new() -> Self {
        MemoryCache::default()
    }

    /// A cache holding at most `max_bytes` of keys and values.
    pub fn with_max_bytes(max_bytes: u64) -> Self {
        let inner = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + entry.value.len()).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntry)
            .build();
        MemoryCache { inner }
    }

    fn entry(value: Vec<u8>, ttl: Option<Duration>) -> Entry {
        Entry { value: Arc::from(value), ttl, keep_expiry: false }
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl CacheBackend for MemoryCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        Box::pin(async move { Ok(self.inner.get(key).await.map(|entry| entry.value.to_vec())) })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.inner.insert(key.to_owned(), MemoryCache::entry(value, ttl)).await;
            Ok(())
        })
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let entry = MemoryCache::entry(value, ttl);
            let done = self
                .inner
                .entry_by_ref(key)
                .and_compute_with(|found| async move {
                    match found {
                        Some(_) => Op::Nop,
                        None => Op::Put(entry),
                    }
                })
                .await;
            Ok(matches!(done, CompResult::Inserted(_)))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move { Ok(self.inner.remove(key).await.is_some()) })
    }

    fn incr<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<i64, Error>> {
        Box::pin(async move {
            let done = self
                .inner
                .entry_by_ref(key)
                .and_try_compute_with(|found| async move {
                    let (current, keep_expiry) = match &found {
                        Some(entry) => (parse_counter(key, &entry.value().value)?, true),
                        None => (0, false),
                    };
                    let next = current.checked_add(delta).ok_or_else(|| {
                        Error::internal(format!("the counter under {key:?} would overflow an i64"))
                    })?;
                    let value = Arc::from(next.to_string().into_bytes());
                    Ok::<_, Error>(Op::Put(Entry { value, ttl, keep_expiry }))
                })
                .await?;
            match done {
                CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) => {
                    parse_counter(key, &entry.value().value)
                }
                _ => Err(Error::internal("the counter was not kept")),
            }
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>> {
        Box::pin(async move {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                found.push(self.inner.get(key).await.map(|entry| entry.value.to_vec()));
            }
            Ok(found)
        })
    }

    fn set_many<'a>(
        &'a self,
        items: Vec<(String, Vec<u8>)>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for (key, value) in items {
                self.inner.insert(key, MemoryCache::entry(value, ttl)).await;
            }
            Ok(())
        })
    }

    fn clear<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        if prefix.is_empty() {
            self.inner.invalidate_all();
            return ready(Ok(()));
        }
        Box::pin(async move {
            let doomed: Vec<Arc<String>> =
                self.inner.iter().filter(|(key, _)| key.starts_with(prefix)).map(|(key, _)| key).collect();
            for key in doomed {
                self.inner.invalidate(key.as_str()).await;
            }
            Ok(())
        })
    }
}

fn parse_counter(key: &str, bytes: &[u8]) -> Result<i64, Error> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| Error::internal(format!("the value under {key:?} is not an integer counter")))
}
