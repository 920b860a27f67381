//! [`TestDatabase`]: a throwaway database for a test, on SQLite or on a real PostgreSQL
//! server, removed when the value drops (as Django's test runner creates `test_<name>`).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::database::Database;
use crate::error::Error;

/// The server `TestDatabase::postgres` creates its databases on: `BRISK_TEST_POSTGRES`, else
/// the local server as user `postgres`.
pub fn postgres_admin_url() -> String {
    std::env::var("BRISK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Postgres { name: String },
}

/// A database of its own for one test, with the registered models' tables created; removed
/// (file deleted, or `DROP DATABASE ... WITH (FORCE)`) when dropped, even after a panic.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), brisk_orm::Error> {
/// use brisk_orm::testing::TestDatabase;
/// for test_db in [TestDatabase::sqlite().await?, TestDatabase::postgres().await?] {
///     let db = test_db.database();
///     db.ping().await?;
/// }
/// # Ok(()) }
/// ```
pub struct TestDatabase {
    db: Database,
    url: String,
    cleanup: Cleanup,
}

impl TestDatabase {
    /// A fresh SQLite file in a temporary folder, with the registered models' tables.
    pub async fn sqlite() -> Result<TestDatabase, Error> {
        let test = TestDatabase::empty_sqlite()?;
        test.db.create_tables().await?;
        Ok(test)
    }

    /// A fresh SQLite file with no tables (for an app that makes its own, by migrations).
    pub fn empty_sqlite() -> Result<TestDatabase, Error> {
        let dir = std::env::temp_dir().join(unique_name("brisk_test"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
        let url = format!("sqlite://{}", dir.join("test.db").display());
        Ok(TestDatabase { db: Database::open(&url)?, url, cleanup: Cleanup::Dir(dir) })
    }

    /// A fresh database on the PostgreSQL server of [`postgres_admin_url`], with the
    /// registered models' tables.
    pub async fn postgres() -> Result<TestDatabase, Error> {
        let test = TestDatabase::empty_postgres().await?;
        test.db.create_tables().await?;
        Ok(test)
    }

    /// A fresh PostgreSQL database with no tables.
    pub async fn empty_postgres() -> Result<TestDatabase, Error> {
        let admin_url = postgres_admin_url();
        let admin = Database::open(&admin_url)?;
        let name = unique_name("brisk_test");
        admin.execute_raw(&format!("CREATE DATABASE {name}")).await?;
        let url = match admin_url.rfind('/') {
            Some(i) if i > "postgres://".len() => format!("{}/{name}", &admin_url[..i]),
            _ => format!("{admin_url}/{name}"),
        };
        Ok(TestDatabase { db: Database::open(&url)?, url, cleanup: Cleanup::Postgres { name } })
    }

    /// The backend `BRISK_TEST_BACKEND` names (`sqlite`, the default, or `postgres`).
    pub async fn from_env() -> Result<TestDatabase, Error> {
        match std::env::var("BRISK_TEST_BACKEND").as_deref() {
            Ok("postgres") => TestDatabase::postgres().await,
            _ => TestDatabase::sqlite().await,
        }
    }

    /// [`TestDatabase::from_env`]'s backend, with no tables.
    pub async fn empty_from_env() -> Result<TestDatabase, Error> {
        match std::env::var("BRISK_TEST_BACKEND").as_deref() {
            Ok("postgres") => TestDatabase::empty_postgres().await,
            _ => TestDatabase::empty_sqlite(),
        }
    }

    /// The database.
    pub fn database(&self) -> Database {
        self.db.clone()
    }

    /// Its URL (for a server started in another process, say).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { name } => {
                // Drop may run inside a runtime: the DROP runs on a thread with its own.
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let dropping = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(async {
                            if let Ok(admin) = Database::open(&postgres_admin_url()) {
                                let _ = admin.execute_raw(&sql).await;
                            }
                        });
                    }
                });
                let _ = dropping.join();
            }
        }
    }
}

/// Panics unless the migrations a crate ships for `app` describe its models exactly: the
/// test every battery with models has (`tests/shipped_migrations.rs`). With
/// `BRISK_WRITE_MIGRATIONS=1` the missing migration is written into
/// `<manifest_dir>/migrations/<app>/` first. The crate's models and migrations must be linked
/// in (touch one of its items before calling).
///
/// ```no_run
/// // tests/shipped_migrations.rs of a battery whose app label is "jobs":
/// brisk_orm::testing::assert_shipped_migrations_current("jobs", env!("CARGO_MANIFEST_DIR"));
/// ```
pub fn assert_shipped_migrations_current(app: &str, manifest_dir: &str) {
    use crate::migrations::{next_migration, write, Graph, NonInteractive, ProjectState};
    let graph = Graph::new(Vec::new()).expect("the shipped migrations form a graph");
    let declared = ProjectState::from_registry(&crate::registry());
    let missing = next_migration(&graph, &declared, app, &mut NonInteractive).expect("no decision needed");
    if let (Some(migration), Some(_)) = (&missing, std::env::var_os("BRISK_WRITE_MIGRATIONS")) {
        let path = write(std::path::Path::new(manifest_dir), migration).expect("written");
        eprintln!("wrote {}", path.display());
    }
    assert!(
        missing.is_none(),
        "the {app} models changed without a migration (BRISK_WRITE_MIGRATIONS=1 writes it): {:?}",
        missing.map(|m| m.operations.iter().map(|op| op.describe()).collect::<Vec<_>>())
    );
    assert!(graph.head(app).is_some(), "no migrations are shipped for {app}");
}
