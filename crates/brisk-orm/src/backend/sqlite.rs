//! SQLite on dedicated threads: one writer, a few readers (WAL lets them read while it
//! writes), each with its own rusqlite connection and statement cache.
//!
//! A job is a closure run on a database thread; its answer comes back on a oneshot channel.
//! A job that waited in the queue past the acquire timeout is given up (the caller gets
//! [`Error::PoolTimeout`]) and is never run afterwards. A transaction leases the writer: the
//! writer thread runs `BEGIN IMMEDIATE`, then only that transaction's jobs until it ends.
//!
//! Each queue counts its threads waiting for a job less the jobs queued. A job sent while that
//! is above zero is taken at once by a waiting thread: it cannot wait past the timeout, so it
//! is sent without the timer and the claim a waiting job needs (most queries of a pool that
//! keeps up; the timer, the claim's allocation and their bookkeeping were ~800 instructions a
//! query, profiled on `bench/`'s `/fortunes`).

use std::sync::atomic::{AtomicIsize, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt, Shared};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{from_sqlite, Error};

pub(crate) type Work = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer or a reader is asked to do.
enum Job {
    /// Run one closure.
    Run(Work),
    /// Lease the writer to a transaction: run its jobs until its channel closes or the
    /// transaction has ended (see [`lease`]).
    Lease { begun: oneshot::Sender<Result<(), Error>>, jobs: Receiver<Work>, claim: Arc<Claim>, schema: bool },
}

/// Queued (0), started (1), or given up by the caller (2).
struct Claim(AtomicU8);

