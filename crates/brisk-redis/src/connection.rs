//! [`Redis`]: the connection every backend of this crate shares — a redis-rs
//! `ConnectionManager` (one multiplexed connection that reconnects by itself), short timeouts so
//! a dead Redis fails fast, a key prefix, and how a Redis failure becomes a 503.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind};
use tokio::sync::OnceCell;

/// The URL [`Redis::from_env`] reads.
pub const URL_VARIABLE: &str = "REDIS_URL";

/// A Redis server and how to talk to it; cheap to clone (every clone shares one connection).
///
/// Nothing connects until the first command, so a `Redis` can be made before the runtime
/// starts (in `main`, before `brisk::run`). The connection is made again by itself after
/// Redis restarts; meanwhile every command answers 503 with `Retry-After`
/// ([`brisk::Error::unavailable`]).
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk_redis::Redis;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // REDIS_URL=redis://127.0.0.1:6379/0; keys start with "shop:".
/// let redis = Redis::from_env()?.with_prefix("shop:");
/// let app = App::new().install(redis);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Redis(Arc<Inner>);

struct Inner {
    client: redis::Client,
    url: String,
    options: Options,
    manager: OnceCell<ConnectionManager>,
    /// Whether the last command found Redis unreachable (to log the change once, not every
    /// failed request).
    down: AtomicBool,
}

#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) prefix: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) retry_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefix: "brisk:".to_owned(),
            connect_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_secs(1),
            retry_after: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("url", &self.0.url).field("prefix", &self.0.options.prefix).finish()
    }
}

