//! The two backends behind one enum, and [`Executor`]: where a query runs (the pool, or a
//! transaction). Nothing outside this module looks at which backend it is, except to pick
//! the SQL [`Dialect`].

pub(crate) mod bind;
pub(crate) mod postgres;
pub(crate) mod sqlite;
mod sqlite_functions;
mod stream;

pub(crate) use sqlite_functions::DIVISION_BY_ZERO;

use std::ops::Deref;
use std::sync::Arc;

use futures_util::stream::BoxStream;
use rusqlite::Connection;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};

use crate::database::Database;
use crate::error::{from_sqlite, Error};
use crate::model::FromRow;
use crate::transaction::Transaction;
use crate::value::{RowRef, Value};
use bind::SqliteParam;

/// Which SQL a query is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite (3.35 or newer: `RETURNING`, `NULLS FIRST`).
    Sqlite,
    /// PostgreSQL (12 or newer).
    Postgres,
}

impl Dialect {
    /// The SQL and the bound values of a sea-query statement.
    pub(crate) fn build<S: QueryStatementWriter>(self, statement: &S) -> (String, Vec<Value>) {
        let (sql, values) = match self {
            Dialect::Sqlite => statement.build_any(&SqliteQueryBuilder),
            Dialect::Postgres => statement.build_any(&PostgresQueryBuilder),
        };
        (sql, values.0)
    }
}

impl Dialect {
    /// The SQL of a top-level SELECT. On SQLite its trailing `LIMIT ? OFFSET ?` are written
    /// as integers: a bound LIMIT makes SQLite compile the statement again on every run,
    /// which cost brisk-orm's `get` (its `LIMIT 2`) several times a plain query's work
    /// (measured in `bench/`). They are brisk-orm's own `u64`s, never text from a request.
    pub(crate) fn build_select(self, select: &sea_query::SelectStatement) -> (String, Vec<Value>) {
        let (mut sql, mut values) = self.build(select);
        if self == Dialect::Sqlite {
            let literal = |v: Option<&Value>| match v {
                Some(Value::BigUnsigned(Some(n))) => Some(*n),
                _ => None,
            };
            let n = values.len();
            if sql.ends_with(" LIMIT ? OFFSET ?") && n >= 2 {
                if let (Some(limit), Some(offset)) = (literal(values.get(n - 2)), literal(values.get(n - 1)))
                {
                    values.truncate(n - 2);
                    sql.truncate(sql.len() - " LIMIT ? OFFSET ?".len());
                    sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
                }
            } else if sql.ends_with(" LIMIT ?") {
                if let Some(limit) = literal(values.last()) {
                    values.pop();
                    sql.truncate(sql.len() - " LIMIT ?".len());
                    sql.push_str(&format!(" LIMIT {limit}"));
                }
            }
        }
        (sql, values)
    }

    /// [`Dialect::build_select`] for a query whose LIMIT is brisk-orm's own constant (`get`'s
    /// 2, `first`'s and `exists`' 1): on PostgreSQL too it is written into the SQL, so the
    /// server plans `LIMIT 2` rather than an unknown limit. (A limit an app chooses stays
    /// bound there: one prepared statement serves every page.)
    pub(crate) fn build_select_fixed_limit(
        self,
        select: &sea_query::SelectStatement,
    ) -> (String, Vec<Value>) {
        let (mut sql, mut values) = self.build_select(select);
        if self == Dialect::Postgres {
            let placeholder = format!(" LIMIT ${}", values.len());
            if let (true, Some(Value::BigUnsigned(Some(limit)))) =
                (sql.ends_with(&placeholder), values.last().cloned())
            {
                values.pop();
                sql.truncate(sql.len() - placeholder.len());
                sql.push_str(&format!(" LIMIT {limit}"));
            }
        }
        (sql, values)
    }
}

/// Hashes texts eight bytes at a time (FxHash's mix): the statement cache and the shape cache
/// are looked up on every query, and SipHash over a whole SELECT cost several hundred
/// instructions.
#[derive(Default)]
pub(crate) struct TextHasher(u64);

