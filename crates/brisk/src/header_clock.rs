//! A cheap clock for hyper's HTTP/1 header read timeout, one per connection.
//!
//! hyper asks its timer for a new sleep before every request head and drops it once the head
//! is read: with tokio's timer that is an allocation, a timer-wheel registration and a
//! deregistration per request. Here the sleep only writes its deadline into the connection's
//! [`Clock`]; the connection's pump keeps one real timer, armed at the earliest deadline and
//! re-armed only when it fires, so a busy connection touches the timer wheel once per timeout
//! period instead of once per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The deadline of the connection's pending header sleep, if any.
pub(crate) struct Clock {
    base: Instant,
    /// Nanoseconds after `base`; `NONE` when no sleep is pending.
    next: AtomicU64,
    /// The latest deadline the pump's timer has seen pass (nanoseconds after `base`).
    passed: AtomicU64,
}

const NONE: u64 = u64::MAX;

impl Clock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Clock { base: Instant::now(), next: AtomicU64::new(NONE), passed: AtomicU64::new(0) })
    }

    fn encode(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos).unwrap_or(NONE - 1).min(NONE - 1)
    }

    /// The pending deadline.
    #[cfg(test)]
    fn next(&self) -> Option<Instant> {
        match self.next.load(Ordering::Acquire) {
            NONE => None,
            nanos => Some(self.base + Duration::from_nanos(nanos)),
        }
    }

    fn set(&self, nanos: u64) {
        self.next.store(nanos, Ordering::Release);
    }

    /// Whether the pump's timer has seen the deadline `nanos` pass.
    fn has_passed(&self, nanos: u64) -> bool {
        nanos <= self.passed.load(Ordering::Acquire)
    }

    fn mark_passed(&self, nanos: u64) {
        self.passed.fetch_max(nanos, Ordering::AcqRel);
    }

    fn clear(&self, nanos: u64) {
        let _ = self.next.compare_exchange(nanos, NONE, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// hyper's timer for one connection's HTTP/1 side.
#[derive(Clone)]
pub(crate) struct ConnTimer(pub(crate) Arc<Clock>);

struct LazySleep {
    /// The deadline, encoded by the clock once (an `Instant` subtraction costs more than the
    /// rest of a poll).
    nanos: u64,
    clock: Arc<Clock>,
}

impl Future for LazySleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // No clock read here: the pump's timer says when a deadline has passed.
        if self.clock.has_passed(self.nanos) {
            return Poll::Ready(());
        }
        // The pump wakes the connection's task (this task) when the deadline comes.
        self.clock.set(self.nanos);
        Poll::Pending
    }
}

impl Drop for LazySleep {
    fn drop(&mut self) {
        self.clock.clear(self.nanos);
    }
}

impl hyper::rt::Sleep for LazySleep {}

impl hyper::rt::Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(LazySleep { nanos: self.0.encode(deadline), clock: self.0.clone() })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<LazySleep>() {
            Some(mut lazy) => {
                self.0.clear(lazy.nanos);
                lazy.nanos = self.0.encode(new_deadline);
            }
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The one real timer of a connection: armed at the clock's deadline, re-armed when it fires.
#[derive(Default)]
pub(crate) struct Alarm {
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The deadline the timer is armed for, as the clock encodes it.
    armed: u64,
}

impl Alarm {
    /// `Ready` when the clock's deadline has come: the caller wakes the connection's task.
    /// Once armed early enough the timer is left alone: it wakes the task when it fires.
    pub(crate) fn poll(&mut self, clock: &Clock, cx: &mut Context<'_>) -> Poll<()> {
        let nanos = clock.next.load(Ordering::Acquire);
        if nanos == NONE {
            return Poll::Pending;
        }
        // The common case, compared without decoding an `Instant`: a busy connection's
        // newest deadline lies after the one the timer is armed for, and the timer's waker is
        // registered already.
        if let Some(sleep) = &self.sleep {
            if self.armed < nanos && !sleep.is_elapsed() {
                return Poll::Pending;
            }
        }
        let deadline = tokio::time::Instant::from_std(clock.base + Duration::from_nanos(nanos));
        let sleep = match &mut self.sleep {
            Some(sleep) if !sleep.is_elapsed() && self.armed == nanos => sleep,
            Some(sleep) => {
                sleep.as_mut().reset(deadline);
                sleep
            }
            None => self.sleep.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = nanos;
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                clock.mark_passed(nanos);
                Poll::Ready(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_holds_the_pending_deadline_until_its_sleep_is_dropped() {
        let clock = Clock::new();
        let timer = ConnTimer(clock.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut sleep = hyper::rt::Timer::sleep_until(&timer, deadline);
        assert_eq!(clock.next(), None, "nothing pending before the first poll");
        let waker = std::task::Waker::noop();
        assert!(sleep.as_mut().poll(&mut Context::from_waker(waker)).is_pending());
        let noted = clock.next().expect("deadline noted");
        assert!(noted.saturating_duration_since(deadline) < Duration::from_micros(1));
        drop(sleep);
        assert_eq!(clock.next(), None);
    }

    #[tokio::test]
    async fn the_alarm_marks_the_deadline_passed_and_the_sleep_becomes_ready() {
        let clock = Clock::new();
        let timer = ConnTimer(clock.clone());
        let mut sleep = hyper::rt::Timer::sleep(&timer, Duration::from_millis(30));
        let mut alarm = Alarm::default();
        let started = Instant::now();
        std::future::poll_fn(|cx| {
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if alarm.poll(&clock, cx).is_ready() {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(30) && waited < Duration::from_secs(2), "{waited:?}");
    }
}
