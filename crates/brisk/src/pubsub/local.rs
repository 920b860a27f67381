//! [`LocalBroker`]: the in-process [`Broker`], one tokio broadcast channel per channel name.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::broker::{Broker, Delivery, Subscription};
use crate::error::Error;
use crate::handler::BoxFuture;

/// The default number of messages a subscriber may fall behind by before it gets a
/// [`Delivery::Gap`].
pub const DEFAULT_CAPACITY: usize = 1024;

type Channels = Mutex<HashMap<String, broadcast::Sender<Bytes>>>;

/// The broker of one process (the app's default): a tokio broadcast channel per channel
/// name, made by its first subscriber and dropped with its last. Publishing to a channel no
/// one listens to costs a map lookup. A subscriber more than [`DEFAULT_CAPACITY`] messages
/// behind (see [`LocalBroker::with_capacity`]) loses the oldest and gets a
/// [`Delivery::Gap`] in their place.
///
/// Reaches only this process's subscribers: for several processes use brisk-redis's
/// `RedisBroker` (or brisk-orm's PostgreSQL broker).
#[derive(Clone)]
pub struct LocalBroker {
    channels: Arc<Channels>,
    capacity: usize,
}

impl Default for LocalBroker {
    fn default() -> Self {
        LocalBroker::new()
    }
}

impl std::fmt::Debug for LocalBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBroker").field("channels", &lock(&self.channels).len()).finish()
    }
}

fn lock(channels: &Channels) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Bytes>>> {
    channels.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LocalBroker {
    /// A broker whose subscribers may fall [`DEFAULT_CAPACITY`] messages behind.
    pub fn new() -> Self {
        LocalBroker::with_capacity(DEFAULT_CAPACITY)
    }

    /// A broker whose subscribers may fall `capacity` messages behind (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        LocalBroker { channels: Arc::default(), capacity: capacity.max(1) }
    }

    /// How many channels have subscribers.
    pub fn channels(&self) -> usize {
        lock(&self.channels).len()
    }
}

impl Broker for LocalBroker {
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>> {
        let mut channels = lock(&self.channels);
        if let Some(sender) = channels.get(channel) {
            if sender.send(payload).is_err() {
                // Every subscriber went away: the channel goes too.
                channels.remove(channel);
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Subscription, Error>> {
        let receiver = {
            let mut channels = lock(&self.channels);
            match channels.get(channel) {
                Some(sender) => sender.subscribe(),
                None => {
                    let (sender, receiver) = broadcast::channel(self.capacity);
                    channels.insert(channel.to_owned(), sender);
                    receiver
                }
            }
        };
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(payload) => Some((Delivery::Message(payload), receiver)),
                Err(RecvError::Lagged(_)) => Some((Delivery::Gap, receiver)),
                Err(RecvError::Closed) => None,
            }
        });
        let subscription = Listening {
            stream: Box::pin(stream),
            _leave: Leave { channels: Arc::downgrade(&self.channels), channel: channel.to_owned() },
        };
        Box::pin(std::future::ready(Ok(Box::pin(subscription) as Subscription)))
    }
}

/// A subscription: the receiver's stream, then (dropped after it) the guard that removes the
/// channel when this was its last subscriber.
struct Listening<S> {
    stream: Pin<Box<S>>,
    _leave: Leave,
}

impl<S: Stream<Item = Delivery>> Stream for Listening<S> {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.stream.as_mut().poll_next(cx)
    }
}

struct Leave {
    channels: Weak<Channels>,
    channel: String,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let Some(channels) = self.channels.upgrade() else { return };
        let mut channels = lock(&channels);
        if channels.get(&self.channel).is_some_and(|sender| sender.receiver_count() == 0) {
            channels.remove(&self.channel);
        }
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
