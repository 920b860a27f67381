//! [`RedisSessionStore`]: brisk's [`SessionStore`] with one Redis key per session, expiring by
//! itself when the session does.

use std::time::{SystemTime, UNIX_EPOCH};

use brisk::handler::BoxFuture;
use brisk::sessions::{Record, SessionId, SessionStore};
use brisk::Error;

use crate::connection::Redis;

/// Sessions in Redis: the key `<redis prefix>session:<id>` holds the record as the cookie and
/// database stores write it ([`Record::to_json`]) and expires at the record's expiry (`SET
/// ... PXAT`), so nothing needs cleaning up and a logout through one process ends the session
/// in all of them.
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk::sessions::SessionConfig;
///
/// # fn main() -> Result<(), brisk_redis::ConfigError> {
/// let redis = brisk_redis::Redis::from_env()?;
/// // Installing Redis makes this the default store; naming it in the config works too.
/// let app = App::new().sessions(SessionConfig::from_env().store(redis.sessions()));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    redis: Redis,
}

impl RedisSessionStore {
    /// Sessions on `redis`.
    pub fn new(redis: Redis) -> Self {
        RedisSessionStore { redis }
    }

    fn key(&self, id: &SessionId) -> String {
        self.redis.key(&format!("session:{}", id.as_str()))
    }
}

impl Redis {
    /// A [`SessionStore`] on this Redis.
    pub fn sessions(&self) -> RedisSessionStore {
        RedisSessionStore::new(self.clone())
    }
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl SessionStore for RedisSessionStore {
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, Result<Option<Record>, Error>> {
        Box::pin(async move {
            // Anything that is not an id names no session, and costs no round trip.
            let Some(id) = SessionId::parse(cookie) else { return Ok(None) };
            let key = self.key(&id);
            let found: Option<Vec<u8>> = self
                .redis
                .run(|mut conn| async move { redis::cmd("GET").arg(key).query_async(&mut conn).await })
                .await?;
            // A value that does not read back (written by something else) is no session.
            Ok(found.and_then(|json| Record::from_json(&json)).filter(|record| record.id == id))
        })
    }

    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            let key = self.key(&record.id);
            let expires = unix_millis(record.expires);
            if expires <= unix_millis(SystemTime::now()) {
                // Already over: keeping it would only keep it from expiring on its own.
                self.redis
                    .run(|mut conn| async move { redis::cmd("DEL").arg(key).exec_async(&mut conn).await })
                    .await?;
            } else {
                let json = record.to_json()?;
                self.redis
                    .run(|mut conn| async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(json)
                            .arg("PXAT")
                            .arg(expires)
                            .exec_async(&mut conn)
                            .await
                    })
                    .await?;
            }
            Ok(record.id.as_str().to_owned())
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), Error>> {
        let key = self.key(id);
        Box::pin(
            self.redis.run(|mut conn| async move { redis::cmd("DEL").arg(key).exec_async(&mut conn).await }),
        )
    }
}
