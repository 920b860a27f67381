//! [`Broker`]: how a published event reaches the subscribers of every process. One trait for
//! the in-process broker ([`LocalBroker`](super::LocalBroker)), Redis pub/sub
//! (`brisk_redis::RedisBroker`) and PostgreSQL `LISTEN/NOTIFY` (`brisk_orm::pubsub::PgBroker`).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

use crate::error::Error;
use crate::handler::BoxFuture;

/// What a subscription yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// One published payload, in the order the broker received them.
    Message(Bytes),
    /// Messages may have been missed here: the subscriber fell behind and the broker dropped
    /// some, or the connection to the broker was lost and made again. Delivery is best-effort;
    /// a subscriber that must not miss anything resyncs from the source of truth (re-reads
    /// the state from the database) when it sees a gap.
    Gap,
}

/// The stream of one subscription. It ends only when the broker is shut down; a lost
/// connection shows as a [`Delivery::Gap`] once it is back.
pub type Subscription = Pin<Box<dyn Stream<Item = Delivery> + Send + 'static>>;

/// Fans published events out to subscribers, in this process and (for a shared broker) in
/// every other process connected to it.
pub trait Broker: Send + Sync + 'static {
    /// Sends `payload` to every current subscriber of `channel`, in all processes. A broker
    /// that cannot be reached answers `Err` (503 with `Retry-After`).
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>>;

    /// Starts receiving what is published on `channel` from now on.
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Subscription, Error>>;
}
