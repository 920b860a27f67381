//! [`Raw`]: SQL written by hand, with bound values and typed rows, on either backend.

use std::cell::RefCell;
use std::sync::Arc;

use crate::backend::{Dialect, Executor, Sql, Target};
use crate::error::Error;
use crate::model::FromRow;
use crate::start_over::StartOver;
use crate::value::{SqlType, Value};

/// What [`Raw::bind`] takes: every [`SqlType`], and `&str`, `&String` and `Option<&str>`
/// (bound as text).
pub trait Bind {
    /// The value bound.
    fn into_value(self) -> Value;
}

impl<T: SqlType> Bind for T {
    fn into_value(self) -> Value {
        self.to_value()
    }
}

impl Bind for &str {
    fn into_value(self) -> Value {
        Value::String(Some(self.to_owned()))
    }
}

impl Bind for &String {
    fn into_value(self) -> Value {
        Value::String(Some(self.clone()))
    }
}

/// `None` binds a NULL of text.
impl Bind for Option<&str> {
    fn into_value(self) -> Value {
        Value::String(self.map(str::to_owned))
    }
}

/// A hand-written statement with `?` placeholders, each bound to a value (never spliced into
/// the text). On PostgreSQL the placeholders become `$1`, `$2` ... (a `?` inside a quoted
/// string, a quoted identifier or a comment is left alone). A statement of transaction control
/// (`COMMIT`, `ROLLBACK`, `BEGIN` ...) is refused before it is sent: see
/// [`Database::execute_raw`](crate::Database::execute_raw).
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

    /// Binds the next placeholder: any column type ([`SqlType`]: numbers, `String`,
    /// dates, `Option` for NULL ...) or text by reference (`&str`, `&String`, `Option<&str>`).
    ///
    /// ```
    /// use brisk_orm::{Dialect, Raw};
    /// let raw = Raw::new("SELECT id FROM items WHERE name = ? AND price > ?").bind("tea").bind(2.5);
    /// assert_eq!(raw.sql(Dialect::Postgres), "SELECT id FROM items WHERE name = $1 AND price > $2");
    /// ```
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.values.push(value.into_value());
        self
    }

    /// The statement in `dialect`'s placeholders.
    pub fn sql(&self, dialect: Dialect) -> String {
        numbered(&self.sql, dialect == Dialect::Postgres).0
    }

    /// The statement for `dialect`, once the placeholders match the values and it is not
    /// transaction control (see [`crate::control`]).
    fn checked(self, dialect: Dialect) -> Result<(Sql, Vec<Value>, bool), Error> {
        let (sql, Shape { placeholders, control }) = prepared(&self.sql, dialect == Dialect::Postgres);
        if let Some(keyword) = control.control {
            return Err(crate::control::refused(keyword));
        }
        if placeholders != self.values.len() {
            return Err(Error::Config(format!(
                "the statement has {placeholders} placeholders and {} bound values",
                self.values.len()
            )));
        }
        Ok((sql, self.values, control.rolls_back_to_a_savepoint))
    }

    /// Runs it and reads every row as `R` (a model, or a tuple of column types).
    pub async fn fetch<R: FromRow>(self, ex: &impl Executor) -> Result<Vec<R>, Error> {
        let target = ex.target();
        let (sql, values, rolls_back) = self.checked(target.dialect())?;
        let rows = target.fetch_sql(true, sql, values.into(), R::from_row).await?;
        rolled_back_if(rolls_back, target);
        Ok(rows)
    }

    /// Runs it and counts the rows it touched.
    pub async fn execute(self, ex: &impl Executor) -> Result<u64, Error> {
        let target = ex.target();
        let (sql, values, rolls_back) = self.checked(target.dialect())?;
        let touched = target.execute_sql(sql, values).await?;
        rolled_back_if(rolls_back, target);
        Ok(touched)
    }

    /// Sends it inside a transaction without waiting for its answer, which is read with the
    /// transaction's next statement, savepoint edge or commit: a write whose result the caller
    /// does not need (an audit row, a job) costs no round trip of its own. On PostgreSQL the
    /// `COMMIT` goes out right behind it, so `BEGIN`, the statement and `COMMIT` take one
    /// round trip together where awaiting [`Raw::execute`] takes two. Outside a transaction
    /// (`ex` a [`Database`](crate::Database), or a [`Db`](crate::Db) not under
    /// [`atomic_requests`](crate::atomic_requests)) there is no commit to read the answer
    /// with: the statement runs on its own and is awaited, as [`Raw::execute`].
    ///
    /// Returns once the statement is written (prepared first, the first time, which waits).
    /// What runs is what [`Raw::execute`] runs, rows touched not counted back (on SQLite a
    /// statement that returns rows fails, as there). A value that cannot be sent fails this
    /// call, with nothing written. If the statement fails, the transaction does not commit,
    /// even when the app handles the error and goes on: the commit
    /// ([`Database::atomic`](crate::Database::atomic),
    /// [`Transaction::commit`](crate::Transaction::commit)) rolls back and returns it. It comes
    /// out first from the next statement on PostgreSQL (which refuses statements in a failed
    /// transaction), from the commit on SQLite; written inside
    /// [`Transaction::atomic`](crate::Transaction::atomic), it is that block's failure and is
    /// rolled back with it. (With clones of one transaction used at once, commit once the
    /// statements running on the others have returned: a failure one of them is reading as
    /// the commit goes out may not be known to the commit.)
    ///
    /// ```no_run
    /// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
    /// use brisk_orm::Raw;
    /// db.atomic(|tx| async move {
    ///     Raw::new("INSERT INTO audit (action) VALUES (?)").bind("login").pipeline(&tx).await?;
    ///     Ok::<_, brisk_orm::Error>(()) // COMMIT goes out now; the INSERT's answer is read with it
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn pipeline(self, ex: &impl Executor) -> Result<(), Error> {
        let target = ex.target();
        let (sql, values, rolls_back) = self.checked(target.dialect())?;
        match target {
            // A `ROLLBACK TO` is awaited: what it undoes is known once it has run.
            Target::Tx(tx) if !rolls_back => tx.pipeline(sql, values).await,
            _ => {
                target.execute_sql(sql, values).await?;
                rolled_back_if(rolls_back, target);
                Ok(())
            }
        }
    }
}

