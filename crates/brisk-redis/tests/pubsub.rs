//! Redis pub/sub across brokers (processes): a subscriber on one receives what another
//! publishes; channels keep apart; the last subscriber leaving unsubscribes.

mod common;

use std::time::Duration;

use brisk::pubsub::{Broker, Delivery, Subscription};
use common::{raw, redis, unique_prefix, URL};
use futures_util::StreamExt;

/// The next delivery, failing the test rather than hanging when none comes.
async fn next(sub: &mut Subscription) -> Delivery {
    match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("the subscription ended"),
        Err(_) => panic!("nothing delivered in 10 s"),
    }
}

fn message(text: &str) -> Delivery {
    Delivery::Message(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

/// How many subscribers the server counts on `channel`.
async fn numsub(channel: &str) -> i64 {
    let mut conn = raw(URL).await;
    let counts: Vec<(String, i64)> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(&mut conn).await.expect("PUBSUB NUMSUB");
    counts.first().map_or(0, |(_, n)| *n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_broker_receives_what_another_publishes() {
    let prefix = unique_prefix("pubsub");
    let (a, b) = (redis(&prefix).broker(), redis(&prefix).broker());
    let mut first = a.subscribe("news").await.expect("subscribe");
    let mut second = a.subscribe("news").await.expect("subscribe");
    let mut on_b = b.subscribe("news").await.expect("subscribe");
    let mut other = a.subscribe("other").await.expect("subscribe");
    // One connection per broker, whatever the number of local subscribers.
    assert_eq!(numsub(&format!("{prefix}ps:news")).await, 2);

    b.publish("news", "hello".into()).await.expect("publish");
    b.publish("other", "elsewhere".into()).await.expect("publish");
    a.publish("news", "again".into()).await.expect("publish");
    for sub in [&mut first, &mut second, &mut on_b] {
        assert_eq!(next(sub).await, message("hello"));
        assert_eq!(next(sub).await, message("again"), "in order, and nothing of the other channel");
    }
    assert_eq!(next(&mut other).await, message("elsewhere"));

    // Binary payloads pass unchanged.
    b.publish("other", bytes::Bytes::from_static(&[0, 159, 146, 150])).await.expect("publish");
    assert_eq!(next(&mut other).await, Delivery::Message(bytes::Bytes::from_static(&[0, 159, 146, 150])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_subscriber_leaving_unsubscribes_and_a_new_one_subscribes_again() {
    let prefix = unique_prefix("pubsub-leave");
    let channel = format!("{prefix}ps:room");
    let broker = redis(&prefix).broker();
    let first = broker.subscribe("room").await.expect("subscribe");
    let second = broker.subscribe("room").await.expect("subscribe");
    assert_eq!(numsub(&channel).await, 1);
    drop(first);
    // Still one subscriber here: the server keeps the subscription.
    let mut second = second;
    broker.publish("room", "still here".into()).await.expect("publish");
    assert_eq!(next(&mut second).await, message("still here"));
    drop(second);
    let mut left = false;
    for _ in 0..200 {
        if numsub(&channel).await == 0 {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(left, "the server no longer sends the channel to this process");

    let mut back = broker.subscribe("room").await.expect("subscribe again");
    assert_eq!(numsub(&channel).await, 1);
    broker.publish("room", "welcome back".into()).await.expect("publish");
    assert_eq!(next(&mut back).await, message("welcome back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_ends_when_the_broker_is_dropped() {
    let prefix = unique_prefix("pubsub-end");
    let broker = redis(&prefix).broker();
    let mut sub = broker.subscribe("x").await.expect("subscribe");
    drop(broker);
    let end = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("ends, not hangs");
    assert_eq!(end, None);
}
