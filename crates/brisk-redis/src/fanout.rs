//! The local half of a broker: the channels this process listens to, each a
//! [`broadcast`] sender its subscribers read from, and the subscription stream that turns a
//! subscriber falling behind into a [`Delivery::Gap`] and tells the broker when a channel's
//! last subscriber leaves.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, Weak};

use brisk::pubsub::{Delivery, Subscription};
use tokio::sync::broadcast;

/// How many deliveries a subscriber may be behind before it misses some (and sees a gap).
pub(crate) const BUFFER: usize = 1024;

/// The channels with local subscribers, by their name on the server.
#[derive(Default)]
pub(crate) struct Fanout {
    channels: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
}

impl Fanout {
    fn map(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Delivery>>> {
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new receiver on `channel`, adding the channel when it is new here.
    pub(crate) fn join(&self, channel: &str) -> broadcast::Receiver<Delivery> {
        let mut map = self.map();
        match map.get(channel) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(BUFFER);
                map.insert(channel.to_owned(), sender);
                receiver
            }
        }
    }

    /// Hands `delivery` to the local subscribers of `channel`.
    pub(crate) fn deliver(&self, channel: &str, delivery: Delivery) {
        if let Some(sender) = self.map().get(channel) {
            // No receiver left: the last one is leaving and will unsubscribe.
            let _ = sender.send(delivery);
        }
    }

    /// Tells every subscriber that messages may have been missed (after a reconnection).
    pub(crate) fn gap_everywhere(&self) {
        for sender in self.map().values() {
            let _ = sender.send(Delivery::Gap);
        }
    }

    /// The channels listened to, to subscribe again on a new connection.
    pub(crate) fn channels(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// Whether `channel` still has local subscribers.
    pub(crate) fn is_listened(&self, channel: &str) -> bool {
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

/// What owns a [`Fanout`] and is told when a channel lost its last local subscriber.
pub(crate) trait Owner: Send + Sync + 'static {
    fn fanout(&self) -> &Fanout;
    /// Unsubscribes from `channel` on the server (if it is still not listened to then).
    fn left(&self, channel: String);
}

/// One subscriber: its receiver, and on drop, the broker's chance to unsubscribe.
struct Subscriber<O: Owner> {
    receiver: Option<broadcast::Receiver<Delivery>>,
    channel: String,
    owner: Weak<O>,
}

impl<O: Owner> Subscriber<O> {
    async fn next(&mut self) -> Option<Delivery> {
        let receiver = self.receiver.as_mut()?;
        match receiver.recv().await {
            Ok(delivery) => Some(delivery),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Delivery::Gap),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl<O: Owner> Drop for Subscriber<O> {
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

/// The stream of one subscription: deliveries in order, a gap when it fell behind, the end
/// when the broker is gone.
pub(crate) fn subscription<O: Owner>(
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
