//! The brisk app of `db-brisk-orm` (same routes, same rules from `tfb`) with the ORM taken
//! out, on the driver `DB_DRIVER` names:
//!
//! - `pg` (default): raw tokio-postgres, TechEmpower's leading design and brisk-orm's floor:
//!   one connection that every request shares (its queries pipeline), every statement
//!   prepared once (the batched UPDATE once per row count).
//! - `rusqlite`: raw rusqlite on four threads with cached statements, the design brisk-orm's
//!   SQLite backend has (its floor).
//! - `sqlx-sqlite`: sqlx's `SqlitePool` (four connections).
//!
//! `DATABASE_URL` is the PostgreSQL URL, or `sqlite://PATH`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use brisk::http::Uri;
use brisk::prelude::*;
use brisk::response::Html;
use futures_util::future::try_join_all;
use tfb::World;

fn fail(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

// --- PostgreSQL on tokio-postgres -------------------------------------------------------------

struct Pg {
    client: tokio_postgres::Client,
    world: tokio_postgres::Statement,
    fortune: tokio_postgres::Statement,
    updates: Mutex<HashMap<usize, tokio_postgres::Statement>>,
}

static PG: OnceLock<Pg> = OnceLock::new();

async fn pg_connect(url: String) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let world = client.prepare("SELECT id, randomnumber FROM world WHERE id = $1").await?;
    let fortune = client.prepare("SELECT id, message FROM fortune").await?;
    let _ = PG.set(Pg { client, world, fortune, updates: Mutex::new(HashMap::new()) });
    Ok(())
}

fn pg() -> &'static Pg {
    PG.get().expect("connected at startup")
}

async fn pg_one(id: i32) -> Result<World, Error> {
    let row = pg().client.query_one(&pg().world, &[&id]).await.map_err(fail)?;
    Ok(World { id: row.get(0), random_number: row.get(1) })
}

async fn pg_db() -> Result<Json<World>> {
    Ok(Json(pg_one(tfb::random_id()).await?))
}

async fn pg_queries(uri: Uri) -> Result<Json<Vec<World>>> {
    let n = tfb::queries(uri.query());
    Ok(Json(try_join_all((0..n).map(|_| pg_one(tfb::random_id()))).await?))
}

async fn pg_fortunes() -> Result<Html<String>> {
    let rows = pg().client.query(&pg().fortune, &[]).await.map_err(fail)?;
    Ok(Html(tfb::fortunes_page(rows.iter().map(|r| (r.get(0), r.get(1))).collect())))
}

async fn pg_updates(uri: Uri) -> Result<Json<Vec<World>>> {
    let ids = tfb::distinct_ids(tfb::queries(uri.query()));
    let mut worlds = try_join_all(ids.into_iter().map(pg_one)).await?;
    for w in &mut worlds {
        w.random_number = tfb::random_id();
    }
    let n = worlds.len();
    let cached = pg().updates.lock().unwrap().get(&n).cloned();
    let statement = match cached {
        Some(s) => s,
        None => {
            let s = pg().client.prepare(&tfb::update_sql_prepared(n)).await.map_err(fail)?;
            pg().updates.lock().unwrap().insert(n, s.clone());
            s
        }
    };
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::with_capacity(2 * n);
    for w in &worlds {
        params.push(&w.id);
        params.push(&w.random_number);
    }
    pg().client.execute(&statement, &params).await.map_err(fail)?;
    Ok(Json(worlds))
}

// --- SQLite on rusqlite threads -------------------------------------------------------------------

type Job = Box<dyn FnOnce(&rusqlite::Connection) + Send>;

/// Four threads, each with its own connection, taking jobs from one queue.
struct Lite {
    jobs: Mutex<mpsc::Sender<Job>>,
}

static LITE: OnceLock<Lite> = OnceLock::new();

fn lite_open(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..4 {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let rx = rx.clone();
        std::thread::spawn(move || loop {
            let job = rx.lock().unwrap().recv();
            match job {
                Ok(job) => job(&conn),
                Err(_) => return,
            }
        });
    }
    let _ = LITE.set(Lite { jobs: Mutex::new(tx) });
    Ok(())
}

