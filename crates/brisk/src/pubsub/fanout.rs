//! [`Fanout`]: the local half of a broker that listens to a server (Redis, PostgreSQL) — the
//! channels this process listens to, each a [`broadcast`] sender its subscribers read from,
//! and the subscription stream that turns a subscriber falling behind into a
//! [`Delivery::Gap`] and tells the broker ([`FanoutOwner`]) when a channel's last subscriber
//! leaves, so it can stop listening on the server.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, Weak};

use tokio::sync::broadcast;

use super::broker::{Delivery, Subscription};
use super::local::DEFAULT_CAPACITY;

/// The channels with local subscribers, by their name on the server: what a [`Broker`]
/// that listens to a server keeps, so that one server subscription feeds every local
/// subscriber of a channel.
///
/// ```
/// use std::sync::Arc;
/// use brisk::pubsub::{Delivery, Fanout, FanoutOwner};
///
/// #[derive(Default)]
/// struct MyBroker { fanout: Fanout }
/// impl FanoutOwner for MyBroker {
///     fn fanout(&self) -> &Fanout { &self.fanout }
///     fn left(&self, channel: String) { /* UNSUBSCRIBE channel on the server */ }
/// }
///
/// let broker = Arc::new(MyBroker::default());
/// let receiver = broker.fanout.join("news");
/// let _subscription = brisk::pubsub::fanout_subscription(receiver, "news".into(), Arc::downgrade(&broker));
/// broker.fanout.deliver("news", Delivery::Message("hi".into()));
/// assert!(broker.fanout.is_listened("news"));
/// ```
///
/// [`Broker`]: super::Broker
pub struct Fanout {
    channels: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
    capacity: usize,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::with_capacity(DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout").field("channels", &self.map().len()).finish()
    }
}

impl Fanout {
    /// A fan-out whose subscribers may fall `capacity` deliveries behind (at least 1) before
    /// they miss some and see a [`Delivery::Gap`].
    pub fn with_capacity(capacity: usize) -> Self {
        Fanout { channels: Mutex::default(), capacity: capacity.max(1) }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Delivery>>> {
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new receiver on `channel`, adding the channel when it is new here.
    pub fn join(&self, channel: &str) -> broadcast::Receiver<Delivery> {
        let mut map = self.map();
        match map.get(channel) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(self.capacity);
                map.insert(channel.to_owned(), sender);
                receiver
            }
        }
    }

    /// Hands `delivery` to the local subscribers of `channel`.
    pub fn deliver(&self, channel: &str, delivery: Delivery) {
        if let Some(sender) = self.map().get(channel) {
            // No receiver left: the last one is leaving and will unsubscribe.
            let _ = sender.send(delivery);
        }
    }

    /// Tells every subscriber that messages may have been missed (after a reconnection).
    pub fn gap_everywhere(&self) {
        for sender in self.map().values() {
            let _ = sender.send(Delivery::Gap);
        }
    }

    /// The channels listened to, to subscribe again on a new connection.
    pub fn channels(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// Whether `channel` still has local subscribers.
    pub fn is_listened(&self, channel: &str) -> bool {
        self.map().contains_key(channel)
    }

    /// Forgets `channel` when nobody here reads it any more; `true` when it was forgotten.
    fn leave(&self, channel: &str) -> bool {
        let mut map = self.map();
        if map.get(channel).is_some_and(|sender| sender.receiver_count() == 0) {
            map.remove(channel);
            return true;
        }
        false
    }
}

/// What owns a [`Fanout`] (a broker) and is told when a channel lost its last local
/// subscriber.
pub trait FanoutOwner: Send + Sync + 'static {
    /// The broker's fan-out.
    fn fanout(&self) -> &Fanout;
    /// Unsubscribes from `channel` on the server (if it is still not listened to then).
    fn left(&self, channel: String);
}

/// One subscriber: its receiver, and on drop, the broker's chance to unsubscribe.
struct Subscriber<O: FanoutOwner> {
    receiver: Option<broadcast::Receiver<Delivery>>,
    channel: String,
    owner: Weak<O>,
}

impl<O: FanoutOwner> Subscriber<O> {
    async fn next(&mut self) -> Option<Delivery> {
        let receiver = self.receiver.as_mut()?;
        match receiver.recv().await {
            Ok(delivery) => Some(delivery),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Delivery::Gap),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl<O: FanoutOwner> Drop for Subscriber<O> {
    fn drop(&mut self) {
        // The receiver goes first, so the count below no longer includes it.
        drop(self.receiver.take());
        if let Some(owner) = self.owner.upgrade() {
            if owner.fanout().leave(&self.channel) {
                owner.left(std::mem::take(&mut self.channel));
            }
        }
    }
}

/// The stream of one subscription to a [`Fanout`] (`receiver` from [`Fanout::join`]):
/// deliveries in order, a gap when it fell behind, the end when the broker is gone; dropping
/// it leaves the channel, and the last to leave tells `owner`.
pub fn fanout_subscription<O: FanoutOwner>(
    receiver: broadcast::Receiver<Delivery>,
    channel: String,
    owner: Weak<O>,
) -> Subscription {
    let subscriber = Subscriber { receiver: Some(receiver), channel, owner };
    Box::pin(futures_util::stream::unfold(subscriber, |mut subscriber| async move {
        let delivery = subscriber.next().await?;
        Some((delivery, subscriber))
    }))
}
