//! [`Runner`]: the workers of one process — a claim loop per queue with its concurrency, the
//! heartbeat, the PostgreSQL listener, the cron schedulers and the pruner — and its graceful
//! shutdown.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use brisk_orm::{Database, DateTime, Dialect};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

use crate::job::{JobContext, StateBag};
use crate::lease::{lease_end, Active};
use crate::listen::AbortOnDrop;
use crate::model::JobRecord;
use crate::registry::Registry;
use crate::settings::Settings;
use crate::store;
use crate::wake::Wakers;

/// What every task of a runner shares.
pub(crate) struct Shared {
    pub(crate) db: Database,
    pub(crate) registry: Registry,
    /// The claim statements, for the registry's job names: the only rows this runner claims.
    pub(crate) claims: store::Claims,
    pub(crate) state: StateBag,
    pub(crate) settings: Settings,
    pub(crate) worker: String,
    pub(crate) active: Arc<Active>,
    /// Where successful attempts go to be written in batches.
    pub(crate) completions: crate::complete::Completions,
}

/// The running workers of one [`Jobs`](crate::Jobs), from [`Jobs::start`](crate::Jobs::start).
///
/// [`Runner::shutdown`] stops it gracefully: no more claims, running jobs get the grace period
/// to finish, the rest are released (available again, their attempt not counted). Dropped
/// without `shutdown`, its tasks stop at once and its jobs keep their claims until their
/// leases run out, as a killed process's would.
pub struct Runner {
    stop: watch::Sender<bool>,
    main: Option<tokio::task::JoinHandle<()>>,
    worker: String,
    _wakers: Arc<Wakers>,
}

impl Runner {
    /// The id this runner's claims carry (`locked_by`).
    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Starts stopping without waiting: no more claims; running jobs get the grace period,
    /// then the rest are released. [`Runner::shutdown`] waits for the end. (An app's web
    /// workers do this at the shutdown signal, while the last requests drain.)
    pub fn stop_claiming(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops claiming, waits up to the grace period for running jobs, releases the others,
    /// and returns when every task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(main) = self.main.take() {
            let _ = main.await;
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(main) = self.main.take() {
            main.abort();
        }
    }
}

/// A random 64-bit number (std's per-process hash keys, mixed with the time).
pub(crate) fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// Starts the runner's tasks on the current tokio runtime.
pub(crate) fn start(
    db: Database,
    registry: Registry,
    state: StateBag,
    settings: Settings,
    queues: BTreeMap<String, usize>,
    crons: Vec<crate::cron::CronEntry>,
) -> Runner {
    let worker = format!("{}-{:08x}", std::process::id(), random() as u32);
    let wakers = Arc::new(Wakers {
        url: db.url().to_owned(),
        queues: queues.keys().map(|q| (q.clone(), Arc::new(Notify::new()))).collect(),
    });
    crate::wake::register(&wakers);
    let claims = store::Claims::new(db.dialect(), &registry.names());
    let (completions, writer) = crate::complete::channel(settings.keeps_done());
    let shared = Arc::new(Shared {
        db,
        registry,
        claims,
        state,
        settings,
        worker: worker.clone(),
        active: Arc::new(Active::default()),
        completions,
    });
    let (stop, stop_rx) = watch::channel(false);
    let main = tokio::spawn(run(shared, queues, crons, wakers.clone(), writer, stop_rx));
    Runner { stop, main: Some(main), worker, _wakers: wakers }
}

async fn run(
    shared: Arc<Shared>,
    queues: BTreeMap<String, usize>,
    crons: Vec<crate::cron::CronEntry>,
    wakers: Arc<Wakers>,
    writer: crate::complete::Writer,
    stop: watch::Receiver<bool>,
) {
    let mut background = JoinSet::new();
    let s = &shared.settings;
    background.spawn(crate::complete::write(shared.db.clone(), shared.worker.clone(), writer));
    background.spawn(crate::lease::heartbeat(
        shared.db.clone(),
        shared.worker.clone(),
        shared.active.clone(),
        s.lease,
    ));
    if shared.db.dialect() == Dialect::Postgres && !queues.is_empty() {
        background.spawn(crate::listen::listen(s.listen_url(&shared.db), wakers.clone()));
    }
    for entry in crons {
        background.spawn(crate::cron::schedule(shared.db.clone(), entry, s.cron_catch_up));
    }
    if s.prune {
        background.spawn(prune_loop(shared.clone()));
    }
    let mut loops = JoinSet::new();
    for (queue, concurrency) in queues {
        let notify = wakers.queues.get(&queue).cloned().unwrap_or_default();
        loops.spawn(claim_loop(shared.clone(), queue, concurrency.max(1), notify, stop.clone()));
    }
    while loops.join_next().await.is_some() {}
    background.abort_all();
}

