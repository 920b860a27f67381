//! GCRA in Redis: one limit shared by two clients (two processes), sane Retry-After and
//! remaining counts, the key's expiry.

mod common;

use std::time::Duration;

use brisk::rate_limit::{Quota, RateLimitStore};
use common::{cleanup, pttl, redis, unique_prefix, URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_a_minute_allows_exactly_ten_of_50_concurrent_across_two_stores() {
    let prefix = unique_prefix("rl-shared");
    let stores = [redis(&prefix).rate_limits(), redis(&prefix).rate_limits()];
    let quota = Quota::new(10, Duration::from_secs(60));
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = stores[n % 2].clone();
        tasks.push(tokio::spawn(async move { store.check("client:203.0.113.9", quota).await }));
    }
    let mut allowed = 0;
    let mut remaining = Vec::new();
    for task in tasks {
        let decision = task.await.expect("the task ran").expect("check");
        if decision.allowed {
            allowed += 1;
            remaining.push(decision.remaining);
            assert_eq!(decision.retry_after, Duration::ZERO);
        } else {
            assert_eq!(decision.remaining, 0);
            // One emission interval (6 s) at most, and more than nothing.
            assert!(
                decision.retry_after > Duration::ZERO && decision.retry_after <= Duration::from_secs(6),
                "retry after {:?}",
                decision.retry_after
            );
            assert!(
                decision.reset_after <= Duration::from_secs(60)
                    && decision.reset_after > decision.retry_after
            );
        }
    }
    assert_eq!(allowed, 10, "exactly the limit is allowed");
    remaining.sort_unstable();
    assert_eq!(remaining, (0..10).collect::<Vec<u32>>(), "each allowed request saw its own remaining count");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_counts_down_and_the_key_expires_at_the_reset() {
    let prefix = unique_prefix("rl-countdown");
    let store = redis(&prefix).rate_limits();
    let quota = Quota::new(3, Duration::from_secs(30));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let d = store.check("user:7", quota).await.expect("check");
        assert!(d.allowed);
        seen.push(d.remaining);
        let ttl = pttl(URL, &format!("{prefix}rl:user:7")).await;
        // The key lives until the key is back to a full quota, as the decision says.
        let reset = i64::try_from(d.reset_after.as_millis()).expect("small");
        assert!(ttl > 0 && ttl <= reset + 1, "PTTL {ttl} vs reset {reset}");
    }
    assert_eq!(seen, vec![2, 1, 0]);
    let refused = store.check("user:7", quota).await.expect("check");
    assert!(!refused.allowed);
    assert!(refused.retry_after <= Duration::from_secs(10) && refused.retry_after > Duration::ZERO);
    assert!(refused.reset_after <= Duration::from_secs(30) && refused.reset_after > refused.retry_after);
    // Another key has its own quota.
    assert!(store.check("user:8", quota).await.expect("check").allowed);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_comes_back_after_one_interval() {
    let prefix = unique_prefix("rl-refill");
    let store = redis(&prefix).rate_limits();
    // 2 per 400 ms: one more every 200 ms.
    let quota = Quota::new(2, Duration::from_millis(400));
    assert!(store.check("k", quota).await.expect("check").allowed);
    assert!(store.check("k", quota).await.expect("check").allowed);
    let refused = store.check("k", quota).await.expect("check");
    assert!(!refused.allowed);
    tokio::time::sleep(refused.retry_after + Duration::from_millis(30)).await;
    let again = store.check("k", quota).await.expect("check");
    assert!(again.allowed, "allowed again after Retry-After");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peek_counts_nothing_and_a_reset_gives_the_quota_back_everywhere() {
    let prefix = unique_prefix("rl-peek");
    let (one, two) = (redis(&prefix).rate_limits(), redis(&prefix).rate_limits());
    assert!(one.is_shared(), "every process on this Redis shares the counts");
    let quota = Quota::new(2, Duration::from_secs(60));
    for _ in 0..5 {
        let d = one.peek("k", quota).await.expect("peek");
        assert!(d.allowed);
        assert_eq!(d.remaining, 1, "as a first check would say");
    }
    assert!(common::keys(URL, &prefix).await.is_empty(), "peeking stores nothing");
    one.check("k", quota).await.expect("check");
    two.check("k", quota).await.expect("check");
    let next = two.peek("k", quota).await.expect("peek");
    assert!(!next.allowed);
    assert!(next.retry_after > Duration::from_secs(29) && next.retry_after <= Duration::from_secs(30));
    assert!(!one.check("k", quota).await.expect("check").allowed, "the peeks changed nothing");
    two.reset("k").await.expect("reset");
    assert!(common::keys(URL, &prefix).await.is_empty(), "the key is gone");
    assert_eq!(one.peek("k", quota).await.expect("peek").remaining, 1);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_moves_the_time_back_one_interval_and_drops_a_key_back_to_its_full_quota() {
    let prefix = unique_prefix("rl-refund");
    let store = redis(&prefix).rate_limits();
    let quota = Quota::new(2, Duration::from_secs(60));
    store.check("k", quota).await.expect("check");
    store.check("k", quota).await.expect("check");
    assert!(!store.peek("k", quota).await.expect("peek").allowed);
    store.refund("k", quota).await.expect("refund");
    let back = store.peek("k", quota).await.expect("peek");
    assert!(back.allowed, "the request given back");
    assert_eq!(back.remaining, 0);
    // One interval (30 s) of the full period is left, and the key expires with it.
    let ttl = pttl(URL, &format!("{prefix}rl:k")).await;
    assert!((25_000..=30_000).contains(&ttl), "PTTL {ttl}");
    store.refund("k", quota).await.expect("refund");
    assert!(common::keys(URL, &prefix).await.is_empty(), "back to its full quota: the key is gone");
    store.refund("never-seen", quota).await.expect("refund");
    assert!(common::keys(URL, &prefix).await.is_empty(), "a refund makes no key");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_refuses_a_mode_it_does_not_know() {
    let prefix = unique_prefix("rl-mode");
    let mut conn = common::raw(URL).await;
    let script = redis::Script::new(include_str!("../src/gcra.lua"));
    for mode in [Some("count"), None] {
        let mut call = script.key(format!("{prefix}k"));
        call.arg(1_000_000).arg(2);
        if let Some(mode) = mode {
            call.arg(mode);
        }
        let answer: Result<Vec<i64>, _> = call.invoke_async(&mut conn).await;
        let e = answer.expect_err("refused");
        assert!(e.to_string().contains("unknown mode"), "{mode:?}: {e}");
    }
    assert!(common::keys(URL, &prefix).await.is_empty(), "nothing written");
}