impl std::hash::Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.mix(u64::from(b));
        }
    }

    // Keys that are numbers (a statement's address, a model's `TypeId`, a dialect) are one
    // mix each instead of a byte loop.
    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn write_u128(&mut self, n: u128) {
        self.mix(n as u64);
        self.mix((n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TextHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A statement's text: built for this query, or the shape cache's (shared, so that sending a
/// cached statement to a database thread copies no text).
pub(crate) enum Sql {
    Built(String),
    Shared(Arc<str>),
}

impl Deref for Sql {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Sql::Built(s) => s,
            Sql::Shared(s) => s,
        }
    }
}

/// A query's values owned, one of them inline.
pub(crate) type OwnedParams = smallvec::SmallVec<[Value; 1]>;

/// A query's values: a list of its own, or the one value of a primary-key lookup borrowed from
/// its QuerySet (no list to allocate; PostgreSQL binds straight from it).
pub(crate) enum Params<'a> {
    Owned(Vec<Value>),
    One(&'a Value),
}

impl Params<'_> {
    pub(crate) fn as_slice(&self) -> &[Value] {
        match self {
            Params::Owned(values) => values,
            Params::One(value) => std::slice::from_ref(*value),
        }
    }

    /// The values owned (for a database thread, or a transaction's boxed future), a single
    /// one kept inline: a `get` by primary key allocates no list for it.
    pub(crate) fn into_owned(self) -> OwnedParams {
        match self {
            Params::Owned(values) => OwnedParams::from_vec(values),
            Params::One(value) => smallvec::smallvec![value.clone()],
        }
    }
}

impl From<Vec<Value>> for Params<'_> {
    fn from(values: Vec<Value>) -> Self {
        Params::Owned(values)
    }
}

impl From<String> for Sql {
    fn from(sql: String) -> Self {
        Sql::Built(sql)
    }
}

impl From<Sql> for String {
    fn from(sql: Sql) -> Self {
        match sql {
            Sql::Built(s) => s,
            Sql::Shared(s) => s.as_ref().to_owned(),
        }
    }
}

pub(crate) enum Backend {
    Sqlite(sqlite::SqlitePool),
    Postgres(Arc<postgres::PgPool>),
}

impl Backend {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// Where a query runs: a [`Database`] (its pool), a [`Db`](crate::Db) handed to a handler, or
/// a [`Transaction`]. Every method that touches the database takes `&impl Executor`.
pub trait Executor: Send + Sync {
    #[doc(hidden)]
    fn target(&self) -> Target<'_>;

    /// The transaction queries through this executor run in, if any (a [`Db`](crate::Db)
    /// under [`atomic_requests`](crate::atomic_requests), a [`Transaction`]).
    fn transaction(&self) -> Option<&Transaction> {
        match self.target() {
            Target::Db(_) => None,
            Target::Tx(tx) => Some(tx),
        }
    }
}

impl<E: Executor + ?Sized> Executor for &E {
    fn target(&self) -> Target<'_> {
        (**self).target()
    }
}

