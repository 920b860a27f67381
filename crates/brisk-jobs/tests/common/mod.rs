//! Shared by the tests: both backends, a table where jobs record each run, a few job types,
//! and bounded waits.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use brisk_jobs::{Job, JobContext, JobError, JobRecord, JobState};
use brisk_orm::testing::TestDatabase;
use brisk_orm::{Database, Model, Raw};
use serde::{Deserialize, Serialize};

/// A SQLite file and a fresh PostgreSQL database, each with the `jobs_job` table and a
/// `test_runs` table where jobs write one row per run.
pub async fn backends() -> Vec<TestDatabase> {
    let mut out = Vec::new();
    for test in
        [TestDatabase::sqlite().await.expect("sqlite"), TestDatabase::postgres().await.expect("postgres")]
    {
        test.database()
            .execute_raw(
                "CREATE TABLE test_runs (k TEXT NOT NULL, attempt BIGINT NOT NULL, at BIGINT NOT NULL)",
            )
            .await
            .expect("test_runs");
        out.push(test);
    }
    out
}

/// An empty SQLite file and an empty PostgreSQL database, each with its tables as
/// `myapp migrate` makes them (not `create_tables`, which knows only the model's own indexes),
/// and the migrator that made them.
pub async fn migrated() -> Vec<(TestDatabase, brisk_orm::migrations::Migrator)> {
    let _ = brisk_jobs::Jobs::new(); // links the crate: its shipped migrations
    let mut out = Vec::new();
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let migrator = brisk_orm::migrations::Migrator::new(test.database(), Vec::new())
            .expect("the shipped migrations");
        migrator.migrate().await.expect("migrate");
        out.push((test, migrator));
    }
    out
}

/// Records a run of key `k` with its attempt.
pub async fn record_run(db: &Database, k: &str, attempt: u32) -> Result<(), JobError> {
    Raw::new("INSERT INTO test_runs (k, attempt, at) VALUES (?, ?, ?)")
        .bind(k.to_owned())
        .bind(i64::from(attempt))
        .bind(sequence())
        .execute(db)
        .await?;
    Ok(())
}

/// A number that grows with every call in this process (microseconds, at least one more
/// than the last).
fn sequence() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_micros();
    let mut last = LAST.load(Ordering::SeqCst);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The keys of every run, in the order they were written.
pub async fn runs(db: &Database) -> Vec<String> {
    let rows: Vec<(String,)> = Raw::new("SELECT k FROM test_runs ORDER BY at").fetch(db).await.expect("runs");
    rows.into_iter().map(|r| r.0).collect()
}

/// How many runs there were.
pub async fn run_count(db: &Database) -> i64 {
    let rows: Vec<(i64,)> = Raw::new("SELECT COUNT(*) FROM test_runs").fetch(db).await.expect("count");
    rows[0].0
}

/// Waits (at most 60 s) until `check` holds; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The job's row.
pub async fn job(db: &Database, id: i64) -> JobRecord {
    JobRecord::objects().filter(JobRecord::id().eq(id)).get(db).await.expect("job row")
}

/// How many jobs are in `state`.
pub async fn in_state(db: &Database, state: JobState) -> i64 {
    JobRecord::objects().filter(JobRecord::state().eq(state)).count(db).await.expect("count")
}

/// Records its key once per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub k: String,
}

impl Job for Record {
    const NAME: &'static str = "record";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        record_run(cx.db(), &self.k, cx.attempt()).await
    }
}

/// Records a run, then sleeps `first_ms` on its first attempt and `then_ms` on later ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sleepy {
    pub k: String,
    pub first_ms: u64,
    pub then_ms: u64,
}

impl Job for Sleepy {
    const NAME: &'static str = "sleepy";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        record_run(cx.db(), &self.k, cx.attempt()).await?;
        let ms = if cx.attempt() == 1 { self.first_ms } else { self.then_ms };
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}

/// Records a run, then fails until attempt `succeed_on` (never when 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flaky {
    pub k: String,
    pub succeed_on: u32,
    pub permanent: bool,
}

impl Job for Flaky {
    const NAME: &'static str = "flaky";
    const MAX_ATTEMPTS: u32 = 3;

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        record_run(cx.db(), &self.k, cx.attempt()).await?;
        if self.succeed_on != 0 && cx.attempt() >= self.succeed_on {
            return Ok(());
        }
        let message = format!("flaky failure on attempt {}", cx.attempt());
        Err(if self.permanent { JobError::permanent(message) } else { JobError::new(message) })
    }
}

/// Panics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Panics;

impl Job for Panics {
    const NAME: &'static str = "panics";
    const MAX_ATTEMPTS: u32 = 1;

    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        panic!("boom in a job")
    }
}
