//! Enqueueing: one `INSERT` on the caller's executor, so a job enqueued in a transaction
//! exists only if the transaction commits.

use std::time::Duration;

use brisk_orm::{Database, DateTime, Error, Executor, Raw, Target};

use crate::job::Job;

/// The job a statement inserts.
#[derive(Clone)]
pub(crate) struct NewJob {
    pub(crate) queue: String,
    pub(crate) name: String,
    pub(crate) payload: String,
    pub(crate) priority: i64,
    pub(crate) max_attempts: i64,
    pub(crate) run_at: DateTime,
    pub(crate) timeout_ms: Option<i64>,
    pub(crate) unique_key: Option<String>,
    pub(crate) cron_tick: Option<String>,
}

impl NewJob {
    pub(crate) fn of<J: Job>(job: &J) -> Result<NewJob, Error> {
        let payload = serde_json::to_string(job)
            .map_err(|e| Error::Config(format!("the job {} does not serialize: {e}", J::NAME)))?;
        Ok(NewJob {
            queue: J::QUEUE.to_owned(),
            name: J::NAME.to_owned(),
            payload,
            priority: i64::from(J::PRIORITY),
            max_attempts: i64::from(J::MAX_ATTEMPTS.max(1)),
            run_at: DateTime::now(),
            timeout_ms: J::TIMEOUT.map(millis),
            unique_key: None,
            cron_tick: None,
        })
    }
}

/// The latest time a job is kept at, 9999-12-31T23:59:59.999999Z: later times (a huge delay,
/// lease or backoff) are clamped to it. Both backends hold it, and SQLite's text form of
/// times (ordered as text) stays four-digit-year.
pub(crate) const LATEST_MICROS: i64 = 253_402_300_799_999_999;

/// `at`, at most [`LATEST_MICROS`].
pub(crate) fn clamp_micros(at: i64) -> DateTime {
    DateTime::from_micros(at.min(LATEST_MICROS))
}

/// Now plus `d`, at most [`LATEST_MICROS`] (never an overflow).
pub(crate) fn from_now(d: Duration) -> DateTime {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    clamp_micros(DateTime::now().timestamp_micros().saturating_add(micros))
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The database an executor's queries go to.
pub(crate) fn database_of(ex: &impl Executor) -> Database {
    match ex.target() {
        Target::Db(db) => db.clone(),
        Target::Tx(tx) => tx.database().clone(),
    }
}

/// The insert, without the id it answers (see [`pipeline`]).
macro_rules! insert_sql {
    () => {
        "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, \
         run_at, timeout_ms, unique_key, cron_tick, created_at) \
         VALUES (?, ?, ?, 'available', ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    };
}

const INSERT: &str = concat!(insert_sql!(), " RETURNING id");

/// The statement that inserts `job`, its values bound.
fn statement(sql: &str, job: NewJob) -> Raw {
    Raw::new(sql)
        .bind(job.queue)
        .bind(job.name)
        .bind(job.payload)
        .bind(job.priority)
        .bind(job.max_attempts)
        .bind(job.run_at)
        .bind(job.timeout_ms)
        .bind(job.unique_key)
        .bind(job.cron_tick)
        .bind(DateTime::now())
}

/// Inserts `job` with `ex`; `None` when a unique key or cron tick is already taken. The
/// workers are told after the commit (at once when `ex` is not a transaction): this process's
/// directly, other processes' by a `NOTIFY` on PostgreSQL (`crate::notify`).
pub(crate) async fn insert(ex: &impl Executor, job: NewJob) -> Result<Option<i64>, Error> {
    let db = database_of(ex);
    let queue = job.queue.clone();
    let rows: Vec<(i64,)> = statement(INSERT, job).fetch(ex).await?;
    let id = rows.first().map(|r| r.0);
    if id.is_some() {
        announce_after_commit(ex, db, queue);
    }
    Ok(id)
}

/// Inserts `job` with `ex` without waiting for the answer when `ex` is a transaction
/// ([`Raw::pipeline`]); the workers are told after the commit (also when a unique key turned
/// it away: a worker woken for nothing finds nothing to claim).
pub(crate) async fn pipeline(ex: &impl Executor, job: NewJob) -> Result<(), Error> {
    let queue = job.queue.clone();
    statement(insert_sql!(), job).pipeline(ex).await?;
    announce_after_commit(ex, database_of(ex), queue);
    Ok(())
}

/// Tells the workers of `queue` that a job is due, once the caller's transaction (if any)
/// commits: never before (a worker woken early finds nothing and sleeps until it polls), and
/// never as a NOTIFY inside the caller's transaction (`crate::notify`: it would serialize the
/// commits of concurrent enqueues).
pub(crate) fn announce_after_commit(ex: &impl Executor, db: Database, queue: String) {
    match ex.target() {
        Target::Tx(tx) => tx.on_commit(move || crate::notify::announce(&db, &queue)),
        Target::Db(_) => crate::notify::announce(&db, &queue),
    }
}

/// A job with options, ready to enqueue: `job.schedule().run_at(t).unique("k").enqueue(&tx)`.
///
/// ```no_run
/// # use brisk_jobs::{Job, JobContext, JobError, JobExt};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct SendReport { user_id: i64 }
/// # impl Job for SendReport { const NAME: &'static str = "send_report";
/// #   async fn run(self, _: JobContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// use std::time::Duration;
/// db.atomic(|tx| async move {
///     let id = SendReport { user_id: 7 }
///         .schedule()
///         .delay(Duration::from_secs(60))
///         .unique("report:7") // not enqueued again while one is pending or running
///         .priority(10)
///         .enqueue(&tx)
///         .await?;
///     assert!(id.is_some());
///     Ok::<_, brisk_orm::Error>(())
/// })
/// .await
/// # }
/// ```
#[must_use = "a job is enqueued only by `.enqueue(&executor).await`"]
pub struct Enqueue<J: Job> {
    job: J,
    queue: Option<String>,
    priority: Option<i64>,
    max_attempts: Option<i64>,
    run_at: Option<DateTime>,
    timeout: Option<Option<Duration>>,
    unique_key: Option<String>,
}

impl<J: Job> Enqueue<J> {
    /// `job` with its type's defaults.
    pub fn new(job: J) -> Self {
        Enqueue {
            job,
            queue: None,
            priority: None,
            max_attempts: None,
            run_at: None,
            timeout: None,
            unique_key: None,
        }
    }

    /// Not before `at` (default: now). A time after 9999-12-31 is taken as 9999-12-31
    /// 23:59:59.999999 UTC.
    pub fn run_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.run_at = Some(clamp_micros(at.timestamp_micros()));
        self
    }

    /// Not before `delay` from now (a delay past 9999-12-31 is clamped to that date, as in
    /// [`Enqueue::run_at`]).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.run_at = Some(from_now(delay));
        self
    }

    /// Not enqueued if a job with this key is available or running (the enqueue answers
    /// `None`); once that job ends, the key is free again.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Higher runs first among due jobs of a queue (default `J::PRIORITY`).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(i64::from(priority));
        self
    }

    /// The queue (default `J::QUEUE`). A queue no worker serves is not run.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Attempts before it is `dead` (default `J::MAX_ATTEMPTS`; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(i64::from(attempts.max(1)));
        self
    }

    /// How long one attempt may run (default `J::TIMEOUT`); `None` for no limit.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Inserts it with `ex` (a [`Database`], a [`Transaction`](brisk_orm::Transaction), a
    /// [`Db`](brisk_orm::Db)): in a transaction, it exists only if the transaction commits.
    /// `Some(id)`, or `None` when its unique key is taken.
    pub async fn enqueue(self, ex: &impl Executor) -> Result<Option<i64>, Error> {
        insert(ex, self.row()?).await
    }

    /// Inserts it in a transaction without waiting for the database's answer: see
    /// [`JobExt::enqueue_pipelined`].
    pub async fn enqueue_pipelined(self, ex: &impl Executor) -> Result<(), Error> {
        pipeline(ex, self.row()?).await
    }

    /// The row to insert.
    fn row(self) -> Result<NewJob, Error> {
        let mut row = NewJob::of(&self.job)?;
        if let Some(queue) = self.queue {
            row.queue = queue;
        }
        if let Some(priority) = self.priority {
            row.priority = priority;
        }
        if let Some(attempts) = self.max_attempts {
            row.max_attempts = attempts;
        }
        if let Some(at) = self.run_at {
            row.run_at = at;
        }
        if let Some(timeout) = self.timeout {
            row.timeout_ms = timeout.map(millis);
        }
        row.unique_key = self.unique_key;
        Ok(row)
    }
}