/// After SQL written by hand that rolled back to a savepoint ran in a transaction: see
/// [`Transaction::rolled_back_to_a_savepoint`](crate::Transaction).
fn rolled_back_if(rolls_back: bool, target: Target<'_>) {
    if let (true, Target::Tx(tx)) = (rolls_back, target) {
        tx.rolled_back_to_a_savepoint();
    }
}

/// Texts up to this long are remembered by [`prepared`] (a longer one is numbered each time).
const REMEMBERED_LEN: usize = 4096;

/// How many texts each thread remembers (then it starts over).
const REMEMBERED: usize = 256;

/// What [`prepared`] learns of a text: its placeholders, and the transaction control it
/// starts with, if any.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shape {
    placeholders: usize,
    control: crate::control::Reading,
}

impl Shape {
    fn of(sql: &str, placeholders: usize, dialect: Dialect) -> Shape {
        Shape { placeholders, control: crate::control::read(sql, dialect) }
    }
}

/// Statements as sent (and their shapes), by their text as written: `[SQLite's,
/// PostgreSQL's]`.
type Prepared = [StartOver<Box<str>, (Arc<str>, Shape)>; 2];

thread_local! {
    static PREPARED: RefCell<Prepared> =
        RefCell::new([StartOver::new(REMEMBERED), StartOver::new(REMEMBERED)]);
}