impl Claim {
    fn new() -> Arc<Self> {
        Arc::new(Claim(AtomicU8::new(0)))
    }
    /// The thread takes the job; false when the caller gave up.
    fn start(&self) -> bool {
        self.0.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    /// The caller gives up; false when the job has already started.
    fn abandon(&self) -> bool {
        self.0.compare_exchange(0, 2, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// The SQLite threads of one database.
pub(crate) struct SqlitePool {
    writer: Queue,
    readers: Option<Queue>,
    acquire_timeout: Duration,
}

/// The jobs of the writer, or of the readers.
struct Queue {
    /// Locked while a job is counted and sent, so that jobs are counted in queue order.
    sender: Mutex<Sender<Job>>,
    /// The threads waiting for a job less the jobs queued (below zero: jobs wait for a thread).
    idle: Arc<AtomicIsize>,
}

impl Queue {
    /// Sends the job `make` builds, telling it whether a waiting thread takes it at once.
    fn send(&self, make: impl FnOnce(bool) -> Job) -> Result<bool, Error> {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        // Above zero before this job: more threads wait than the jobs queued ahead of it,
        // and each waiting thread takes the next job, so one takes this one.
        let at_once = self.idle.fetch_sub(1, Ordering::AcqRel) > 0;
        match sender.send(make(at_once)) {
            Ok(()) => Ok(at_once),
            Err(_) => {
                self.idle.fetch_add(1, Ordering::AcqRel);
                Err(stopped())
            }
        }
    }
}

/// How connections are opened.
#[derive(Debug, Clone)]
pub(crate) struct SqliteConfig {
    /// A file path, or `:memory:`.
    pub path: String,
    pub readers: usize,
    pub acquire_timeout: Duration,
    pub busy_timeout: Duration,
}

fn open(config: &SqliteConfig) -> Result<Connection, Error> {
    let conn = Connection::open(&config.path).map_err(from_sqlite)?;
    conn.busy_timeout(config.busy_timeout).map_err(from_sqlite)?;
    conn.set_prepared_statement_cache_capacity(256);
    if config.path != ":memory:" {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(from_sqlite)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(from_sqlite)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON").map_err(from_sqlite)?;
    crate::backend::sqlite_functions::register(&conn).map_err(from_sqlite)?;
    Ok(conn)
}

/// Gathers the query planner's statistics where they are missing or stale, as SQLite advises
/// for a long-lived connection (`PRAGMA optimize` when it opens, with `analysis_limit` so a
/// large table costs milliseconds, not a scan). Without statistics SQLite picks an index by
/// the number of columns it constrains: a query of the newest 10 of 100,000 rows may then read
/// and sort them all instead of walking an index in order. A failure (the database read-only,
/// or another process writing past the busy timeout) leaves the statistics as they are.
fn optimize(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;") {
        tracing::debug!(target: "brisk_orm", error = %e, "PRAGMA optimize failed; the planner's statistics stay as they are");
    }
}

impl SqlitePool {
    /// Opens the writer (creating the file) and the readers, each on its own thread.
    pub(crate) fn open(config: SqliteConfig) -> Result<Self, Error> {
        let writer_conn = open(&config)?;
        optimize(&writer_conn);
        let (writer_tx, writer_rx) = mpsc::channel::<Job>();
        let writer = Queue { sender: Mutex::new(writer_tx), idle: Arc::new(AtomicIsize::new(0)) };
        let receiver = Arc::new(Mutex::new(writer_rx));
        spawn_thread("brisk-orm-sqlite-writer", writer_conn, receiver, writer.idle.clone())?;
        // An in-memory database exists once per connection: it has only the writer.
        let readers = if config.path == ":memory:" || config.readers == 0 {
            None
        } else {
            let (tx, rx) = mpsc::channel::<Job>();
            let readers = Queue { sender: Mutex::new(tx), idle: Arc::new(AtomicIsize::new(0)) };
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..config.readers {
                let name = format!("brisk-orm-sqlite-reader-{i}");
                spawn_thread(&name, open(&config)?, rx.clone(), readers.idle.clone())?;
            }
            Some(readers)
        };
        Ok(SqlitePool { writer, readers, acquire_timeout: config.acquire_timeout })
    }

    fn queue(&self, write: bool) -> &Queue {
        match (&self.readers, write) {
            (Some(readers), false) => readers,
            _ => &self.writer,
        }
    }

    /// Whether reads have threads of their own (not so for an in-memory database).
    pub(crate) fn has_readers(&self) -> bool {
        self.readers.is_some()
    }

    /// Runs `work` on a reader without waiting for it (a streaming query sends its rows as
    /// it reads them).
    pub(crate) fn spawn(&self, work: impl FnOnce(&mut Connection) + Send + 'static) -> Result<(), Error> {
        self.queue(false).send(|_| Job::Run(Box::new(work))).map(drop)
    }

    /// Runs `f` on a reader (or on the writer when `write`), waiting at most the acquire
    /// timeout for it to start.
    pub(crate) async fn run<R, F>(&self, write: bool, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
    {
        let (tx, mut rx) = oneshot::channel();
        // Set only for a job that may wait for a thread: the caller gives it up at the timeout.
        let mut claim = None;
        self.queue(write).send(|at_once| {
            if at_once {
                return Job::Run(Box::new(move |conn| {
                    let _ = tx.send(f(conn));
                }));
            }
            let job_claim = Claim::new();
            claim = Some(job_claim.clone());
            Job::Run(Box::new(move |conn| {
                if job_claim.start() {
                    let _ = tx.send(f(conn));
                }
            }))
        })?;
        match claim {
            Some(claim) => wait(&mut rx, &claim, deadline(self.acquire_timeout)).await?,
            None => rx.await.map_err(|_| stopped())?,
        }
    }

    /// Asks for the writer for a transaction, without waiting: jobs sent on the returned
    /// channel run inside it once the writer has begun it, and [`Begun`] says when (or that
    /// it did not within the acquire timeout, counted from now). So a transaction's first
    /// statement waits in the channel while the writer begins, instead of going out after
    /// the caller heard that it did: one hand-over between threads less per transaction.
    /// With `schema`, foreign keys are off for the transaction (set before it begins, as
    /// SQLite requires), so a table can be rebuilt; they are on again after it.
    pub(crate) fn begin(&self, schema: bool) -> Result<(Sender<Work>, Begun), Error> {
        let (jobs_tx, jobs) = mpsc::channel::<Work>();
        let (begun, rx) = oneshot::channel();
        let claim = Claim::new();
        let deadline = deadline(self.acquire_timeout);
        self.writer.send(|_| Job::Lease { begun, jobs, claim: claim.clone(), schema })?;
        Ok((jobs_tx, Begun { rx, claim, deadline }))
    }
}

/// A transaction's lease of the writer, asked for and not yet known to have begun. Dropped
/// unwaited, it is given up (the writer skips it if it has not started it).
pub(crate) struct Begun {
    rx: oneshot::Receiver<Result<(), Error>>,
    claim: Arc<Claim>,
    deadline: tokio::time::Instant,
}

impl Begun {
    /// Waits until the writer has begun the transaction: [`Error::PoolTimeout`] when it did
    /// not start by the deadline (the lease is then given up: the writer skips it, and the
    /// jobs sent for it never run).
    async fn wait(mut self) -> Result<(), Error> {
        wait(&mut self.rx, &self.claim, self.deadline).await?
    }
}

impl Drop for Begun {
    fn drop(&mut self) {
        // Nothing when the writer has started it (then it rolls back, nobody listening).
        self.claim.abandon();
    }
}

/// How a transaction's lease of the writer starts, shared by the transaction's clones: one
/// wait for the writer (with the deadline) that every statement drives and awaits, so none
/// waits for its own answer from a lease that will not run it, and a statement cancelled
/// while waiting leaves the wait to the others.
pub(crate) struct LeaseStart(Shared<BoxFuture<'static, Result<(), Failed>>>);

/// Why a lease did not start, kept to answer every statement of the transaction.
#[derive(Clone)]
enum Failed {
    Timeout,
    Unavailable(String),
    Other(String),
}

impl Failed {
    fn into_error(self) -> Error {
        match self {
            Failed::Timeout => Error::PoolTimeout,
            Failed::Unavailable(message) => Error::Unavailable { message },
            Failed::Other(message) => Error::Database { message, code: None },
        }
    }
}

impl LeaseStart {
    pub(crate) fn new(begun: Begun) -> LeaseStart {
        let start: BoxFuture<'static, Result<(), Failed>> = Box::pin(async move {
            begun.wait().await.map_err(|e| match e {
                Error::PoolTimeout => Failed::Timeout,
                Error::Unavailable { message } => Failed::Unavailable(message),
                other => Failed::Other(other.to_string()),
            })
        });
        LeaseStart(start.shared())
    }

    /// Waits until the writer has begun the transaction (at once once that is known).
    pub(crate) async fn wait(&self) -> Result<(), Error> {
        self.0.clone().await.map_err(Failed::into_error)
    }

    /// Why the writer did not begin the transaction, once a statement has found out.
    pub(crate) fn failure(&self) -> Option<Error> {
        match self.0.peek() {
            Some(Err(failed)) => Some(failed.clone().into_error()),
            _ => None,
        }
    }
}

pub(crate) fn stopped() -> Error {
    Error::Unavailable { message: "the SQLite threads have stopped".into() }
}

/// `timeout` from now; a timeout too long to add (`Duration::MAX`) is a century.
fn deadline(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// The answer of a job that must start by `deadline` (else the caller gives it up).
async fn wait<T>(
    rx: &mut oneshot::Receiver<T>,
    claim: &Claim,
    deadline: tokio::time::Instant,
) -> Result<T, Error> {
    match tokio::time::timeout_at(deadline, &mut *rx).await {
        Ok(answer) => answer.map_err(|_| stopped()),
        Err(_) if claim.abandon() => Err(Error::PoolTimeout),
        // Started just now: the answer is on its way.
        Err(_) => rx.await.map_err(|_| stopped()),
    }
}

fn spawn_thread(
    name: &str,
    mut conn: Connection,
    jobs: Arc<Mutex<Receiver<Job>>>,
    idle: Arc<AtomicIsize>,
) -> Result<(), Error> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || loop {
            // Waiting from now on: the next job queued is this thread's.
            idle.fetch_add(1, Ordering::AcqRel);
            let job = {
                let queue = jobs.lock().unwrap_or_else(|p| p.into_inner());
                match queue.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            };
            match job {
                Job::Run(work) => work(&mut conn),
                Job::Lease { begun, jobs, claim, schema } => {
                    if claim.start() {
                        if schema {
                            let _ = conn.execute_batch("PRAGMA foreign_keys = OFF");
                        }
                        lease(&mut conn, begun, jobs);
                        if schema {
                            let _ = conn.execute_batch("PRAGMA foreign_keys = ON");
                        }
                    }
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Unavailable { message: format!("cannot start a SQLite thread: {e}") })
}

/// Runs one transaction's jobs. The transaction's own jobs send `COMMIT` or `ROLLBACK`; if
/// its handle is dropped first (the request was cancelled), what is left is rolled back.
///
/// The lease ends as soon as the connection is out of its transaction: after the `COMMIT` or
/// `ROLLBACK` (the writer goes on to the next job at once, instead of waiting for the handle
/// to be dropped), or after SQLite rolled the transaction back on its own (as it may on an
/// interrupt, a full disk or an I/O error): the statements sent after that are refused
/// ("the transaction has already ended") rather than run one by one outside any transaction.
fn lease(conn: &mut Connection, begun: oneshot::Sender<Result<(), Error>>, jobs: Receiver<Work>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let _ = begun.send(Err(from_sqlite(e)));
        return;
    }
    if begun.send(Ok(())).is_err() {
        let _ = conn.execute_batch("ROLLBACK");
        return;
    }
    while let Some(work) = next_statement(&jobs) {
        work(conn);
        if conn.is_autocommit() {
            return;
        }
    }
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// How long the writer keeps looking for a transaction's next statement before it sleeps
/// until one comes. The writer is the transaction's alone until it ends (no other write can
/// run meanwhile), and the app's next statement usually follows within microseconds: asleep,
/// the writer paid a futex sleep and wake-up for each, and on a busy machine waited its turn
/// to run again. (After `COMMIT` it does not wait at all: see [`lease`].)
/// Looking a moment first made `bench/run --jobs`'s SQLite case (16 requests each enqueuing a
/// job in its own transaction) go from ~5,400 to ~8,000 jobs a second on 2 cores, with less
/// CPU per job (131 against 163 µs); 10 µs was too short, 20-100 µs alike. A transaction
/// that pauses longer between statements (its code awaits something else) costs the writer
/// about this much CPU per pause (a yield to a busy machine may stretch it). With one core the
/// writer does not look (the thread about to send would need its core).
const STATEMENT_SPIN: Duration = Duration::from_micros(50);

/// [`STATEMENT_SPIN`], or nothing on a single core (asked once).
fn statement_spin() -> Duration {
    static SPIN: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *SPIN.get_or_init(|| spin_for(std::thread::available_parallelism().map(|n| n.get()).ok()))
}

/// The spin for a machine of `cores` (unknown: none). On one core the app's thread that would
/// send the next statement cannot run while the writer spins: spinning would only delay it.
fn spin_for(cores: Option<usize>) -> Duration {
    match cores {
        Some(n) if n > 1 => STATEMENT_SPIN,
        _ => Duration::ZERO,
    }
}

/// A leased transaction's next statement: looked for during [`statement_spin`], then waited
/// for; `None` once the transaction's handle is gone (after what it sent has run).
fn next_statement(jobs: &Receiver<Work>) -> Option<Work> {
    match spin(jobs, statement_spin()) {
        Ok(work) => Some(work),
        Err(mpsc::TryRecvError::Disconnected) => None,
        Err(mpsc::TryRecvError::Empty) => jobs.recv().ok(),
    }
}

/// What `jobs` holds within `limit`, looked for without sleeping (letting other threads run
/// now and then): `Empty` when nothing came in time.
fn spin<T>(jobs: &Receiver<T>, limit: Duration) -> Result<T, mpsc::TryRecvError> {
    let start = std::time::Instant::now();
    let mut tries = 0u32;
    loop {
        match jobs.try_recv() {
            Err(mpsc::TryRecvError::Empty) if start.elapsed() < limit => {
                tries = tries.wrapping_add(1);
                // With few cores, the thread about to send may need this one.
                if tries.is_multiple_of(64) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    fn pool(name: &str, readers: usize) -> (SqlitePool, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("brisk-orm-pool-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = SqliteConfig {
            path: dir.join("pool.db").to_string_lossy().into_owned(),
            readers,
            acquire_timeout: Duration::from_millis(300),
            busy_timeout: Duration::from_secs(1),
        };
        (SqlitePool::open(config).unwrap(), dir)
    }

    /// A pool on a database file of its own: closed, then its folder removed, when dropped.
    struct TempPool {
        pool: Option<SqlitePool>,
        dir: std::path::PathBuf,
    }

    fn temp_pool(name: &str, readers: usize) -> TempPool {
        let (pool, dir) = pool(name, readers);
        TempPool { pool: Some(pool), dir }
    }

    impl std::ops::Deref for TempPool {
        type Target = SqlitePool;
        fn deref(&self) -> &SqlitePool {
            self.pool.as_ref().expect("open until dropped")
        }
    }

    impl Drop for TempPool {
        fn drop(&mut self) {
            drop(self.pool.take());
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Waits until the readers' count says `n` of them wait for a job.
    async fn waiting(pool: &SqlitePool, n: isize) {
        let idle = &pool.readers.as_ref().unwrap().idle;
        for _ in 0..200 {
            if idle.load(Ordering::Acquire) == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} readers wait, not {n}", idle.load(Ordering::Acquire));
    }

    /// An empty table `t (x)`, and a lease of the writer that has begun.
    async fn lease_on_empty_table(pool: &SqlitePool) -> Sender<Work> {
        pool.run(true, |c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER); DELETE FROM t").map_err(from_sqlite)
        })
        .await
        .unwrap();
        let (jobs, begun) = pool.begin(false).unwrap();
        begun.wait().await.unwrap();
        jobs
    }

    /// A statement for a lease, and whether it ran without error (an error if it never ran).
    fn statement(sql: &'static str) -> (Work, oneshot::Receiver<bool>) {
        let (done_tx, done) = oneshot::channel();
        let work: Work = Box::new(move |c: &mut Connection| {
            let _ = done_tx.send(c.execute_batch(sql).is_ok());
        });
        (work, done)
    }

    /// The rows of `t` seen from outside any transaction.
    async fn rows_in_t(pool: &SqlitePool) -> i64 {
        pool.run(true, |c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).map_err(from_sqlite))
            .await
            .unwrap()
    }

    /// The writer's look for a transaction's next statement: takes what was sent before or
    /// while it looks, sees the handle dropped, and gives up after its limit (then the
    /// writer sleeps in `recv`). Handshakes, not sleeps, order the sends.
    #[test]
    fn the_writers_spin_takes_what_comes_sees_the_end_and_gives_up_in_time() {
        let (tx, rx) = mpsc::channel::<u32>();
        tx.send(1).unwrap();
        assert_eq!(spin(&rx, Duration::ZERO), Ok(1), "queued before: taken even with no time to look");
        assert_eq!(spin(&rx, Duration::ZERO), Err(mpsc::TryRecvError::Empty));
        let started = Instant::now();
        assert_eq!(spin(&rx, Duration::from_millis(1)), Err(mpsc::TryRecvError::Empty));
        assert!(started.elapsed() >= Duration::from_millis(1) && started.elapsed() < Duration::from_secs(5));

        // Sent while the spin looks (it has looked and found nothing before the send).
        let ready = Arc::new(std::sync::Barrier::new(2));
        let sender = {
            let ready = ready.clone();
            std::thread::spawn(move || {
                ready.wait();
                std::thread::sleep(Duration::from_millis(5));
                tx.send(2).unwrap();
                ready.wait();
                drop(tx);
            })
        };
        ready.wait();
        let started = Instant::now();
        assert_eq!(spin(&rx, Duration::from_secs(10)), Ok(2));
        assert!(started.elapsed() >= Duration::from_millis(4), "it looked until the statement came");
        ready.wait();
        let started = Instant::now();
        assert_eq!(spin(&rx, Duration::from_secs(10)), Err(mpsc::TryRecvError::Disconnected));
        assert!(started.elapsed() < Duration::from_secs(5), "a dropped handle ends the look at once");
        sender.join().unwrap();
    }

    /// The writer spins only where another core can send meanwhile.
    #[test]
    fn the_writer_spins_only_with_more_than_one_core() {
        assert_eq!(spin_for(Some(1)), Duration::ZERO, "one core: the sender could not run");
        assert_eq!(spin_for(None), Duration::ZERO, "unknown: no spin");
        assert_eq!(spin_for(Some(2)), STATEMENT_SPIN);
        assert_eq!(spin_for(Some(64)), STATEMENT_SPIN);
    }

    /// Through a whole lease: statements sent at once and long after the spin (the writer
    /// slept meanwhile) all run in order, and when the handle goes without `COMMIT` the
    /// lease ends and its write is rolled back.
    #[tokio::test]
    async fn a_leased_writer_runs_every_statement_and_rolls_back_when_the_handle_goes() {
        let pool = temp_pool("spin", 0);
        let jobs = lease_on_empty_table(&pool).await;
        let (first, first_done) = statement("INSERT INTO t VALUES (1)");
        let (second, second_done) = statement("INSERT INTO t VALUES (2)");
        jobs.send(first).unwrap();
        jobs.send(second).unwrap();
        assert!(first_done.await.unwrap() && second_done.await.unwrap());
        tokio::time::sleep(STATEMENT_SPIN * 100).await;
        let (third, third_done) = statement("INSERT INTO t VALUES (3)");
        jobs.send(third).unwrap();
        assert!(third_done.await.unwrap());
        let (count_tx, counted) = oneshot::channel();
        jobs.send(Box::new(move |c: &mut Connection| {
            let rows: Vec<i64> = c
                .prepare("SELECT x FROM t ORDER BY rowid")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .unwrap_or_default();
            let _ = count_tx.send(rows);
        }))
        .unwrap();
        assert_eq!(counted.await.unwrap(), vec![1, 2, 3], "inside the transaction, in order");
        drop(jobs);
        let n = rows_in_t(&pool).await;
        assert_eq!(n, 0, "the dropped transaction's inserts were rolled back");
    }

    /// A transaction SQLite ended on its own (here by a `ROLLBACK` among its statements, as
    /// SQLite does itself on an interrupt or a full disk) ends the lease: what was sent after
    /// never runs (its caller hears the lease is gone), so nothing is written outside the
    /// transaction, and the writer is free for the next job.
    #[tokio::test]
    async fn a_transaction_rolled_back_under_it_ends_the_lease_and_refuses_the_rest() {
        let pool = temp_pool("ended", 0);
        let jobs = lease_on_empty_table(&pool).await;
        let (insert, inserted) = statement("INSERT INTO t VALUES (1)");
        let (rollback, rolled_back) = statement("ROLLBACK");
        let (late, late_done) = statement("INSERT INTO t VALUES (2)");
        jobs.send(insert).unwrap();
        jobs.send(rollback).unwrap();
        // The writer may have ended the lease already: a refused send drops `late` too.
        let _ = jobs.send(late);
        assert!(inserted.await.unwrap() && rolled_back.await.unwrap());
        assert!(late_done.await.is_err(), "the statement after the rollback never ran");
        assert!(jobs.send(Box::new(|_: &mut Connection| {})).is_err(), "the lease has ended");
        let n = rows_in_t(&pool).await;
        assert_eq!(n, 0, "nothing was written outside the transaction");
    }

    /// A database reopened with an indexed table that was never analyzed gets the planner's
    /// statistics: with them SQLite reads the partial index in order instead of sorting.
    #[tokio::test]
    async fn opening_a_database_gathers_missing_planner_statistics() {
        async fn stats(pool: &SqlitePool) -> i64 {
            pool.run(true, |conn| {
                conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", [], |r| {
                    r.get(0)
                })
                .map_err(from_sqlite)
            })
            .await
            .unwrap()
        }
        let (first, dir) = pool("optimize", 1);
        assert_eq!(stats(&first).await, 0, "an empty database has nothing to analyze");
        first
            .run(true, |conn| {
                conn.execute_batch(
                    "CREATE TABLE job (id INTEGER PRIMARY KEY, state TEXT, queue TEXT, run_at INTEGER);
                     CREATE INDEX job_state_queue_run_at ON job (state, queue, run_at);
                     WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000)
                     INSERT INTO job (state, queue, run_at) SELECT 'available', 'default', n FROM s;",
                )
                .map_err(from_sqlite)
            })
            .await
            .unwrap();
        drop(first);
        let (again, dir2) = pool("optimize", 1);
        assert_eq!(dir, dir2);
        assert_eq!(stats(&again).await, 1, "statistics gathered when the database was opened");
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_query_behind_a_busy_reader_is_given_up_at_the_timeout_and_never_runs() {
        let pool = temp_pool("busy", 1);
        waiting(&pool, 1).await;
        // The one reader is held by a job until `release`.
        let (release, held) = mpsc::channel::<()>();
        let (started, holding) = oneshot::channel();
        pool.spawn(move |_| {
            let _ = started.send(());
            let _ = held.recv();
        })
        .unwrap();
        holding.await.unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let began = Instant::now();
        let waited = pool
            .run(false, move |_| {
                flag.store(true, Ordering::Release);
                Ok(())
            })
            .await;
        assert!(matches!(waited, Err(Error::PoolTimeout)), "{waited:?}");
        assert!(began.elapsed() < Duration::from_secs(3), "bounded by the acquire timeout");
        release.send(()).unwrap();
        // Free again: the next query runs, the one given up never did, and the reader counts
        // itself waiting again (the given-up job taken and skipped on the way).
        pool.run(false, |conn| conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map_err(from_sqlite))
            .await
            .unwrap();
        assert!(!ran.load(Ordering::Acquire));
        waiting(&pool, 1).await;
    }

    #[tokio::test]
    async fn queries_taken_by_waiting_readers_leave_the_count_as_it_was() {
        let pool = temp_pool("count", 2);
        waiting(&pool, 2).await;
        let one = |conn: &mut Connection| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map_err(from_sqlite)
        };
        for _ in 0..20 {
            assert_eq!(pool.run(false, one).await.unwrap(), 1);
        }
        let all = futures_util::future::join_all((0..20).map(|_| pool.run(false, one))).await;
        assert!(all.into_iter().all(|r| r.is_ok_and(|n| n == 1)));
        waiting(&pool, 2).await;
    }
}
