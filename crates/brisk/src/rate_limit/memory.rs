//! [`MemoryRateLimits`]: the in-process [`RateLimitStore`], GCRA over sharded maps.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::gcra;
use super::store::{Decision, Quota, RateLimitStore};
use crate::error::Error;
use crate::handler::BoxFuture;

const SHARDS: usize = 16;

/// How often a shard drops the keys that are back to their full quota.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// The rate-limit store of one process (the default): one theoretical arrival time per key, in
/// 16 mutex-guarded maps chosen by the key's hash (keys are hashed with a random seed, so a
/// client choosing its keys cannot pile them on one shard). A key idle for longer than its
/// period is back to its full quota and is dropped, about every 10 seconds, so the maps hold
/// only the keys active within their period.
///
/// Limits hold within one process; processes behind a balancer each count alone. Share them
/// with brisk-redis's store: `App::rate_limit_store(RedisRateLimits::new(...))`.
pub struct MemoryRateLimits {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    epoch: Instant,
}

#[derive(Default)]
struct Shard {
    tats: HashMap<String, Duration>,
    next_prune: Duration,
}

impl Default for MemoryRateLimits {
    fn default() -> Self {
        MemoryRateLimits::new()
    }
}

impl std::fmt::Debug for MemoryRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRateLimits").field("keys", &self.len()).finish()
    }
}

impl MemoryRateLimits {
    /// An empty store.
    pub fn new() -> Self {
        MemoryRateLimits {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            epoch: Instant::now(),
        }
    }

    /// How many keys are tracked (those not yet pruned).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).tats.len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        lock(&self.shards[(self.hasher.hash_one(key) % SHARDS as u64) as usize])
    }

    /// [`RateLimitStore::peek`] at a given time since the store was made (for tests).
    fn peek_at(&self, key: &str, quota: Quota, now: Duration) -> Decision {
        let tat = self.shard(key).tats.get(key).copied();
        gcra::step(tat, now, quota).0
    }

    /// [`RateLimitStore::refund`] at a given time since the store was made (for tests).
    fn refund_at(&self, key: &str, quota: Quota, now: Duration) {
        let mut shard = self.shard(key);
        match gcra::refund(shard.tats.get(key).copied(), now, quota) {
            Some(tat) => {
                if let Some(kept) = shard.tats.get_mut(key) {
                    *kept = tat;
                }
            }
            None => {
                shard.tats.remove(key);
            }
        }
    }

    /// [`RateLimitStore::check`] at a given time since the store was made (for tests).
    fn check_at(&self, key: &str, quota: Quota, now: Duration) -> Decision {
        let mut shard = self.shard(key);
        if now >= shard.next_prune {
            shard.tats.retain(|_, tat| *tat > now);
            shard.next_prune = now + PRUNE_EVERY;
        }
        let (decision, tat) = gcra::step(shard.tats.get(key).copied(), now, quota);
        match tat {
            Some(tat) if decision.allowed => match shard.tats.get_mut(key) {
                Some(kept) => *kept = tat,
                None => {
                    shard.tats.insert(key.to_owned(), tat);
                }
            },
            _ => {}
        }
        decision
    }
}

fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RateLimitStore for MemoryRateLimits {
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        let decision = self.check_at(key, quota, self.epoch.elapsed());
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<Decision, Error>> {
        let decision = self.peek_at(key, quota, self.epoch.elapsed());
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn refund<'a>(&'a self, key: &'a str, quota: Quota) -> BoxFuture<'a, Result<(), Error>> {
        self.refund_at(key, quota, self.epoch.elapsed());
        Box::pin(std::future::ready(Ok(())))
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.shard(key).tats.remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_limited_apart() {
        let store = MemoryRateLimits::new();
        let quota = Quota::new(2, Duration::from_secs(60));
        let now = Duration::from_secs(1);
        assert!(store.check_at("a", quota, now).allowed);
        assert!(store.check_at("a", quota, now).allowed);
        assert!(!store.check_at("a", quota, now).allowed);
        assert!(store.check_at("b", quota, now).allowed, "another key has its own quota");
    }

    #[test]
    fn a_peek_counts_nothing_and_a_refund_gives_one_request_back() {
        let store = MemoryRateLimits::new();
        let quota = Quota::new(2, Duration::from_secs(60));
        let now = Duration::from_secs(1);
        for _ in 0..5 {
            assert_eq!(store.peek_at("a", quota, now).remaining, 1, "peeking counts nothing");
        }
        store.check_at("a", quota, now);
        store.check_at("a", quota, now);
        let refused = store.peek_at("a", quota, now);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(30));
        assert!(store.peek_at("a", quota, now + Duration::from_secs(30)).allowed, "one interval later");
        assert!(!store.check_at("a", quota, now).allowed, "the peeks changed nothing");
        store.refund_at("a", quota, now);
        assert!(store.check_at("a", quota, now).allowed, "the refunded request");
        assert!(!store.peek_at("a", quota, now).allowed);
        store.refund_at("a", quota, now);
        store.refund_at("a", quota, now);
        store.refund_at("a", quota, now);
        assert_eq!(store.peek_at("a", quota, now).remaining, 1, "never more than the full quota");
        assert_eq!(store.len(), 0, "a key back to its full quota is dropped");
        store.refund_at("never-seen", quota, now);
        assert_eq!(store.len(), 0, "a refund adds no key");
    }

    #[tokio::test]
    async fn a_reset_gives_the_full_quota_back() {
        let store = MemoryRateLimits::new();
        let quota = Quota::new(1, Duration::from_secs(60));
        assert!(store.check("a", quota).await.expect("check").allowed);
        assert!(!store.check("a", quota).await.expect("check").allowed);
        store.reset("a").await.expect("reset");
        assert!(store.check("a", quota).await.expect("check").allowed);
        store.reset("never-seen").await.expect("a key never seen resets to what it was");
        assert_eq!(store.len(), 1, "only the key checked since is kept");
    }

    #[test]
    fn idle_keys_are_pruned() {
        let store = MemoryRateLimits::new();
        let quota = Quota::new(5, Duration::from_secs(1));
        for i in 0..100 {
            store.check_at(&format!("client-{i}"), quota, Duration::from_secs(1));
        }
        assert_eq!(store.len(), 100);
        // Long after their period, every shard prunes on its next check.
        let later = Duration::from_secs(100);
        for i in 0..1000 {
            store.check_at(&format!("late-{i}"), quota, later);
        }
        assert_eq!(store.len(), 1000, "only the keys checked within their period are left");
    }
}
