//! The statements that move a job through its states. Each is one statement, guarded by the
//! state and, for the worker's, by the attempt number and the worker holding the claim: a
//! worker whose lease expired and whose job was claimed again (or retried from the admin and
//! claimed again at the same attempt number) cannot finish the newer attempt.
//!
//! The worker's own statements (claims, outcomes, releases) commit without waiting for their
//! write-ahead log flush on PostgreSQL ([`RELAXED`]): a crash of the database may forget the
//! last of them, which only moves a job back to a state from which it runs again (claimed →
//! available, done → running with a lease that runs out). At-least-once holds; what must not
//! be forgotten, the enqueue, commits with the caller's transaction at the database's own
//! durability.

use std::sync::atomic::{AtomicBool, Ordering};

use brisk_orm::{Database, DateTime, Dialect, Error, Executor, Raw};

use crate::model::{JobRecord, COLUMNS};

/// [`COLUMNS`] as `jobs_job.<column>` (PostgreSQL's `UPDATE ... FROM` names the table), made once.
static QUALIFIED_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    COLUMNS.split(", ").map(|c| format!("jobs_job.{c}")).collect::<Vec<_>>().join(", ")
});

/// A one-row `FROM` item that makes the statement's own (implicit) transaction commit with
/// `synchronous_commit = off`: `set_config(.., true)` lasts until the end of the transaction,
/// and the commit reads the setting before it is reset. It saves a log flush (milliseconds on
/// a real disk) per worker statement, and the shared connection is not held meanwhile.
const RELAXED: &str = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed";

/// The claim statements of one runner, made once (they depend only on the dialect and on the
/// job names the runner registers): claims up to `limit` jobs of a queue named one of those
/// names (a row of a type this binary does not know is left for a binary that does).
///
/// Two statements, each served by its own partial index (migration `0002_claim_indexes`):
/// first (when `expired`: the caller looks now and then, not at every claim) the running jobs
/// whose lease expired (their worker died; few, and taken first), then the available jobs
/// whose `run_at` has come, higher priority first, then oldest `run_at`. On PostgreSQL the
/// rows are chosen with `FOR UPDATE SKIP LOCKED` (concurrent claimers never wait for nor take
/// each other's rows); on SQLite each statement runs on the one writer, an immediate write
/// transaction of its own.
///
/// On SQLite the selects name their index (`INDEXED BY`): without `ANALYZE` statistics (an
/// app's database seldom has them) SQLite's planner prefers the model's index `(state, queue,
/// run_at)` for the due jobs, as it constrains more columns, and then reads *every* due job of
/// the queue (and its row, for `name` and `priority`) and sorts them all to keep `LIMIT`: each
/// claim cost time in proportion to the backlog (a drain of 20,000 waiting jobs spent most of
/// its CPU there). The partial index in claim order stops after `LIMIT` rows. A database
/// without the indexes (tables made by `create_tables`, or a later table rebuild that dropped
/// them) answers "no such index": the runner then claims with the plain statements.
pub(crate) struct Claims {
    dialect: Dialect,
    names: Vec<String>,
    /// The running jobs whose lease expired.
    expired: String,
    /// The available jobs whose `run_at` has come.
    due: String,
    /// SQLite: `expired` and `due` naming their partial indexes, while `indexed` holds.
    expired_indexed: String,
    due_indexed: String,
    /// SQLite: false once a claim found the partial indexes missing.
    indexed: AtomicBool,
}

/// The partial indexes of migration `0002_claim_indexes`.
const DUE_INDEX: &str = "jobs_job_claim_available";
const EXPIRED_INDEX: &str = "jobs_job_claim_expired";

impl Claims {
    pub(crate) fn new(dialect: Dialect, names: &[&str]) -> Claims {
        let statement = |filter: &str, order: &str, index: Option<&str>| {
            let marks = vec!["?"; names.len()].join(", ");
            let indexed = index.map(|i| format!(" INDEXED BY {i}")).unwrap_or_default();
            let chosen = format!(
                "SELECT id FROM jobs_job{indexed} WHERE {filter} AND name IN ({marks}) ORDER BY {order} LIMIT ?"
            );
            let set =
                "state = 'running', attempts = attempts + 1, locked_by = ?, locked_until = ?, started_at = ?";
            match dialect {
                // The rows are chosen (and locked) once, in a materialized CTE, then updated.
                Dialect::Postgres => format!(
                    "WITH next AS MATERIALIZED ({chosen} FOR UPDATE SKIP LOCKED) \
                     UPDATE jobs_job SET {set} FROM next, {RELAXED} WHERE jobs_job.id = next.id RETURNING {}",
                    *QUALIFIED_COLUMNS
                ),
                Dialect::Sqlite => {
                    format!("UPDATE jobs_job SET {set} WHERE id IN ({chosen}) RETURNING {COLUMNS}")
                }
            }
        };
        let expired = |index| statement(EXPIRED_FILTER, "locked_until", index);
        let due = |index| statement(DUE_FILTER, "priority DESC, run_at, id", index);
        let sqlite = dialect == Dialect::Sqlite;
        Claims {
            dialect,
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            expired: expired(None),
            due: due(None),
            expired_indexed: expired(Some(EXPIRED_INDEX)),
            due_indexed: due(Some(DUE_INDEX)),
            indexed: AtomicBool::new(sqlite),
        }
    }

