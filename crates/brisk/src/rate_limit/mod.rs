//! Rate limits: `limit` requests per period per key (client address, user, or a function of
//! the request), GCRA, 429 with `Retry-After` and `RateLimit-*` headers. In-process by
//! default; shared across processes through Redis (brisk-redis).

mod store;

pub use store::{Decision, Quota, RateLimitStore};
