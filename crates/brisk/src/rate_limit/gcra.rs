//! GCRA, the generic cell rate algorithm, as one pure step: a key's state is a single time,
//! its *theoretical arrival time* (TAT), the moment the key would be back to a full quota.
//!
//! Every allowed request pushes the TAT one emission interval (`period / limit`) later; a
//! request is refused when that would put the TAT more than one period ahead of now. So
//! `limit` requests may come at once (the burst), after which one more is allowed every
//! emission interval. brisk's memory store calls [`step`] under a lock; brisk-redis runs the
//! same arithmetic in one Lua script.

use std::time::Duration;

use super::store::{Decision, Quota};

/// Decides one request for a key whose TAT is `tat` (`None`: a key never seen, or pruned), at
/// time `now` (any clock, the same for every call on the key). Returns the decision and the
/// TAT to keep: the new one when allowed, the old one when refused (a refused request costs
/// nothing).
pub fn step(tat: Option<Duration>, now: Duration, quota: Quota) -> (Decision, Option<Duration>) {
    let interval = quota.emission_interval();
    let tat = tat.map_or(now, |tat| tat.max(now));
    let new_tat = tat + interval;
    // The request is allowed from the moment the new TAT is at most one period ahead.
    let allowed_at = new_tat.saturating_sub(quota.period());
    if now < allowed_at {
        let decision =
            Decision { allowed: false, remaining: 0, retry_after: allowed_at - now, reset_after: tat - now };
        return (decision, Some(tat));
    }
    let ahead = new_tat - now;
    let left = quota.period().saturating_sub(ahead);
    let remaining = u32::try_from(left.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX);
    let decision = Decision {
        allowed: true,
        remaining: remaining.min(quota.limit() - 1),
        retry_after: Duration::ZERO,
        reset_after: ahead,
    };
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_burst_of_the_limit_then_one_per_interval() {
        let quota = Quota::new(3, secs(60));
        let mut tat = None;
        for left in [2, 1, 0] {
            let (d, next) = step(tat, secs(100), quota);
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
            tat = next;
        }
        let (refused, kept) = step(tat, secs(100), quota);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, secs(20), "one emission interval");
        assert_eq!(refused.reset_after, secs(60));
        assert_eq!(kept, tat, "a refused request costs nothing");
        // 20 s later exactly one more is allowed.
        let (d, tat) = step(tat, secs(120), quota);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!step(tat, secs(120), quota).0.allowed);
    }

    #[test]
    fn an_idle_key_is_back_to_its_full_quota() {
        let quota = Quota::new(10, secs(60));
        let (_, tat) = step(None, secs(0), quota);
        let (d, _) = step(tat, secs(600), quota);
        assert_eq!(d.remaining, 9);
        assert_eq!(d.reset_after, secs(6));
    }

    #[test]
    fn an_uneven_interval_never_reports_more_than_the_limit() {
        let quota = Quota::new(7, secs(60));
        let (d, _) = step(None, secs(5), quota);
        assert_eq!(d.remaining, 6);
    }
}