/// Where an [`Executor`] sends its queries; not public API.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Target<'a> {
    #[doc(hidden)]
    Db(&'a Database),
    #[doc(hidden)]
    Tx(&'a Transaction),
}

/// How a row is read: a type's `from_row`, or a model with the rows a JOIN brought.
pub(crate) trait Reader<R>: Fn(&RowRef<'_>) -> Result<R, Error> + Send + 'static {}
impl<R, F: Fn(&RowRef<'_>) -> Result<R, Error> + Send + 'static> Reader<R> for F {}

/// Where a query's rows go as they are read: a `Vec` of them all, or [`AtMostOne`] for `get`.
pub(crate) trait Rows<R>: Send + 'static {
    /// No rows yet (on SQLite made on the asking thread, see [`rows_vec`]).
    fn empty() -> Self;
    /// One more row.
    fn take(&mut self, row: R);
    /// Whether no more rows can come (then SQLite is not asked for the next one).
    fn full(&self) -> bool {
        false
    }
}

impl<R: Send + 'static> Rows<R> for Vec<R> {
    fn empty() -> Self {
        rows_vec()
    }

    fn take(&mut self, row: R) {
        self.push(row);
    }
}

/// Every row into `C`, even when `C` could stop early: a statement inside a PostgreSQL
/// transaction is read to its end, so that an error the server sends after the rows (a
/// statement timeout, a cancel) is not missed: it has aborted the transaction, and a
/// `COMMIT` of an aborted transaction is answered as a rollback, not as an error.
pub(crate) struct ReadAll<C>(pub(crate) C);

impl<R, C: Rows<R>> Rows<R> for ReadAll<C> {
    fn empty() -> Self {
        ReadAll(C::empty())
    }

    fn take(&mut self, row: R) {
        self.0.take(row);
    }
}

/// The rows of a query that should find one (`get`): the row when it is alone, and only
/// whether there were more otherwise. Kept inline, so `get` allocates no list per query (a
/// `Vec`'s allocation, growth and free were ~150 instructions of every `get` on PostgreSQL).
pub(crate) struct AtMostOne<R> {
    pub(crate) found: Found<R>,
    /// The query finds a row by its primary key and nothing else: a second row cannot come,
    /// so the rest of the answer is not read (SQLite: no step to see that none follows,
    /// ~250 instructions of a `get`; PostgreSQL: the driver discards the end of the answer,
    /// which otherwise comes in one more wake-up of the whole request).
    unique: bool,
}

/// What [`AtMostOne`] found.
pub(crate) enum Found<R> {
    /// No row.
    Zero,
    /// Exactly one row.
    One(R),
    /// More than one (their values dropped as they came).
    Many,
}

impl<R> AtMostOne<R> {
    /// Nothing found yet; `unique` when the query cannot find more than one row.
    pub(crate) fn new(unique: bool) -> Self {
        AtMostOne { found: Found::Zero, unique }
    }
}

impl<R: Send + 'static> Rows<R> for AtMostOne<R> {
    fn empty() -> Self {
        AtMostOne::new(false)
    }

    fn take(&mut self, row: R) {
        self.found = match self.found {
            Found::Zero => Found::One(row),
            _ => Found::Many,
        };
    }

    fn full(&self) -> bool {
        self.unique && matches!(self.found, Found::One(_))
    }
}

/// Runs a query on a SQLite connection and reads its rows into `out` (every row, unless
/// `out` is [full](Rows::full) first).
pub(crate) fn sqlite_fetch<R, C: Rows<R>>(
    conn: &mut Connection,
    sql: &str,
    values: &[Value],
    read: &impl Reader<R>,
    mut out: C,
) -> Result<C, Error> {
    let mut statement = conn.prepare_cached(sql).map_err(from_sqlite)?;
    let mut rows = statement.query(sqlite_params(values)).map_err(from_sqlite)?;
    while !out.full() {
        match rows.next().map_err(from_sqlite)? {
            Some(row) => out.take(read(&RowRef::sqlite_row(row))?),
            None => break,
        }
    }
    Ok(out)
}

/// An empty `Vec` for a query's rows, with room for 512 bytes of them: SQLite does not say
/// how many rows will come, and growing from Rust's first 4 rows took 3 reallocations, most
/// of a 12-row read's allocation cost (profiled on `bench/`'s `/fortunes`), where one small
/// allocation of this size costs what an allocation for one row does.
fn rows_vec<R>() -> Vec<R> {
    Vec::with_capacity(512 / std::mem::size_of::<R>().max(1))
}

/// Runs a statement on a SQLite connection and counts the rows it touched.
pub(crate) fn sqlite_execute(conn: &mut Connection, sql: &str, values: &[Value]) -> Result<u64, Error> {
    let mut statement = conn.prepare_cached(sql).map_err(from_sqlite)?;
    statement.execute(sqlite_params(values)).map(|n| n as u64).map_err(from_sqlite)
}

