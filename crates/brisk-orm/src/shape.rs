//! Query shapes: most queries an app runs are the same SQL with other values (`WHERE id = ?`
//! for every request). Building that SQL with sea-query costs more than the rest of brisk-orm's
//! work on a query, so the SQL of a simple query is built once per shape and kept, per thread.
//!
//! A shape is only cached after its first build proved that the values brisk-orm collects by
//! itself are exactly the values sea-query bound, in the same order; a shape for which they
//! differ is never cached and is built every time.
//!
//! The lookup runs on every query, so it is kept cheap (profiled on `bench/`'s `/fortunes`,
//! where it was ~2,400 instructions a query with a `format!`ed key and SipHash): the key is
//! written as bytes into a buffer the thread reuses, hashed eight bytes at a time, and the
//! cached SQL is an `Arc<str>`, handed to the database thread without copying the text.

use std::any::TypeId;
use std::cell::RefCell;
use std::sync::Arc;

use crate::backend::{Params, Sql};
use crate::start_over::StartOver;
use crate::value::Value;

/// Shapes kept per thread before the cache starts over.
const CAPACITY: usize = 512;

/// The shapes one thread has seen: each key's SQL (`None`: not cacheable), and the buffer the
/// key of the query at hand is written into.
struct Shapes {
    sql: Cache<Box<[u8]>>,
    key: Vec<u8>,
}

/// SQL by key; `None`: built every time (its values are not the ones collected without
/// building it). Starts over at [`CAPACITY`].
type Cache<K> = StartOver<K, Option<Arc<str>>>;

/// Keeps what a build found for `key`: its SQL when `reusable`, else that it is built every
/// time.
fn remember<K: std::hash::Hash + Eq>(cache: &mut Cache<K>, key: K, sql: &str, reusable: bool) {
    cache.insert(key, reusable.then(|| Arc::from(sql)));
}

/// The SQL of `filter(pk = value).get()` for each model, dialect and key kind (`None`: not
/// cacheable), by the model's type: no key to write.
type ByPrimaryKey = Cache<(TypeId, u8, u8)>;

thread_local! {
    static SHAPES: RefCell<Shapes> = RefCell::new(Shapes { sql: Cache::new(CAPACITY), key: Vec::new() });
    static BY_PRIMARY_KEY: RefCell<ByPrimaryKey> = RefCell::new(ByPrimaryKey::new(CAPACITY));
}

/// A shape key being written. Every part has a fixed layout (names carry their length), so two
/// different shapes never write the same bytes.
pub(crate) struct Key<'a>(&'a mut Vec<u8>);

impl Key<'_> {
    /// A name (a table, a column, what the query does).
    #[inline]
    pub(crate) fn name(&mut self, name: &str) -> &mut Self {
        self.0.extend_from_slice(&name.len().to_le_bytes());
        self.0.extend_from_slice(name.as_bytes());
        self
    }

    /// One byte: a marker, or the discriminant of a field-less enum.
    #[inline]
    pub(crate) fn tag(&mut self, tag: u8) -> &mut Self {
        self.0.push(tag);
        self
    }

    /// A number, or none.
    #[inline]
    pub(crate) fn number(&mut self, n: Option<u64>) -> &mut Self {
        match n {
            Some(n) => {
                self.0.push(1);
                self.0.extend_from_slice(&n.to_le_bytes());
            }
            None => self.0.push(0),
        }
        self
    }
}

/// What the cache knows of a key.
enum Lookup {
    /// The SQL, cached.
    Hit(Arc<str>),
    /// Not seen yet: the key, to keep with what is built.
    Miss(Box<[u8]>),
    /// No shape (`shape` said so), or one known not to be cacheable: built every time.
    Build,
}

