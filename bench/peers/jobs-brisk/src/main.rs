//! `bench/run --jobs`: brisk-jobs running a no-op job, against Celery on Redis
//! (`bench/peers/jobs-celery`, the same job, the same measurement).
//!
//! The app as brisk-jobs' README teaches it: the database from `DATABASE_URL` (PostgreSQL or
//! SQLite), brisk-orm's commands (`migrate` applies brisk-jobs' shipped migration), and
//! `Jobs::new().task::<Noop>()` installed. Commands:
//!
//! - `jobs-brisk migrate`: the `jobs_job` table.
//! - `jobs-brisk worker [--concurrency N]`: brisk-jobs' own worker command (no web server).
//! - `jobs-brisk` (`runserver`): the web app with its in-process workers;
//!   `POST /enqueue/FIRST/COUNT/RATE/PRODUCERS` enqueues from a handler of the same process (how
//!   a SQLite app runs its jobs: an enqueue wakes this process's workers at once, where another
//!   process's would poll).
//! - `jobs-brisk enqueue FIRST COUNT RATE [PRODUCERS]`: enqueues from a process of its own.
//! - `jobs-brisk status`: the jobs left in the table, by state, as JSON.
//!
//! With PRODUCERS above 1, that many tasks enqueue at once, each job in a transaction of its
//! own: how a web app under load enqueues, from many requests, each in its request's
//! transaction (brisk-orm gives each its own connection, so PostgreSQL flushes their commits
//! together). They enqueue with `enqueue_pipelined` (the job needs no id back: the COMMIT goes
//! out behind the INSERT, one round trip on PostgreSQL), or with `enqueue` awaited when
//! `JOBS_ENQUEUE=awaited`.
//!
//! The job, `Noop { seq, enqueued_ns }`, first thing when it runs appends `(seq, enqueued_ns,
//! started_ns)` (three little-endian u64) to a file of its process in `BENCH_JOBS_RECORDS` with
//! one `write(2)`: what the Celery task does too.

use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use brisk::prelude::*;
use brisk_jobs::{Job, JobContext, JobError, JobExt, Jobs};
use brisk_orm::prelude::*;
use brisk_orm::Raw;

/// The no-op job: its sequence number and when it was enqueued (ns since the epoch).
#[derive(Serialize, Deserialize)]
struct Noop {
    seq: u64,
    enqueued_ns: u64,
}

impl Job for Noop {
    const NAME: &'static str = "bench_noop";

    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        record(self.seq, self.enqueued_ns, now_ns());
        Ok(())
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// This process's record file, opened on the first job (append-only: one write per record).
fn record(seq: u64, enqueued_ns: u64, started_ns: u64) {
    static FILE: OnceLock<File> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = std::env::var("BENCH_JOBS_RECORDS").unwrap_or_else(|_| "/tmp".to_owned());
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(format!("{dir}/brisk-{}.rec", std::process::id()))
            .expect("the records folder is writable")
    });
    let mut buf = [0u8; 24];
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..16].copy_from_slice(&enqueued_ns.to_le_bytes());
    buf[16..].copy_from_slice(&started_ns.to_le_bytes());
    let _ = (&*file).write_all(&buf);
}

