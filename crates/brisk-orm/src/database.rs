//! [`Database`]: a pool for SQLite or PostgreSQL, chosen by URL.

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::postgres::{PgConfig, PgPool};
use crate::backend::sqlite::{SqliteConfig, SqlitePool};
use crate::backend::{Backend, Dialect, Executor, Target};
use crate::error::{from_sqlite, Error};
use crate::transaction::Transaction;

/// The URL used when `DATABASE_URL` is not set.
pub const DEFAULT_URL: &str = "sqlite://app.db";

/// Pool sizes and timeouts.
///
/// ```
/// use std::time::Duration;
/// let options = brisk_orm::DbOptions { acquire_timeout: Duration::from_secs(2), ..Default::default() };
/// let db = brisk_orm::Database::open_with("sqlite::memory:", options).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// SQLite: reader threads beside the one writer (default 4; an in-memory database has
    /// only the writer). PostgreSQL: shared, pipelined connections (default: one per core
    /// the process may run on, at most 4 — as TechEmpower's fastest entries use one per
    /// thread; more connections only add PostgreSQL backends to switch between). Each thread
    /// sends its queries on one of them (threads numbered as they first query, thread `n` on
    /// connection `n % connections`), so a request's concurrent queries go out together.
    pub connections: Option<usize>,
    /// PostgreSQL: at most this many transactions at once, each on its own connection
    /// (default 8). A [`QuerySet::stream`](crate::QuerySet::stream) outside a transaction
    /// takes one of these connections too, until it is read to its end or dropped. More
    /// transactions wait for a connection (up to the acquire timeout), so give it as many as
    /// the process runs at once (16 requests each enqueuing a job in its own transaction: 16),
    /// within PostgreSQL's `max_connections` (100 by default) for all processes together.
    pub transactions: usize,
    /// How long a query may wait for a free connection (or SQLite's writer) before it fails
    /// with [`Error::PoolTimeout`], a 503 (default 5 s).
    pub acquire_timeout: Duration,
    /// How long connecting to PostgreSQL may take (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            connections: None,
            transactions: 8,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// One shared PostgreSQL connection per core the process may run on (its CPU affinity), 1 to 4.
fn default_connections() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4)
}

struct Inner {
    backend: Backend,
    url: String,
    queries: AtomicU64,
}

/// A database: SQLite in a file (the default) or PostgreSQL, chosen by URL. A cheap handle
/// to clone; every clone shares one pool.
///
/// | URL | database |
/// |---|---|
/// | `sqlite://app.db` | the file `app.db`, created if absent (WAL, foreign keys on) |
/// | `sqlite:///var/lib/app.db` | an absolute path |
/// | `sqlite::memory:` | in memory, gone when the last handle drops |
/// | `postgres://user:pass@host:5432/name` | PostgreSQL (`postgresql://` too) |
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), brisk_orm::Error> {
/// let db = brisk_orm::Database::open("sqlite::memory:")?;
/// db.execute_raw("CREATE TABLE t (x INTEGER)").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database(Arc<Inner>);

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("url", &self.0.url).finish()
    }
}

impl Database {
    /// The database of `DATABASE_URL`, else `sqlite://app.db`.
    ///
    /// Fails only on a malformed URL or a SQLite file that cannot be opened; PostgreSQL is
    /// connected to on first use.
    pub fn from_env() -> Result<Database, Error> {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        Database::open(&url)
    }

    /// The database at `url` with the default [`DbOptions`].
    pub fn open(url: &str) -> Result<Database, Error> {
        Database::open_with(url, DbOptions::default())
    }

