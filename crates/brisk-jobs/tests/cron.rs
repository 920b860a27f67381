//! Cron on SQLite and PostgreSQL: two schedulers on one database (as two processes) fire each
//! tick once; the catch-up rule after downtime; a bad schedule stops the start.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use brisk_jobs::{Job, JobContext, JobError, JobRecord, Jobs};
use brisk_orm::{Database, Model};
use common::*;

/// Records the tick it was fired for (its `scheduled_at`, in microseconds).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Stamp;

impl Job for Stamp {
    const NAME: &'static str = "stamp";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        record_run(cx.db(), &cx.scheduled_at().timestamp_micros().to_string(), cx.attempt()).await
    }
}

fn ticking() -> Jobs {
    Jobs::new().cron("* * * * * *", Stamp).poll_interval(Duration::from_millis(50))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_fire_each_tick_once() {
    for test in backends().await {
        let db = test.database();
        let other = Database::open(test.url()).expect("second pool");
        let a = ticking().start(&db).expect("a");
        let b = ticking().start(&other).expect("b");
        tokio::time::sleep(Duration::from_millis(3500)).await;
        a.shutdown().await;
        b.shutdown().await;
        let rows = JobRecord::objects().all(&db).await.expect("rows");
        assert!(rows.len() >= 3, "a tick a second for 3.5 s: {} rows", rows.len());
        for row in &rows {
            let tick = row.cron_tick.as_deref().unwrap_or_default();
            assert!(tick.starts_with("stamp * * * * * *@"), "{tick}");
            assert_eq!(row.run_at.timestamp_subsec_micros(), 0, "run_at is the tick itself");
        }
        // What the jobs did: each tick's job ran exactly once, whichever process fired it.
        let ran = runs(&db).await;
        let per_tick: BTreeMap<&str, usize> = ran.iter().fold(BTreeMap::new(), |mut m, k| {
            *m.entry(k.as_str()).or_default() += 1;
            m
        });
        assert!(per_tick.values().all(|n| *n == 1), "a tick's job ran twice: {per_tick:?}");
        let fired: BTreeSet<String> = rows.iter().map(|r| r.run_at.timestamp_micros().to_string()).collect();
        assert!(per_tick.keys().all(|k| fired.contains(*k)), "ran only fired ticks: {per_tick:?}");
        let done = rows.iter().filter(|r| r.state == brisk_jobs::JobState::Done).count();
        assert_eq!(ran.len(), done, "each done tick ran once");
        assert!(done >= 2, "{done}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_whose_insert_failed_fires_once_the_database_answers() {
    for test in backends().await {
        let db = test.database();
        let hourly = Jobs::new()
            .cron("0 0 * * * *", Record { k: "hourly".into() })
            .cron_catch_up(Duration::from_secs(2 * 3600))
            .poll_interval(Duration::from_millis(50))
            .no_pruning();
        // The table is away when the tick (the latest full hour) fires: the insert fails.
        db.execute_raw("ALTER TABLE jobs_job RENAME TO jobs_job_away").await.expect("away");
        let runner = hourly.start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(700)).await;
        db.execute_raw("ALTER TABLE jobs_job_away RENAME TO jobs_job").await.expect("back");
        // The next tick is up to an hour away: only a retry fires this one.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while JobRecord::objects().count(&db).await.expect("n") == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the failed tick was never fired again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eventually("its job ran", || async { run_count(&db).await == 1 }).await;
        runner.shutdown().await;
        assert_eq!(JobRecord::objects().count(&db).await.expect("n"), 1, "fired once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_window_too_long_for_chrono_still_fires() {
    for test in backends().await {
        let db = test.database();
        let runner = Jobs::new()
            .cron("0 0 * * * *", Record { k: "hourly".into() })
            .cron_catch_up(Duration::MAX)
            .retention(Duration::MAX, Duration::MAX)
            .start(&db)
            .expect("start");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while JobRecord::objects().count(&db).await.expect("n") == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the scheduler did not fire (did it panic?)");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        runner.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_downtime_only_the_latest_missed_tick_fires_within_the_window() {
    for test in backends().await {
        let db = test.database();
        // Hourly: the latest tick is up to an hour old.
        let hourly = |window: Duration| {
            Jobs::new().cron("0 0 * * * *", Record { k: "hourly".into() }).cron_catch_up(window).no_pruning()
        };
        let none = hourly(Duration::ZERO).start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(300)).await;
        none.shutdown().await;
        assert_eq!(JobRecord::objects().count(&db).await.expect("n"), 0, "outside the window: skipped");

        let first = hourly(Duration::from_secs(2 * 3600)).start(&db).expect("start");
        eventually("the latest tick fired", || async {
            JobRecord::objects().count(&db).await.expect("n") == 1
        })
        .await;
        let second = hourly(Duration::from_secs(2 * 3600)).start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.shutdown().await;
        second.shutdown().await;
        let rows = JobRecord::objects().all(&db).await.expect("rows");
        assert_eq!(rows.len(), 1, "one run for the latest tick, never one per missed tick");
        let tick = rows[0].run_at;
        let hour = chrono::Utc::now().timestamp() / 3600 * 3600;
        assert!(tick.timestamp() == hour || tick.timestamp() == hour - 3600, "the latest full hour: {tick}");
        assert_eq!(tick.timestamp() % 3600, 0);
    }
}

#[tokio::test]
async fn a_bad_schedule_stops_the_start_with_a_sentence() {
    let db = Database::open("sqlite::memory:").expect("db");
    let jobs = Jobs::new().cron("every tuesday", Record { k: "x".into() });
    let error = jobs.start(&db).err().expect("refused").to_string();
    assert!(error.starts_with("the cron schedule \"every tuesday\" is not valid: "), "{error}");
    assert!(!error.contains("database"), "not a database problem: {error}");
}
