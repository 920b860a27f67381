//! Publish/subscribe: an event published in one process reaches the subscribers (an SSE
//! stream, a WebSocket) of every process. In-process by default; Redis pub/sub (brisk-redis)
//! or PostgreSQL `LISTEN/NOTIFY` (brisk-orm) across processes. Best-effort: see
//! [`Delivery::Gap`] for the resync rule.

mod broker;

pub use broker::{Broker, Delivery, Subscription};
