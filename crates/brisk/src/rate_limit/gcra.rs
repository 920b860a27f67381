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

/// Gives back one request a key counted (a login that turned out not to be a failure, say):
/// its TAT moves one emission interval earlier, never before `now`. Returns the TAT to keep,
/// `None` when the key is then back to its full quota (or was never seen).
pub fn refund(tat: Option<Duration>, now: Duration, quota: Quota) -> Option<Duration> {
    let earlier = tat?.checked_sub(quota.emission_interval())?;
    (earlier > now).then_some(earlier)
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
    fn a_refund_gives_back_one_request_and_never_more_than_the_full_quota() {
        let quota = Quota::new(2, secs(60));
        let (_, tat) = step(None, secs(100), quota);
        let (_, tat) = step(tat, secs(100), quota);
        assert!(!step(tat, secs(100), quota).0.allowed);
        let back = refund(tat, secs(100), quota);
        assert_eq!(back, Some(secs(130)));
        let (d, _) = step(back, secs(100), quota);
        assert!(d.allowed, "the refunded request is there again");
        assert_eq!(d.remaining, 0);
        // Refunding more than was counted leaves a full quota, not more.
        assert_eq!(refund(refund(back, secs(100), quota), secs(100), quota), None);
        assert_eq!(refund(None, secs(100), quota), None, "a key never seen");
        // Long after, a refund cannot bring the time back before now.
        assert_eq!(refund(Some(secs(130)), secs(500), quota), None);
    }

    #[test]
    fn an_uneven_interval_never_reports_more_than_the_limit() {
        let quota = Quota::new(7, secs(60));
        let (d, _) = step(None, secs(5), quota);
        assert_eq!(d.remaining, 6);
    }
}
