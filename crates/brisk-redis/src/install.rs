//! `App::install(redis)`: every backend of this crate at once.

use brisk::{App, Install};

use crate::connection::Redis;

/// Installing Redis makes it the app's session store (the default one: a
/// `SessionConfig::store` still wins), its cache, its rate-limit store and its pub/sub broker,
/// and adds a `redis` check to `/readyz` (when the app serves the health routes).
///
/// ```no_run
/// use brisk::prelude::*;
/// # fn main() -> Result<(), brisk_redis::ConfigError> {
/// let app = App::new().health_routes().install(brisk_redis::Redis::from_env()?);
/// # Ok(()) }
/// ```
///
/// The session store is the app's *default* store: it wins over brisk-orm's `Database`, which
/// gives its table only as the fallback, in any install order (a store named in the
/// `SessionConfig` wins over both).
impl Install for Redis {
    fn install(self, app: App) -> App {
        let ready = self.clone();
        app.default_session_store(self.sessions())
            .cache(self.cache())
            .rate_limit_store(self.rate_limits())
            .broker(self.broker())
            .readiness_check("redis", move || {
                let redis = ready.clone();
                Box::pin(async move { redis.ping().await.map_err(|_| "Redis does not answer".to_owned()) })
            })
    }
}
