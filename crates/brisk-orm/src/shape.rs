//! Query shapes: most queries an app runs are the same SQL with other values (`WHERE id = ?`
//! for every request). Building that SQL with sea-query costs more than the rest of brisk-orm's
//! work on a query, so the SQL of a simple query is built once per shape and kept, per thread.
//!
//! A shape is only cached after its first build proved that the values brisk-orm collects by
//! itself are exactly the values sea-query bound, in the same order; a shape for which they
//! differ is never cached and is built every time.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::value::Value;

/// Shapes kept per thread before the cache starts over.
const CAPACITY: usize = 512;

thread_local! {
    static SHAPES: RefCell<HashMap<String, Option<String>>> = RefCell::new(HashMap::new());
}

/// The SQL and values of a query of shape `key` whose values are `values`: the cached SQL, or
/// `build()`'s (then cached, when its values are `values`).
pub(crate) fn sql(
    key: String,
    values: Vec<Value>,
    build: impl FnOnce() -> (String, Vec<Value>),
) -> (String, Vec<Value>) {
    let cached = SHAPES.with(|shapes| shapes.borrow().get(&key).cloned());
    match cached {
        Some(Some(sql)) => (sql, values),
        // Known not to be cacheable.
        Some(None) => build(),
        None => {
            let (sql, built) = build();
            let keep = (built == values).then(|| sql.clone());
            SHAPES.with(|shapes| {
                let mut shapes = shapes.borrow_mut();
                if shapes.len() >= CAPACITY {
                    shapes.clear();
                }
                shapes.insert(key, keep);
            });
            (sql, built)
        }
    }
}
