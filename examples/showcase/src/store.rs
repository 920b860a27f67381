//! An in-memory item store, shared by all workers.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::items::{ItemIn, ItemOut};

#[derive(Default)]
struct Inner {
    next_id: u64,
    items: BTreeMap<u64, ItemIn>,
    sessions_opened: u64,
    sessions_open: u64,
}

/// The items, ordered by id; ids are assigned from 1 up and never reused.
#[derive(Clone, Default)]
pub struct Store(Arc<RwLock<Inner>>);

impl Store {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a new item and returns it with its id.
    pub fn create(&self, item: ItemIn) -> ItemOut {
        let mut inner = self.write();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.items.insert(id, item.clone());
        ItemOut::new(id, item)
    }

    /// The item `id`.
    pub fn get(&self, id: u64) -> Option<ItemOut> {
        self.read().items.get(&id).map(|item| ItemOut::new(id, item.clone()))
    }

    /// Replaces the item `id`; `None` when there is no such item.
    pub fn replace(&self, id: u64, item: ItemIn) -> Option<ItemOut> {
        let mut inner = self.write();
        let slot = inner.items.get_mut(&id)?;
        *slot = item.clone();
        Some(ItemOut::new(id, item))
    }

    /// Removes the item `id`; false when there was none.
    pub fn delete(&self, id: u64) -> bool {
        self.write().items.remove(&id).is_some()
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.read().items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens a session (see [`crate::items::DbSession`]).
    pub fn open_session(&self) {
        let mut inner = self.write();
        inner.sessions_opened += 1;
        inner.sessions_open += 1;
    }

    /// Closes a session.
    pub fn close_session(&self) {
        let mut inner = self.write();
        inner.sessions_open = inner.sessions_open.saturating_sub(1);
    }

    /// Sessions opened since start-up, and open now.
    pub fn session_counts(&self) -> (u64, u64) {
        let inner = self.read();
        (inner.sessions_opened, inner.sessions_open)
    }

    /// A page of items ordered by id, keeping those whose name contains `q` (any case).
    pub fn list(&self, skip: usize, limit: usize, q: Option<&str>) -> Vec<ItemOut> {
        let needle = q.filter(|q| !q.is_empty()).map(str::to_lowercase);
        self.read()
            .items
            .iter()
            .filter(|(_, item)| needle.as_ref().is_none_or(|n| item.name.to_lowercase().contains(n)))
            .skip(skip)
            .take(limit)
            .map(|(id, item)| ItemOut::new(*id, item.clone()))
            .collect()
    }
}
