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
        match dialect {
            Dialect::Sqlite => self.sql.clone(),
            Dialect::Postgres => numbered(&self.sql),
        }
    }

    fn check(&self) -> Result<(), Error> {
        let placeholders = numbered(&self.sql).matches('$').count() - self.sql.matches('$').count();
        if placeholders != self.values.len() {
            return Err(Error::Config(format!(
                "the statement has {placeholders} placeholders and {} bound values",
                self.values.len()
            )));
        }
        Ok(())
    }

    /// Runs it and reads every row as `R` (a model, or a tuple of column types).
    pub async fn fetch<R: FromRow>(self, ex: &impl Executor) -> Result<Vec<R>, Error> {
        self.check()?;
        let target = ex.target();
        target.fetch(true, self.sql(target.dialect()), self.values).await
    }

    /// Runs it and counts the rows it touched.
    pub async fn execute(self, ex: &impl Executor) -> Result<u64, Error> {
        self.check()?;
        let target = ex.target();
        target.execute(self.sql(target.dialect()), self.values).await
    }
}

/// `?` → `$1`, `$2` ... outside quotes and comments.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break; // a doubled quote reopens at once: same result
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            '?' => {
                n += 1;
                out.push_str(&format!("${n}"));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_comments() {
        assert_eq!(numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(numbered("x = '?' AND y = ? -- ?\n AND z = ?"), "x = '?' AND y = $1 -- ?\n AND z = $2");
        assert_eq!(numbered(r#""we?ird" = ? /* ? */"#), r#""we?ird" = $1 /* ? */"#);
        assert_eq!(numbered("'it''s ?' = ?"), "'it''s ?' = $1");
    }

    #[test]
    fn a_count_mismatch_is_refused() {
        assert!(Raw::new("SELECT ?").check().is_err());
        assert!(Raw::new("SELECT ?").bind(1i64).check().is_ok());
    }
}