/// `values` as a statement's parameters, bound straight from the slice (collecting them into
/// a `Vec` first cost an allocation per query).
pub(crate) fn sqlite_params(values: &[Value]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(values.iter().map(SqliteParam))
}

impl<'a> Target<'a> {
    /// The database the queries go to.
    pub(crate) fn database(&self) -> &Database {
        match self {
            Target::Db(db) => db,
            Target::Tx(tx) => tx.database(),
        }
    }

    /// The SQL dialect queries must be written in.
    pub(crate) fn dialect(&self) -> Dialect {
        self.database().dialect()
    }

    /// Runs a query and reads its rows. `write` sends it to SQLite's writer (an `INSERT ...
    /// RETURNING`, say); reads go to the readers.
    pub(crate) async fn fetch<R: FromRow>(
        self,
        write: bool,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<R>, Error> {
        self.fetch_with(write, sql, values, R::from_row).await
    }

    /// Runs a query and reads each row with `read`.
    pub(crate) async fn fetch_with<R: Send + 'static>(
        self,
        write: bool,
        sql: String,
        values: Vec<Value>,
        read: impl Reader<R>,
    ) -> Result<Vec<R>, Error> {
        self.fetch_sql(write, Sql::Built(sql), values.into(), read).await
    }

    /// [`Target::fetch_with`] for SQL that may be the shape cache's.
    pub(crate) fn fetch_sql<'v, R: Send + 'static, F: Reader<R>>(
        self,
        write: bool,
        sql: Sql,
        values: Params<'v>,
        read: F,
    ) -> impl std::future::Future<Output = Result<Vec<R>, Error>> + use<'a, 'v, R, F> {
        self.collect_sql(write, sql, values, read, Vec::empty())
    }

