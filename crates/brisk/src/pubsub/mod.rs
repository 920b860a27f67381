//! Publish/subscribe: an event published in one process reaches the subscribers (an SSE
//! stream, a WebSocket) of every process. In-process by default; Redis pub/sub (brisk-redis)
//! or PostgreSQL `LISTEN/NOTIFY` (brisk-orm) across processes.
//!
//! Handlers take a [`PubSub`] (the app's broker, see [`App::broker`](crate::App::broker)):
//!
//! ```
//! use futures_util::StreamExt;
//! use brisk::prelude::*;
//! use brisk::pubsub::{Delivery, PubSub};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let pubsub = PubSub::default();
//! let mut events = pubsub.subscribe("orders").await?;
//! pubsub.publish_json("orders", &serde_json::json!({"id": 1})).await?;
//! assert_eq!(events.next().await, Some(Delivery::Message(r#"{"id":1}"#.into())));
//! # Ok(())
//! # }
//! ```
//!
//! ## Best-effort, and the resync rule
//!
//! Delivery is at most once: a message published while a subscriber is disconnected, or
//! while it is too far behind, is lost. Every such loss that the broker can see shows as a
//! [`Delivery::Gap`] (a lagging subscriber, a reconnection to Redis), and a subscriber that
//! must not miss anything treats a gap as "re-read the state from the source of truth"
//! (the database), then carries on with the messages that follow. A client of
//! [`PubSub::sse`] gets a `resync` event for a gap. A client that reconnects (a browser's
//! `EventSource` does by itself) cannot know what it missed either: it re-reads on connect.
//! Publish facts small enough to apply ("order 7 is paid") or just "something changed in
//! room 3"; the truth stays in the database.

mod broker;
mod fanout;
mod handle;
mod local;

pub use broker::{Broker, Delivery, Subscription};
pub use fanout::{fanout_subscription, Fanout, FanoutOwner};
pub use handle::{sse_events, PubSub};
pub use local::{LocalBroker, DEFAULT_CAPACITY};

pub(crate) use handle::default_broker;
