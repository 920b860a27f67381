//! [`MemoryStore`]: sessions in the process's memory, for tests and single-process
//! development. They are lost on restart and not shared between processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::record::{Record, SessionId};
use super::store::SessionStore;
use crate::error::Error;
use crate::handler::BoxFuture;

/// Sessions in a map in memory; clones share the map.
///
/// ```
/// use brisk::sessions::{MemoryStore, SessionConfig};
/// use brisk::secret_key::SecretKey;
///
/// let store = MemoryStore::new();
/// let config = SessionConfig::new(SecretKey::generate().unwrap()).store(store.clone());
/// assert_eq!(store.len(), 0);
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<Mutex<HashMap<SessionId, Record>>>);

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("sessions", &self.len()).finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<SessionId, Record>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many sessions it holds.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The session `id`, if held (for tests).
    pub fn get(&self, id: &SessionId) -> Option<Record> {
        self.map().get(id).cloned()
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, Result<Option<Record>, Error>> {
        let found = SessionId::parse(cookie).and_then(|id| self.get(&id));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<String, Error>> {
        self.map().insert(record.id.clone(), record.clone());
        Box::pin(std::future::ready(Ok(record.id.as_str().to_owned())))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), Error>> {
        self.map().remove(id);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, Error>> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, record| !record.is_expired(now));
        let removed = (before - map.len()) as u64;
        Box::pin(std::future::ready(Ok(removed)))
    }
}
