//! Runs a test body against both backends: a fresh SQLite file, and a fresh database on the
//! real PostgreSQL server (`BRISK_TEST_POSTGRES`, default the local server), dropped after.

#![allow(dead_code)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use brisk_orm::{Database, Dialect};
use futures_util::FutureExt;

/// The server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("BRISK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos)
}

/// A throwaway PostgreSQL database: its URL, and a guard that drops it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin = Database::open(&admin_url()).expect("admin URL");
        let name = unique_name("brisk_test");
        admin.execute_raw(&format!("CREATE DATABASE {name}")).await.expect(
            "cannot create a test database on PostgreSQL: is the server running? (.ci/run starts it)",
        );
        let base = admin_url();
        let url = match base.rfind('/') {
            Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
            _ => format!("{base}/{name}"),
        };
        PgDatabase { name, url }
    }

    pub async fn drop_now(&self) {
        let admin = Database::open(&admin_url()).expect("admin URL");
        let _ = admin.execute_raw(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await;
    }
}

/// A throwaway SQLite file, removed after.
pub struct SqliteFile {
    pub dir: std::path::PathBuf,
    pub url: String,
}

impl SqliteFile {
    pub fn create() -> SqliteFile {
        let dir = std::env::temp_dir().join(unique_name("brisk_sqlite"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("test.db").display());
        SqliteFile { dir, url }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `body` on SQLite, then on PostgreSQL, each with the registered models' tables
/// created; the databases are removed even when the body panics.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let file = SqliteFile::create();
    let db = Database::open(&file.url).expect("open sqlite");
    db.create_tables().await.expect("create tables on SQLite");
    body(db).await;

    let pg = PgDatabase::create().await;
    let result = AssertUnwindSafe(async {
        let db = Database::open(&pg.url).expect("open postgres");
        assert_eq!(db.dialect(), Dialect::Postgres);
        db.create_tables().await.expect("create tables on PostgreSQL");
        body(db).await;
    })
    .catch_unwind()
    .await;
    pg.drop_now().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Which backend, for assertion messages.
pub fn name(db: &Database) -> &'static str {
    match db.dialect() {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
}
