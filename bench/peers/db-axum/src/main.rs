//! TechEmpower's database tests on axum 0.8 (single-threaded runtime, TCP_NODELAY, no
//! logging), on the driver `DB_DRIVER` names:
//!
//! - `pg` (default): tokio-postgres as TechEmpower's axum-pg entry uses it: one connection
//!   per runtime thread (here one), shared by every request (queries pipeline), statements
//!   prepared at start (the batched UPDATE once per row count).
//! - `sqlx`: sqlx's `PgPool` (16 connections), the way sqlx's docs teach; sqlx keeps each
//!   connection's prepared statements.
//!
//! The rules (random ids, `q`, the fortunes page, the batched UPDATE) come from `tfb`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures_util::future::try_join_all;
use tfb::World;

type Failure = (StatusCode, String);

fn fail(e: impl std::fmt::Display) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

// --- tokio-postgres ---------------------------------------------------------------------------

struct Pg {
    client: tokio_postgres::Client,
    world: tokio_postgres::Statement,
    fortune: tokio_postgres::Statement,
    updates: Mutex<HashMap<usize, tokio_postgres::Statement>>,
}

type PgState = State<Arc<Pg>>;

async fn pg_one(pg: &Pg, id: i32) -> Result<World, Failure> {
    let row = pg.client.query_one(&pg.world, &[&id]).await.map_err(fail)?;
    Ok(World { id: row.get(0), random_number: row.get(1) })
}

async fn pg_db(State(pg): PgState) -> Result<Json<World>, Failure> {
    Ok(Json(pg_one(&pg, tfb::random_id()).await?))
}

async fn pg_queries(State(pg): PgState, RawQuery(q): RawQuery) -> Result<Json<Vec<World>>, Failure> {
    let n = tfb::queries(q.as_deref());
    let pg = &pg;
    Ok(Json(try_join_all((0..n).map(|_| pg_one(pg, tfb::random_id()))).await?))
}

async fn pg_fortunes(State(pg): PgState) -> Result<Html<String>, Failure> {
    let rows = pg.client.query(&pg.fortune, &[]).await.map_err(fail)?;
    Ok(Html(tfb::fortunes_page(rows.iter().map(|r| (r.get(0), r.get(1))).collect())))
}

async fn pg_updates(State(pg): PgState, RawQuery(q): RawQuery) -> Result<Json<Vec<World>>, Failure> {
    let ids = tfb::distinct_ids(tfb::queries(q.as_deref()));
    let pg = &pg;
    let mut worlds = try_join_all(ids.into_iter().map(|id| pg_one(pg, id))).await?;
    for w in &mut worlds {
        w.random_number = tfb::random_id();
    }
    let n = worlds.len();
    let cached = pg.updates.lock().unwrap().get(&n).cloned();
    let statement = match cached {
        Some(s) => s,
        None => {
            let s = pg.client.prepare(&tfb::update_sql_prepared(n)).await.map_err(fail)?;
            pg.updates.lock().unwrap().insert(n, s.clone());
            s
        }
    };
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::with_capacity(2 * n);
    for w in &worlds {
        params.push(&w.id);
        params.push(&w.random_number);
    }
    pg.client.execute(&statement, &params).await.map_err(fail)?;
    Ok(Json(worlds))
}

async fn pg_router(url: &str) -> Router {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let world = client.prepare("SELECT id, randomnumber FROM world WHERE id = $1").await.unwrap();
    let fortune = client.prepare("SELECT id, message FROM fortune").await.unwrap();
    let pg = Pg { client, world, fortune, updates: Mutex::new(HashMap::new()) };
    Router::new()
        .route("/db", get(pg_db))
        .route("/queries", get(pg_queries))
        .route("/fortunes", get(pg_fortunes))
        .route("/updates", get(pg_updates))
        .with_state(Arc::new(pg))
}

// --- sqlx ---------------------------------------------------------------------------------------

type SqlxState = State<sqlx::PgPool>;

const WORLD_SQL: &str = "SELECT id, randomnumber FROM world WHERE id = $1";

async fn sqlx_one(pool: &sqlx::PgPool, id: i32) -> Result<World, Failure> {
    let (id, random_number): (i32, i32) =
        sqlx::query_as(WORLD_SQL).bind(id).fetch_one(pool).await.map_err(fail)?;
    Ok(World { id, random_number })
}

async fn sqlx_db(State(pool): SqlxState) -> Result<Json<World>, Failure> {
    Ok(Json(sqlx_one(&pool, tfb::random_id()).await?))
}

async fn sqlx_queries(State(pool): SqlxState, RawQuery(q): RawQuery) -> Result<Json<Vec<World>>, Failure> {
    let n = tfb::queries(q.as_deref());
    let pool = &pool;
    Ok(Json(try_join_all((0..n).map(|_| sqlx_one(pool, tfb::random_id()))).await?))
}

async fn sqlx_fortunes(State(pool): SqlxState) -> Result<Html<String>, Failure> {
    let rows: Vec<(i32, String)> =
        sqlx::query_as("SELECT id, message FROM fortune").fetch_all(&pool).await.map_err(fail)?;
    Ok(Html(tfb::fortunes_page(rows)))
}

async fn sqlx_updates(State(pool): SqlxState, RawQuery(q): RawQuery) -> Result<Json<Vec<World>>, Failure> {
    let ids = tfb::distinct_ids(tfb::queries(q.as_deref()));
    let p = &pool;
    let mut worlds = try_join_all(ids.into_iter().map(|id| sqlx_one(p, id))).await?;
    for w in &mut worlds {
        w.random_number = tfb::random_id();
    }
    let sql = tfb::update_sql_prepared(worlds.len());
    // Built from the row count only; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for w in &worlds {
        query = query.bind(w.id).bind(w.random_number);
    }
    query.execute(&pool).await.map_err(fail)?;
    Ok(Json(worlds))
}

async fn sqlx_router(url: &str) -> Router {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(16).connect(url).await.unwrap();
    Router::new()
        .route("/db", get(sqlx_db))
        .route("/queries", get(sqlx_queries))
        .route("/fortunes", get(sqlx_fortunes))
        .route("/updates", get(sqlx_updates))
        .with_state(pool)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let app = match std::env::var("DB_DRIVER").as_deref().unwrap_or("pg") {
        "pg" => pg_router(&url).await,
        "sqlx" => sqlx_router(&url).await,
        other => panic!("DB_DRIVER is pg or sqlx, not {other:?}"),
    };
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await.unwrap().tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}
