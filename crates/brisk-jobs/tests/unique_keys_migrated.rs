//! Unique keys and cron ticks on the tables as `myapp migrate` makes them (migration
//! `0004_partial_unique_keys` on PostgreSQL, `0005_sqlite_partial_unique_keys` on SQLite: partial
//! unique indexes over the non-NULL values),
//! on both backends: a key is refused while its job is pending, free once it ended; a tick is
//! inserted once; jobs without either share NULLs freely; and the migration undoes.

mod common;

use brisk_jobs::{JobExt, JobState};
use brisk_orm::prelude::Model;
use brisk_orm::{Database, Dialect, Raw};
use common::Record;

/// A job row with `cron_tick` (as the scheduler inserts it): its id, or `None` when the tick
/// was taken.
async fn tick(db: &Database, key: &str) -> Option<i64> {
    let rows: Vec<(i64,)> = Raw::new(
        "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
         cron_tick, created_at) VALUES ('default', 'record', '{}', 'available', 0, 0, 5, \
         '2026-01-01 00:00:00', ?, '2026-01-01 00:00:00') ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(key.to_owned())
    .fetch(db)
    .await
    .expect("insert");
    rows.first().map(|r| r.0)
}

async fn keys_hold(db: &Database) {
    let keyed = || Record { k: "a".into() }.schedule().unique("report:7");
    let first = keyed().enqueue(db).await.expect("enqueue");
    assert!(first.is_some());
    assert_eq!(keyed().enqueue(db).await.expect("enqueue"), None, "the key is taken while pending");
    // Jobs without a key: as many as you like.
    for _ in 0..3 {
        assert!(Record { k: "b".into() }.enqueue(db).await.expect("enqueue").is_some());
    }
    // The job ends (its key is cleared as a worker's outcome clears it): the key is free.
    Raw::new("UPDATE jobs_job SET state = 'done', unique_key = NULL WHERE id = ?")
        .bind(first)
        .execute(db)
        .await
        .expect("done");
    assert!(keyed().enqueue(db).await.expect("enqueue").is_some(), "free again once it ended");
    assert!(tick(db, "heartbeat * * * * * *@2026-01-01T00:00:00Z").await.is_some());
    assert_eq!(tick(db, "heartbeat * * * * * *@2026-01-01T00:00:00Z").await, None, "one row per tick");
    assert!(tick(db, "heartbeat * * * * * *@2026-01-01T00:00:01Z").await.is_some());
    let pending: Vec<(i64,)> = Raw::new("SELECT COUNT(*) FROM jobs_job WHERE state = ?")
        .bind(JobState::Available)
        .fetch(db)
        .await
        .expect("count");
    assert_eq!(pending[0].0, 6, "3 keyless, the second keyed one, 2 ticks");
}

/// The unique indexes PostgreSQL has on `jobs_job`, as `name: definition`.
async fn unique_indexes(db: &Database) -> Vec<String> {
    let rows: Vec<(String, String)> = Raw::new(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'jobs_job' AND indexdef LIKE 'CREATE UNIQUE%' \
         AND indexname <> 'jobs_job_pkey' ORDER BY indexname",
    )
    .fetch(db)
    .await
    .expect("pg_indexes");
    rows.into_iter().map(|(name, def)| format!("{name}: {def}")).collect()
}

