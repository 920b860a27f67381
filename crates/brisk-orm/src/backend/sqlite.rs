//! SQLite on dedicated threads: one writer, a few readers (WAL lets them read while it
//! writes), each with its own rusqlite connection and statement cache.
//!
//! A job is a closure run on a database thread; its answer comes back on a oneshot channel.
//! A job that waited in the queue past the acquire timeout is given up (the caller gets
//! [`Error::PoolTimeout`]) and is never run afterwards. A transaction leases the writer: the
//! writer thread runs `BEGIN IMMEDIATE`, then only that transaction's jobs until it ends.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{from_sqlite, Error};

pub(crate) type Work = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer or a reader is asked to do.
enum Job {
    /// Run one closure.
    Run(Work),
    /// Lease the writer to a transaction: run its jobs until its channel closes.
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
    writer: Mutex<Sender<Job>>,
    readers: Option<Mutex<Sender<Job>>>,
    acquire_timeout: Duration,
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

impl SqlitePool {
    /// Opens the writer (creating the file) and the readers, each on its own thread.
    pub(crate) fn open(config: SqliteConfig) -> Result<Self, Error> {
        let writer_conn = open(&config)?;
        let (writer_tx, writer_rx) = mpsc::channel::<Job>();
        spawn_thread("brisk-orm-sqlite-writer", writer_conn, Arc::new(Mutex::new(writer_rx)))?;
        // An in-memory database exists once per connection: it has only the writer.
        let readers = if config.path == ":memory:" || config.readers == 0 {
            None
        } else {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..config.readers {
                spawn_thread(&format!("brisk-orm-sqlite-reader-{i}"), open(&config)?, rx.clone())?;
            }
            Some(Mutex::new(tx))
        };
        Ok(SqlitePool { writer: Mutex::new(writer_tx), readers, acquire_timeout: config.acquire_timeout })
    }

    fn send(&self, write: bool, job: Job) -> Result<(), Error> {
        let queue = match (&self.readers, write) {
            (Some(readers), false) => readers,
            _ => &self.writer,
        };
        let sender = queue.lock().unwrap_or_else(|p| p.into_inner());
        sender.send(job).map_err(|_| Error::Unavailable { message: "the SQLite threads have stopped".into() })
    }

    /// Runs `work` on a reader without waiting for it (a streaming query sends its rows as
    /// it reads them).
    pub(crate) fn spawn(&self, work: impl FnOnce(&mut Connection) + Send + 'static) -> Result<(), Error> {
        self.send(false, Job::Run(Box::new(work)))
    }

    /// Runs `f` on a reader (or on the writer when `write`), waiting at most the acquire
    /// timeout for it to start.
    pub(crate) async fn run<R, F>(&self, write: bool, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let claim = Claim::new();
        let job_claim = claim.clone();
        self.send(
            write,
            Job::Run(Box::new(move |conn| {
                if job_claim.start() {
                    let _ = tx.send(f(conn));
                }
            })),
        )?;
        wait(rx, &claim, self.acquire_timeout).await?
    }

    /// Leases the writer to a transaction; jobs sent on the returned channel run inside it.
    /// With `schema`, foreign keys are off for the transaction (set before it begins, as
    /// SQLite requires), so a table can be rebuilt; they are on again after it.
    pub(crate) async fn begin(&self, schema: bool) -> Result<Sender<Work>, Error> {
        let (jobs_tx, jobs) = mpsc::channel::<Work>();
        let (begun, rx) = oneshot::channel();
        let claim = Claim::new();
        self.send(true, Job::Lease { begun, jobs, claim: claim.clone(), schema })?;
        wait(rx, &claim, self.acquire_timeout).await??;
        Ok(jobs_tx)
    }
}

async fn wait<T>(mut rx: oneshot::Receiver<T>, claim: &Claim, timeout: Duration) -> Result<T, Error> {
    let stopped = || Error::Unavailable { message: "the SQLite thread stopped".into() };
    match tokio::time::timeout(timeout, &mut rx).await {
        Ok(answer) => answer.map_err(|_| stopped()),
        Err(_) if claim.abandon() => Err(Error::PoolTimeout),
        // Started just now: the answer is on its way.
        Err(_) => rx.await.map_err(|_| stopped()),
    }
}

fn spawn_thread(name: &str, mut conn: Connection, jobs: Arc<Mutex<Receiver<Job>>>) -> Result<(), Error> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || loop {
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
fn lease(conn: &mut Connection, begun: oneshot::Sender<Result<(), Error>>, jobs: Receiver<Work>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let _ = begun.send(Err(from_sqlite(e)));
        return;
    }
    if begun.send(Ok(())).is_err() {
        let _ = conn.execute_batch("ROLLBACK");
        return;
    }
    while let Ok(work) = jobs.recv() {
        work(conn);
    }
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}