/// The statement as sent (`?` numbered when `number`) and its [`Shape`], remembered by each
/// thread for texts up to [`REMEMBERED_LEN`]: hand-written SQL is mostly
/// the same few texts run again and again (brisk-jobs' enqueue, claims and outcomes), and
/// numbering a 300-byte statement byte by byte cost ~3,000 instructions a call, a sixth of an
/// enqueue's work in its process. The text is shared, so a PostgreSQL connection finds its
/// prepared statement by its address.
fn prepared(sql: &str, number: bool) -> (Sql, Shape) {
    let dialect = if number { Dialect::Postgres } else { Dialect::Sqlite };
    if sql.len() > REMEMBERED_LEN {
        let (text, n) = numbered(sql, number);
        return (Sql::Built(text), Shape::of(sql, n, dialect));
    }
    PREPARED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let texts = &mut cache[usize::from(number)];
        if let Some((text, shape)) = texts.get(sql) {
            return (Sql::Shared(text.clone()), *shape);
        }
        let (text, n) = numbered(sql, number);
        let text: Arc<str> = Arc::from(text);
        let shape = Shape::of(sql, n, dialect);
        texts.insert(Box::from(sql), (text.clone(), shape));
        (Sql::Shared(text), shape)
    })
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
    fn a_text_is_numbered_once_per_thread_and_a_long_one_each_time() {
        let text = |sql: &str, number| match prepared(sql, number) {
            (Sql::Shared(text), shape) => (Some(text), shape.placeholders),
            (Sql::Built(text), shape) => {
                assert_eq!((text.clone(), shape.placeholders), numbered(sql, number));
                (None, shape.placeholders)
            }
        };
        let (first, n) = text("UPDATE t SET a = ? WHERE b = ?", true);
        let first = first.expect("remembered");
        assert_eq!((&*first, n), ("UPDATE t SET a = $1 WHERE b = $2", 2));
        let again = text("UPDATE t SET a = ? WHERE b = ?", true).0.expect("remembered");
        assert!(Arc::ptr_eq(&first, &again), "the same text, not numbered again");
        // Each dialect its own.
        let sqlite = text("UPDATE t SET a = ? WHERE b = ?", false).0.expect("remembered");
        assert_eq!(&*sqlite, "UPDATE t SET a = ? WHERE b = ?");
        // A long text is numbered each time, not kept.
        let long = format!("SELECT ?{}", " ".repeat(REMEMBERED_LEN));
        assert_eq!(text(&long, true), (None, 1));
        // The cache starts over when full, and answers right after.
        for i in 0..REMEMBERED + 1 {
            assert_eq!(text(&format!("SELECT ? + {i}"), true).1, 1);
        }
        assert_eq!(text("UPDATE t SET a = ? WHERE b = ?", true).1, 2);
    }

    #[test]
    fn a_count_mismatch_is_refused() {
        assert!(Raw::new("SELECT ?").checked(Dialect::Postgres).is_err());
        assert!(Raw::new("SELECT ?").bind(1i64).checked(Dialect::Sqlite).is_ok());
    }

    #[test]
    fn transaction_control_is_refused_and_remembered_with_the_text() {
        for (dialect, number) in [(Dialect::Sqlite, false), (Dialect::Postgres, true)] {
            let Err(refused) = Raw::new("COMMIT").checked(dialect) else { panic!("COMMIT ran") };
            assert!(refused.to_string().contains("`COMMIT` in SQL written by hand"), "{refused}");
            // The verdict is kept with the text, per dialect (SQLite's `$x$` is a parameter).
            let text = "SELECT $x$; ROLLBACK; SELECT $x$";
            assert_eq!(
                prepared(text, number).1.control.control,
                if number { None } else { Some("ROLLBACK") }
            );
            assert!(Raw::new("ROLLBACK TO SAVEPOINT s").checked(dialect).is_ok());
            // A long text (not remembered) is read each time.
            let long = format!("ROLLBACK{}", " ".repeat(REMEMBERED_LEN));
            assert!(Raw::new(long).checked(dialect).is_err());
        }
    }
}
