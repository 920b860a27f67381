//! [`PubSub`]: the handle handlers publish and subscribe with, in front of any [`Broker`].

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::request::Parts;
use serde::Serialize;

use super::broker::{Broker, Delivery, Subscription};
use super::local::LocalBroker;
use crate::app::App;
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext, StateMap};
use crate::response::{Event, Sse};

/// Publish/subscribe for handlers: the app's [`Broker`] (see [`App::broker`]). Cheap to
/// clone; every clone shares the broker. Handlers take it as an argument (or
/// `State<PubSub>`).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::pubsub::PubSub;
/// use brisk::response::{Event, Sse};
///
/// #[derive(Serialize)]
/// struct Posted { id: u64 }
///
/// async fn post_message(pubsub: PubSub, Path(room): Path<String>) -> Result<NoContent> {
///     pubsub.publish_json(&format!("room:{room}"), &Posted { id: 7 }).await?;
///     Ok(NoContent)
/// }
///
/// async fn follow(pubsub: PubSub, Path(room): Path<String>) -> Result<Sse<impl futures_util::Stream<Item = Event> + Send>> {
///     pubsub.sse(&format!("room:{room}")).await
/// }
///
/// let app = App::new()
///     .route("/rooms/{room}/messages", post(post_message))
///     .route("/rooms/{room}/events", get(follow));
/// ```
#[derive(Clone)]
pub struct PubSub {
    broker: Arc<dyn Broker>,
}

impl std::fmt::Debug for PubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSub").finish_non_exhaustive()
    }
}

impl Default for PubSub {
    /// In front of a [`LocalBroker`].
    fn default() -> Self {
        PubSub::new(LocalBroker::new())
    }
}

impl PubSub {
    /// A handle in front of `broker`.
    pub fn new(broker: impl Broker) -> Self {
        PubSub { broker: Arc::new(broker) }
    }

    /// A handle in front of a shared broker.
    pub fn from_arc(broker: Arc<dyn Broker>) -> Self {
        PubSub { broker }
    }

    /// The broker behind this handle.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Sends `payload` to every subscriber of `channel`, in every process the broker reaches.
    pub async fn publish(&self, channel: &str, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.broker.publish(channel, payload.into()).await
    }

    /// Sends `value` as JSON.
    pub async fn publish_json<T: Serialize + ?Sized>(&self, channel: &str, value: &T) -> Result<(), Error> {
        let payload = serde_json::to_vec(value).map_err(Error::internal)?;
        self.broker.publish(channel, Bytes::from(payload)).await
    }

    /// What is published on `channel` from now on (see [`Delivery`]).
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription, Error> {
        self.broker.subscribe(channel).await
    }

    /// `channel` as a Server-Sent Events response: each message is one event whose data is
    /// the payload as text (JSON stays JSON), and a [`Delivery::Gap`] is an event named
    /// `resync` (data `gap`), on which the client re-reads what it shows:
    ///
    /// ```js
    /// const events = new EventSource("/rooms/1/events");
    /// events.onmessage = (e) => show(JSON.parse(e.data));
    /// events.addEventListener("resync", () => reload());
    /// ```
    ///
    /// The subscription starts before this returns, so nothing published after the call is
    /// missed.
    pub async fn sse(&self, channel: &str) -> Result<Sse<impl Stream<Item = Event> + Send + 'static>, Error> {
        Ok(Sse::new(sse_events(self.subscribe(channel).await?)))
    }
}

/// A subscription as SSE events: see [`PubSub::sse`].
pub fn sse_events(subscription: Subscription) -> impl Stream<Item = Event> + Send + 'static {
    subscription.map(|delivery| match delivery {
        Delivery::Message(payload) => Event::text(String::from_utf8_lossy(&payload).into_owned()),
        Delivery::Gap => Event::text("gap").event("resync"),
    })
}

impl App {
    /// The app's [broker](crate::pubsub) (default: a [`LocalBroker`], this process only).
    /// brisk-redis's `RedisBroker` (or brisk-orm's PostgreSQL broker) reaches every process.
    /// Handlers reach it as [`PubSub`].
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::pubsub::LocalBroker;
    /// let app = App::new().broker(LocalBroker::with_capacity(64));
    /// ```
    pub fn broker(self, broker: impl Broker) -> Self {
        self.with_state(PubSub::new(broker))
    }

    /// The app's [`PubSub`] handle, for code that keeps a clone to publish from outside
    /// handlers (a background job): [`App::broker`] with the handle made beforehand.
    pub fn pubsub(self, pubsub: PubSub) -> Self {
        self.with_state(pubsub)
    }
}

/// Gives the app a local broker when it was given none (as it is built).
pub(crate) fn default_broker(state: &mut StateMap) {
    if state.get::<PubSub>().is_none() {
        state.insert(PubSub::default());
    }
}

/// The app's broker (see [`App::broker`]).
impl FromRequestParts for PubSub {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        cx.state::<PubSub>()
            .cloned()
            .ok_or_else(|| Error::internal("the app has no broker (it was not built by App)"))
    }
}

/// The app's to know: documents nothing.
impl crate::openapi::DescribeInput for PubSub {
    fn describe_input(_cx: &mut crate::openapi::DocContext, _op: &mut crate::openapi::Operation) {}
}
