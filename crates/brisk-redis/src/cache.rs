//! [`RedisCache`]: brisk's [`CacheBackend`] on Redis strings, so every process sharing the
//! Redis sees one cache.

use std::time::Duration;

use brisk::cache::{Cache, CacheBackend};
use brisk::handler::BoxFuture;
use brisk::Error;
use redis::Script;

use crate::connection::Redis;

/// `INCRBY`, and `PEXPIRE` only when the counter was created by it — in one script, so two
/// processes creating the same counter at once cannot both (or neither) set its expiry.
const INCR_WITH_TTL: &str = r"
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
";

/// How many keys one `SCAN` step asks for when clearing.
const SCAN_BATCH: usize = 500;

/// The cache backend on Redis: `GET`, `SET PX`, `SET NX PX`, `DEL`, `INCRBY` (with a script
/// when the counter gets a time to live), `MGET`, pipelined `SET`s, and `clear` as `SCAN
/// MATCH` + `UNLINK`. Keys arrive prefixed by the [`Cache`]; `<redis prefix>cache:` comes
/// before that.
///
/// ```no_run
/// # async fn demo() -> brisk::Result<()> {
/// use std::time::Duration;
/// let redis = brisk_redis::Redis::new("redis://127.0.0.1:6379").expect("a Redis URL");
/// let cache = redis.cache();
/// cache.set("greeting", &"hello", Some(Duration::from_secs(60))).await?;
/// assert_eq!(cache.get::<String>("greeting").await?.as_deref(), Some("hello"));
/// assert_eq!(cache.incr("hits", 1).await?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisCache {
    redis: Redis,
    incr_with_ttl: Script,
}

impl RedisCache {
    /// The cache backend on `redis`.
    pub fn new(redis: Redis) -> Self {
        RedisCache { redis, incr_with_ttl: Script::new(INCR_WITH_TTL) }
    }

    /// Keys live under `<redis prefix>cache:`, apart from sessions and rate limits, so
    /// clearing the cache leaves those alone.
    fn key(&self, key: &str) -> String {
        let mut full = self.redis.key("cache:");
        full.push_str(key);
        full
    }
}

impl Redis {
    /// A typed [`Cache`] on this Redis: keys `<redis prefix>cache:<key>` (`brisk:cache:hits`).
    /// [`Cache::with_prefix`] on it adds a namespace of its own after `cache:`.
    pub fn cache(&self) -> Cache {
        Cache::new(RedisCache::new(self.clone())).with_prefix("")
    }
}

/// A time to live in whole milliseconds, at least 1 (Redis refuses `PX 0`).
pub(crate) fn millis(ttl: Duration) -> u64 {
    let ms = ttl.as_millis() + u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

/// `text` with the characters `SCAN MATCH` treats as a pattern escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl CacheBackend for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        let key = self.key(key);
        Box::pin(
            self.redis.run(|mut conn| async move { redis::cmd("GET").arg(key).query_async(&mut conn).await }),
        )
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        Box::pin(self.redis.run(|mut conn| async move { cmd.exec_async(&mut conn).await }))
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        Box::pin(self.redis.run(|mut conn| async move {
            // `OK` when kept, nil when the key held something.
            let kept: Option<String> = cmd.query_async(&mut conn).await?;
            Ok(kept.is_some())
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        let key = self.key(key);
        Box::pin(self.redis.run(|mut conn| async move {
            let removed: u64 = redis::cmd("DEL").arg(key).query_async(&mut conn).await?;
            Ok(removed > 0)
        }))
    }

    fn incr<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<i64, Error>> {
        let key = self.key(key);
        Box::pin(self.redis.run(move |mut conn| async move {
            match ttl {
                None => redis::cmd("INCRBY").arg(key).arg(delta).query_async(&mut conn).await,
                Some(ttl) => {
                    self.incr_with_ttl.key(key).arg(delta).arg(millis(ttl)).invoke_async(&mut conn).await
                }
            }
        }))
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>> {
        if keys.is_empty() {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        }
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        Box::pin(self.redis.run(|mut conn| async move { cmd.query_async(&mut conn).await }))
    }

    fn set_many<'a>(
        &'a self,
        items: Vec<(String, Vec<u8>)>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        if items.is_empty() {
            return Box::pin(std::future::ready(Ok(())));
        }
        // One round trip, applied as a whole (MULTI/EXEC): a reader never sees half of it.
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, value) in items {
            let set = pipe.cmd("SET").arg(self.key(&key)).arg(value);
            if let Some(ttl) = ttl {
                set.arg("PX").arg(millis(ttl));
            }
            set.ignore();
        }
        Box::pin(self.redis.run(|mut conn| async move { pipe.exec_async(&mut conn).await }))
    }

    fn clear<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let pattern = format!("{}*", glob_escape(&self.key(prefix)));
        Box::pin(async move {
            let mut cursor: u64 = 0;
            loop {
                // Each step is its own bounded command, so a large cache is cleared without
                // holding Redis (or one request's timeout) for the whole of it.
                let pattern = pattern.clone();
                let (next, keys): (u64, Vec<Vec<u8>>) = self
                    .redis
                    .run(|mut conn| async move {
                        redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(pattern)
                            .arg("COUNT")
                            .arg(SCAN_BATCH)
                            .query_async(&mut conn)
                            .await
                    })
                    .await?;
                if !keys.is_empty() {
                    self.redis
                        .run(|mut conn| async move { redis::cmd("UNLINK").arg(keys).exec_async(&mut conn).await })
                        .await?;
                }
                if next == 0 {
                    return Ok(());
                }
                cursor = next;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_a_millisecond() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
    }

    #[test]
    fn patterns_match_the_prefix_literally() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
