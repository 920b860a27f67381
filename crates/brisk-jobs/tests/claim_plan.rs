//! The claim's two queries are served by the partial indexes of migration
//! `0002_claim_indexes`, and `prune` by that of `0003_lean_indexes`, on SQLite (`EXPLAIN QUERY
//! PLAN`) and PostgreSQL (`EXPLAIN`), with 20,000 waiting jobs and as many finished ones: no
//! sort of every waiting job, no scan of the finished ones.

mod common;

use brisk_orm::{Database, Dialect, Raw};

/// The claim's selects as `src/store.rs` writes them (one job name), with literals.
const AVAILABLE: &str = "SELECT id FROM jobs_job WHERE state = 'available' AND queue = 'default' \
     AND run_at <= '2100-01-01 00:00:00' AND name IN ('record') ORDER BY priority DESC, run_at, id LIMIT 8";
/// `prune`'s statement (`src/store.rs`), with literals.
const PRUNE: &str = "DELETE FROM jobs_job WHERE finished_at < '2020-01-01 00:00:00' AND \
     ((state IN ('done', 'cancelled') AND finished_at < '2020-01-01 00:00:00') \
     OR (state = 'dead' AND finished_at < '2020-01-01 00:00:00'))";
const EXPIRED: &str = "SELECT id FROM jobs_job WHERE state = 'running' AND queue = 'default' \
     AND locked_until < '2100-01-01 00:00:00' AND name IN ('record') ORDER BY locked_until LIMIT 8";

async fn plan(db: &Database, select: &str) -> String {
    match db.dialect() {
        Dialect::Postgres => {
            let locking = if select.starts_with("SELECT") { " FOR UPDATE SKIP LOCKED" } else { "" };
            let rows: Vec<(String,)> =
                Raw::new(format!("EXPLAIN {select}{locking}")).fetch(db).await.expect("explain");
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
        }
        Dialect::Sqlite => {
            let rows: Vec<(i64, i64, i64, String)> =
                Raw::new(format!("EXPLAIN QUERY PLAN {select}")).fetch(db).await.expect("explain");
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_queries_use_the_partial_indexes() {
    for (test, migrator) in common::migrated().await {
        let db = test.database();
        let series = match db.dialect() {
            Dialect::Postgres => "SELECT g AS n FROM generate_series(1, 40000) AS g",
            Dialect::Sqlite => {
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 40000) SELECT n FROM s"
            }
        };
        db.execute_raw(&format!(
            "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
             created_at) SELECT 'default', 'record', '{{}}', CASE WHEN n % 2 = 0 THEN 'done' ELSE 'available' END, \
             n % 3, 0, 5, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM ({series}) AS t"
        ))
        .await
        .expect("40,000 jobs");
        db.execute_raw("UPDATE jobs_job SET finished_at = '2026-01-02 00:00:00' WHERE state = 'done'")
            .await
            .expect("the done ones finished");
        db.execute_raw("ANALYZE").await.expect("analyze");
        let available = plan(&db, AVAILABLE).await;
        let expired = plan(&db, EXPIRED).await;
        println!("{:?} available:\n{available}\n{:?} expired:\n{expired}", db.dialect(), db.dialect());
        assert!(available.contains("jobs_job_claim_available"), "{available}");
        assert!(!available.contains("TEMP B-TREE") && !available.contains("Sort"), "no sort: {available}");
        assert!(expired.contains("jobs_job_claim_expired"), "{expired}");
        let prune = plan(&db, PRUNE).await;
        println!("{:?} prune:\n{prune}", db.dialect());
        assert!(prune.contains("jobs_job_finished"), "{prune}");

        // The migration can be undone.
        migrator.migrate_back("jobs", Some("0001_initial")).await.expect("back to 0001");
        assert!(!plan(&db, AVAILABLE).await.contains("jobs_job_claim_available"));
        assert!(!plan(&db, PRUNE).await.contains("jobs_job_finished"));
    }
}
