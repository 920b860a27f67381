//! The queue through its public API, on SQLite and on a real PostgreSQL: enqueue in a
//! transaction (rolled back: nothing), exactly-once with many workers, retries and dead jobs,
//! unique keys, `run_at`, priorities, timeouts, a worker that dies mid-job, graceful shutdown,
//! pruning, cancel and retry, and rows this binary cannot run.

mod common;

use std::time::Duration;

use brisk_jobs::{Job, JobExt, JobRecord, JobState, Jobs};
use brisk_orm::{DateTime, Model, Raw};
use common::*;

fn quick() -> Jobs {
    Jobs::new()
        .task::<Record>()
        .task::<Sleepy>()
        .task::<Flaky>()
        .task::<Panics>()
        .poll_interval(Duration::from_millis(50))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_enqueue_runs_nothing_and_a_committed_one_runs_once() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().start(&db).expect("start");
        db.atomic(|tx| async move {
            for i in 0..10 {
                Record { k: format!("kept-{i}") }.enqueue(&tx).await?;
            }
            Ok::<_, brisk_orm::Error>(())
        })
        .await
        .expect("committed");
        let rolled_back: Result<(), brisk_orm::Error> = db
            .atomic(|tx| async move {
                for i in 0..10 {
                    Record { k: format!("gone-{i}") }.enqueue(&tx).await?;
                }
                Err(brisk_orm::Error::Config("the request failed".into()))
            })
            .await;
        assert!(rolled_back.is_err());
        // A savepoint rolled back inside a committed transaction takes its job with it.
        db.atomic(|tx| async move {
            Record { k: "outer".into() }.enqueue(&tx).await?;
            let _ = tx
                .atomic(|tx| async move {
                    Record { k: "inner".into() }.enqueue(&tx).await?;
                    Err::<(), _>(brisk_orm::Error::Config("inner failed".into()))
                })
                .await;
            Ok::<_, brisk_orm::Error>(())
        })
        .await
        .expect("committed");
        eventually("11 jobs done", || async { in_state(&db, JobState::Done).await == 11 }).await;
        runner.shutdown().await;
        let mut ran = runs(&db).await;
        ran.sort();
        let mut expected: Vec<String> = (0..10).map(|i| format!("kept-{i}")).collect();
        expected.push("outer".into());
        expected.sort();
        assert_eq!(ran, expected, "{}", db.url());
        assert_eq!(JobRecord::objects().count(&db).await.expect("count"), 11);
    }
}