/// A Redis URL that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Redis {
    /// The Redis of `REDIS_URL` (`redis://[user:password@]host[:port][/db]`, or
    /// `rediss://` / `redis+unix://` where redis-rs supports them). Unset is an error that says
    /// so; see [`Redis::from_env_if_set`] for an app where Redis is optional.
    pub fn from_env() -> Result<Redis, ConfigError> {
        match Redis::from_env_if_set()? {
            Some(redis) => Ok(redis),
            None => Err(ConfigError(format!(
                "{URL_VARIABLE} is not set: set it to the Redis to use, e.g. redis://127.0.0.1:6379/0"
            ))),
        }
    }

    /// The Redis of `REDIS_URL` when it is set (and not empty), else `None`: how an app runs
    /// in one process without Redis and across many with it, unchanged but for its
    /// configuration.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), brisk_redis::ConfigError> {
    /// let mut app = brisk::App::new();
    /// if let Some(redis) = brisk_redis::Redis::from_env_if_set()? {
    ///     app = app.install(redis);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_env_if_set() -> Result<Option<Redis>, ConfigError> {
        match std::env::var(URL_VARIABLE) {
            Ok(url) if !url.trim().is_empty() => Redis::new(url.trim()).map(Some),
            _ => Ok(None),
        }
    }

    /// The Redis at `url`. Only checks the URL; connects on first use.
    pub fn new(url: &str) -> Result<Redis, ConfigError> {
        let client = redis::Client::open(url)
            .map_err(|e| ConfigError(format!("{}: {e}", brisk::logging::redact_url(url))))?;
        Ok(Redis(Arc::new(Inner {
            client,
            url: brisk::logging::redact_url(url),
            options: Options::default(),
            manager: OnceCell::new(),
            down: AtomicBool::new(false),
        })))
    }

    fn with_options(self, change: impl FnOnce(&mut Options)) -> Redis {
        let mut options = self.0.options.clone();
        change(&mut options);
        Redis(Arc::new(Inner {
            client: self.0.client.clone(),
            url: self.0.url.clone(),
            options,
            manager: OnceCell::new(),
            down: AtomicBool::new(false),
        }))
    }

    /// Every key (cache, sessions, rate limits) and pub/sub channel gets `prefix` first, so
    /// apps sharing one Redis keep apart. `"brisk:"` by default.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Redis {
        let prefix = prefix.into();
        self.with_options(|o| o.prefix = prefix)
    }

    /// How long connecting may take (500 ms by default) and how long a command may wait for
    /// its answer (1 s): past them the command answers 503, so a Redis that hangs does not
    /// hold requests.
    pub fn with_timeouts(self, connect: Duration, response: Duration) -> Redis {
        self.with_options(|o| {
            o.connect_timeout = connect.max(Duration::from_millis(1));
            o.response_timeout = response.max(Duration::from_millis(1));
        })
    }

    /// The `Retry-After` a 503 carries while Redis is unreachable (1 s by default).
    pub fn with_retry_after(self, retry_after: Duration) -> Redis {
        self.with_options(|o| o.retry_after = retry_after)
    }

    /// The URL, with any password hidden.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The prefix of every key and channel.
    pub fn prefix(&self) -> &str {
        &self.0.options.prefix
    }

    pub(crate) fn options(&self) -> &Options {
        &self.0.options
    }

    pub(crate) fn client(&self) -> &redis::Client {
        &self.0.client
    }

    /// `prefix` + `rest`.
    pub(crate) fn key(&self, rest: &str) -> String {
        let mut key = String::with_capacity(self.0.options.prefix.len() + rest.len());
        key.push_str(&self.0.options.prefix);
        key.push_str(rest);
        key
    }

    /// Checks that Redis answers `PING` (the readiness check).
    pub async fn ping(&self) -> Result<(), brisk::Error> {
        self.run(|mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await })
            .await
            .map(|_| ())
    }

    /// The shared connection manager, made on first use (it needs the runtime).
    async fn manager(&self) -> Result<ConnectionManager, RedisError> {
        let options = &self.0.options;
        let made = self
            .0
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.connect_timeout))
                    .set_response_timeout(Some(options.response_timeout))
                    // One quick retry, then the command fails: the next command tries again.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.0.client.clone(), config)
            })
            .await?;
        Ok(made.clone())
    }

    /// Runs `work` on the shared connection within the timeouts; a Redis that cannot be
    /// reached becomes a 503 with `Retry-After`, any other failure an internal error (500,
    /// logged).
    pub(crate) async fn run<T, F, Fut>(&self, work: F) -> Result<T, brisk::Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let options = &self.0.options;
        // Connecting (with its one retry) plus answering, and a little slack: the bound on
        // how long a request waits for a Redis that does not answer.
        let bound = options.connect_timeout * 2 + options.response_timeout + Duration::from_millis(250);
        let outcome = tokio::time::timeout(bound, async { work(self.manager().await?).await }).await;
        match outcome {
            Ok(Ok(value)) => {
                if self.0.down.load(Ordering::Relaxed) && self.0.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "brisk_redis", url = %self.0.url, "Redis answers again");
                }
                Ok(value)
            }
            Ok(Err(e)) if !is_unreachable(&e) => {
                Err(brisk::Error::internal(format!("Redis at {}: {e}", self.0.url)))
            }
            Ok(Err(e)) => Err(self.went_down(&e.to_string())),
            Err(_) => Err(self.went_down("no answer in time")),
        }
    }

    pub(crate) fn went_down(&self, why: &str) -> brisk::Error {
        if !self.0.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(target: "brisk_redis", url = %self.0.url, error = why, "Redis is unreachable; requests that need it answer 503");
        } else {
            tracing::debug!(target: "brisk_redis", url = %self.0.url, error = why, "Redis is unreachable");
        }
        brisk::Error::unavailable(self.0.options.retry_after)
    }
}

/// Whether `e` means Redis cannot be reached or cannot serve right now (rather than a
/// mistaken command): the connection failed or dropped, timed out, or the server is loading
/// its data, read-only after a failover, or asks to try again.
pub(crate) fn is_unreachable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_refused_and_options_keep_the_url() {
        assert!(Redis::new("http://nope").is_err());
        let redis = Redis::new("redis://u:pw@127.0.0.1:1/0").map(|r| r.with_prefix("x:"));
        let redis = redis.as_ref().map(|r| (r.url().to_owned(), r.prefix().to_owned()));
        assert_eq!(redis, Ok(("redis://u:***@127.0.0.1:1/0".to_owned(), "x:".to_owned())));
    }
}