/// SQLite's indexes on `jobs_job`, as `name: definition` (a constraint's own index has none).
async fn sqlite_indexes(db: &Database) -> Vec<String> {
    let rows: Vec<(String, Option<String>)> = Raw::new(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs_job' ORDER BY name",
    )
    .fetch(db)
    .await
    .expect("sqlite_master");
    rows.into_iter().map(|(name, sql)| format!("{name}: {}", sql.unwrap_or_default())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_keys_and_cron_ticks_hold_on_the_migrated_tables() {
    for (test, migrator) in common::migrated().await {
        let db = test.database();
        if db.dialect() == Dialect::Postgres {
            let indexes = unique_indexes(&db).await;
            assert_eq!(indexes.len(), 2, "{indexes:?}");
            assert!(
                indexes[0].starts_with("jobs_job_cron_tick: ")
                    && indexes[0].ends_with("WHERE (cron_tick IS NOT NULL)"),
                "{indexes:?}"
            );
            assert!(
                indexes[1].starts_with("jobs_job_unique_key: ")
                    && indexes[1].ends_with("WHERE (unique_key IS NOT NULL)"),
                "{indexes:?}"
            );
        } else {
            // 0005: the table rebuilt without its two constraints, the partial indexes instead,
            // the claim indexes made again.
            assert_eq!(
                sqlite_indexes(&db).await,
                [
                    "jobs_job_claim_available: CREATE INDEX jobs_job_claim_available ON jobs_job (queue, priority DESC, run_at, id) WHERE state = 'available'",
                    "jobs_job_claim_expired: CREATE INDEX jobs_job_claim_expired ON jobs_job (queue, locked_until) WHERE state = 'running'",
                    "jobs_job_cron_tick: CREATE UNIQUE INDEX jobs_job_cron_tick ON jobs_job (cron_tick) WHERE cron_tick IS NOT NULL",
                    "jobs_job_finished: CREATE INDEX jobs_job_finished ON jobs_job (finished_at) WHERE finished_at IS NOT NULL",
                    "jobs_job_unique_key: CREATE UNIQUE INDEX jobs_job_unique_key ON jobs_job (unique_key) WHERE unique_key IS NOT NULL",
                ]
            );
        }
        keys_hold(&db).await;

        // Undone, the constraints are back (and still hold); done again, the partial indexes.
        migrator.migrate_back("jobs", Some("0003_lean_indexes")).await.expect("migrate back");
        if db.dialect() == Dialect::Postgres {
            let indexes = unique_indexes(&db).await;
            assert_eq!(
                indexes.iter().map(|i| i.split(':').next().unwrap_or("")).collect::<Vec<_>>(),
                ["jobs_job_cron_tick_key", "jobs_job_unique_key_key"]
            );
        } else {
            let names: Vec<String> = sqlite_indexes(&db)
                .await
                .into_iter()
                .map(|i| i.split(':').next().unwrap_or("").to_owned())
                .collect();
            assert_eq!(
                names,
                [
                    "jobs_job_claim_available",
                    "jobs_job_claim_expired",
                    "jobs_job_finished",
                    "sqlite_autoindex_jobs_job_1",
                    "sqlite_autoindex_jobs_job_2"
                ]
            );
        }
        assert_eq!(tick(&db, "heartbeat * * * * * *@2026-01-01T00:00:00Z").await, None);
        migrator.migrate().await.expect("migrate again");
        assert_eq!(tick(&db, "heartbeat * * * * * *@2026-01-01T00:00:01Z").await, None);
    }
}

/// SQLite's definition of `jobs_job` (empty on PostgreSQL), its name as 0001 wrote it.
async fn table_sql(db: &Database) -> String {
    if db.dialect() != Dialect::Sqlite {
        return String::new();
    }
    let rows: Vec<(String,)> =
        Raw::new("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs_job'")
            .fetch(db)
            .await
            .expect("sqlite_master");
    rows.into_iter()
        .next()
        .map(|r| r.0.replace(r#"CREATE TABLE "jobs_job__rebuilt""#, r#"CREATE TABLE "jobs_job""#))
        .unwrap_or_default()
}

/// Every job as the table holds it, in id order (all columns, as the model reads them).
async fn snapshot(db: &Database) -> Vec<String> {
    let mut jobs = brisk_jobs::JobRecord::objects().all(db).await.expect("jobs");
    jobs.sort_by_key(|j| j.id.get());
    jobs.into_iter().map(|j| format!("{j:?}")).collect()
}

/// The migrations that rebuild the table (0005, SQLite; undone and done again) keep every job
/// as it was, every column, and the AUTOINCREMENT counter: the id of a deleted job is not
/// handed out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilding_the_table_keeps_every_job_and_the_id_counter() {
    for (test, migrator) in common::migrated().await {
        let db = test.database();
        let keyed = Record { k: "a".into() }.schedule().unique("report:7").priority(3).enqueue(&db).await;
        assert!(keyed.expect("enqueue").is_some());
        assert!(tick(&db, "heartbeat * * * * * *@2026-01-01T00:00:00Z").await.is_some());
        let finished = Record { k: "b".into() }.enqueue(&db).await.expect("enqueue").expect("an id");
        // Every column of this row holds a value of its own (a column copied into another's
        // place would show).
        Raw::new(
            "UPDATE jobs_job SET state = 'dead', priority = 2, attempts = 5, max_attempts = 6, timeout_ms = 7000, \
             unique_key = 'key-b', locked_by = 'worker-b', locked_until = '2026-01-02 03:04:01', \
             last_error = 'boom', started_at = '2026-01-02 03:04:02', finished_at = '2026-01-02 03:04:05' \
             WHERE id = ?",
        )
        .bind(finished)
        .execute(&db)
        .await
        .expect("dead");
        let newest = Record { k: "c".into() }.enqueue(&db).await.expect("enqueue").expect("an id");
        Raw::new("DELETE FROM jobs_job WHERE id = ?").bind(newest).execute(&db).await.expect("delete");
        let before = snapshot(&db).await;
        assert_eq!(before.len(), 3);

        let rebuilt = table_sql(&db).await;
        migrator.migrate_back("jobs", Some("0004_partial_unique_keys")).await.expect("migrate back");
        assert_eq!(snapshot(&db).await, before, "undone: the same jobs");
        let undone = table_sql(&db).await;
        migrator.migrate().await.expect("migrate again");
        assert_eq!(snapshot(&db).await, before, "done again: the same jobs");
        if db.dialect() == Dialect::Sqlite {
            // The table as 0001 made it, its two UNIQUEs aside: same columns, checks, STRICT.
            assert!(undone.contains(r#""unique_key" TEXT UNIQUE CHECK"#), "{undone}");
            assert!(undone.contains(r#""cron_tick" TEXT UNIQUE CHECK"#), "{undone}");
            assert_eq!(rebuilt, undone.replace(" UNIQUE CHECK", " CHECK"));
            assert!(rebuilt.ends_with(r#""finished_at" TEXT) STRICT"#), "{rebuilt}");
            assert_eq!(table_sql(&db).await, rebuilt);
        }

        let next = Record { k: "d".into() }.enqueue(&db).await.expect("enqueue").expect("an id");
        assert!(next > newest, "the deleted job's id {newest} is not handed out again ({next})");
        // The key is still taken by its pending job, the tick by its row.
        assert_eq!(
            Record { k: "a".into() }.schedule().unique("report:7").enqueue(&db).await.expect("enqueue"),
            None
        );
        assert_eq!(tick(&db, "heartbeat * * * * * *@2026-01-01T00:00:00Z").await, None);
    }
}

/// SQLite: a view an app made of `jobs_job` stops 0005 (its rename would break the view);
/// the migration rolls back whole, the table and its jobs as they were, and runs once the
/// view is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_the_jobs_stops_the_rebuild_and_leaves_the_table_as_it_was() {
    for (test, migrator) in common::migrated().await {
        let db = test.database();
        if db.dialect() != Dialect::Sqlite {
            continue;
        }
        assert!(Record { k: "a".into() }
            .schedule()
            .unique("k")
            .enqueue(&db)
            .await
            .expect("enqueue")
            .is_some());
        migrator.migrate_back("jobs", Some("0004_partial_unique_keys")).await.expect("migrate back");
        let before = (snapshot(&db).await, table_sql(&db).await);
        db.execute_raw(
            "CREATE VIEW pending_jobs AS SELECT id, queue FROM jobs_job WHERE state = 'available'",
        )
        .await
        .expect("view");
        let refused = migrator.migrate().await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!((snapshot(&db).await, table_sql(&db).await), before, "rolled back whole");
        assert!(before.1.contains(r#""unique_key" TEXT UNIQUE CHECK"#));
        db.execute_raw("DROP VIEW pending_jobs").await.expect("drop view");
        migrator.migrate().await.expect("migrates without the view");
        assert!(!table_sql(&db).await.contains("UNIQUE"));
        assert_eq!(snapshot(&db).await, before.0);
    }
}
