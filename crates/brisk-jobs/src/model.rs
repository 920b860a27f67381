//! [`JobRecord`]: one row of the `jobs_job` table, the queue itself. Its migrations ship in
//! this crate (`migrations/jobs/`), so the app's `migrate` makes the table.

use brisk_orm::prelude::*;

/// Where a job is in its life.
///
/// `available` (waiting for its `run_at`, or for a free worker) → `running` (claimed, under a
/// lease) → `done`; a failed attempt goes back to `available` with a later `run_at` until its
/// attempts are spent, then `dead`. `cancelled` by hand (the admin, [`crate::cancel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum JobState {
    /// Waiting to be claimed (possibly not before its `run_at`).
    #[choice(rename = "available")]
    Available,
    /// Claimed by a worker whose lease (`locked_until`) is renewed while it runs.
    #[choice(rename = "running")]
    Running,
    /// Finished successfully.
    #[choice(rename = "done")]
    Done,
    /// Failed on its last allowed attempt (or failed permanently); kept with its last error.
    #[choice(rename = "dead")]
    Dead,
    /// Cancelled before it ran.
    #[choice(rename = "cancelled")]
    Cancelled,
}

impl JobState {
    /// The state's text in the table (`available`, `running` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// A job in the queue: a row of `jobs_job`. Its indexes are partial ones the model cannot
/// declare (migrations `0002_claim_indexes`, `0003_lean_indexes`, and
/// `0004_partial_unique_keys` on PostgreSQL, `0005_sqlite_partial_unique_keys` on SQLite): each
/// serves one of the queue's statements and holds only the
/// rows it needs, since every index entry is written again for each of a job's three
/// versions. Read it with the ORM
/// (`JobRecord::objects().filter(JobRecord::state().eq(JobState::Dead))`); change it only
/// through this crate ([`crate::retry`], [`crate::cancel`]), whose statements keep the
/// queue's rules.
#[derive(Debug, Clone, Model)]
#[model(
    app_label = "jobs",
    table = "jobs_job",
    ordering = ["-id"],
    verbose_name = "job"
)]
pub struct JobRecord {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// The queue it runs on (`default` unless the job type or the enqueue says otherwise).
    #[validate(max_length = 100)]
    pub queue: String,
    /// The job type's `Job::NAME`.
    #[validate(max_length = 200)]
    pub name: String,
    /// The job's value, as JSON.
    pub payload: String,
    /// Where it is in its life.
    pub state: JobState,
    /// Higher runs first among the jobs that are due on a queue.
    #[model(default = 0)]
    pub priority: i64,
    /// Attempts started so far (a claim counts one; a release at shutdown gives it back).
    #[model(default = 0)]
    pub attempts: i64,
    /// After this many failed attempts the job is `dead`.
    pub max_attempts: i64,
    /// Not claimed before this time.
    pub run_at: DateTime,
    /// An attempt running longer than this many milliseconds fails.
    pub timeout_ms: Option<i64>,
    /// While the job is available or running, no other job with this key can be enqueued;
    /// cleared when it ends. (Its uniqueness is a partial index, made by migration
    /// `0004_partial_unique_keys` on PostgreSQL and `0005_sqlite_partial_unique_keys` on
    /// SQLite, as is `cron_tick`'s: a migration changing either field must handle that index
    /// by hand.)
    #[model(unique)]
    #[validate(max_length = 255)]
    pub unique_key: Option<String>,
    /// A cron job's schedule and tick: one row per tick, whichever process inserts it first.
    #[model(unique)]
    #[validate(max_length = 255)]
    pub cron_tick: Option<String>,
    /// The worker holding the lease.
    #[validate(max_length = 100)]
    pub locked_by: Option<String>,
    /// The lease's end: a running job whose lease ended (its worker died) is claimed again.
    pub locked_until: Option<DateTime>,
    /// The last failure, kept after the job ends.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime,
    /// When its last attempt started.
    pub started_at: Option<DateTime>,
    /// When it ended (done, dead or cancelled).
    pub finished_at: Option<DateTime>,
}

/// The columns of [`JobRecord`] in field order, for `RETURNING` lists read as the model.
pub(crate) const COLUMNS: &str = "id, queue, name, payload, state, priority, attempts, max_attempts, run_at, \
     timeout_ms, unique_key, cron_tick, locked_by, locked_until, last_error, created_at, started_at, finished_at";
