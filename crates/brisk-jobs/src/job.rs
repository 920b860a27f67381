//! [`Job`]: a typed job (a serde value and an async `run`), [`JobContext`] (what `run` is
//! given) and [`JobError`] (how it fails).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use brisk_orm::Database;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A kind of background job: its value is stored as JSON in the queue, and a worker runs it.
///
/// ```
/// use brisk_jobs::{Job, JobContext, JobError};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendReport {
///     user_id: i64,
/// }
///
/// impl Job for SendReport {
///     const NAME: &'static str = "send_report";
///     const MAX_ATTEMPTS: u32 = 3;
///
///     async fn run(self, cx: JobContext) -> Result<(), JobError> {
///         cx.db().ping().await?; // any error with `?` is a failed attempt
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// Its name in the queue: keep it stable across releases (a row names its job by it).
    const NAME: &'static str;
    /// The queue it runs on unless the enqueue says otherwise.
    const QUEUE: &'static str = "default";
    /// Attempts before it is `dead` (at least 1).
    const MAX_ATTEMPTS: u32 = 5;
    /// Higher runs first among due jobs of a queue.
    const PRIORITY: i32 = 0;
    /// How long one attempt may run before it fails (none by default).
    const TIMEOUT: Option<Duration> = None;

    /// Does the work. `Err` (or a panic, or the timeout) fails the attempt: it is retried with
    /// exponential backoff until `MAX_ATTEMPTS`, unless the error is [`JobError::permanent`].
    ///
    /// A job runs at least once, and more than once if its worker dies mid-run: make it
    /// idempotent (or check, with its [`JobContext::id`], whether the work was done).
    fn run(self, cx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Why an attempt failed: a message kept in the job's `last_error`.
///
/// Any error type converts with `?`. [`JobError::permanent`] makes the job `dead` at once
/// instead of retrying it.
pub struct JobError {
    pub(crate) message: String,
    pub(crate) permanent: bool,
}

impl JobError {
    /// A failure with this message; the job is retried.
    pub fn new(message: impl Into<String>) -> Self {
        JobError { message: message.into(), permanent: false }
    }

    /// A failure no retry can fix: the job becomes `dead` now.
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError { message: message.into(), permanent: true }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether it ends the job without retrying.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(e: E) -> Self {
        JobError::new(e.to_string())
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("message", &self.message)
            .field("permanent", &self.permanent)
            .finish()
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Values jobs read with [`JobContext::state`], one per type.
#[derive(Clone, Default)]
pub(crate) struct StateBag(pub(crate) Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl StateBag {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), Arc::new(value));
    }
}

/// What a running job is given: the app's database, the values registered for jobs, and
/// which attempt this is.
#[derive(Clone)]
pub struct JobContext {
    pub(crate) db: Database,
    pub(crate) state: StateBag,
    pub(crate) id: i64,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) queue: Arc<str>,
    pub(crate) scheduled_at: brisk_orm::DateTime,
}

impl JobContext {
    /// The app's database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// A value registered with [`Jobs::state`](crate::Jobs::state) or
    /// [`Jobs::app_state`](crate::Jobs::app_state), by type.
    ///
    /// ```no_run
    /// # async fn demo(cx: brisk_jobs::JobContext) {
    /// #[derive(Clone)]
    /// struct Mailer { host: String }
    /// let mailer = cx.state::<Mailer>().expect("Jobs::new().state(Mailer { .. })");
    /// # }
    /// ```
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.state.0.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref::<T>()).cloned()
    }

    /// The job's id (its row in `jobs_job`).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// This attempt's number, from 1. It is `max_attempts() + 1` once when the worker of the
    /// last attempt died (a lost lease does not use up the last attempt).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempts it may have in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The queue it runs on.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// When this attempt was due: the job's `run_at` — the enqueue time or a delay's end, for a
    /// cron job's first attempt the tick it fires for (the same in every process), for a retry
    /// the end of its backoff.
    pub fn scheduled_at(&self) -> brisk_orm::DateTime {
        self.scheduled_at
    }
}
