//! Rate limits: `limit` requests per period per key (client address, user, or a function of
//! the request), GCRA, 429 with `Retry-After` and `RateLimit-*` headers. In-process by
//! default; shared across processes through Redis (brisk-redis).
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::rate_limit::RateLimit;
//! use brisk::testing::TestClient;
//!
//! async fn login() -> &'static str { "welcome" }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new().route("/login", post(login).rate_limit(RateLimit::per_minute(2).name("login")));
//! let client = TestClient::new(app);
//! let first = client.post("/login").send().await;
//! assert_eq!(first.status(), 200);
//! assert_eq!(first.header("ratelimit-remaining"), Some("1"));
//! assert_eq!(first.header("ratelimit-policy"), Some("2;w=60"));
//! client.post("/login").send().await;
//! let refused = client.post("/login").send().await;
//! assert_eq!(refused.status(), 429);
//! assert_eq!(refused.header("retry-after"), Some("30"));
//! # }
//! ```
//!
//! ## How it counts
//!
//! GCRA (the generic cell rate algorithm): a limit of 10 per minute allows 10 requests at
//! once, then one more every 6 seconds: 10 a minute on average, and at most 19 within any one
//! minute (a full burst, then the requests its minute lets back in). A refused request
//! costs nothing. The state is one time per key, kept in the app's [`RateLimitStore`]: the
//! process's own [`MemoryRateLimits`] unless the app is given another with
//! [`App::rate_limit_store`](crate::App::rate_limit_store) (brisk-redis's store shares the count
//! across every process of the app). The store is looked up when a request arrives, so the
//! order of `rate_limit` and `rate_limit_store` calls does not matter.
//!
//! ## What the client sees
//!
//! Every answer of a limited route carries the IETF draft headers `RateLimit-Limit`,
//! `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the quota is whole again) and
//! `RateLimit-Policy` (`10;w=60`). A refused request gets 429 `{"detail": "Too Many
//! Requests"}` with `Retry-After` in whole seconds, rounded up. When the store cannot be
//! reached (Redis down) the answer is 503 with `Retry-After`: the limiter does not fail open.
//! The OpenAPI document lists the 429 on every limited operation.
//!
//! ## Keys
//!
//! By default the client's IP address (the TCP peer, or with
//! [`RateLimit::client_header`] the last entry of a header the proxy in front sets);
//! [`RateLimit::key_by`] takes any function of the request head (`None`: not limited).

pub mod gcra;
mod layer;
mod limit;
mod memory;
mod setup;
mod store;

pub use limit::{client_key, RateLimit};
pub use memory::MemoryRateLimits;
pub use store::{Decision, Quota, RateLimitStore};

pub(crate) use layer::wrap;
pub(crate) use setup::default_store;