/// Enqueues jobs `first..first + count`, one statement each (the enqueue's own autocommit),
/// as fast as it goes (`rate` 0) or `rate` a second on a fixed schedule; the harness's JSON.
async fn enqueue_many(
    db: &Database,
    first: u64,
    count: u64,
    rate: f64,
    producers: u64,
) -> Result<serde_json::Value, brisk_orm::Error> {
    if producers > 1 && rate <= 0.0 {
        return enqueue_concurrently(db, first, count, producers).await;
    }
    let t0 = Instant::now();
    let (mut first_ns, mut last_ns) = (0, 0);
    for i in 0..count {
        if rate > 0.0 {
            tokio::time::sleep_until((t0 + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        }
        let now = now_ns();
        if i == 0 {
            first_ns = now;
        }
        last_ns = now;
        Noop { seq: first + i, enqueued_ns: now }.enqueue(db).await?;
    }
    Ok(
        serde_json::json!({ "first_enqueue_ns": first_ns, "last_enqueue_ns": last_ns, "count": count, "done_ns": now_ns() }),
    )
}

/// Jobs `first..first + count` enqueued by `producers` tasks at once, each job in its own
/// transaction, as fast as they go; the harness's JSON (the first and last enqueue are the
/// first taken and the last committed).
async fn enqueue_concurrently(
    db: &Database,
    first: u64,
    count: u64,
    producers: u64,
) -> Result<serde_json::Value, brisk_orm::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let next = Arc::new(AtomicU64::new(0));
    // `JOBS_ENQUEUE=awaited` awaits each INSERT's answer (the id) before the COMMIT: two round
    // trips a job on PostgreSQL where the pipelined enqueue takes one.
    let awaited = std::env::var("JOBS_ENQUEUE").is_ok_and(|v| v == "awaited");
    let first_ns = now_ns();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..producers.min(count.max(1)) {
        let (db, next) = (db.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, brisk_orm::Error>(());
                }
                let job = Noop { seq: first + i, enqueued_ns: now_ns() };
                match awaited {
                    true => db.atomic(|tx| async move { job.enqueue(&tx).await.map(|_| ()) }).await?,
                    false => db.atomic(|tx| async move { job.enqueue_pipelined(&tx).await }).await?,
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| brisk_orm::Error::Config(format!("a producer failed: {e}")))??;
    }
    let last_ns = now_ns();
    Ok(
        serde_json::json!({ "first_enqueue_ns": first_ns, "last_enqueue_ns": last_ns, "count": count, "done_ns": last_ns }),
    )
}

async fn enqueue_handler(
    db: Db,
    Path((first, count, rate, producers)): Path<(u64, u64, f64, u64)>,
) -> Result<Json<serde_json::Value>> {
    Ok(Json(enqueue_many(&db, first, count, rate, producers).await?))
}

/// brisk-jobs with its defaults (8 jobs at once per queue, 1 s polling, 30 s leases); the
/// concurrency is the `worker` command's `--concurrency`, or `BRISK_JOBS_WORKERS` in the web
/// process.
fn jobs() -> Jobs {
    Jobs::new().task::<Noop>()
}

fn app(db: Database) -> App {
    App::new()
        .install(db.clone())
        .install(brisk_orm::Migrations::new(db, Vec::new()))
        .install(jobs())
        .route("/enqueue/{first}/{count}/{rate}/{producers}", post(enqueue_handler))
}

/// `DATABASE_URL` with brisk-orm's default pool, except the transaction pool: as many
/// connections as `BENCH_DB_TRANSACTIONS` when set (the harness sets it to the concurrent
/// phase's producers, so each producer's transaction has a connection, as each Celery producer
/// thread has its own Redis connection).
fn open_database() -> Result<Database, brisk_orm::Error> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| brisk_orm::DEFAULT_URL.to_owned());
    let mut options = brisk_orm::DbOptions::default();
    if let Some(n) = std::env::var("BENCH_DB_TRANSACTIONS").ok().and_then(|v| v.parse().ok()) {
        options.transactions = n;
    }
    Database::open_with(&url, options)
}

fn main() {
    let db = match open_database() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1)
        }
    };
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("enqueue") => {
            let num =
                |i: usize| args.get(i).and_then(|v| v.parse::<f64>().ok()).expect("enqueue FIRST COUNT RATE");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            let producers = args.get(5).and_then(|v| v.parse::<u64>().ok()).unwrap_or(1);
            match rt.block_on(enqueue_many(&db, num(2) as u64, num(3) as u64, num(4), producers)) {
                Ok(v) => {
                    println!("{v}");
                    0
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    1
                }
            }
        }
        Some("status") => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            let rows: Result<Vec<(String, i64)>, _> =
                rt.block_on(Raw::new("SELECT state, COUNT(*) FROM jobs_job GROUP BY state").fetch(&db));
            match rows {
                Ok(rows) => {
                    let map: serde_json::Map<String, serde_json::Value> =
                        rows.into_iter().map(|(s, n)| (s, n.into())).collect();
                    println!("{}", serde_json::Value::Object(map));
                    0
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    1
                }
            }
        }
        _ => brisk::cli::main(app(db)),
    };
    std::process::exit(code)
}
