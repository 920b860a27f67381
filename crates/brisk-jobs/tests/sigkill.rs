//! A worker process killed with SIGKILL in the middle of a job, on SQLite and PostgreSQL: the
//! job keeps its claim until the lease runs out, then another worker runs it to the end.
//! The worker is this test binary run again as a child process (`child_worker`).

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use brisk_jobs::{JobExt, JobState, Jobs};
use brisk_orm::Database;
use common::*;

const CHILD_DB: &str = "BRISK_JOBS_TEST_CHILD_DB";

fn jobs() -> Jobs {
    Jobs::new().task::<Sleepy>().lease(Duration::from_millis(800)).poll_interval(Duration::from_millis(50))
}

/// The child: a worker until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `a_worker_killed_mid_job_...` as a child process"]
async fn child_worker() {
    let Ok(url) = std::env::var(CHILD_DB) else { return };
    let db = Database::open(&url).expect("child db");
    let _runner = jobs().start(&db).expect("child runner");
    std::future::pending::<()>().await;
}

fn spawn_worker(url: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_worker", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_DB, url)
        .spawn()
        .expect("child worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_has_its_job_finished_by_another_after_the_lease() {
    for test in backends().await {
        let db = test.database();
        let id = Sleepy { k: "killed".into(), first_ms: 600_000, then_ms: 0 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        let mut child = spawn_worker(test.url());
        let pid = child.id();
        eventually("the child runs the job", || async {
            let row = job(&db, id).await;
            row.state == JobState::Running
                && row.locked_by.as_deref().is_some_and(|w| w.starts_with(&format!("{pid}-")))
                && run_count(&db).await == 1
        })
        .await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        assert_eq!(job(&db, id).await.state, JobState::Running, "still claimed by the dead worker");

        let heir = jobs().start(&db).expect("heir");
        eventually("finished by the heir", || async { job(&db, id).await.state == JobState::Done }).await;
        heir.shutdown().await;
        let row = job(&db, id).await;
        assert_eq!(row.attempts, 2, "the killed attempt counts");
        assert_eq!(runs(&db).await, ["killed", "killed"], "started twice, finished once");
    }
}
