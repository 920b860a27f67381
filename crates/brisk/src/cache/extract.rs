//! The app's [`Cache`] as an extractor, and how the app gets one.

use std::sync::Arc;

use http::request::Parts;

use super::handle::Cache;
use super::memory::MemoryCache;
use crate::app::App;
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext, StateMap};

impl App {
    /// The app's cache (default: a [`MemoryCache`] of the process, 64 MiB), which handlers
    /// take as a [`Cache`] argument (or `State<Cache>`) and [`ResponseCache`](super::ResponseCache)
    /// keeps responses in. brisk-redis's `RedisCache` shares it across processes.
    ///
    /// Needs feature `cache`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::cache::{Cache, MemoryCache};
    ///
    /// async fn visits(cache: Cache) -> Result<String> {
    ///     Ok(cache.incr("visits", 1).await?.to_string())
    /// }
    ///
    /// let app = App::new()
    ///     .cache(Cache::new(MemoryCache::with_max_bytes(16 << 20)).with_prefix("shop:"))
    ///     .route("/visits", post(visits));
    /// ```
    pub fn cache(self, cache: Cache) -> Self {
        self.with_state(cache)
    }
}

/// Gives the app a memory cache when it was given none (as it is built).
pub(crate) fn default_cache(state: &mut StateMap) {
    if state.get::<Cache>().is_none() {
        state.insert(Cache::from_arc(Arc::new(MemoryCache::default())));
    }
    if let Some(cache) = state.get::<Cache>() {
        super::response_cache::building_app(cache);
    }
}

/// The app's cache (see [`App::cache`]).
impl FromRequestParts for Cache {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        cx.state::<Cache>()
            .cloned()
            .ok_or_else(|| Error::internal("the app has no cache (it was not built by App)"))
    }
}

/// The app's to know: documents nothing.
impl crate::openapi::DescribeInput for Cache {
    fn describe_input(_cx: &mut crate::openapi::DocContext, _op: &mut crate::openapi::Operation) {}
}
