//! Redis backends for brisk: sessions, cache, rate limits and pub/sub, so one app runs as many
//! processes sharing one Redis.
//!
//! ```no_run
//! use brisk::prelude::*;
//! use brisk::sessions::SessionConfig;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // REDIS_URL=redis://127.0.0.1:6379/0
//! let mut app = App::new().sessions(SessionConfig::from_env());
//! if let Some(redis) = brisk_redis::Redis::from_env_if_set()? {
//!     // Sessions, the cache, rate limits and pub/sub now live in Redis.
//!     app = app.install(redis);
//! }
//! brisk::run(app)?;
//! # Ok(()) }
//! ```
//!
//! | piece | type | on the server |
//! |---|---|---|
//! | connection | [`Redis`] | one multiplexed connection per process (redis-rs `ConnectionManager`) |
//! | cache | [`RedisCache`] | `<prefix>cache:<key>` strings |
//! | rate limits | [`RedisRateLimits`] | `<prefix>rl:<key>`, GCRA in one Lua script on Redis's clock |
//! | sessions | [`RedisSessionStore`] | `<prefix>session:<id>`, expiring with the session |
//! | pub/sub | [`RedisBroker`] | channels `<prefix>ps:<channel>`, one subscriber connection per process |
//!
//! While Redis is down every operation answers 503 with `Retry-After`
//! ([`brisk::Error::unavailable`]);
//! requests that do not need Redis keep working, and everything works again once Redis is
//! back, without restarting the app. See the README for the pub/sub resync rule.

mod cache;
mod connection;
mod install;
mod pubsub;
mod rate_limit;
mod sessions;

pub use cache::RedisCache;
pub use connection::{ConfigError, Redis, URL_VARIABLE};
pub use pubsub::RedisBroker;
pub use rate_limit::RedisRateLimits;
pub use sessions::RedisSessionStore;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