/// Deletes old finished jobs now and then.
async fn prune_loop(shared: Arc<Shared>) {
    let s = &shared.settings;
    // A tenth of the shortest time anything is kept (a retention below the floor is raised
    // to it: a zero retention does not prune every second).
    let floor = s.prune_floor();
    let kept = s.retention.max(floor).min(s.dead_retention.max(floor));
    let every = (kept / 10).clamp(Duration::from_secs(1), Duration::from_secs(600));
    loop {
        tokio::time::sleep(every).await;
        let (finished, dead) = prune_cutoffs(s, chrono::Utc::now());
        match store::prune(&shared.db, finished, dead).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(target: "brisk_jobs", removed = n, "pruned old jobs"),
            Err(e) => tracing::warn!(target: "brisk_jobs", error = %e, "could not prune old jobs"),
        }
    }
}

/// The times before which done (and cancelled) jobs and dead jobs are pruned at `now`, never
/// sooner than [`Settings::prune_floor`]. A retention too long to subtract keeps everything
/// (the cutoff is 1970).
pub(crate) fn prune_cutoffs(
    s: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let floor = s.prune_floor();
    let ago = |d: Duration| {
        chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .map_or(chrono::DateTime::UNIX_EPOCH, |t| t.max(chrono::DateTime::UNIX_EPOCH))
    };
    (ago(s.retention.max(floor)), ago(s.dead_retention.max(floor)))
}

/// Claims and runs the jobs of one queue, at most `concurrency` at once, until `stop`; then
/// gives running jobs the grace period and releases the rest.
async fn claim_loop(
    shared: Arc<Shared>,
    queue: String,
    concurrency: usize,
    notify: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    // A finished job gives its slot back once it holds one of these, before its outcome is
    // written: the next claim goes out while the outcomes are written (one round trip
    // overlapping the other), and at most `concurrency` outcomes wait to be written.
    let writes = Arc::new(Semaphore::new(concurrency));
    let mut running = JoinSet::new();
    let (hard_stop, hard_stop_rx) = watch::channel(false);
    let queue: Arc<str> = queue.into();
    let poll = shared.settings.poll;
    // Expired leases are looked for at the first claim and then at most once per poll
    // interval (a lease is far longer): most claims are one statement.
    let mut expired_checked: Option<tokio::time::Instant> = None;
    loop {
        while running.try_join_next().is_some() {}
        if *stop.borrow() {
            break;
        }
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            changed = stop.changed() => match changed {
                Ok(()) => continue,
                Err(_) => break,
            },
        };
        // Let other jobs that are finishing give their slots back, to claim for them in the
        // same statement.
        tokio::task::yield_now().await;
        let mut permits = vec![first];
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            permits.push(permit);
        }
        let wanted = permits.len();
        let expired = expired_checked.is_none_or(|at| at.elapsed() >= poll);
        if expired {
            expired_checked = Some(tokio::time::Instant::now());
        }
        let claimed = shared
            .claims
            .claim(&shared.db, &queue, &shared.worker, wanted, lease_end(shared.settings.lease), expired)
            .await;
        let idle = match claimed {
            Ok(jobs) => {
                let got = jobs.len();
                for job in jobs {
                    let Some(permit) = permits.pop() else { break };
                    let shared = shared.clone();
                    let queue = queue.clone();
                    let hard = hard_stop_rx.clone();
                    let slot = Slot { running: permit, writes: writes.clone() };
                    running.spawn(async move { supervise(&shared, job, queue, hard, slot).await });
                }
                got < wanted
            }
            Err(e) => {
                tracing::warn!(target: "brisk_jobs", queue = %queue, error = %e, "could not claim jobs");
                true
            }
        };
        drop(permits);
        if idle {
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }
    let drained =
        tokio::time::timeout(shared.settings.grace, async { while running.join_next().await.is_some() {} })
            .await
            .is_ok();
    if !drained {
        let _ = hard_stop.send(true);
        while running.join_next().await.is_some() {}
    }
}

/// A claimed job's place in its queue's concurrency: held while it runs, given back once its
/// outcome holds a place among the outcomes being written.
struct Slot {
    running: tokio::sync::OwnedSemaphorePermit,
    writes: Arc<Semaphore>,
}

impl Slot {
    /// Trades the running slot for a place among the outcomes being written.
    async fn into_writing(self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let writing = self.writes.acquire_owned().await.ok();
        drop(self.running);
        writing
    }
}