    /// The statement claiming the expired jobs (`expired`) or the due ones.
    fn statement(&self, expired: bool) -> &str {
        match (self.indexed.load(Ordering::Relaxed), expired) {
            (true, true) => &self.expired_indexed,
            (true, false) => &self.due_indexed,
            (false, true) => &self.expired,
            (false, false) => &self.due,
        }
    }

    /// Claims up to `limit` jobs of `queue` for `worker` until `lease_until`: the expired ones
    /// first when `expired`, then the due ones in claim order.
    pub(crate) async fn claim(
        &self,
        db: &Database,
        queue: &str,
        worker: &str,
        limit: usize,
        lease_until: DateTime,
        expired: bool,
    ) -> Result<Vec<JobRecord>, Error> {
        if self.names.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let now = DateTime::now();
        let mut rows = match expired {
            true => self.run(db, true, queue, worker, limit, lease_until, now).await?,
            false => Vec::new(),
        };
        if rows.len() < limit {
            let mut due = self.run(db, false, queue, worker, limit - rows.len(), lease_until, now).await?;
            due.sort_by(|a, b| {
                b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)).then(a.id.cmp(&b.id))
            });
            rows.extend(due);
        }
        Ok(rows)
    }

    /// One claim statement (of the expired jobs, or the due ones), bound (PostgreSQL binds the
    /// chosen rows' parameters first). On SQLite, when the partial indexes are missing, the
    /// statement is run again without naming them (nothing was written: the statement failed
    /// to prepare), and so are the runner's next claims.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        db: &Database,
        expired: bool,
        queue: &str,
        worker: &str,
        limit: usize,
        lease_until: DateTime,
        now: DateTime,
    ) -> Result<Vec<JobRecord>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let chosen = |mut raw: Raw| {
            raw = raw.bind(queue.to_owned()).bind(now);
            for name in &self.names {
                raw = raw.bind(name.clone());
            }
            raw.bind(limit)
        };
        let claimed = |raw: Raw| raw.bind(worker.to_owned()).bind(lease_until).bind(now);
        let bound = |sql: &str| match self.dialect {
            Dialect::Postgres => claimed(chosen(Raw::new(sql))),
            Dialect::Sqlite => chosen(claimed(Raw::new(sql))),
        };
        let indexed = self.indexed.load(Ordering::Relaxed);
        match bound(self.statement(expired)).fetch(db).await {
            Err(e) if indexed && e.to_string().contains("no such index") => {
                tracing::debug!(target: "brisk_jobs", error = %e, "the claim indexes are missing (no `migrate`?): claiming without them");
                self.indexed.store(false, Ordering::Relaxed);
                bound(self.statement(expired)).fetch(db).await
            }
            answer => answer,
        }
    }
}

const EXPIRED_FILTER: &str = "state = 'running' AND queue = ? AND locked_until < ?";
const DUE_FILTER: &str = "state = 'available' AND queue = ? AND run_at <= ?";

/// The attempts `done` (job id, attempt) claimed by `worker` succeeded: one statement for
/// all of them (at most a few hundred: the caller batches what finished meanwhile). Without
/// `keep`, their rows are deleted instead, and a second statement (only when rows are left)
/// marks the cron ticks' rows done: they stay, as they keep their tick from firing again.
/// Both are unflushed commits: lost in a crash, the row is back to running with a lease that
/// ends, and the job runs again (at least once).
pub(crate) async fn complete(
    db: &Database,
    done: &[(i64, i64)],
    worker: &str,
    keep: bool,
) -> Result<u64, Error> {
    if done.is_empty() {
        return Ok(0);
    }
    let unique = done.len() as u64;
    let done = padded(done);
    let pairs = pair_list(done.len());
    let mut deleted = 0;
    if !keep {
        let raw = Raw::new(format!(
            "DELETE FROM jobs_job {} WHERE locked_by = ? AND state = 'running' AND cron_tick IS NULL AND ({pairs})",
            relaxed_using(db)
        ))
        .bind(worker);
        deleted = with_pairs(raw, &done).execute(db).await?;
        if deleted >= unique {
            return Ok(deleted);
        }
    }
    let raw = Raw::new(format!(
        "UPDATE jobs_job SET state = 'done', finished_at = ?, locked_by = NULL, locked_until = NULL, \
         unique_key = NULL {} WHERE locked_by = ? AND state = 'running' AND ({pairs})",
        relaxed_from(db)
    ))
    .bind(DateTime::now())
    .bind(worker);
    Ok(deleted + with_pairs(raw, &done).execute(db).await?)
}