/// `enqueue_pipelined`: the INSERT's answer read with the COMMIT. The same rule as an awaited
/// enqueue: committed jobs run once, rolled-back ones never; a unique key still turns a second
/// job away (silently: there is no answer to say so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_enqueues_run_once_when_committed_and_never_when_rolled_back() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().start(&db).expect("start");
        db.atomic(|tx| async move {
            for i in 0..5 {
                Record { k: format!("piped-{i}") }.enqueue_pipelined(&tx).await?;
            }
            Record { k: "unique-first".into() }.schedule().unique("u").enqueue_pipelined(&tx).await?;
            Record { k: "unique-second".into() }.schedule().unique("u").enqueue_pipelined(&tx).await?;
            Ok::<_, brisk_orm::Error>(())
        })
        .await
        .expect("committed");
        let rolled_back: Result<(), brisk_orm::Error> = db
            .atomic(|tx| async move {
                Record { k: "gone".into() }.enqueue_pipelined(&tx).await?;
                Err(brisk_orm::Error::Config("the request failed".into()))
            })
            .await;
        assert!(rolled_back.is_err());
        eventually("6 jobs done", || async { in_state(&db, JobState::Done).await == 6 }).await;
        runner.shutdown().await;
        let mut ran = runs(&db).await;
        ran.sort();
        let mut expected: Vec<String> = (0..5).map(|i| format!("piped-{i}")).collect();
        expected.push("unique-first".into());
        assert_eq!(ran, expected, "{}", db.url());
        assert_eq!(JobRecord::objects().count(&db).await.expect("count"), 6);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_database_run_every_job_exactly_once() {
    for test in backends().await {
        let db = test.database();
        let jobs = quick().concurrency(4);
        // Two runners, as two processes would be (the second on its own pool).
        let other_db = brisk_orm::Database::open(test.url()).expect("second pool");
        let a = jobs.start(&db).expect("start a");
        let b = jobs.start(&other_db).expect("start b");
        assert_ne!(a.worker_id(), b.worker_id());
        let n = 200;
        for chunk in 0..4 {
            db.atomic(|tx| async move {
                for i in 0..n / 4 {
                    Record { k: format!("job-{chunk}-{i}") }.enqueue(&tx).await?;
                }
                Ok::<_, brisk_orm::Error>(())
            })
            .await
            .expect("enqueued");
        }
        eventually("every job done", || async { in_state(&db, JobState::Done).await == n }).await;
        a.shutdown().await;
        b.shutdown().await;
        let ran = runs(&db).await;
        assert_eq!(ran.len() as i64, n, "each job ran once ({})", db.url());
        let distinct: std::collections::BTreeSet<_> = ran.iter().collect();
        assert_eq!(distinct.len() as i64, n);
        let attempts: Vec<(i64,)> =
            Raw::new("SELECT MAX(attempts) FROM jobs_job").fetch(&db).await.expect("max");
        assert_eq!(attempts[0].0, 1, "no job was claimed twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff_then_dead_with_the_last_error() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().start(&db).expect("start");
        let always =
            Flaky { k: "always".into(), succeed_on: 0, permanent: false }.enqueue(&db).await.expect("e");
        let third =
            Flaky { k: "third".into(), succeed_on: 3, permanent: false }.enqueue(&db).await.expect("e");
        let permanent =
            Flaky { k: "perm".into(), succeed_on: 0, permanent: true }.enqueue(&db).await.expect("e");
        let panics = Panics.enqueue(&db).await.expect("e");
        let ids = [always, third, permanent, panics].map(|id| id.expect("id"));
        eventually("all four ended", || async {
            in_state(&db, JobState::Dead).await + in_state(&db, JobState::Done).await == 4
        })
        .await;
        runner.shutdown().await;

        let dead = job(&db, ids[0]).await;
        assert_eq!(dead.state, JobState::Dead);
        assert_eq!(dead.attempts, 3, "Flaky::MAX_ATTEMPTS");
        assert_eq!(dead.last_error.as_deref(), Some("flaky failure on attempt 3"));
        assert!(dead.finished_at.is_some() && dead.locked_by.is_none());

        let recovered = job(&db, ids[1]).await;
        assert_eq!(recovered.state, JobState::Done);
        assert_eq!(recovered.attempts, 3);
        assert_eq!(recovered.last_error.as_deref(), Some("flaky failure on attempt 2"), "kept after success");

        let perm = job(&db, ids[2]).await;
        assert_eq!((perm.state, perm.attempts), (JobState::Dead, 1), "a permanent error is not retried");

        let panicked = job(&db, ids[3]).await;
        assert_eq!(panicked.state, JobState::Dead);
        assert!(panicked.last_error.as_deref().unwrap_or_default().contains("boom in a job"), "{panicked:?}");

        let ran = runs(&db).await;
        assert_eq!(ran.iter().filter(|k| *k == "always").count(), 3);
        assert_eq!(ran.iter().filter(|k| *k == "third").count(), 3);
        assert_eq!(ran.iter().filter(|k| *k == "perm").count(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_key_is_not_enqueued_twice_while_pending() {
    for test in backends().await {
        let db = test.database();
        let first =
            Record { k: "u1".into() }.schedule().unique("report:7").enqueue(&db).await.expect("first");
        let again =
            Record { k: "u2".into() }.schedule().unique("report:7").enqueue(&db).await.expect("second");
        assert!(first.is_some());
        assert_eq!(again, None, "pending: refused");
        // In a transaction too, without aborting it.
        db.atomic(|tx| async move {
            let dup = Record { k: "u3".into() }.schedule().unique("report:7").enqueue(&tx).await?;
            assert_eq!(dup, None);
            Record { k: "other".into() }.schedule().unique("report:8").enqueue(&tx).await?;
            Ok::<_, brisk_orm::Error>(())
        })
        .await
        .expect("transaction goes on");
        let runner = quick().start(&db).expect("start");
        eventually("both done", || async { in_state(&db, JobState::Done).await == 2 }).await;
        // Once it ended, the key is free again.
        let later =
            Record { k: "u4".into() }.schedule().unique("report:7").enqueue(&db).await.expect("later");
        assert!(later.is_some());
        eventually("three done", || async { in_state(&db, JobState::Done).await == 3 }).await;
        runner.shutdown().await;
        let mut ran = runs(&db).await;
        ran.sort();
        assert_eq!(ran, ["other", "u1", "u4"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_at_is_respected_and_priorities_order_due_jobs() {
    for test in backends().await {
        let db = test.database();
        let later = Record { k: "later".into() }
            .schedule()
            .delay(Duration::from_millis(800))
            .priority(100)
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        for (k, priority) in [("low", -5), ("high", 10), ("mid", 0), ("top", 20)] {
            Record { k: k.into() }.schedule().priority(priority).enqueue(&db).await.expect("e");
        }
        let runner = quick().concurrency(1).start(&db).expect("start");
        eventually("five done", || async { in_state(&db, JobState::Done).await == 5 }).await;
        runner.shutdown().await;
        assert_eq!(runs(&db).await, ["top", "high", "mid", "low", "later"], "{}", db.url());
        let row = job(&db, later).await;
        let started = row.started_at.expect("started");
        assert!(started >= row.run_at, "not before run_at: {started} < {}", row.run_at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_past_its_timeout_fails() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().start(&db).expect("start");
        let id = Sleepy { k: "slow".into(), first_ms: 60_000, then_ms: 0 }
            .schedule()
            .timeout(Some(Duration::from_millis(200)))
            .max_attempts(2)
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("done on the second attempt", || async { job(&db, id).await.state == JobState::Done })
            .await;
        runner.shutdown().await;
        let row = job(&db, id).await;
        assert_eq!(row.attempts, 2);
        assert_eq!(row.last_error.as_deref(), Some("timed out after 200 ms"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_runs_again_after_its_lease() {
    for test in backends().await {
        let db = test.database();
        let jobs = quick().lease(Duration::from_millis(600));
        let doomed = jobs.start(&db).expect("start");
        let id = Sleepy { k: "survivor".into(), first_ms: 600_000, then_ms: 0 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        // Running, and the job has started (written its run): the claim is visible a moment
        // before the job's first statement.
        eventually("running", || async { run_count(&db).await == 1 }).await;
        let dead_worker = doomed.worker_id().to_owned();
        // As SIGKILL: every task stops, nothing is released.
        drop(doomed);
        let row = job(&db, id).await;
        assert_eq!((row.state, row.locked_by.as_deref()), (JobState::Running, Some(dead_worker.as_str())));

        let heir = jobs.start(&db).expect("start again");
        eventually("done by the next worker", || async { job(&db, id).await.state == JobState::Done }).await;
        let row = job(&db, id).await;
        assert_eq!(row.attempts, 2, "the lost attempt counts");
        assert!(row.started_at.expect("started") >= row.created_at);
        heir.shutdown().await;
        assert_eq!(runs(&db).await, ["survivor", "survivor"]);
    }
}

/// Makes the database refuse to record a finished job (a trigger raises on `state = 'done'`);
/// answers the statement that takes the trigger away.
async fn refuse_done(db: &brisk_orm::Database) -> &'static str {
    let (refuse, allow) = match db.dialect() {
        brisk_orm::Dialect::Sqlite => (
            vec![
                "CREATE TRIGGER refuse_done BEFORE UPDATE OF state ON jobs_job \
                  WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            ],
            "DROP TRIGGER refuse_done",
        ),
        brisk_orm::Dialect::Postgres => (
            vec![
                "CREATE FUNCTION refuse_done() RETURNS trigger AS $$ BEGIN \
                 IF NEW.state = 'done' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_done BEFORE UPDATE ON jobs_job FOR EACH ROW \
                 EXECUTE FUNCTION refuse_done()",
            ],
            "DROP TRIGGER refuse_done ON jobs_job",
        ),
    };
    for sql in refuse {
        db.execute_raw(sql).await.expect("the refusing trigger");
    }
    allow
}

/// The database refuses to record a finished job (a trigger raises on `state = 'done'`, as a
/// lost connection or a full disk would fail the write): nothing is lost and nothing runs
/// twice. The worker keeps the claim (its lease renewed) and writes again, backing off, until
/// the database takes the write: then the job is done, after one run and one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_the_database_refuses_to_record_keeps_its_claim_until_written() {
    for test in backends().await {
        let db = test.database();
        let allow = refuse_done(&db).await;
        let runner = quick().lease(Duration::from_millis(600)).start(&db).expect("start");
        let id = Record { k: "unrecorded".into() }.enqueue(&db).await.expect("e").expect("id");
        eventually("run", || async { run_count(&db).await == 1 }).await;
        // Three leases long, the refused write is tried again and again: the claim is kept
        // (renewed), so no other claim runs the job a second time.
        tokio::time::sleep(Duration::from_millis(1800)).await;
        let row = job(&db, id).await;
        assert_eq!((row.state, row.locked_by.as_deref()), (JobState::Running, Some(runner.worker_id())));
        assert!(row.locked_until.expect("a lease") > DateTime::now(), "the lease is renewed");
        assert_eq!(run_count(&db).await, 1, "not run again while its outcome waits to be written");
        db.execute_raw(allow).await.expect("writes taken again");
        eventually("done once written", || async { job(&db, id).await.state == JobState::Done }).await;
        runner.shutdown().await;
        let row = job(&db, id).await;
        assert_eq!(runs(&db).await, ["unrecorded"]);
        assert_eq!(row.attempts, 1);
        assert_eq!((row.locked_by, row.locked_until), (None, None));
    }
}

/// A finished job gives its place in the queue's concurrency back before its outcome is
/// written (the next claim overlaps the write), but no more outcomes wait to be written than the
/// concurrency: with concurrency 1 and the first job's outcome refused, a second job runs, and a
/// third waits until the outcomes are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_waiting_to_be_written_hold_no_slot_but_are_bounded() {
    for test in backends().await {
        let db = test.database();
        let allow = refuse_done(&db).await;
        let runner = quick().concurrency(1).start(&db).expect("start");
        Record { k: "first".into() }.enqueue(&db).await.expect("e");
        eventually("the first run", || async { run_count(&db).await == 1 }).await;
        Record { k: "second".into() }.enqueue(&db).await.expect("e");
        eventually("the second runs while the first outcome waits", || async { run_count(&db).await == 2 })
            .await;
        Record { k: "third".into() }.enqueue(&db).await.expect("e");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(runs(&db).await, ["first", "second"], "one running slot, one outcome waiting: no third");
        db.execute_raw(allow).await.expect("writes taken again");
        eventually("all done", || async { in_state(&db, JobState::Done).await == 3 }).await;
        runner.shutdown().await;
        assert_eq!(runs(&db).await, ["first", "second", "third"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_is_renewed_while_a_job_runs() {
    for test in backends().await {
        let db = test.database();
        // A job running 5 leases long is never claimed by the second runner.
        let jobs = quick().lease(Duration::from_millis(300));
        let a = jobs.start(&db).expect("a");
        let id = Sleepy { k: "long".into(), first_ms: 1500, then_ms: 1500 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("running", || async { job(&db, id).await.state == JobState::Running }).await;
        let b = jobs.start(&db).expect("b");
        eventually("done", || async { job(&db, id).await.state == JobState::Done }).await;
        a.shutdown().await;
        b.shutdown().await;
        assert_eq!(job(&db, id).await.attempts, 1);
        assert_eq!(runs(&db).await, ["long"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_short_jobs_and_releases_long_ones() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().shutdown_grace(Duration::from_millis(700)).start(&db).expect("start");
        let short = Sleepy { k: "short".into(), first_ms: 200, then_ms: 0 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        let long = Sleepy { k: "long".into(), first_ms: 600_000, then_ms: 0 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("both running", || async { in_state(&db, JobState::Running).await == 2 }).await;
        runner.shutdown().await;
        assert_eq!(job(&db, short).await.state, JobState::Done, "finished within the grace period");
        let released = job(&db, long).await;
        assert_eq!(released.state, JobState::Available, "released");
        assert_eq!(released.attempts, 0, "a released attempt is not counted");
        assert_eq!((released.locked_by, released.locked_until), (None, None));
        // The next runner takes it at once.
        let next = quick().shutdown_grace(Duration::ZERO).start(&db).expect("again");
        eventually("claimed again", || async { job(&db, long).await.state == JobState::Running }).await;
        next.shutdown().await;
    }
}

/// A job type of a newer release (or an older one), which `quick()` does not register.
#[derive(serde::Serialize, serde::Deserialize)]
struct FromAnotherRelease {}

impl Job for FromAnotherRelease {
    const NAME: &'static str = "renamed_long_ago";

    async fn run(self, cx: brisk_jobs::JobContext) -> Result<(), brisk_jobs::JobError> {
        record_run(cx.db(), "other release", cx.attempt()).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_this_binary_cannot_run_are_left_to_others_or_dead_at_once() {
    for test in backends().await {
        let db = test.database();
        let insert = |name: &'static str, payload: &'static str| {
            let db = db.clone();
            async move {
                let rows: Vec<(i64,)> = Raw::new(
                    "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
                     created_at) VALUES ('default', ?, ?, 'available', 0, 0, 3, ?, ?) RETURNING id",
                )
                .bind(name.to_owned())
                .bind(payload.to_owned())
                .bind(DateTime::now())
                .bind(DateTime::now())
                .fetch(&db)
                .await
                .expect("row");
                rows[0].0
            }
        };
        let unknown = insert("renamed_long_ago", "{}").await;
        let garbage = insert(Record::NAME, "{\"not_k\": 1}").await;
        let runner = quick().start(&db).expect("start");
        Record { k: "fine".into() }.enqueue(&db).await.expect("e");
        eventually("the good job done", || async { in_state(&db, JobState::Done).await == 1 }).await;
        eventually("the unreadable row dead", || async { in_state(&db, JobState::Dead).await == 1 }).await;
        // Several polls later, the row of a type this binary does not know is still untouched:
        // a worker of an older release in a rolling deploy does not claim (and kill) it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        runner.shutdown().await;
        let row = job(&db, unknown).await;
        assert_eq!((row.state, row.attempts, row.last_error), (JobState::Available, 0, None), "not claimed");
        // A payload that does not deserialize in a binary that knows the name cannot be fixed by
        // retrying: dead on its first attempt, with a sentence.
        let row = job(&db, garbage).await;
        assert_eq!((row.state, row.attempts), (JobState::Dead, 1), "a permanent failure");
        let error = row.last_error.unwrap_or_default();
        assert!(
            error.contains("does not deserialize as job record") && error.contains("not be retried"),
            "{error}"
        );
        assert_eq!(runs(&db).await, ["fine"]);

        // The release that knows the name runs it.
        let newer = quick().task::<FromAnotherRelease>().start(&db).expect("newer");
        eventually("run by the release that knows it", || async {
            job(&db, unknown).await.state == JobState::Done
        })
        .await;
        newer.shutdown().await;
        assert_eq!(job(&db, unknown).await.attempts, 1);
        assert_eq!(runs(&db).await, ["fine", "other release"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_during_its_last_attempt_runs_again_after_its_lease() {
    for test in backends().await {
        let db = test.database();
        let jobs = quick().lease(Duration::from_millis(600));
        let doomed = jobs.start(&db).expect("start");
        let id = Sleepy { k: "last".into(), first_ms: 600_000, then_ms: 0 }
            .schedule()
            .max_attempts(1)
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("running", || async { run_count(&db).await == 1 }).await;
        // As SIGKILL during the only attempt.
        drop(doomed);
        let heir = jobs.start(&db).expect("start again");
        eventually("done by the next worker", || async { job(&db, id).await.state != JobState::Running })
            .await;
        heir.shutdown().await;
        let row = job(&db, id).await;
        assert_eq!(
            (row.state, row.attempts),
            (JobState::Done, 2),
            "the lost lease did not use up the attempt: {row:?}"
        );
        assert_eq!(runs(&db).await, ["last", "last"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_worker_cannot_finish_an_attempt_claimed_by_another() {
    for test in backends().await {
        let db = test.database();
        let stale = quick().start(&db).expect("start");
        let id = Sleepy { k: "stale".into(), first_ms: 700, then_ms: 0 }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("running", || async { job(&db, id).await.state == JobState::Running }).await;
        // Meanwhile the job was retried from the admin and claimed by another worker at the same
        // attempt number: only `locked_by` tells the attempts apart.
        Raw::new("UPDATE jobs_job SET locked_by = 'another-worker' WHERE id = ?")
            .bind(id)
            .execute(&db)
            .await
            .expect("taken over");
        eventually("the stale run ended", || async { run_count(&db).await == 1 }).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        stale.shutdown().await;
        let row = job(&db, id).await;
        assert_eq!(
            (row.state, row.locked_by.as_deref()),
            (JobState::Running, Some("another-worker")),
            "the other worker's attempt was not overwritten"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_delay_is_clamped_instead_of_panicking() {
    for test in backends().await {
        let db = test.database();
        let id = Record { k: "never".into() }
            .schedule()
            .delay(Duration::MAX)
            .enqueue(&db)
            .await
            .expect("enqueued")
            .expect("id");
        let row = job(&db, id).await;
        assert_eq!(row.run_at.to_rfc3339(), "9999-12-31T23:59:59.999999+00:00");
        let far = chrono::DateTime::<chrono::Utc>::MAX_UTC;
        let id =
            Record { k: "never".into() }.schedule().run_at(far).enqueue(&db).await.expect("e").expect("id");
        assert_eq!(job(&db, id).await.run_at, row.run_at, "as far as a job can wait");
        // Not due: a runner does not take it.
        let runner = quick().start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(200)).await;
        runner.shutdown().await;
        assert_eq!(in_state(&db, JobState::Available).await, 2);
    }
}

#[tokio::test]
async fn an_unknown_queue_is_refused_with_the_known_ones() {
    let db = brisk_orm::Database::open("sqlite::memory:").expect("db");
    let error =
        quick().queue("emails", 2).only_queues(["emails", "emials"]).start(&db).err().expect("refused");
    assert_eq!(
        error.to_string(),
        "the queue \"emials\" is not one this app serves (its queues: default, emails)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_retry() {
    for test in backends().await {
        let db = test.database();
        let cancelled = Record { k: "cancelled".into() }
            .schedule()
            .unique("c")
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        assert!(brisk_jobs::cancel(&db, cancelled).await.expect("cancel"));
        assert!(!brisk_jobs::cancel(&db, cancelled).await.expect("twice"), "already cancelled");
        let row = job(&db, cancelled).await;
        assert_eq!(row.state, JobState::Cancelled);
        assert_eq!(row.unique_key, None, "its key is free");
        let dead = Flaky { k: "dead".into(), succeed_on: 0, permanent: true }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        let runner = quick().start(&db).expect("start");
        eventually("dead", || async { job(&db, dead).await.state == JobState::Dead }).await;
        assert_eq!(run_count(&db).await, 1, "the cancelled job did not run");
        assert!(brisk_jobs::retry(&db, cancelled).await.expect("retry"));
        eventually("the cancelled job ran after retry", || async {
            job(&db, cancelled).await.state == JobState::Done
        })
        .await;
        assert!(brisk_jobs::retry(&db, dead).await.expect("retry"));
        eventually("dead ran again", || async {
            runs(&db).await.iter().filter(|k| *k == "dead").count() == 2
        })
        .await;
        eventually("dead again", || async { job(&db, dead).await.state == JobState::Dead }).await;
        assert_eq!(job(&db, dead).await.attempts, 1, "a retry starts the attempts over");
        assert!(!brisk_jobs::retry(&db, cancelled).await.expect("done"), "a done job is not retried");
        assert!(!brisk_jobs::cancel(&db, dead).await.expect("dead"), "a dead job is not cancelled");
        runner.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_finished_jobs_are_pruned() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().start(&db).expect("start");
        let old = Record { k: "old".into() }.enqueue(&db).await.expect("e").expect("id");
        let recent = Record { k: "recent".into() }.enqueue(&db).await.expect("e").expect("id");
        let old_dead = Flaky { k: "od".into(), succeed_on: 0, permanent: true }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        eventually("ended", || async {
            in_state(&db, JobState::Done).await == 2 && in_state(&db, JobState::Dead).await == 1
        })
        .await;
        runner.shutdown().await;
        let pending = Record { k: "pending".into() }
            .schedule()
            .delay(Duration::from_secs(3600))
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        let ten_days_ago =
            DateTime::from_micros((chrono::Utc::now() - chrono::Duration::days(10)).timestamp_micros());
        for id in [old, old_dead, pending] {
            Raw::new("UPDATE jobs_job SET finished_at = ?, created_at = ? WHERE id = ?")
                .bind(ten_days_ago)
                .bind(ten_days_ago)
                .bind(id)
                .execute(&db)
                .await
                .expect("age");
        }
        let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
        let month_ago = chrono::Utc::now() - chrono::Duration::days(30);
        assert_eq!(brisk_jobs::prune(&db, week_ago, month_ago).await.expect("prune"), 1, "the old done job");
        let left: Vec<i64> =
            JobRecord::objects().all(&db).await.expect("rows").into_iter().map(|r| r.id.value()).collect();
        assert!(
            !left.contains(&old)
                && left.contains(&recent)
                && left.contains(&old_dead)
                && left.contains(&pending)
        );
        assert_eq!(brisk_jobs::prune(&db, week_ago, week_ago).await.expect("prune"), 1, "the old dead job");

        // The runner's pruner does it too.
        let pruner =
            quick().retention(Duration::from_secs(1), Duration::from_secs(1)).cron_catch_up(Duration::ZERO);
        Raw::new("UPDATE jobs_job SET finished_at = ? WHERE id = ?")
            .bind(ten_days_ago)
            .bind(recent)
            .execute(&db)
            .await
            .expect("age");
        let runner = pruner.start(&db).expect("start");
        eventually("pruned by the runner", || async {
            JobRecord::objects().filter(JobRecord::id().eq(recent)).count(&db).await.expect("n") == 0
        })
        .await;
        runner.shutdown().await;
        assert_eq!(job(&db, pending).await.state, JobState::Available, "pending jobs are never pruned");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_wakes_idle_workers_without_polling() {
    for test in backends().await {
        let db = test.database();
        // Polling once an hour: only the wake-up (PostgreSQL's NOTIFY, sent at commit and
        // received on the listener's own connection; on SQLite this process's commit) runs it.
        let runner = quick().poll_interval(Duration::from_secs(3600)).start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(300)).await; // idle, listening
        let other = brisk_orm::Database::open(test.url()).expect("another pool");
        other
            .atomic(|tx| async move {
                Record { k: "woken".into() }.enqueue(&tx).await?;
                Ok::<_, brisk_orm::Error>(())
            })
            .await
            .expect("enqueued");
        eventually("woken and done", || async { in_state(&db, JobState::Done).await == 1 }).await;
        runner.shutdown().await;
        assert_eq!(runs(&db).await, ["woken"]);
    }
}

/// A retry in a transaction is heard at its commit (workers poll once an hour here, so only
/// the wake-up runs the job), and a retry rolled back changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_in_a_transaction_wakes_the_workers_at_its_commit() {
    for test in backends().await {
        let db = test.database();
        let id = Record { k: "again".into() }.enqueue(&db).await.expect("e").expect("id");
        assert!(brisk_jobs::cancel(&db, id).await.expect("cancel"));
        let runner = quick().poll_interval(Duration::from_secs(3600)).start(&db).expect("start");
        tokio::time::sleep(Duration::from_millis(300)).await; // idle, listening
        let rolled_back = db
            .atomic(|tx| async move {
                assert!(brisk_jobs::retry(&tx, id).await?);
                Err::<(), _>(brisk_orm::Error::Config("changed my mind".into()))
            })
            .await;
        assert!(rolled_back.is_err());
        assert_eq!(job(&db, id).await.state, JobState::Cancelled, "{}", test.url());
        db.atomic(|tx| async move {
            assert!(brisk_jobs::retry(&tx, id).await?);
            // Held open a moment: a wake-up sent before the commit would find nothing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, brisk_orm::Error>(())
        })
        .await
        .expect("retried");
        eventually("retried and done", || async { job(&db, id).await.state == JobState::Done }).await;
        runner.shutdown().await;
        assert_eq!(runs(&db).await, ["again"]);
    }
}

/// What other processes hear of a retry on PostgreSQL: a NOTIFY on `brisk_jobs` after the
/// caller's commit, none while its transaction is open or after a rollback, and one at once
/// outside a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_announced_to_other_processes_after_its_commit() {
    use futures_util::StreamExt;
    for test in backends().await {
        let db = test.database();
        if db.dialect() != brisk_orm::Dialect::Postgres {
            continue;
        }
        let id = Record { k: "heard".into() }.enqueue(&db).await.expect("e").expect("id");
        assert!(brisk_jobs::cancel(&db, id).await.expect("cancel"));
        let (client, mut connection) =
            tokio_postgres::connect(test.url(), tokio_postgres::NoTls).await.expect("listener");
        let (sender, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message {
                    let _ = sender.send(n.payload().to_owned());
                }
            }
        });
        client.batch_execute("LISTEN brisk_jobs").await.expect("listen");
        let quiet = Duration::from_millis(300);
        tokio::time::sleep(quiet).await;
        while heard.try_recv().is_ok() {} // the enqueue's own
        let tx = db.begin().await.expect("begin");
        assert!(brisk_jobs::retry(&tx, id).await.expect("retry"));
        tokio::time::sleep(quiet).await;
        assert!(heard.try_recv().is_err(), "nothing is announced while the transaction is open");
        tx.commit().await.expect("commit");
        let after = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("announced");
        assert_eq!(after.as_deref(), Some("default"));
        assert!(brisk_jobs::cancel(&db, id).await.expect("cancel again"));
        let tx = db.begin().await.expect("begin");
        assert!(brisk_jobs::retry(&tx, id).await.expect("retry"));
        tx.rollback().await.expect("rollback");
        tokio::time::sleep(quiet).await;
        assert!(heard.try_recv().is_err(), "a rolled-back retry is not announced");
        assert_eq!(job(&db, id).await.state, JobState::Cancelled);
        assert!(brisk_jobs::retry(&db, id).await.expect("retry"));
        let now = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("announced");
        assert_eq!(now.as_deref(), Some("default"));
        driver.abort();
    }
}

static IN_FLIGHT: std::sync::Mutex<(usize, usize)> = std::sync::Mutex::new((0, 0));

/// Counts how many run at once (the most so far is kept).
#[derive(serde::Serialize, serde::Deserialize)]
struct Crowd;

impl Job for Crowd {
    const NAME: &'static str = "crowd";
    const QUEUE: &'static str = "narrow";

    async fn run(self, _cx: brisk_jobs::JobContext) -> Result<(), brisk_jobs::JobError> {
        {
            let mut n = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
            n.0 += 1;
            n.1 = n.1.max(n.0);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).0 -= 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_queue_runs_at_most_its_concurrency() {
    for test in backends().await {
        let db = test.database();
        *IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()) = (0, 0);
        for _ in 0..8 {
            Crowd.enqueue(&db).await.expect("e");
        }
        let runner = quick().task::<Crowd>().concurrency(8).queue("narrow", 2).start(&db).expect("start");
        eventually("all done", || async { in_state(&db, JobState::Done).await == 8 }).await;
        runner.shutdown().await;
        let most = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).1;
        assert!((1..=2).contains(&most), "at most 2 at once on queue narrow: {most}");
        let rows = JobRecord::objects().all(&db).await.expect("rows");
        assert!(rows.iter().all(|r| r.queue == "narrow"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_retention_a_job_that_succeeds_is_deleted_and_a_cron_ticks_row_stays() {
    for test in backends().await {
        let db = test.database();
        let runner = quick().retention(Duration::ZERO, Duration::from_secs(3600)).start(&db).expect("start");
        for i in 0..20 {
            Record { k: format!("gone-{i}") }.enqueue(&db).await.expect("enqueued");
        }
        let dead = Flaky { k: "dead".into(), succeed_on: 0, permanent: true }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        // A cron tick's row, as the scheduler inserts it: it keeps its tick from firing again.
        Raw::new(
            "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
             created_at, cron_tick) VALUES ('default', ?, ?, 'available', 0, 0, 1, ?, ?, 'every-minute:1')",
        )
        .bind(Record::NAME)
        .bind(r#"{"k":"tick"}"#)
        .bind(DateTime::now())
        .bind(DateTime::now())
        .execute(&db)
        .await
        .expect("a tick's row");
        // 20 records, the tick's and the dead job's one attempt.
        eventually("every job ran", || async {
            runs(&db).await.len() == 22 && in_state(&db, JobState::Dead).await == 1
        })
        .await;
        eventually("no job left running", || async { in_state(&db, JobState::Running).await == 0 }).await;
        runner.shutdown().await;
        let left: Vec<(i64, JobState, Option<String>)> = JobRecord::objects()
            .all(&db)
            .await
            .expect("rows")
            .into_iter()
            .map(|r| (r.id.value(), r.state, r.cron_tick))
            .collect();
        assert_eq!(left.len(), 2, "{}: {left:?}", db.url());
        assert!(left.contains(&(dead, JobState::Dead, None)), "a dead job is kept: {left:?}");
        assert!(left.iter().any(|(_, state, tick)| *state == JobState::Done && tick.is_some()), "{left:?}");
    }
}
