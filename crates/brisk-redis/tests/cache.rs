//! The Redis cache backend on the real Redis: expiry, atomic add and incr across many
//! clients, get_many/set_many, clear by prefix, and errors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use brisk::http::StatusCode;
use common::{cleanup, keys, pttl, redis, unique_prefix, URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_get_delete_and_expiry() {
    let prefix = unique_prefix("cache-ttl");
    let cache = redis(&prefix).cache();

    assert_eq!(cache.get::<String>("missing").await.expect("get"), None);
    cache.set("forever", &vec![1, 2, 3], None).await.expect("set");
    cache.set("brief", &"soon gone", Some(Duration::from_millis(300))).await.expect("set with ttl");
    assert_eq!(cache.get::<Vec<i32>>("forever").await.expect("get"), Some(vec![1, 2, 3]));
    assert_eq!(cache.get::<String>("brief").await.expect("get").as_deref(), Some("soon gone"));

    // The key lives under the prefix, with the expiry asked for, and the other without one.
    let brief = pttl(URL, &format!("{prefix}cache:brief")).await;
    assert!((1..=300).contains(&brief), "PTTL {brief}");
    assert_eq!(pttl(URL, &format!("{prefix}cache:forever")).await, -1);

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache.get::<String>("brief").await.expect("get"), None, "expired");

    assert!(cache.delete("forever").await.expect("delete"));
    assert!(!cache.delete("forever").await.expect("delete again"));
    assert_eq!(cache.get::<Vec<i32>>("forever").await.expect("get"), None);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_is_atomic_under_100_concurrent_adders() {
    let prefix = unique_prefix("cache-add");
    // Two clients (two connections), as two processes would have.
    let caches = [redis(&prefix).cache(), redis(&prefix).cache()];
    let mut tasks = Vec::new();
    for n in 0..100u32 {
        let cache = caches[n as usize % 2].clone();
        tasks.push(tokio::spawn(
            async move { (n, cache.add("lock", &n, Some(Duration::from_secs(60))).await) },
        ));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (n, added) = task.await.expect("the task ran");
        if added.expect("add") {
            winners.push(n);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one adder wins: {winners:?}");
    assert_eq!(
        caches[0].get::<u32>("lock").await.expect("get"),
        Some(winners[0]),
        "the winner's value is kept"
    );
    let ttl = pttl(URL, &format!("{prefix}cache:lock")).await;
    assert!((1..=60_000).contains(&ttl), "the added key got its ttl: {ttl}");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_from_three_clients_times_100_is_300() {
    let prefix = unique_prefix("cache-incr");
    let caches = [redis(&prefix).cache(), redis(&prefix).cache(), redis(&prefix).cache()];
    let mut tasks = Vec::new();
    for cache in &caches {
        for _ in 0..100 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move { cache.incr("hits", 1).await }));
        }
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("the task ran").expect("incr"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=300).collect::<Vec<i64>>(), "every increment saw its own value");
    assert_eq!(caches[1].get::<i64>("hits").await.expect("get"), Some(300));
    assert_eq!(caches[2].decr("hits", 50).await.expect("decr"), 250);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_gives_a_new_counter_its_ttl_and_keeps_an_old_ones_expiry() {
    let prefix = unique_prefix("cache-incr-ttl");
    let cache = redis(&prefix).cache();
    let key = format!("{prefix}cache:window");

    assert_eq!(cache.incr_with_ttl("window", 1, Duration::from_secs(100)).await.expect("incr"), 1);
    let first = pttl(URL, &key).await;
    assert!((1..=100_000).contains(&first), "created with its ttl: {first}");
    // A later incr with another ttl does not move the window's end.
    assert_eq!(cache.incr_with_ttl("window", 2, Duration::from_secs(1000)).await.expect("incr"), 3);
    let second = pttl(URL, &key).await;
    assert!((1..=first).contains(&second), "the expiry stays: {first} then {second}");
    // A counter made without a ttl has none.
    cache.incr("plain", 5).await.expect("incr");
    assert_eq!(pttl(URL, &format!("{prefix}cache:plain")).await, -1);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_of_a_value_that_is_not_an_integer_is_an_error() {
    let prefix = unique_prefix("cache-incr-text");
    let cache = redis(&prefix).cache();
    cache.set("name", &"alice", None).await.expect("set");
    let err = cache.incr("name", 1).await.expect_err("text does not count");
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let err = cache.incr_with_ttl("name", 1, Duration::from_secs(5)).await.expect_err("nor in the script");
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(cache.get::<String>("name").await.expect("get").as_deref(), Some("alice"), "left alone");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_many_and_set_many() {
    let prefix = unique_prefix("cache-many");
    let cache = redis(&prefix).cache();
    cache.set_many(&[("a", 1), ("b", 2), ("c", 3)], Some(Duration::from_secs(30))).await.expect("set_many");
    let found = cache.get_many::<i32>(&["a", "missing", "c", "b"]).await.expect("get_many");
    assert_eq!(found, vec![Some(1), None, Some(3), Some(2)]);
    let ttl = pttl(URL, &format!("{prefix}cache:b")).await;
    assert!((1..=30_000).contains(&ttl), "set_many gives each its ttl: {ttl}");
    assert_eq!(cache.get_many::<i32>(&[]).await.expect("nothing asked"), Vec::<Option<i32>>::new());
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_leaves_another_prefix_and_the_sessions_alone() {
    let prefix = unique_prefix("cache-clear");
    let redis = redis(&prefix);
    let mine = redis.cache().with_prefix("mine:");
    let theirs = redis.cache().with_prefix("theirs:");
    // A prefix with glob characters is matched literally.
    let starry = redis.cache().with_prefix("m*");
    for n in 0..700 {
        mine.set(&format!("k{n}"), &n, None).await.expect("set");
    }
    theirs.set("k1", &"kept", None).await.expect("set");
    starry.set("k1", &"kept too", None).await.expect("set");
    let mut raw = common::raw(URL).await;
    let session_key = format!("{prefix}session:not-a-cache-key");
    let () = redis::cmd("SET").arg(&session_key).arg("x").query_async(&mut raw).await.expect("SET");

    // "m*" as a pattern would match "mine:..." too.
    starry.clear().await.expect("clear m*");
    assert_eq!(starry.get::<String>("k1").await.expect("get"), None);
    assert_eq!(mine.get::<i32>("k1").await.expect("get"), Some(1), "m* is not a pattern");

    mine.clear().await.expect("clear");
    assert_eq!(mine.get::<i32>("k1").await.expect("get"), None);
    assert_eq!(mine.get::<i32>("k699").await.expect("get"), None);
    assert_eq!(theirs.get::<String>("k1").await.expect("get").as_deref(), Some("kept"));
    assert_eq!(keys(URL, &prefix).await, vec![format!("{prefix}cache:theirs:k1"), session_key]);
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_or_set_makes_the_value_once_across_clients() {
    let prefix = unique_prefix("cache-get-or-set");
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cache = redis(&prefix).cache();
    let value: String = cache
        .get_or_set("report", Some(Duration::from_secs(30)), || {
            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok("made".to_owned()) }
        })
        .await
        .expect("get_or_set");
    assert_eq!(value, "made");
    let other = redis(&prefix).cache();
    let again: String =
        other.get_or_set("report", None, || async { Ok("made again".to_owned()) }).await.expect("get_or_set");
    assert_eq!(again, "made", "the second client finds the first one's value");
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
    cleanup(URL, &prefix).await;
}
