//! How an app gets its rate-limit store: [`App::rate_limit_store`], or the memory store.

use std::sync::Arc;

use super::layer::SharedStore;
use super::memory::MemoryRateLimits;
use super::store::RateLimitStore;
use crate::app::App;
use crate::extract::StateMap;

impl App {
    /// Where the app's [rate limits](crate::rate_limit) keep their counts (default: a
    /// [`MemoryRateLimits`] of the process). brisk-redis's store shares them across processes.
    /// The store is also the app's state `State<Arc<dyn RateLimitStore>>`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::rate_limit::MemoryRateLimits;
    /// let app = App::new().rate_limit_store(MemoryRateLimits::new());
    /// ```
    pub fn rate_limit_store(self, store: impl RateLimitStore) -> Self {
        self.with_state::<SharedStore>(Arc::new(store))
    }
}

/// Gives the app the memory store when it was given none (as it is built).
pub(crate) fn default_store(state: &mut StateMap) {
    if state.get::<SharedStore>().is_none() {
        state.insert::<SharedStore>(Arc::new(MemoryRateLimits::new()));
    }
}
