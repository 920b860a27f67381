//! [`Cache`]: the typed cache handlers use (Django's `cache` API), in front of any
//! [`CacheBackend`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::backend::CacheBackend;
use crate::error::Error;

/// A cache: typed values (any serde type, stored as JSON) under string keys, with an optional
/// time to live. Cheap to clone; every clone shares the backend.
///
/// Keys are namespaced by the cache's prefix (`"brisk:"` unless [`Cache::with_prefix`] says
/// otherwise), so apps sharing one Redis keep apart and [`Cache::clear`] removes only this
/// cache's keys.
#[derive(Clone)]
pub struct Cache {
    backend: Arc<dyn CacheBackend>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache in front of `backend`, with the prefix `"brisk:"`.
    pub fn new(backend: impl CacheBackend) -> Self {
        Cache::from_arc(Arc::new(backend))
    }

    /// A cache in front of a shared backend.
    pub fn from_arc(backend: Arc<dyn CacheBackend>) -> Self {
        Cache { backend, prefix: Arc::from("brisk:") }
    }

    /// The same backend under another key prefix.
    pub fn with_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.prefix = Arc::from(prefix.as_ref());
        self
    }

    /// The prefix every key gets.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The backend behind this cache.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.backend
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// The value under `key`, `None` when absent or expired. A value that does not decode as
    /// `T` is an error, not a miss (two parts of an app disagree about a key's type).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.backend.get(&self.key(key)).await? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Keeps `value` under `key` for `ttl` (`None`: until evicted or deleted).
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        self.backend.set(&self.key(key), encode(value)?, ttl).await
    }

    /// Keeps `value` only when `key` holds nothing; `true` when it was kept (atomic across
    /// processes on a shared backend).
    pub async fn add<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        self.backend.add(&self.key(key), encode(value)?, ttl).await
    }

    /// Removes `key`; `true` when it held a value.
    pub async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.backend.delete(&self.key(key)).await
    }

    /// The value under `key`, or `make()`'s, which is then kept for `ttl`. Two callers that
    /// miss at once may both call `make`; the value kept first wins and both return it.
    pub async fn get_or_set<T, F, Fut>(&self, key: &str, ttl: Option<Duration>, make: F) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        if let Some(found) = self.get(key).await? {
            return Ok(found);
        }
        let made = make().await?;
        if self.add(key, &made, ttl).await? {
            return Ok(made);
        }
        // Someone else kept a value between our miss and our add: theirs is the cached one.
        Ok(self.get(key).await?.unwrap_or(made))
    }

    /// Adds `delta` to the counter under `key` atomically (a missing key starts at 0) and
    /// returns the new value. Unlike Django, a missing key is not an error: it is how a
    /// counter starts, as in Redis.
    pub async fn incr(&self, key: &str, delta: i64) -> Result<i64, Error> {
        self.backend.incr(&self.key(key), delta, None).await
    }

    /// [`Cache::incr`] that gives a counter it creates a time to live (a window counter).
    pub async fn incr_with_ttl(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64, Error> {
        self.backend.incr(&self.key(key), delta, Some(ttl)).await
    }

    /// Subtracts `delta`: [`Cache::incr`] with `-delta`.
    pub async fn decr(&self, key: &str, delta: i64) -> Result<i64, Error> {
        self.backend.incr(&self.key(key), delta.saturating_neg(), None).await
    }

    /// The values under `keys`, in their order (`None` for each miss).
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<Vec<Option<T>>, Error> {
        let full: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
        let found = self.backend.get_many(&full).await?;
        keys.iter()
            .zip(found)
            .map(|(key, bytes)| bytes.map(|bytes| decode(key, &bytes)).transpose())
            .collect()
    }

    /// Keeps every `(key, value)`, all for `ttl`.
    pub async fn set_many<T: Serialize>(
        &self,
        items: &[(&str, T)],
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let mut encoded = Vec::with_capacity(items.len());
        for (key, value) in items {
            encoded.push((self.key(key), encode(value)?));
        }
        self.backend.set_many(encoded, ttl).await
    }

    /// Removes every key of this cache (its prefix), leaving other caches on the same backend.
    pub async fn clear(&self) -> Result<(), Error> {
        self.backend.clear(&self.prefix).await
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(Error::internal)
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|err| {
        Error::internal(format!("the cached value under {key:?} is not of the asked type: {err}"))
    })
}
