//! A cache, as Django's `cache`: get, set with a time to live, add, delete, get_or_set,
//! atomic incr/decr, get_many/set_many, clear, with typed values. In-process by default;
//! Redis (brisk-redis) when many processes must share it.
//!
//! Needs feature `cache`.
//!
//! Every app has a cache: the one given with [`App::cache`](crate::App::cache), else a
//! [`MemoryCache`] of 64 MiB. Handlers take it as an argument:
//!
//! ```
//! use std::time::Duration;
//! use brisk::prelude::*;
//! use brisk::cache::Cache;
//! use brisk::testing::TestClient;
//!
//! async fn report(cache: Cache) -> Result<Json<Vec<String>>> {
//!     let rows = cache
//!         .get_or_set("report", Some(Duration::from_secs(60)), || async {
//!             Ok(vec!["slow".to_owned(), "query".to_owned()])
//!         })
//!         .await?;
//!     Ok(Json(rows))
//! }
//!
//! async fn hit(cache: Cache) -> Result<String> {
//!     Ok(cache.incr("hits", 1).await?.to_string())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::new(App::new().route("/report", get(report)).route("/hit", post(hit)));
//! assert_eq!(client.get("/report").send().await.json::<Vec<String>>(), ["slow", "query"]);
//! client.post("/hit").send().await;
//! assert_eq!(client.post("/hit").send().await.text(), "2");
//! # }
//! ```
//!
//! Whole responses of GET routes are cached by the [`ResponseCache`] layer.
//!
//! A backend that cannot reach its server answers [`unavailable`]: the request gets 503 with
//! `Retry-After`, and requests that do not use the cache keep working.

mod backend;
mod extract;
mod handle;
mod memory;
mod response_cache;

pub use backend::CacheBackend;
pub use handle::Cache;
pub use memory::{MemoryCache, DEFAULT_MAX_BYTES};
pub use response_cache::{ResponseCache, ResponseCacheService, DEFAULT_MAX_BODY, X_CACHE};

pub(crate) use extract::default_cache;

/// 503 with `Retry-After` (whole seconds, at least 1): what a [`CacheBackend`] answers when it
/// cannot reach its server, so the request fails fast and the client retries later. The same
/// as [`Error::unavailable`](crate::Error::unavailable).
///
/// Needs feature `cache`.
pub fn unavailable(retry_after: std::time::Duration) -> crate::Error {
    crate::Error::unavailable(retry_after)
}