/// `(id = ? AND attempts = ?) OR ...`, `n` times: the attempts a statement is about, bound by
/// [`with_pairs`].
pub(crate) fn pair_list(n: usize) -> String {
    vec!["(id = ? AND attempts = ?)"; n].join(" OR ")
}

/// `raw` with each (id, attempt) pair bound, for a [`pair_list`].
pub(crate) fn with_pairs(raw: Raw, pairs: &[(i64, i64)]) -> Raw {
    pairs.iter().fold(raw, |raw, (id, attempt)| raw.bind(*id).bind(*attempt))
}

/// `pairs` (not empty) repeated at the end up to the next power of two: a statement listing
/// them has one of a few shapes (1, 2, 4 ... pairs), so the prepared statements each
/// connection caches stay few (a repeated pair matches the same row again: no effect).
pub(crate) fn padded(pairs: &[(i64, i64)]) -> std::borrow::Cow<'_, [(i64, i64)]> {
    let size = pairs.len().next_power_of_two();
    match pairs.last() {
        Some(&last) if size > pairs.len() => {
            let mut out = pairs.to_vec();
            out.resize(size, last);
            std::borrow::Cow::Owned(out)
        }
        _ => std::borrow::Cow::Borrowed(pairs),
    }
}

/// `FROM` [`RELAXED`] on PostgreSQL; nothing on SQLite (whose commits in WAL mode with
/// `synchronous = NORMAL` do not wait for a flush already).
fn relaxed_from(db: &Database) -> String {
    match db.dialect() {
        Dialect::Postgres => format!("FROM {RELAXED}"),
        Dialect::Sqlite => String::new(),
    }
}

/// [`relaxed_from`] for a `DELETE`, which names its other tables with `USING`.
fn relaxed_using(db: &Database) -> String {
    match db.dialect() {
        Dialect::Postgres => format!("USING {RELAXED}"),
        Dialect::Sqlite => String::new(),
    }
}

/// Attempt `attempt` of job `id`, claimed by `worker`, failed with `error`: available again
/// at `retry_at`, or `dead` when there is none.
pub(crate) async fn fail(
    db: &Database,
    id: i64,
    attempt: i64,
    worker: &str,
    error: &str,
    retry_at: Option<DateTime>,
) -> Result<u64, Error> {
    let error = truncate(error, 4000);
    let guard =
        format!("{} WHERE id = ? AND attempts = ? AND locked_by = ? AND state = 'running'", relaxed_from(db));
    match retry_at {
        Some(at) => Raw::new(format!(
            "UPDATE jobs_job SET state = 'available', run_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL {guard}"
        ))
        .bind(at),
        None => Raw::new(format!(
            "UPDATE jobs_job SET state = 'dead', finished_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL, unique_key = NULL {guard}"
        ))
        .bind(DateTime::now()),
    }
    .bind(error)
    .bind(id)
    .bind(attempt)
    .bind(worker.to_owned())
    .execute(db)
    .await
}

