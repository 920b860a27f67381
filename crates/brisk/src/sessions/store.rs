//! [`SessionStore`]: where sessions live. One trait for the signed cookie
//! ([`CookieStore`](super::CookieStore)), memory ([`MemoryStore`](super::MemoryStore)), the
//! database (`brisk_orm::sessions::DatabaseStore`) and, later, Redis.

use std::future::ready;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::record::{Record, SessionId};
use crate::error::Error;
use crate::handler::BoxFuture;

/// A place sessions are kept. The session layer calls it; handlers see only
/// [`Session`](super::Session).
///
/// A store is addressed by the session cookie's value: for a server-side store that is the
/// [`SessionId`] (parse it with [`SessionId::parse`]; anything else loads nothing), for the
/// cookie store the signed record itself. `save` returns the value the cookie gets.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use brisk::handler::BoxFuture;
/// use brisk::sessions::{Record, SessionId, SessionStore};
///
/// /// A store in a map (what `MemoryStore` is, without the clean-up).
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<SessionId, Record>>);
///
/// impl SessionStore for MapStore {
///     fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, brisk::Result<Option<Record>>> {
///         let found = SessionId::parse(cookie).and_then(|id| self.0.lock().unwrap().get(&id).cloned());
///         Box::pin(async move { Ok(found) })
///     }
///     fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, brisk::Result<String>> {
///         self.0.lock().unwrap().insert(record.id.clone(), record.clone());
///         Box::pin(async move { Ok(record.id.as_str().to_owned()) })
///     }
///     fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, brisk::Result<()>> {
///         self.0.lock().unwrap().remove(id);
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session the cookie's value names; `None` when it names none (unknown, forged,
    /// tampered with). Expiry is checked by the caller too, so a store may return an expired
    /// record.
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, Result<Option<Record>, Error>>;

    /// Keeps `record` (replacing the one with its id) and returns the cookie's new value.
    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<String, Error>>;

    /// Forgets the session `id` (a flushed session, or the old id after `cycle_id`).
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), Error>>;

    /// Refuses data that this store could not keep (the cookie store: over its size limit),
    /// so `Session::insert` fails where the handler can see it. The default accepts all.
    fn check_size(&self, data: &Map<String, Value>) -> Result<(), Error> {
        let _ = data;
        Ok(())
    }

    /// Removes the sessions expired at `now`; returns how many. Called on a timer (see
    /// [`SessionConfig::cleanup_interval`](super::SessionConfig::cleanup_interval)). The
    /// default removes nothing.
    fn delete_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, Error>> {
        let _ = now;
        Box::pin(ready(Ok(0)))
    }

    /// Gets ready before the server accepts connections (creates a table, say). The default
    /// does nothing.
    fn prepare(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(ready(Ok(())))
    }
}
