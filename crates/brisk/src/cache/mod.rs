//! A cache, as Django's `cache`: get, set with a time to live, add, delete, get_or_set,
//! atomic incr/decr, get_many/set_many, clear, with typed values. In-process by default;
//! Redis (brisk-redis) when many processes must share it.
//!
//! Needs feature `cache`.

mod backend;
mod handle;

pub use backend::CacheBackend;
pub use handle::Cache;
