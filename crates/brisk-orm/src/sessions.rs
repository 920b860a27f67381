//! Sessions in the database (feature `sessions`, on by default): [`DatabaseStore`], the store
//! an app with sessions gets when it installs a [`Database`].
//!
//! ```no_run
//! use brisk::prelude::*;
//! use brisk::sessions::{Session, SessionConfig};
//! use brisk_orm::Database;
//!
//! async fn login(session: Session) -> Result<&'static str> {
//!     session.cycle_id();
//!     session.insert("user_id", 42)?;
//!     Ok("welcome")
//! }
//!
//! # fn main() -> Result<(), brisk_orm::Error> {
//! // Installing the database makes its DatabaseStore the app's session store.
//! let app = App::new()
//!     .install(Database::from_env()?)
//!     .sessions(SessionConfig::from_env())
//!     .route("/login", post(login));
//! # Ok(()) }
//! ```
//!
//! The table, `brisk_sessions`, is Django's `django_session` (`session_key`, `session_data`,
//! `expire_date`, indexed), created by the store itself when the server starts (and, failing
//! that, on first use) with `CREATE TABLE IF NOT EXISTS`, as `brisk_migrations` is: it belongs
//! to brisk, not to the app, so it is not among the app's models or migrations (a registered
//! model would make every app's `makemigrations` write a migration for it, and a shipped
//! migration would have to be in every app's migration graph). Expired rows are deleted when a
//! request brings one back, and on the session config's timer (hourly by default).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use brisk::handler::BoxFuture;
use brisk::sessions::{Record, SessionId, SessionStore};
use tokio::sync::OnceCell;

use crate::backend::Dialect;
use crate::database::Database;
use crate::error::Error;
use crate::field_types::DateTime;
use crate::raw::Raw;

/// The table the store keeps sessions in.
pub const TABLE: &str = "brisk_sessions";

/// Sessions kept in a table of the app's database; clones share it.
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// use brisk_orm::sessions::DatabaseStore;
/// let store = DatabaseStore::new(db);
/// store.create_table().await?;
/// let removed = store.clear_expired(std::time::SystemTime::now()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DatabaseStore {
    db: Database,
    ready: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for DatabaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStore").field("db", &self.db).finish()
    }
}

fn timestamp(t: SystemTime) -> DateTime {
    let micros = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    DateTime::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}

impl DatabaseStore {
    /// Sessions in `db`.
    pub fn new(db: Database) -> Self {
        DatabaseStore { db, ready: Arc::default() }
    }

    /// Creates the table and its index when they do not exist.
    pub async fn create_table(&self) -> Result<(), Error> {
        let (table, index) = match self.db.dialect() {
            Dialect::Sqlite => (
                format!(
                    "CREATE TABLE IF NOT EXISTS {TABLE} (session_key TEXT NOT NULL PRIMARY KEY, \
                     session_data TEXT NOT NULL, expire_date TEXT NOT NULL) STRICT"
                ),
                format!("CREATE INDEX IF NOT EXISTS {TABLE}_expire_date ON {TABLE} (expire_date)"),
            ),
            Dialect::Postgres => (
                format!(
                    "CREATE TABLE IF NOT EXISTS {TABLE} (session_key VARCHAR(40) NOT NULL PRIMARY KEY, \
                     session_data TEXT NOT NULL, expire_date TIMESTAMPTZ NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {TABLE}_expire_date ON {TABLE} (expire_date)"),
            ),
        };
        // Two processes starting at once can both try; PostgreSQL's IF NOT EXISTS is not safe
        // against itself, so the loser tries once more and finds the table.
        for attempt in 0..2 {
            let created = async {
                self.db.execute_raw(&table).await?;
                self.db.execute_raw(&index).await
            }
            .await;
            match created {
                Ok(()) => return Ok(()),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        Ok(())
    }

    async fn ensure_table(&self) -> Result<(), Error> {
        self.ready.get_or_try_init(|| self.create_table()).await.map(|_| ())
    }

    /// Deletes the sessions expired at `now`; returns how many (Django's `clearsessions`).
    pub async fn clear_expired(&self, now: SystemTime) -> Result<u64, Error> {
        self.ensure_table().await?;
        Raw::new(format!("DELETE FROM {TABLE} WHERE expire_date <= ?"))
            .bind(timestamp(now))
            .execute(&self.db)
            .await
    }

    /// How many sessions the table holds (expired ones too).
    pub async fn count(&self) -> Result<u64, Error> {
        self.ensure_table().await?;
        let rows: Vec<(i64,)> = Raw::new(format!("SELECT COUNT(*) FROM {TABLE}")).fetch(&self.db).await?;
        Ok(rows.first().map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0)))
    }

    async fn load_record(&self, cookie: &str) -> Result<Option<Record>, Error> {
        let Some(id) = SessionId::parse(cookie) else { return Ok(None) };
        self.ensure_table().await?;
        let rows: Vec<(String,)> =
            Raw::new(format!("SELECT session_data FROM {TABLE} WHERE session_key = ?"))
                .bind(id.as_str().to_owned())
                .fetch(&self.db)
                .await?;
        // A row that does not read back (written by hand, say) is no session.
        Ok(rows.first().and_then(|(data,)| Record::from_json(data.as_bytes())).filter(|r| r.id == id))
    }

    async fn save_record(&self, record: &Record) -> Result<String, Error> {
        self.ensure_table().await?;
        let data = String::from_utf8(record.to_json().map_err(|e| Error::Config(e.to_string()))?)
            .map_err(|e| Error::Config(e.to_string()))?;
        Raw::new(format!(
            "INSERT INTO {TABLE} (session_key, session_data, expire_date) VALUES (?, ?, ?) \
             ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, \
             expire_date = excluded.expire_date"
        ))
        .bind(record.id.as_str().to_owned())
        .bind(data)
        .bind(timestamp(record.expires))
        .execute(&self.db)
        .await?;
        Ok(record.id.as_str().to_owned())
    }

    async fn delete_record(&self, id: &SessionId) -> Result<(), Error> {
        self.ensure_table().await?;
        Raw::new(format!("DELETE FROM {TABLE} WHERE session_key = ?"))
            .bind(id.as_str().to_owned())
            .execute(&self.db)
            .await
            .map(|_| ())
    }
}

impl SessionStore for DatabaseStore {
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, brisk::Result<Option<Record>>> {
        Box::pin(async move { self.load_record(cookie).await.map_err(Error::into_http) })
    }

    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, brisk::Result<String>> {
        Box::pin(async move { self.save_record(record).await.map_err(Error::into_http) })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, brisk::Result<()>> {
        Box::pin(async move { self.delete_record(id).await.map_err(Error::into_http) })
    }

    fn delete_expired(&self, now: SystemTime) -> BoxFuture<'_, brisk::Result<u64>> {
        Box::pin(async move { self.clear_expired(now).await.map_err(Error::into_http) })
    }

    fn prepare(&self) -> BoxFuture<'_, brisk::Result<()>> {
        Box::pin(async move { self.ensure_table().await.map_err(Error::into_http) })
    }
}