    /// [`Target::fetch_sql`] into `out`: a list, or [`AtMostOne`]. (`out` is made on the
    /// asking thread: on SQLite, the rows' Vec is dropped where it was allocated, which the
    /// allocator serves fastest; memory a database thread allocated would come back freed on
    /// this one.)
    pub(crate) async fn collect_sql<R: Send + 'static, C: Rows<R>>(
        self,
        write: bool,
        sql: Sql,
        values: Params<'_>,
        read: impl Reader<R>,
        out: C,
    ) -> Result<C, Error> {
        self.database().count_query();
        // A transaction's future is boxed, a shared PostgreSQL connection's is not. The latter
        // was boxed while it held statement preparation inline (~2.5 KB in every query's and
        // handler's future, moved whole); preparing is boxed itself now (`PgConn::statement`)
        // and the query's future is ~1.2 KB. Profiled on `bench/` (callgrind): inline, PG
        // `/updates` (20 queries) takes 315k → 295k instructions a request, `/queries` 291k →
        // 270k, `/db` 26.0k → 25.3k, and SQLite's `/db` and `/fortunes` are unchanged; boxed,
        // each query paid an allocation of ~1.3 KB (past malloc's per-thread cache), its free
        // and a copy.
        match self {
            Target::Db(db) => match db.backend() {
                Backend::Sqlite(pool) => {
                    let values = values.into_owned();
                    pool.run(write, move |conn| sqlite_fetch(conn, &sql, &values, &read, out)).await
                }
                Backend::Postgres(pool) => pool.fetch(&sql, values.as_slice(), &read, out).await,
            },
            Target::Tx(tx) => Box::pin(tx.fetch(sql, values.into_owned(), read, out)).await,
        }
    }

    /// Runs a query and yields its rows as they are read: see [`stream`] for where each
    /// backend reads them and what a consumer that stops reading holds up (nothing but its
    /// own connection or thread).
    pub(crate) fn stream_with<R: Send + 'static>(
        self,
        sql: String,
        values: Vec<Value>,
        read: impl Reader<R> + Sync,
    ) -> BoxStream<'static, Result<R, Error>> {
        self.database().count_query();
        match self {
            Target::Db(db) => match db.backend() {
                Backend::Sqlite(pool) => {
                    // Without readers (an in-memory database) the stream runs on the writer,
                    // which everyone needs: it must not wait for a slow consumer.
                    let buffer =
                        if pool.has_readers() { stream::Buffer::Bounded } else { stream::Buffer::Unbounded };
                    stream::sqlite(|work| pool.spawn(work), sql, values, read, buffer, sqlite::stopped)
                }
                Backend::Postgres(pool) => stream::pg_leased(pool.clone(), sql, values, read),
            },
            Target::Tx(tx) => match tx.database().backend() {
                // A stream not read yet does not keep its transaction open.
                Backend::Sqlite(_) => stream::sqlite_in_transaction(tx.downgrade(), sql, values, read),
                Backend::Postgres(_) => stream::pg_drained(tx.downgrade(), sql, values, read),
            },
        }
    }

    /// Runs a statement and counts the rows it touched.
    pub(crate) async fn execute(self, sql: String, values: Vec<Value>) -> Result<u64, Error> {
        self.execute_sql(Sql::Built(sql), values).await
    }

    /// [`Target::execute`] for SQL that may be shared (a cached statement's text).
    pub(crate) async fn execute_sql(self, sql: Sql, values: Vec<Value>) -> Result<u64, Error> {
        self.database().count_query();
        // A transaction's future boxed, as in `fetch_sql`.
        match self {
            Target::Db(db) => match db.backend() {
                Backend::Sqlite(pool) => {
                    pool.run(true, move |conn| sqlite_execute(conn, &sql, &values)).await
                }
                Backend::Postgres(pool) => {
                    pool.on_shared(|c| async move { c.execute(&sql, &values, &postgres::Ungated).await })
                        .await
                }
            },
            Target::Tx(tx) => Box::pin(tx.execute(sql, values)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Number keys hash in one mix, and still apart: both halves of a `u128` count.
    #[test]
    fn number_keys_hash_apart() {
        use std::hash::Hasher;
        let hash = |write: &dyn Fn(&mut TextHasher)| {
            let mut h = TextHasher::default();
            write(&mut h);
            h.finish()
        };
        assert_ne!(hash(&|h| h.write_usize(1)), hash(&|h| h.write_usize(2)));
        assert_ne!(hash(&|h| h.write_u128(1)), hash(&|h| h.write_u128(1 << 64)));
        assert_ne!(hash(&|h| h.write_u8(1)), hash(&|h| h.write_u8(0)));
        let keys: std::collections::HashSet<u64> =
            (0..1000usize).map(|n| hash(&|h| h.write_usize(n * 16))).collect();
        assert_eq!(keys.len(), 1000, "aligned addresses do not collide");
    }

    #[test]
    fn sqlite_limits_are_written_into_the_statement() {
        let mut select = sea_query::Query::select();
        select.expr(sea_query::Expr::val(5)).from(sea_query::Alias::new("t")).limit(2).offset(40);
        let (sql, values) = Dialect::Sqlite.build_select(&select);
        assert!(sql.ends_with(" LIMIT 2 OFFSET 40"), "{sql}");
        assert_eq!(values.len(), 1, "only the bound 5 is left");
        let (sql, values) = Dialect::Postgres.build_select(&select);
        assert!(sql.ends_with("LIMIT $2 OFFSET $3"), "PostgreSQL keeps them bound: {sql}");
        assert_eq!(values.len(), 3);
        let mut one = sea_query::Query::select();
        one.expr(sea_query::Expr::val(5)).from(sea_query::Alias::new("t")).limit(1);
        assert!(Dialect::Sqlite.build_select(&one).0.ends_with(" LIMIT 1"));
        // get()'s and first()'s own limits are written on PostgreSQL too; an app's stay bound.
        let (sql, values) = Dialect::Postgres.build_select_fixed_limit(&one);
        assert!(sql.ends_with(" LIMIT 1"), "{sql}");
        assert_eq!(values.len(), 1);
        let (sql, _) = Dialect::Postgres.build_select_fixed_limit(&select);
        assert!(sql.ends_with("LIMIT $2 OFFSET $3"), "with an offset nothing is written in: {sql}");
    }
}
