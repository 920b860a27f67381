//! [`Raw`]: SQL written by hand, with bound values and typed rows, on either backend.

use crate::backend::{Dialect, Executor};
use crate::error::Error;
use crate::model::FromRow;
use crate::value::{SqlType, Value};

/// A hand-written statement with `?` placeholders, each bound to a value (never spliced into
/// the text). On PostgreSQL the placeholders become `$1`, `$2` ... (a `?` inside a quoted
/// string, a quoted identifier or a comment is left alone).
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// use brisk_orm::Raw;
/// let rows: Vec<(i64, String)> = Raw::new("SELECT id, name FROM items WHERE price > ? ORDER BY id")
///     .bind(9.5)
///     .fetch(&db)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Raw {
    sql: String,
    values: Vec<Value>,
}

impl Raw {
    /// A statement with `?` placeholders.
    pub fn new(sql: impl Into<String>) -> Self {
        Raw { sql: sql.into(), values: Vec::new() }
    }

    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl SqlType) -> Self {
        self.values.push(value.to_value());
        self
    }

    /// The statement in `dialect`'s placeholders.
    pub fn sql(&self, dialect: Dialect) -> String {
        numbered(&self.sql, dialect == Dialect::Postgres).0
    }

    /// The statement for `dialect`, once the placeholders match the values.
    fn checked(self, dialect: Dialect) -> Result<(String, Vec<Value>), Error> {
        let (sql, placeholders) = numbered(&self.sql, dialect == Dialect::Postgres);
        if placeholders != self.values.len() {
            return Err(Error::Config(format!(
                "the statement has {placeholders} placeholders and {} bound values",
                self.values.len()
            )));
        }
        Ok((sql, self.values))
    }

    /// Runs it and reads every row as `R` (a model, or a tuple of column types).
    pub async fn fetch<R: FromRow>(self, ex: &impl Executor) -> Result<Vec<R>, Error> {
        let target = ex.target();
        let (sql, values) = self.checked(target.dialect())?;
        target.fetch(true, sql, values).await
    }

    /// Runs it and counts the rows it touched.
    pub async fn execute(self, ex: &impl Executor) -> Result<u64, Error> {
        let target = ex.target();
        let (sql, values) = self.checked(target.dialect())?;
        target.execute(sql, values).await
    }
}

/// Counts the `?` placeholders outside quotes and comments, and (when `number`) writes them
/// as `$1`, `$2` ...: one pass over the bytes, plain runs copied whole.
fn numbered(sql: &str, number: bool) -> (String, usize) {
    use std::fmt::Write;
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(if number { sql.len() + 16 } else { 0 });
    let (mut n, mut copied, mut i) = (0, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                // To the closing quote (a doubled quote closes and reopens: the same).
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'?' => {
                n += 1;
                if number {
                    out.push_str(&sql[copied..i]);
                    let _ = write!(out, "${n}");
                    copied = i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if number {
        out.push_str(&sql[copied.min(sql.len())..]);
    } else {
        out = sql.to_owned();
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_comments() {
        let pg = |s: &str| numbered(s, true);
        assert_eq!(pg("a = ? AND b = ?"), ("a = $1 AND b = $2".into(), 2));
        assert_eq!(
            pg("x = '?' AND y = ? -- ?\n AND z = ?"),
            ("x = '?' AND y = $1 -- ?\n AND z = $2".into(), 2)
        );
        assert_eq!(pg(r#""we?ird" = ? /* ? */"#), (r#""we?ird" = $1 /* ? */"#.into(), 1));
        assert_eq!(pg("'it''s ?' = ?"), ("'it''s ?' = $1".into(), 1));
        assert_eq!(pg("'unclosed ?"), ("'unclosed ?".into(), 0));
        assert_eq!(numbered("a = ? -- ?", false), ("a = ? -- ?".into(), 1));
    }

    #[test]
    fn a_count_mismatch_is_refused() {
        assert!(Raw::new("SELECT ?").checked(Dialect::Postgres).is_err());
        assert!(Raw::new("SELECT ?").bind(1i64).checked(Dialect::Sqlite).is_ok());
    }
}