/// The SQL and values of a query. `shape` writes the query's shape key and collects its values
/// in binding order, or returns `None` when the query has no shape; the SQL is then the cached
/// one, or `build()`'s (cached when its values are the collected ones).
pub(crate) fn sql(
    shape: impl FnOnce(&mut Key<'_>, &mut Vec<Value>) -> Option<()>,
    build: impl FnOnce() -> (String, Vec<Value>),
) -> (Sql, Vec<Value>) {
    let mut values = Vec::new();
    // `shape` only writes bytes and clones values: nothing in it reaches this cache again.
    let lookup = SHAPES.with(|shapes| {
        let mut shapes = shapes.borrow_mut();
        let Shapes { sql, key } = &mut *shapes;
        key.clear();
        if shape(&mut Key(key), &mut values).is_none() {
            return Lookup::Build;
        }
        match sql.get(key.as_slice()) {
            Some(Some(cached)) => Lookup::Hit(cached.clone()),
            Some(None) => Lookup::Build,
            None => Lookup::Miss(key.as_slice().into()),
        }
    });
    match lookup {
        Lookup::Hit(cached) => (Sql::Shared(cached), values),
        Lookup::Build => {
            let (sql, built) = build();
            (Sql::Built(sql), built)
        }
        Lookup::Miss(key) => {
            let (sql, built) = build();
            SHAPES.with(|shapes| remember(&mut shapes.borrow_mut().sql, key, &sql, built == values));
            (Sql::Built(sql), built)
        }
    }
}

/// The SQL and value of the commonest query of all, one row by its primary key
/// (`filter(pk = value).get()` and nothing else), found by the model's type, the dialect and
/// the key's kind (`shape` writes ~80 bytes of key for it). `build` makes the SQL the first
/// time, and it is kept when its one value is `value`, as [`sql`] keeps a shape.
pub(crate) fn by_primary_key<'v, M: 'static>(
    dialect: u8,
    kind: u8,
    value: &'v Value,
    build: impl FnOnce() -> (String, Vec<Value>),
) -> (Sql, Params<'v>) {
    let key = (TypeId::of::<M>(), dialect, kind);
    let cached = BY_PRIMARY_KEY.with(|cache| cache.borrow().get(&key).cloned());
    match cached {
        Some(Some(sql)) => (Sql::Shared(sql), Params::One(value)),
        Some(None) => {
            let (sql, values) = build();
            (Sql::Built(sql), Params::Owned(values))
        }
        None => {
            let (sql, values) = build();
            let reusable = values.as_slice() == std::slice::from_ref(value);
            BY_PRIMARY_KEY.with(|cache| remember(&mut cache.borrow_mut(), key, &sql, reusable));
            (Sql::Built(sql), Params::Owned(values))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(parts: impl FnOnce(&mut Key<'_>)) -> Vec<u8> {
        let mut bytes = Vec::new();
        parts(&mut Key(&mut bytes));
        bytes
    }

    #[test]
    fn names_carry_their_length_so_keys_do_not_run_together() {
        let ab_c = written(|k| {
            k.name("ab").name("c");
        });
        let a_bc = written(|k| {
            k.name("a").name("bc");
        });
        assert_ne!(ab_c, a_bc);
        let none_then_zero = written(|k| {
            k.number(None).tag(0);
        });
        let some_zero = written(|k| {
            k.number(Some(0));
        });
        assert_ne!(none_then_zero, some_zero);
    }

    #[test]
    fn a_shape_is_built_once_and_its_values_come_from_the_query() {
        let key = |k: &mut Key<'_>, values: &mut Vec<Value>| {
            k.name("shape-test").tag(1);
            values.push(Value::Int(Some(7)));
            Some(())
        };
        let mut builds = 0;
        let (first, values) = sql(key, || {
            builds += 1;
            ("SELECT 7".to_owned(), vec![Value::Int(Some(7))])
        });
        assert!(matches!(first, Sql::Built(_)));
        assert_eq!(values, vec![Value::Int(Some(7))]);
        let (second, values) = sql(key, || unreachable!("cached"));
        assert!(matches!(&second, Sql::Shared(s) if &**s == "SELECT 7"));
        assert_eq!(values, vec![Value::Int(Some(7))]);
        assert_eq!(builds, 1);
    }

    #[test]
    fn a_primary_key_query_is_built_once_per_model_dialect_and_kind() {
        struct A;
        struct B;
        let seven = Value::Int(Some(7));
        let mut builds = 0;
        let mut build = |sql: &str| {
            builds += 1;
            (sql.to_owned(), vec![Value::Int(Some(7))])
        };
        assert!(matches!(by_primary_key::<A>(0, 1, &seven, || build("A")).0, Sql::Built(_)));
        assert!(matches!(by_primary_key::<B>(0, 1, &seven, || build("B")).0, Sql::Built(_)));
        assert!(matches!(by_primary_key::<A>(1, 1, &seven, || build("A pg")).0, Sql::Built(_)));
        let eight = Value::Int(Some(8));
        let (sql, values) = by_primary_key::<A>(0, 1, &eight, || unreachable!("cached"));
        assert!(matches!(&sql, Sql::Shared(s) if &**s == "A"));
        assert_eq!(values.as_slice(), std::slice::from_ref(&eight));
        let (sql, _) = by_primary_key::<B>(0, 1, &eight, || unreachable!("cached"));
        assert!(matches!(&sql, Sql::Shared(s) if &**s == "B"));
        assert_eq!(builds, 3);
        // Built values that are not the query's own: never cached.
        struct C;
        for _ in 0..2 {
            let (sql, values) = by_primary_key::<C>(0, 1, &seven, || ("C".to_owned(), vec![]));
            assert!(matches!(sql, Sql::Built(_)));
            assert!(values.as_slice().is_empty());
        }
    }

    #[test]
    fn a_shape_whose_values_differ_from_the_built_ones_is_built_every_time() {
        let key = |k: &mut Key<'_>, _: &mut Vec<Value>| {
            k.name("shape-test-uncacheable");
            Some(())
        };
        for _ in 0..2 {
            let (sql, values) = sql(key, || ("SELECT ?".to_owned(), vec![Value::Int(Some(1))]));
            assert!(matches!(sql, Sql::Built(_)));
            assert_eq!(values.len(), 1);
        }
    }
}
