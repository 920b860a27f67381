//! Cron on SQLite and PostgreSQL: two schedulers on one database (as two processes) fire each
//! tick once; the catch-up rule after downtime; a bad schedule stops the start.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use brisk_jobs::{JobRecord, Jobs};
use brisk_orm::{Database, Model};
use common::*;

fn ticking() -> Jobs {
    Jobs::new().cron("* * * * * *", Record { k: "tick".into() }).poll_interval(Duration::from_millis(50))
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
        let ticks: BTreeSet<String> = rows.iter().filter_map(|r| r.cron_tick.clone()).collect();
        assert_eq!(ticks.len(), rows.len(), "one row per tick key");
        let times: BTreeSet<_> = rows.iter().map(|r| r.run_at).collect();
        assert_eq!(times.len(), rows.len(), "one row per tick time: no tick fired twice");
        assert!(rows.len() >= 3, "a tick a second for 3.5 s: {} rows", rows.len());
        for row in &rows {
            let tick = row.cron_tick.as_deref().unwrap_or_default();
            assert!(tick.starts_with("record * * * * * *@"), "{tick}");
            assert_eq!(row.run_at.timestamp_subsec_micros(), 0, "run_at is the tick itself");
        }
        let done = rows.iter().filter(|r| r.state == brisk_jobs::JobState::Done).count();
        assert_eq!(run_count(&db).await as usize, done, "each fired tick ran once");
        assert!(done >= 2, "{done}");
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
    assert!(error.contains("the cron schedule \"every tuesday\" is not valid"), "{error}");
}
