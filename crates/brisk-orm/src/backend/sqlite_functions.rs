//! SQL functions brisk-orm adds to every SQLite connection, so a query answers as it does on
//! PostgreSQL: SQLite's own `lower()` and `upper()` fold ASCII letters only, PostgreSQL's
//! fold every letter (`É` → `é`); SQLite's `/` answers NULL for a division by zero, where
//! PostgreSQL fails.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Registers `brisk_lower(text)` and `brisk_upper(text)` (NULL stays NULL).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags =
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("brisk_lower", 1, flags, |ctx| fold(ctx.get_raw(0), str::to_lowercase))?;
    conn.create_scalar_function("brisk_upper", 1, flags, |ctx| fold(ctx.get_raw(0), upper))?;
    conn.create_scalar_function("brisk_div", 2, flags, |ctx| divide(ctx.get_raw(0), ctx.get_raw(1)))?;
    Ok(())
}

/// The message both backends' division-by-zero errors carry.
pub(crate) const DIVISION_BY_ZERO: &str = "division by zero";

/// `a / b` as SQLite computes it (integers truncate), but a zero divisor is an error and an
/// overflow too, as on PostgreSQL; NULL stays NULL.
fn divide(a: ValueRef<'_>, b: ValueRef<'_>) -> rusqlite::Result<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let fail = |m: &str| Err(rusqlite::Error::UserFunctionError(m.to_owned().into()));
    let real = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(r) => Some(r),
        _ => None,
    };
    match (a, b) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (ValueRef::Integer(_), ValueRef::Integer(0)) => fail(DIVISION_BY_ZERO),
        (ValueRef::Integer(x), ValueRef::Integer(y)) => match x.checked_div(y) {
            Some(q) => Ok(Value::Integer(q)),
            None => fail("integer out of range"),
        },
        (x, y) => match (real(x), real(y)) {
            (Some(_), Some(0.0)) => fail(DIVISION_BY_ZERO),
            (Some(n), Some(d)) => Ok(Value::Real(n / d)),
            _ => fail("brisk_div takes numbers"),
        },
    }
}

/// Upper case letter by letter, as PostgreSQL's `upper()` does: `ß` stays `ß` (Rust's
/// `to_uppercase` would make it `SS`, a different length).
fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn fold(value: ValueRef<'_>, f: fn(&str) -> String) -> rusqlite::Result<Option<String>> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => {
            Ok(Some(f(std::str::from_utf8(t).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?)))
        }
        other => Err(rusqlite::Error::UserFunctionError(
            format!("brisk_lower/brisk_upper take text, not {:?}", other.data_type()).into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_non_ascii_letters_like_postgres() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (lower, upper): (String, String) = conn
            .query_row("SELECT brisk_lower('ÉCOLE Straße'), brisk_upper('école straße')", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(lower, "école straße");
        assert_eq!(upper, "ÉCOLE STRAßE");
        let null: Option<String> = conn.query_row("SELECT brisk_lower(NULL)", [], |r| r.get(0)).unwrap();
        assert_eq!(null, None);
    }

    #[test]
    fn division_truncates_integers_and_refuses_zero() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (i, r): (i64, f64) = conn
            .query_row("SELECT brisk_div(-7, 2), brisk_div(7.0, 2)", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((i, r), (-3, 3.5));
        let e = conn.query_row("SELECT brisk_div(1, 0)", [], |r| r.get::<_, i64>(0)).unwrap_err();
        assert!(e.to_string().contains(DIVISION_BY_ZERO), "{e}");
        assert!(conn.query_row("SELECT brisk_div(1.5, 0.0)", [], |r| r.get::<_, f64>(0)).is_err());
        assert!(conn
            .query_row("SELECT brisk_div(-9223372036854775808, -1)", [], |r| r.get::<_, i64>(0))
            .is_err());
    }
}