async fn lite<R: Send + 'static>(
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let _ = tx.send(f(conn));
    });
    LITE.get().expect("opened").jobs.lock().unwrap().send(job).map_err(fail)?;
    rx.await.map_err(fail)?.map_err(fail)
}

async fn lite_db() -> Result<Json<World>> {
    let id = tfb::random_id();
    let world = lite(move |conn| {
        conn.prepare_cached("SELECT id, randomnumber FROM world WHERE id = ?1")?
            .query_row([id], |r| Ok(World { id: r.get(0)?, random_number: r.get(1)? }))
    })
    .await?;
    Ok(Json(world))
}

async fn lite_fortunes() -> Result<Html<String>> {
    let rows = lite(|conn| {
        let mut statement = conn.prepare_cached("SELECT id, message FROM fortune")?;
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<(i32, String)>>>()
    })
    .await?;
    Ok(Html(tfb::fortunes_page(rows)))
}

// --- SQLite on sqlx -----------------------------------------------------------------------------

static SQLX: OnceLock<sqlx::SqlitePool> = OnceLock::new();

async fn sqlx_db() -> Result<Json<World>> {
    let (id, random_number): (i32, i32) = sqlx::query_as("SELECT id, randomnumber FROM world WHERE id = ?")
        .bind(tfb::random_id())
        .fetch_one(SQLX.get().expect("opened"))
        .await
        .map_err(fail)?;
    Ok(Json(World { id, random_number }))
}

async fn sqlx_fortunes() -> Result<Html<String>> {
    let rows: Vec<(i32, String)> = sqlx::query_as("SELECT id, message FROM fortune")
        .fetch_all(SQLX.get().expect("opened"))
        .await
        .map_err(fail)?;
    Ok(Html(tfb::fortunes_page(rows)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let driver = std::env::var("DB_DRIVER").unwrap_or_else(|_| "pg".to_owned());
    let app = match driver.as_str() {
        "pg" => App::new()
            .on_startup(move || async move { pg_connect(url).await.map_err(|e| e.to_string().into()) })
            .route("/db", get(pg_db))
            .route("/queries", get(pg_queries))
            .route("/fortunes", get(pg_fortunes))
            .route("/updates", get(pg_updates)),
        "rusqlite" => {
            lite_open(url.strip_prefix("sqlite://").unwrap_or(&url))?;
            App::new().route("/db", get(lite_db)).route("/fortunes", get(lite_fortunes))
        }
        "sqlx-sqlite" => App::new()
            .on_startup(move || async move {
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = SQLX.set(pool);
                Ok(())
            })
            .route("/db", get(sqlx_db))
            .route("/fortunes", get(sqlx_fortunes)),
        other => return Err(format!("DB_DRIVER is pg, rusqlite or sqlx-sqlite, not {other:?}").into()),
    };
    brisk::run(app)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    /// How often SQLite compiled a statement again over 100 runs, with values bound anew (a
    /// LIMIT of 2 each time, as `get()` binds).
    fn reprepares(sql: &str, limit: bool) -> i32 {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL);
             INSERT INTO world VALUES (1, 10), (2, 20), (3, 30);",
        )
        .unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        for i in 0..100i64 {
            let id = i % 3 + 1;
            let mut rows = if limit {
                statement.query(rusqlite::params![id, 2]).unwrap()
            } else {
                statement.query([id]).unwrap()
            };
            while rows.next().unwrap().is_some() {}
        }
        statement.get_status(StatementStatus::RePrepare)
    }

    /// Found profiling brisk-orm's SQLite `/db`: a LIMIT given as a bound parameter (as
    /// sea-query writes `get()`'s `LIMIT 2`) makes SQLite recompile the statement each time
    /// it is bound anew (sqlite3ExprIsInteger marks the parameter as one the plan depends on),
    /// about 29,000 instructions a query; a literal LIMIT, or none, is compiled once.
    #[test]
    fn a_bound_limit_recompiles_the_statement() {
        assert_eq!(reprepares("SELECT id, randomnumber FROM world WHERE id = ?1", false), 0);
        assert_eq!(reprepares("SELECT id, randomnumber FROM world WHERE id = ?1 LIMIT 2", false), 0);
        assert!(reprepares("SELECT id, randomnumber FROM world WHERE id = ?1 LIMIT ?2", true) >= 50);
    }
}