/// Runs one claimed job and writes its outcome; on a hard stop, aborts it and releases it.
async fn supervise(
    shared: &Shared,
    job: JobRecord,
    queue: Arc<str>,
    mut hard_stop: watch::Receiver<bool>,
    slot: Slot,
) {
    let id = job.id.value();
    let attempt = job.attempts;
    let _held = shared.active.hold(id, attempt);
    // A lost lease (the worker died) does not use up the last attempt: the job is claimed
    // again and gets attempt `max_attempts + 1`, once. Only when that one is lost too is the
    // job dead.
    if attempt > job.max_attempts.saturating_add(1) {
        let message = "its worker stopped during its last attempt, twice (the leases expired)";
        let _writing = slot.into_writing().await;
        record(shared, &job, Outcome::Failed(message.to_owned(), true), &mut hard_stop).await;
        return;
    }
    let cx = JobContext {
        db: shared.db.clone(),
        state: shared.state.clone(),
        id,
        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(job.max_attempts).unwrap_or(u32::MAX),
        queue,
        scheduled_at: job.run_at,
    };
    let mut task = AbortOnDrop(tokio::spawn(shared.registry.run(&job.name, &job.payload, cx)));
    let timeout = job.timeout_ms.and_then(|ms| u64::try_from(ms).ok()).map(Duration::from_millis);
    let finished = async {
        let result = match timeout {
            Some(limit) => match tokio::time::timeout(limit, &mut task.0).await {
                Ok(joined) => joined,
                Err(_) => {
                    task.0.abort();
                    return Outcome::Failed(format!("timed out after {} ms", limit.as_millis()), false);
                }
            },
            None => (&mut task.0).await,
        };
        match result {
            Ok(Ok(())) => Outcome::Done,
            Ok(Err(e)) => Outcome::Failed(e.message, e.permanent),
            Err(e) if e.is_panic() => {
                Outcome::Failed(format!("the job panicked: {}", panic_message(e)), false)
            }
            Err(_) => Outcome::Failed("the job's task was cancelled".to_owned(), false),
        }
    };
    let outcome = tokio::select! {
        outcome = finished => outcome,
        _ = stopped(&mut hard_stop) => {
            task.0.abort();
            if let Err(e) = store::release(&shared.db, id, attempt, &shared.worker).await {
                tracing::warn!(target: "brisk_jobs", job = id, error = %e, "could not release the job; its lease will run out");
            }
            return;
        }
    };
    let _writing = slot.into_writing().await;
    record(shared, &job, outcome, &mut hard_stop).await;
}

enum Outcome {
    Done,
    /// The error, and whether it is permanent.
    Failed(String, bool),
}

/// Writes an attempt's outcome, trying again while the database is unreachable (until the
/// hard stop: then the lease runs out and the job runs again).
async fn record(shared: &Shared, job: &JobRecord, outcome: Outcome, hard_stop: &mut watch::Receiver<bool>) {
    let (id, attempt) = (job.id.value(), job.attempts);
    let retry_at = match &outcome {
        Outcome::Failed(message, permanent) => {
            let retry = !permanent && attempt < job.max_attempts;
            tracing::info!(target: "brisk_jobs", job = id, name = %job.name, attempt, error = %message, retry, "job failed");
            retry.then(|| backoff(&shared.settings, attempt))
        }
        Outcome::Done => None,
    };
    let mut pause = Duration::from_millis(100);
    loop {
        let written = match &outcome {
            Outcome::Done => shared.completions.complete(&shared.db, &shared.worker, id, attempt).await,
            Outcome::Failed(message, _) => {
                store::fail(&shared.db, id, attempt, &shared.worker, message, retry_at)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        };
        match written {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(target: "brisk_jobs", job = id, error = %e, "could not record the job's outcome; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopped(hard_stop) => return,
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// When attempt `attempt` (from 1) failed: `base * 2^(attempt-1)`, at most `max`, of which a
/// random half is taken off (jitter: retries of many jobs that failed together spread out).
pub(crate) fn backoff(settings: &Settings, attempt: i64) -> DateTime {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
    let full = settings.backoff_base.saturating_mul(1u32 << exponent).min(settings.backoff_max);
    let half = full / 2;
    let jitter = half.mul_f64((random() % 10_000) as f64 / 10_000.0);
    crate::enqueue::from_now(half + jitter)
}

/// Resolves once `hard_stop` is true (or its sender is gone).
async fn stopped(hard_stop: &mut watch::Receiver<bool>) {
    let _ = hard_stop.wait_for(|stop| *stop).await;
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => match payload.downcast::<String>() {
            Ok(text) => *text,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(text) => (*text).to_owned(),
                Err(_) => "(no message)".to_owned(),
            },
        },
        Err(_) => "(no message)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let settings = Settings {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..Settings::default()
        };
        let delay = |attempt| {
            let at = backoff(&settings, attempt);
            Duration::from_micros(
                u64::try_from(at.timestamp_micros() - DateTime::now().timestamp_micros()).unwrap_or(0),
            )
        };
        for (attempt, full) in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60)] {
            let full = Duration::from_secs(full);
            for _ in 0..20 {
                let d = delay(attempt);
                // Between half and all of the full delay (a little slack for the clock read twice).
                assert!(
                    d + Duration::from_millis(50) >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} of {full:?}"
                );
            }
        }
    }

    #[test]
    fn huge_retentions_keep_everything_instead_of_panicking() {
        let now = chrono::Utc::now();
        let settings = Settings {
            retention: Duration::MAX,
            dead_retention: Duration::MAX,
            cron_catch_up: Duration::MAX,
            ..Settings::default()
        };
        let (finished, dead) = prune_cutoffs(&settings, now);
        assert_eq!((finished, dead), (chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH));
        let (finished, dead) = prune_cutoffs(&Settings::default(), now);
        assert_eq!(((now - finished).num_days(), (now - dead).num_days()), (7, 30));
    }
}
