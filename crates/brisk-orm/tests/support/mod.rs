//! Runs a test body against both backends: a fresh SQLite file, and a fresh database on the
//! real PostgreSQL server (`BRISK_TEST_POSTGRES`, default the local server), removed after.

#![allow(dead_code)]

use std::future::Future;

use brisk_orm::testing::TestDatabase;
use brisk_orm::{Database, Dialect};

#[allow(unused_imports)]
pub use brisk_orm::testing::postgres_admin_url as admin_url;

/// Runs `body` on SQLite, then on PostgreSQL, each with the registered models' tables
/// created; the databases are removed even when the body panics.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestDatabase::sqlite().await.expect("a SQLite test database");
    body(sqlite.database()).await;
    let pg = TestDatabase::postgres()
        .await
        .expect("a PostgreSQL test database: is the server running? (.ci/run starts it)");
    assert_eq!(pg.database().dialect(), Dialect::Postgres);
    body(pg.database()).await;
}

/// Runs `body` on PostgreSQL only (what SQLite has no counterpart for: the server's own
/// connections, cancels, statement timeouts), with the registered models' tables created; the
/// database is removed even when the body panics.
pub async fn postgres_only<F, Fut>(body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let pg = TestDatabase::postgres()
        .await
        .expect("a PostgreSQL test database: is the server running? (.ci/run starts it)");
    body(pg.database()).await;
}

/// Which backend, for assertion messages.
pub fn name(db: &Database) -> &'static str {
    match db.dialect() {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
}
