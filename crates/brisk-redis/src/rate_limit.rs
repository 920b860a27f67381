//! [`RedisRateLimits`]: brisk's [`RateLimitStore`] as one Lua script (`gcra.lua`), so a limit
//! holds across every process sharing the Redis.

use std::time::Duration;

use brisk::handler::BoxFuture;
use brisk::rate_limit::{Decision, Quota, RateLimitStore};
use brisk::Error;
use redis::Script;

use crate::connection::Redis;

/// GCRA in one script: reads the key's theoretical arrival time, decides, and moves it on,
/// atomically and on Redis's clock (`TIME`), so processes whose clocks differ still share one
/// limit. The key expires when it is back to its full quota.
///
/// ```no_run
/// # async fn demo() -> brisk::Result<()> {
/// use std::time::Duration;
/// use brisk::rate_limit::{Quota, RateLimitStore};
/// let redis = brisk_redis::Redis::new("redis://127.0.0.1:6379").expect("a Redis URL");
/// let limits = redis.rate_limits();
/// let decision = limits.check("login:203.0.113.9", Quota::new(10, Duration::from_secs(60))).await?;
/// assert!(decision.allowed);
/// assert_eq!(decision.remaining, 9);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisRateLimits {
    redis: Redis,
    script: Script,
}

impl RedisRateLimits {
    /// The store on `redis`; keys live under `<redis prefix>rl:`.
    pub fn new(redis: Redis) -> Self {
        RedisRateLimits { redis, script: Script::new(include_str!("gcra.lua")) }
    }
}

impl Redis {
    /// A [`RateLimitStore`] on this Redis.
    pub fn rate_limits(&self) -> RedisRateLimits {
        RedisRateLimits::new(self.clone())
    }
}

fn micros(n: i64) -> Duration {
    Duration::from_micros(u64::try_from(n).unwrap_or(0))
}

impl RedisRateLimits {
    /// Where `key` lives in Redis: under the prefix's `rl:`.
    fn stored(&self, key: &str) -> String {
        self.redis.key(&format!("rl:{key}"))
    }

    /// Runs the script on `key` in `mode`: `check`, `peek` or `refund`.
    fn decide<'a>(
        &'a self,
        key: &'a str,
        quota: Quota,
        mode: &'static str,
    ) -> BoxFuture<'a, Result<Decision, Error>> {
        let key = self.stored(key);
        let interval = u64::try_from(quota.emission_interval().as_micros()).unwrap_or(u64::MAX).max(1);
        let limit = quota.limit().max(1);
        Box::pin(async move {
            let answer: Vec<i64> = self
                .redis
                .run(|mut conn| async move {
                    self.script.key(key).arg(interval).arg(limit).arg(mode).invoke_async(&mut conn).await
                })
                .await?;
            let [allowed, remaining, retry_after, reset_after] = answer[..] else {
                return Err(Error::internal(format!("the rate-limit script answered {answer:?}")));
            };
            Ok(Decision {
                allowed: allowed == 1,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX).min(limit),
                retry_after: micros(retry_after),
                reset_after: micros(reset_after),
            })
        })
    }
}

impl RateLimitStore for RedisRateLimits {
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        self.decide(key, quota, "check")
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        self.decide(key, quota, "peek")
    }

    fn refund<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<(), Error>> {
        let decided = self.decide(key, quota, "refund");
        Box::pin(async move { decided.await.map(|_| ()) })
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let key = self.stored(key);
        Box::pin(async move {
            self.redis
                .run(|mut conn| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut conn).await })
                .await
        })
    }

    /// Every process on this Redis shares the counts.
    fn is_shared(&self) -> bool {
        true
    }
}
