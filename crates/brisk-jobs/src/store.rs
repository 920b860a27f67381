//! The statements that move a job through its states. Each is one statement, guarded by the
//! state (and, for the worker's, by the attempt number: a worker whose lease expired and whose
//! job was claimed again cannot finish the newer attempt).

use brisk_orm::{Database, DateTime, Dialect, Error, Executor, Raw};

use crate::model::{JobRecord, COLUMNS};

/// Claims up to `limit` due jobs of `queue` for `worker` until `lease_until`: available jobs
/// whose `run_at` has come, and running jobs whose lease expired (their worker died), higher
/// priority first, then oldest `run_at`. On PostgreSQL the rows are chosen with
/// `FOR UPDATE SKIP LOCKED` (concurrent claimers never wait for nor take each other's rows);
/// on SQLite the statement runs on the one writer, an immediate write transaction of its own.
pub(crate) async fn claim(
    db: &Database,
    queue: &str,
    worker: &str,
    limit: usize,
    lease_until: DateTime,
) -> Result<Vec<JobRecord>, Error> {
    let now = DateTime::now();
    let due =
        "queue = ? AND ((state = 'available' AND run_at <= ?) OR (state = 'running' AND locked_until < ?)) \
               ORDER BY priority DESC, run_at, id LIMIT ?";
    let set = "state = 'running', attempts = attempts + 1, locked_by = ?, locked_until = ?, started_at = ?";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows: Vec<JobRecord> = match db.dialect() {
        // The rows are chosen (and locked) once, in a materialized CTE, then updated.
        Dialect::Postgres => {
            let columns = COLUMNS.split(", ").map(|c| format!("jobs_job.{c}")).collect::<Vec<_>>().join(", ");
            Raw::new(format!(
                "WITH next AS MATERIALIZED (SELECT id FROM jobs_job WHERE {due} FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs_job SET {set} FROM next WHERE jobs_job.id = next.id RETURNING {columns}"
            ))
            .bind(queue.to_owned())
            .bind(now)
            .bind(now)
            .bind(limit)
            .bind(worker.to_owned())
            .bind(lease_until)
            .bind(now)
            .fetch(db)
            .await?
        }
        Dialect::Sqlite => {
            Raw::new(format!(
            "UPDATE jobs_job SET {set} WHERE id IN (SELECT id FROM jobs_job WHERE {due}) RETURNING {COLUMNS}"
        ))
            .bind(worker.to_owned())
            .bind(lease_until)
            .bind(now)
            .bind(queue.to_owned())
            .bind(now)
            .bind(now)
            .bind(limit)
            .fetch(db)
            .await?
        }
    };
    rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// Attempt `attempt` of job `id` succeeded.
pub(crate) async fn complete(db: &Database, id: i64, attempt: i64) -> Result<u64, Error> {
    Raw::new(
        "UPDATE jobs_job SET state = 'done', finished_at = ?, locked_by = NULL, locked_until = NULL, \
         unique_key = NULL WHERE id = ? AND attempts = ? AND state = 'running'",
    )
    .bind(DateTime::now())
    .bind(id)
    .bind(attempt)
    .execute(db)
    .await
}

/// Attempt `attempt` of job `id` failed with `error`: available again at `retry_at`, or
/// `dead` when there is none.
pub(crate) async fn fail(
    db: &Database,
    id: i64,
    attempt: i64,
    error: &str,
    retry_at: Option<DateTime>,
) -> Result<u64, Error> {
    let error = truncate(error, 4000);
    match retry_at {
        Some(at) => Raw::new(
            "UPDATE jobs_job SET state = 'available', run_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(at),
        None => Raw::new(
            "UPDATE jobs_job SET state = 'dead', finished_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL, unique_key = NULL WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(DateTime::now()),
    }
    .bind(error)
    .bind(id)
    .bind(attempt)
    .execute(db)
    .await
}

/// Gives a claimed job back untouched (shutdown): available now, its attempt not counted.
pub(crate) async fn release(db: &Database, id: i64, attempt: i64) -> Result<u64, Error> {
    Raw::new(
        "UPDATE jobs_job SET state = 'available', attempts = attempts - 1, locked_by = NULL, \
         locked_until = NULL WHERE id = ? AND attempts = ? AND state = 'running'",
    )
    .bind(id)
    .bind(attempt)
    .execute(db)
    .await
}

/// Deletes the jobs that ended (done or cancelled) before `finished_before`, and the dead ones
/// that ended before `dead_before`; answers how many.
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
/// let removed = brisk_jobs::prune(&db, week_ago, week_ago).await?;
/// # Ok(()) }
/// ```
pub async fn prune(
    ex: &impl Executor,
    finished_before: chrono::DateTime<chrono::Utc>,
    dead_before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, Error> {
    Raw::new(
        "DELETE FROM jobs_job WHERE (state IN ('done', 'cancelled') AND finished_at < ?) \
         OR (state = 'dead' AND finished_at < ?)",
    )
    .bind(micros(finished_before))
    .bind(micros(dead_before))
    .execute(ex)
    .await
}

/// Cancels job `id` if it has not started (`available`, due or not): `true` when it was
/// cancelled. A running job is not interrupted (it finishes or fails as it would).
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// if !brisk_jobs::cancel(&db, 42).await? {
///     println!("job 42 had already started or ended");
/// }
/// # Ok(()) }
/// ```
pub async fn cancel(ex: &impl Executor, id: i64) -> Result<bool, Error> {
    let n = Raw::new(
        "UPDATE jobs_job SET state = 'cancelled', finished_at = ?, unique_key = NULL \
         WHERE id = ? AND state = 'available'",
    )
    .bind(DateTime::now())
    .bind(id)
    .execute(ex)
    .await?;
    Ok(n > 0)
}

/// Runs job `id` again now: a `dead` or `cancelled` job gets a fresh set of attempts, an
/// `available` one (waiting for its retry or its `run_at`) becomes due now. `true` when it
/// changed; a running or done job is left alone. On PostgreSQL the workers are notified.
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// brisk_jobs::retry(&db, 42).await?;
/// # Ok(()) }
/// ```
pub async fn retry(ex: &impl Executor, id: i64) -> Result<bool, Error> {
    let db = crate::enqueue::database_of(ex);
    let now = DateTime::now();
    let sql =
        "UPDATE jobs_job SET state = 'available', run_at = ?, attempts = CASE WHEN state = 'available' \
               THEN attempts ELSE 0 END, finished_at = NULL WHERE id = ? AND state IN ('available', 'dead', \
               'cancelled')";
    let queues: Vec<(String,)> = match db.dialect() {
        Dialect::Postgres => {
            Raw::new(format!(
                "WITH up AS ({sql} RETURNING queue) SELECT up.queue FROM up, pg_notify('brisk_jobs', up.queue) AS n"
            ))
            .bind(now)
            .bind(id)
            .fetch(ex)
            .await?
        }
        Dialect::Sqlite => Raw::new(format!("{sql} RETURNING queue")).bind(now).bind(id).fetch(ex).await?,
    };
    if let (Some((queue,)), Dialect::Sqlite) = (queues.first(), db.dialect()) {
        crate::wake::wake_local(db.url(), queue);
    }
    Ok(!queues.is_empty())
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> DateTime {
    DateTime::from_micros(t.timestamp_micros())
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