/// `job.enqueue(&tx)` and `job.schedule()` on every [`Job`].
pub trait JobExt: Job + Sized {
    /// Enqueues it with its type's defaults: see [`Enqueue::enqueue`].
    ///
    /// ```no_run
    /// # use brisk_jobs::{Job, JobContext, JobError, JobExt};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct SendReport { user_id: i64 }
    /// # impl Job for SendReport { const NAME: &'static str = "send_report";
    /// #   async fn run(self, _: JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # async fn demo(tx: brisk_orm::Transaction) -> Result<(), brisk_orm::Error> {
    /// SendReport { user_id: 7 }.enqueue(&tx).await?; // gone if `tx` rolls back
    /// # Ok(()) }
    /// ```
    fn enqueue(
        self,
        ex: &impl Executor,
    ) -> impl std::future::Future<Output = Result<Option<i64>, Error>> + Send {
        let row = NewJob::of(&self);
        async move { insert(ex, row?).await }
    }

    /// Enqueues it in a transaction without waiting for the database's answer: the `INSERT`
    /// is sent now and its answer read with the transaction's commit ([`Raw::pipeline`]), so
    /// on PostgreSQL a transaction that enqueues last commits in one round trip instead of
    /// two. The job still exists only if the transaction commits, and an insert that fails
    /// fails the commit (nothing of the transaction is kept). What it gives up is
    /// [`JobExt::enqueue`]'s answer: the id, and whether a unique key turned the job away.
    /// `ex` is a [`Transaction`](brisk_orm::Transaction), or a [`Db`](brisk_orm::Db) under
    /// `atomic_requests`; outside a transaction the insert runs at once and is awaited.
    ///
    /// ```no_run
    /// # use brisk_jobs::{Job, JobContext, JobError, JobExt};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct SendReport { user_id: i64 }
    /// # impl Job for SendReport { const NAME: &'static str = "send_report";
    /// #   async fn run(self, _: JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
    /// db.atomic(|tx| async move {
    ///     // ... the request's own writes ...
    ///     SendReport { user_id: 7 }.enqueue_pipelined(&tx).await?;
    ///     Ok::<_, brisk_orm::Error>(()) // the COMMIT goes out right behind the INSERT
    /// })
    /// .await
    /// # }
    /// ```
    fn enqueue_pipelined(
        self,
        ex: &impl Executor,
    ) -> impl std::future::Future<Output = Result<(), Error>> + Send {
        let row = NewJob::of(&self);
        async move { pipeline(ex, row?).await }
    }

    /// The job with options to set before enqueueing: see [`Enqueue`].
    fn schedule(self) -> Enqueue<Self> {
        Enqueue::new(self)
    }
}

impl<J: Job> JobExt for J {}
