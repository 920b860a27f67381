//! [`RateLimitStore`]: where the rate limiter keeps its state. One trait for the in-process
//! store ([`MemoryRateLimits`](super::MemoryRateLimits)) and Redis
//! (`brisk_redis::RedisRateLimits`, one Lua script), so a limit holds across processes when
//! they share Redis.

use std::time::Duration;

use crate::error::Error;
use crate::handler::BoxFuture;

/// How many requests a key may make in a period: `limit` per `period`, all of them at once
/// at most (the burst is the limit).
///
/// Made only by [`Quota::new`], which keeps the limit at least 1 and the period above zero;
/// the fields are private so that no quota divides by zero:
///
/// ```compile_fail
/// use std::time::Duration;
/// use brisk::rate_limit::Quota;
/// let quota = Quota { limit: 0, period: Duration::ZERO };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Requests allowed per period (at least 1).
    limit: u32,
    /// The period (more than zero).
    period: Duration,
}

/// The longest period a quota keeps: 100 years. Longer is the same in practice, and times a
/// period apart must still add up without overflowing (and stay exact in the Redis script's
/// floating-point microseconds).
const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Quota {
    /// `limit` requests per `period`. A zero limit or period is raised to the smallest
    /// meaningful value (1 request, 1 ms), so a quota never divides by zero; a period longer
    /// than 100 years is 100 years.
    pub fn new(limit: u32, period: Duration) -> Self {
        Quota { limit: limit.max(1), period: period.clamp(Duration::from_millis(1), LONGEST) }
    }

    /// Requests allowed per period (at least 1).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The period (at least 1 ms).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The time one request "costs" under GCRA: `period / limit`.
    pub fn emission_interval(&self) -> Duration {
        self.period / self.limit
    }
}

/// What the store decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests still allowed right now after this one (0 when refused).
    pub remaining: u32,
    /// When refused, how long until one request would be allowed (`Retry-After`); zero when
    /// allowed.
    pub retry_after: Duration,
    /// How long until the key is back to its full quota (`RateLimit-Reset`).
    pub reset_after: Duration,
}

/// The state behind [`RateLimit`](super::RateLimit): GCRA (the generic cell rate algorithm),
/// one theoretical arrival time per key, checked and updated atomically.
///
/// `check` counts the request when it is allowed and leaves the state alone when it is
/// refused. `key` arrives already namespaced by the limit (its name and the client's key), so
/// one store serves every limit of an app. A store that cannot be reached answers `Err` (a
/// 503 with `Retry-After`): a limiter that failed open would let a flood through exactly when
/// the infrastructure is struggling.
///
/// `peek`, `refund` and `reset` serve limits that count only some events: brisk-auth's login
/// throttle counts each attempt with `check` before the password is checked (so parallel
/// attempts cannot all pass), gives the address's back with `refund` and clears the
/// username's with `reset` when the login succeeds; `peek` answers "is this key blocked?"
/// without counting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> brisk::Result<()> {
/// use std::time::Duration;
/// use brisk::rate_limit::{MemoryRateLimits, Quota, RateLimitStore};
/// let store = MemoryRateLimits::new();
/// let quota = Quota::new(2, Duration::from_secs(60));
/// store.check("k", quota).await?;
/// store.check("k", quota).await?;
/// let next = store.peek("k", quota).await?;
/// assert!(!next.allowed);
/// assert!(next.retry_after <= Duration::from_secs(30)); // one interval: 60 s ÷ 2
/// store.refund("k", quota).await?;
/// assert!(store.peek("k", quota).await?.allowed);
/// store.reset("k").await?;
/// assert_eq!(store.peek("k", quota).await?.remaining, 1);
/// # Ok(()) }
/// ```
pub trait RateLimitStore: Send + Sync + 'static {
    /// Counts one request for `key` under `quota` if it is allowed, and says so.
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>>;

    /// What [`check`](RateLimitStore::check) would decide for `key` now, without counting
    /// anything.
    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>>;

    /// Gives back one request `check` counted for `key` under `quota` (never more than its
    /// full quota).
    fn refund<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<(), Error>>;

    /// Forgets `key`: it is back to its full quota.
    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Whether every process of the app shares this store's counts (Redis: yes; the
    /// in-process store: no, the default). Batteries that count across processes (brisk-auth's
    /// login throttle) use the app's store only when it is shared.
    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_quota_is_raised_and_read_through_accessors() {
        let quota = Quota::new(0, Duration::ZERO);
        assert_eq!(quota.limit(), 1);
        assert_eq!(quota.period(), Duration::from_millis(1));
        assert_eq!(quota.emission_interval(), Duration::from_millis(1));
    }

    #[test]
    fn a_period_too_long_to_add_is_a_century_and_steps_without_overflowing() {
        let quota = Quota::new(1, Duration::MAX);
        assert_eq!(quota.period(), LONGEST);
        let now = Duration::from_secs(1_000_000);
        let (first, tat) = super::super::gcra::step(None, now, quota);
        assert!(first.allowed);
        let (second, _) = super::super::gcra::step(tat, now, quota);
        assert!(!second.allowed, "one per century");
    }
}
