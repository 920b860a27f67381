//! TechEmpower's database tests on brisk + brisk-orm, written as the ORM's README teaches:
//! models with `#[derive(Model)]`, the `Db` extractor, `QuerySet` filter/get/all. The database
//! is `DATABASE_URL` (PostgreSQL, or SQLite for `/db` and `/fortunes`), with brisk-orm's default
//! pool (PostgreSQL: one shared pipelined connection per core the process may run on, so one
//! as the harness pins it; SQLite: one writer and four readers).
//!
//! `/updates` reads its rows with the ORM and writes them back in one statement with
//! `bulk_update` (a join with a typed VALUES list, as the raw servers write it; prepared once per
//! connection for each batch size, as the ORM's other queries are).

use brisk::http::Uri;
use brisk::prelude::*;
use brisk::response::Html;
use brisk_orm::prelude::*;
use futures_util::future::try_join_all;

/// A row of TechEmpower's World table.
#[derive(Debug, Clone, Model, Serialize, JsonSchema)]
#[model(table = "world")]
struct World {
    #[model(primary_key)]
    id: i32,
    #[model(column = "randomnumber")]
    #[serde(rename = "randomNumber")]
    random_number: i32,
}

/// A row of TechEmpower's Fortune table.
#[derive(Debug, Clone, Model)]
#[model(table = "fortune")]
struct Fortune {
    #[model(primary_key)]
    id: i32,
    message: String,
}

async fn one(db: &Db, id: i32) -> Result<World, brisk_orm::Error> {
    World::objects().filter(World::id().eq(id)).get(db).await
}

async fn single(db: Db) -> Result<Json<World>> {
    Ok(Json(one(&db, tfb::random_id()).await?))
}

async fn queries(db: Db, uri: Uri) -> Result<Json<Vec<World>>> {
    let n = tfb::queries(uri.query());
    let db = &db;
    let worlds = try_join_all((0..n).map(|_| one(db, tfb::random_id()))).await?;
    Ok(Json(worlds))
}

async fn fortunes(db: Db) -> Result<Html<String>> {
    let rows = Fortune::objects().all(&db).await?;
    Ok(Html(tfb::fortunes_page(rows.into_iter().map(|f| (f.id, f.message)).collect())))
}

async fn updates(db: Db, uri: Uri) -> Result<Json<Vec<World>>> {
    let ids = tfb::distinct_ids(tfb::queries(uri.query()));
    let db = &db;
    let mut worlds = try_join_all(ids.into_iter().map(|id| one(db, id))).await?;
    for w in &mut worlds {
        w.random_number = tfb::random_id();
    }
    World::objects().bulk_update(&worlds, (World::random_number(),), db).await?;
    Ok(Json(worlds))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::new()
        .install(Database::from_env()?)
        .route("/db", get(single))
        .route("/queries", get(queries))
        .route("/fortunes", get(fortunes))
        .route("/updates", get(updates));
    brisk::run(app)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use brisk_orm::Dialect;

    /// The SQL each test sends (for reading profiles against the raw servers' statements).
    #[test]
    fn print_sql() {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            println!("{}", World::objects().filter(World::id().eq(42)).sql(dialect));
            println!("{}", Fortune::objects().sql(dialect));
        }
    }
}
