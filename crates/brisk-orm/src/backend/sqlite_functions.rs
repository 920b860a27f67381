//! SQL functions brisk-orm adds to every SQLite connection, so a query answers as it does on
//! PostgreSQL: SQLite's own `lower()` and `upper()` fold ASCII letters only, PostgreSQL's
//! fold every letter (`É` → `é`).

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Registers `brisk_lower(text)` and `brisk_upper(text)` (NULL stays NULL).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags =
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("brisk_lower", 1, flags, |ctx| fold(ctx.get_raw(0), str::to_lowercase))?;
    conn.create_scalar_function("brisk_upper", 1, flags, |ctx| fold(ctx.get_raw(0), upper))?;
    Ok(())
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
}
