//! [`Throttle`]: a warning that can repeat on every request while something is down (the
//! cache's Redis, say) is logged at most once per interval from its call site, saying how many
//! were left out meanwhile, instead of a line per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One call site's allowance: at most one line per `interval`.
pub(crate) struct Throttle {
    interval_ms: u64,
    /// Milliseconds since [`clock_start`] before which nothing more is logged.
    next_ms: AtomicU64,
    /// Occurrences left out so far, in all (never reset: a left-out occurrence racing the
    /// logged one is counted by this line or the next, never lost).
    skipped: AtomicU64,
    /// `skipped` as the last logged line read it.
    reported: AtomicU64,
}

fn clock_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Throttle {
    pub(crate) const fn new(interval: Duration) -> Self {
        Throttle {
            interval_ms: interval.as_millis() as u64,
            next_ms: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this occurrence is to be logged, `n` being how many were not since the
    /// last one that was; `None` when it is left out.
    pub(crate) fn admit(&self) -> Option<u64> {
        self.admit_at(clock_start().elapsed().as_millis() as u64)
    }

    fn admit_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(next, now_ms + self.interval_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // Each logged line reports what was left out since the total the previous one read
            // (`fetch_max`: should two lines of far-apart intervals race, the later total wins
            // and the other reports nothing, so no occurrence is counted twice).
            let total = self.skipped.load(Ordering::Relaxed);
            let before = self.reported.fetch_max(total, Ordering::Relaxed);
            return Some(total.saturating_sub(before));
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_of_those_left_out() {
        let throttle = Throttle::new(Duration::from_secs(10));
        assert_eq!(throttle.admit_at(5), Some(0), "the first is logged");
        assert_eq!(throttle.admit_at(6), None);
        assert_eq!(throttle.admit_at(9_000), None);
        assert_eq!(throttle.admit_at(10_004), None, "not before the interval has passed");
        assert_eq!(throttle.admit_at(10_005), Some(3), "then logged, with the three left out");
        assert_eq!(throttle.admit_at(10_006), None);
        assert_eq!(throttle.admit_at(60_000), Some(1));
    }

    /// 8 threads × 1,000 occurrences in one interval: one line; the 7,999 left out are each
    /// counted once, by that line (those that raced it) or by the next (before, a line's
    /// reset of the count could erase an occurrence counted meanwhile: CI once saw 7,998).
    #[test]
    fn threads_racing_log_one_line_and_lose_no_count() {
        let throttle = std::sync::Arc::new(Throttle::new(Duration::from_secs(3600)));
        let logged: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..1000).filter_map(|_| throttle.admit_at(100)).collect::<Vec<u64>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(logged.len(), 1, "one line: {logged:?}");
        let next = throttle.admit_at(100 + 3_600_000).expect("the next interval logs");
        assert_eq!(logged[0] + next, 7_999, "{} then {next}", logged[0]);
        assert_eq!(throttle.admit_at(100 + 7_200_000), Some(0), "nothing left out since");
    }
}
