//! [`LocalBroker`]: the in-process [`Broker`], a [`Fanout`] with nothing behind it.

use std::sync::Arc;

use bytes::Bytes;

use super::broker::{Broker, Delivery, Subscription};
use super::fanout::{fanout_subscription, Fanout, FanoutOwner};
use crate::error::Error;
use crate::handler::BoxFuture;

/// The default number of messages a subscriber may fall behind by before it gets a
/// [`Delivery::Gap`].
pub const DEFAULT_CAPACITY: usize = 1024;

/// The broker of one process (the app's default): a tokio broadcast channel per channel
/// name, made by its first subscriber and dropped with its last (the same [`Fanout`] the
/// server-backed brokers deliver through). Publishing to a channel no one listens to costs a
/// map lookup. A subscriber more than [`DEFAULT_CAPACITY`] messages behind (see
/// [`LocalBroker::with_capacity`]) loses the oldest and gets a [`Delivery::Gap`] in their
/// place.
///
/// Reaches only this process's subscribers: for several processes use brisk-redis's
/// `RedisBroker` (or brisk-orm's PostgreSQL broker).
#[derive(Clone)]
pub struct LocalBroker {
    inner: Arc<Local>,
}

/// What the subscriptions hold weakly: the fan-out, with no server to unsubscribe from.
struct Local {
    fanout: Fanout,
}

impl FanoutOwner for Local {
    fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    fn left(&self, _channel: String) {}
}

impl Default for LocalBroker {
    fn default() -> Self {
        LocalBroker::new()
    }
}

impl std::fmt::Debug for LocalBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBroker").field("channels", &self.channels()).finish()
    }
}

impl LocalBroker {
    /// A broker whose subscribers may fall [`DEFAULT_CAPACITY`] messages behind.
    pub fn new() -> Self {
        LocalBroker::with_capacity(DEFAULT_CAPACITY)
    }

    /// A broker whose subscribers may fall `capacity` messages behind (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        LocalBroker { inner: Arc::new(Local { fanout: Fanout::with_capacity(capacity) }) }
    }

    /// How many channels have subscribers.
    pub fn channels(&self) -> usize {
        self.inner.fanout.channels().len()
    }
}

impl Broker for LocalBroker {
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.fanout.deliver(channel, Delivery::Message(payload));
        Box::pin(std::future::ready(Ok(())))
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Subscription, Error>> {
        let receiver = self.inner.fanout.join(channel);
        let subscription = fanout_subscription(receiver, channel.to_owned(), Arc::downgrade(&self.inner));
        Box::pin(std::future::ready(Ok(subscription)))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn every_subscriber_gets_every_message_in_order() {
        let broker = LocalBroker::new();
        let mut a = broker.subscribe("news").await.unwrap();
        let mut b = broker.subscribe("news").await.unwrap();
        let mut other = broker.subscribe("sport").await.unwrap();
        broker.publish("news", Bytes::from_static(b"1")).await.unwrap();
        broker.publish("news", Bytes::from_static(b"2")).await.unwrap();
        for sub in [&mut a, &mut b] {
            assert_eq!(sub.next().await, Some(Delivery::Message(Bytes::from_static(b"1"))));
            assert_eq!(sub.next().await, Some(Delivery::Message(Bytes::from_static(b"2"))));
        }
        broker.publish("sport", Bytes::from_static(b"goal")).await.unwrap();
        assert_eq!(other.next().await, Some(Delivery::Message(Bytes::from_static(b"goal"))));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_sees_a_gap_then_the_newest() {
        let broker = LocalBroker::with_capacity(2);
        let mut slow = broker.subscribe("c").await.unwrap();
        for n in 0..5u8 {
            broker.publish("c", Bytes::from(vec![n])).await.unwrap();
        }
        assert_eq!(slow.next().await, Some(Delivery::Gap));
        assert_eq!(slow.next().await, Some(Delivery::Message(Bytes::from(vec![3]))));
        assert_eq!(slow.next().await, Some(Delivery::Message(Bytes::from(vec![4]))));
    }

    #[tokio::test]
    async fn a_channel_goes_with_its_last_subscriber() {
        let broker = LocalBroker::new();
        let a = broker.subscribe("c").await.unwrap();
        let b = broker.subscribe("c").await.unwrap();
        assert_eq!(broker.channels(), 1);
        drop(a);
        assert_eq!(broker.channels(), 1);
        drop(b);
        assert_eq!(broker.channels(), 0);
        // Publishing to no one is fine and makes no channel.
        broker.publish("c", Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(broker.channels(), 0);
    }
}
