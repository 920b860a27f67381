//! [`StartOver`]: a map that forgets everything once it holds its capacity. The per-thread
//! caches of SQL text (query shapes, `bulk_update` statements, hand-written statements) are
//! kept this way: an app runs a few texts again and again, and one that keeps making new ones
//! costs a rebuild now and then, never unbounded memory.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash};

use crate::backend::TextHasher;

/// A map of at most `capacity` entries: inserting a new key into a full one empties it first.
pub(crate) struct StartOver<K, V> {
    map: HashMap<K, V, BuildHasherDefault<TextHasher>>,
    capacity: usize,
}

impl<K: Hash + Eq, V> StartOver<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        StartOver { map: HashMap::default(), capacity: capacity.max(1) }
    }

    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }

    /// Keeps `value` for `key`, after emptying the map when it is full and `key` is new.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_starts_over_for_a_new_key_only() {
        let mut map = StartOver::new(2);
        map.insert("a".to_owned(), 1);
        map.insert("b".to_owned(), 2);
        map.insert("b".to_owned(), 3);
        assert_eq!((map.get("a"), map.get("b")), (Some(&1), Some(&3)), "a known key replaces in place");
        map.insert("c".to_owned(), 4);
        assert_eq!((map.get("a"), map.get("b"), map.get("c")), (None, None, Some(&4)), "started over");
    }
}