/// Gives a job claimed by `worker` back untouched (shutdown): available now, its attempt not
/// counted.
pub(crate) async fn release(db: &Database, id: i64, attempt: i64, worker: &str) -> Result<u64, Error> {
    Raw::new(format!(
        "UPDATE jobs_job SET state = 'available', attempts = attempts - 1, locked_by = NULL, \
         locked_until = NULL {} WHERE id = ? AND attempts = ? AND locked_by = ? AND state = 'running'",
        relaxed_from(db)
    ))
    .bind(id)
    .bind(attempt)
    .bind(worker.to_owned())
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
    // The first term, alone at the top, lets both databases read the partial index on
    // finished_at (migration `0003_lean_indexes`) instead of the whole table.
    Raw::new(
        "DELETE FROM jobs_job WHERE finished_at < ? AND ((state IN ('done', 'cancelled') AND finished_at < ?) \
         OR (state = 'dead' AND finished_at < ?))",
    )
    .bind(micros(finished_before.max(dead_before)))
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
/// changed; a running or done job is left alone. The workers are told after the caller's
/// transaction commits (at once outside one), as for an enqueue.
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
    let queues: Vec<(String,)> =
        Raw::new(format!("{sql} RETURNING queue")).bind(now).bind(id).fetch(ex).await?;
    let retried = !queues.is_empty();
    if let Some((queue,)) = queues.into_iter().next() {
        crate::enqueue::announce_after_commit(ex, db, queue);
    }
    Ok(retried)
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

#[cfg(test)]
mod tests {
    use super::{padded, Claims, RELAXED};
    use brisk_orm::migrations::Migrator;
    use brisk_orm::testing::TestDatabase;
    use brisk_orm::{DateTime, Dialect, Raw};

    /// On SQLite without `ANALYZE` statistics (as a migrated app's database is), the claims
    /// read the partial indexes in claim order: not the model's `(state, queue, run_at)` index,
    /// which made every claim read and sort all the due jobs of the queue.
    #[tokio::test]
    async fn sqlite_claims_use_the_partial_indexes_without_statistics() {
        let test = TestDatabase::empty_sqlite().expect("sqlite");
        let db = test.database();
        Migrator::new(db.clone(), Vec::new())
            .expect("the shipped migrations")
            .migrate()
            .await
            .expect("migrate");
        db.execute_raw(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) \
             INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
             created_at) SELECT 'default', 'record', '{}', 'available', 0, 0, 5, '2026-01-01 00:00:00', \
             '2026-01-01 00:00:00' FROM s",
        )
        .await
        .expect("5,000 waiting jobs");
        let claims = Claims::new(Dialect::Sqlite, &["record"]);
        for (expired, index) in [(false, "jobs_job_claim_available"), (true, "jobs_job_claim_expired")] {
            let now = DateTime::now();
            let rows: Vec<(i64, i64, i64, String)> =
                Raw::new(format!("EXPLAIN QUERY PLAN {}", claims.statement(expired)))
                    .bind("w".to_owned())
                    .bind(now)
                    .bind(now)
                    .bind("default".to_owned())
                    .bind(now)
                    .bind("record".to_owned())
                    .bind(8i64)
                    .fetch(&db)
                    .await
                    .expect("explain");
            let plan = rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n");
            assert!(plan.contains(index), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort of every waiting job: {plan}");
        }
    }

    /// Without the partial indexes (tables made by `create_tables`), the claims fall back to
    /// the plain statements.
    #[tokio::test]
    async fn sqlite_claims_work_without_the_partial_indexes() {
        let test = TestDatabase::sqlite().await.expect("sqlite");
        let db = test.database();
        Raw::new(
            "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, \
             created_at) VALUES ('default', 'record', '{}', 'available', 0, 0, 5, ?, ?)",
        )
        .bind(DateTime::now())
        .bind(DateTime::now())
        .execute(&db)
        .await
        .expect("a job");
        let claims = Claims::new(Dialect::Sqlite, &["record"]);
        let lease = crate::lease::lease_end(std::time::Duration::from_secs(30));
        let jobs =
            claims.claim(&db, "default", "w", 8, lease, true).await.expect("claims without the indexes");
        assert_eq!(jobs.len(), 1);
        assert!(
            !claims.indexed.load(std::sync::atomic::Ordering::Relaxed),
            "fell back to the plain statements"
        );
        assert!(claims.claim(&db, "default", "w", 8, lease, true).await.expect("again").is_empty());
    }

    /// The worker's statements commit without waiting for the WAL flush: the setting holds in
    /// the statement's own transaction, and is gone for the next statement on the same shared
    /// connection (the web requests' writes keep the database's durability).
    #[tokio::test]
    async fn relaxed_statements_set_synchronous_commit_off_for_themselves_only() {
        let test = TestDatabase::empty_postgres().await.expect("a PostgreSQL test database");
        let db = test.database();
        for _ in 0..3 {
            let inside: Vec<(String,)> =
                Raw::new(format!("SELECT current_setting('synchronous_commit') FROM {RELAXED}"))
                    .fetch(&db)
                    .await
                    .expect("the relaxed statement runs");
            assert_eq!(inside, [("off".to_owned(),)]);
            let after: Vec<(String,)> =
                Raw::new("SELECT current_setting('synchronous_commit')").fetch(&db).await.expect("runs");
            assert_eq!(after, [("on".to_owned(),)], "the setting must not outlive its statement");
        }
    }

    #[test]
    fn pair_lists_are_padded_to_a_power_of_two_with_their_last_pair() {
        assert_eq!(&*padded(&[(1, 1)]), &[(1, 1)]);
        assert_eq!(&*padded(&[(1, 1), (2, 1), (3, 2)]), &[(1, 1), (2, 1), (3, 2), (3, 2)]);
        let many: Vec<(i64, i64)> = (0..200).map(|i| (i, 1)).collect();
        let out = padded(&many);
        assert_eq!(out.len(), 256);
        assert!(out[200..].iter().all(|p| *p == (199, 1)));
        // Every size up to 256 makes one of 9 statement shapes.
        let shapes: std::collections::BTreeSet<usize> = (1..=256)
            .map(|n| padded(&many.iter().copied().cycle().take(n).collect::<Vec<_>>()).len())
            .collect();
        assert_eq!(shapes.len(), 9);
    }
}