    /// The database at `url`.
    pub fn open_with(url: &str, options: DbOptions) -> Result<Database, Error> {
        crate::error::register_answers();
        let backend = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path =
                if path.is_empty() || path == ":memory:" { ":memory:".to_owned() } else { path.to_owned() };
            Backend::Sqlite(SqlitePool::open(SqliteConfig {
                path,
                readers: options.connections.unwrap_or(4),
                acquire_timeout: options.acquire_timeout,
                busy_timeout: options.acquire_timeout,
            })?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut config = tokio_postgres::Config::from_str(url)
                .map_err(|e| Error::Config(format!("{}: {e}", brisk::logging::redact_url(url))))?;
            // Dates and times are read, and their parts taken, in UTC on both backends.
            let session = format!("{} -c TimeZone=UTC", config.get_options().unwrap_or_default());
            config.options(session.trim());
            Backend::Postgres(Arc::new(PgPool::new(PgConfig {
                config,
                shared: options.connections.unwrap_or_else(default_connections),
                transactions: options.transactions,
                acquire_timeout: options.acquire_timeout,
                connect_timeout: options.connect_timeout,
            })))
        } else {
            return Err(Error::Config(format!(
                "{}: the URL must start with sqlite:// or postgres://",
                brisk::logging::redact_url(url)
            )));
        };
        Ok(Database(Arc::new(Inner {
            backend,
            url: brisk::logging::redact_url(url),
            queries: AtomicU64::new(0),
        })))
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.0.backend
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        self.0.backend.dialect()
    }

    /// The URL, with any password hidden.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// How many queries this database has run since it was opened (all handles, all
    /// transactions): tests use it to prove a page costs a fixed number of queries.
    pub fn queries_run(&self) -> u64 {
        self.0.queries.load(Ordering::Relaxed)
    }

    pub(crate) fn count_query(&self) {
        self.0.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs SQL text with no parameters (several statements may be separated by `;`).
    ///
    /// Transaction control (`BEGIN`, `COMMIT`, `ROLLBACK` ...) is refused before anything is
    /// sent ([`Error::Config`]): the connections run other requests' queries too, and a
    /// `BEGIN` (or an error inside a `BEGIN; ...; COMMIT` script) would leave one inside a
    /// transaction. Use [`Database::atomic`].
    pub async fn execute_raw(&self, sql: &str) -> Result<(), Error> {
        crate::control::refuse(sql, self.dialect())?;
        self.count_query();
        match self.backend() {
            Backend::Sqlite(pool) => {
                let sql = sql.to_owned();
                pool.run(true, move |conn| conn.execute_batch(&sql).map_err(from_sqlite)).await
            }
            Backend::Postgres(pool) => {
                pool.on_shared(|c| async move { c.batch(sql, &crate::backend::postgres::Ungated).await })
                    .await
            }
        }
    }

    /// Checks that the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), Error> {
        let rows: Vec<(i32,)> = Target::Db(self).fetch(false, "SELECT 1".into(), Vec::new()).await?;
        match rows.first() {
            Some((1,)) => Ok(()),
            _ => Err(Error::Unavailable { message: "SELECT 1 did not answer 1".into() }),
        }
    }

    /// Starts a transaction to commit or roll back by hand; prefer [`Database::atomic`].
    pub async fn begin(&self) -> Result<Transaction, Error> {
        Transaction::begin(self).await
    }

    /// Runs `f` in a transaction: committed when `f` returns `Ok`, rolled back when it returns
    /// `Err` (or panics, or is cancelled). `on_commit` hooks run after the commit.
    ///
    /// ```no_run
    /// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
    /// let n = db
    ///     .atomic(|tx| async move {
    ///         tx.execute_raw("DELETE FROM app_session").await?;
    ///         Ok::<_, brisk_orm::Error>(1)
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn atomic<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        let tx = self.begin().await?;
        match f(tx.clone()).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback) = tx.rollback().await {
                    if crate::transaction::is_ended(&rollback) {
                        // SQLite rolls a transaction back on its own after some errors (a
                        // trigger's RAISE(ROLLBACK), an interrupt, a full disk).
                        tracing::warn!(target: "brisk_orm", "the transaction had ended before its rollback (SQLite rolled it back on its own, or SQL written by hand ended it)");
                    } else {
                        tracing::warn!(target: "brisk_orm", error = %rollback, "rollback failed");
                    }
                }
                Err(e)
            }
        }
    }
}

impl Executor for Database {
    fn target(&self) -> Target<'_> {
        Target::Db(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_are_refused_with_a_sentence() {
        let e = Database::open("mysql://u:pw@h/db").unwrap_err().to_string();
        assert!(e.contains("sqlite:// or postgres://"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }
}
