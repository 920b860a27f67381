//! [`Jobs`]: the job types an app runs, its cron schedules and its workers' settings,
//! installed with `App::install`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brisk::{App, Install};
use brisk_orm::{Database, Error};

use crate::cron::CronEntry;
use crate::enqueue::NewJob;
use crate::job::{Job, StateBag};
use crate::registry::Registry;
use crate::settings::Settings;
use crate::worker::Runner;

type CopyState = Arc<dyn Fn(&App, &mut StateBag) -> Result<(), String> + Send + Sync>;

/// The environment variable that sets the workers of a web process: `0` runs none there
/// (run `myapp worker` instead), a number `N` runs `N` at once per queue.
pub const WORKERS_ENV: &str = "BRISK_JOBS_WORKERS";

/// Why [`Jobs::start`] did not start: a sentence for each problem, such as `the cron schedule
/// "every tuesday" is not valid: ...`.
#[derive(Debug, Clone)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// brisk-jobs, installed: `App::install(Jobs::new().task::<SendReport>())` (after the
/// `Database`). It adds
///
/// - workers in the web process (unless [`Jobs::workers_in_web`]`(false)` or
///   `BRISK_JOBS_WORKERS=0`), started before the first request and stopped gracefully at
///   shutdown, with the cron schedulers and the pruner;
/// - the command `myapp worker [--queues a,b] [--concurrency N]`, which runs only workers.
///
/// The `jobs_job` table comes with `myapp migrate` (this crate ships its migration).
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk_jobs::{Job, JobContext, JobError, Jobs};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendReport { user_id: i64 }
/// impl Job for SendReport {
///     const NAME: &'static str = "send_report";
///     async fn run(self, cx: JobContext) -> Result<(), JobError> { Ok(()) }
/// }
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Cleanup;
/// impl Job for Cleanup {
///     const NAME: &'static str = "cleanup";
///     async fn run(self, cx: JobContext) -> Result<(), JobError> { Ok(()) }
/// }
///
/// let db = brisk_orm::Database::from_env().unwrap();
/// let app = App::new()
///     .install(db)
///     .install(Jobs::new().task::<SendReport>().cron("0 */5 * * * *", Cleanup).concurrency(4));
/// brisk::cli::main(app) // `myapp` serves and works; `myapp worker` only works
/// ```
#[derive(Clone)]
pub struct Jobs {
    registry: Registry,
    crons: Vec<CronEntry>,
    queues: BTreeMap<String, Option<usize>>,
    only: Option<Vec<String>>,
    settings: Settings,
    state: StateBag,
    copies: Vec<CopyState>,
    database: Option<Database>,
    in_web: bool,
    cron_enabled: bool,
    problems: Vec<String>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new()
    }
}

impl Jobs {
    /// No job types yet; 8 workers per queue, 30 s leases, 1 s polling, 10 s shutdown grace,
    /// finished jobs kept 7 days (dead ones 30).
    pub fn new() -> Self {
        Jobs {
            registry: Registry::default(),
            crons: Vec::new(),
            queues: BTreeMap::new(),
            only: None,
            settings: Settings::default(),
            state: StateBag::default(),
            copies: Vec::new(),
            database: None,
            in_web: true,
            cron_enabled: true,
            problems: Vec::new(),
        }
    }

    /// Registers job type `J`: workers run rows named `J::NAME`, and serve `J::QUEUE`.
    pub fn task<J: Job>(mut self) -> Self {
        self.registry.add::<J>();
        self.queues.entry(J::QUEUE.to_owned()).or_insert(None);
        self
    }

    /// Enqueues `job` at every tick of `schedule` (cron syntax; 6 fields put seconds first:
    /// `"* * * * * *"` is every second, `"*/10 * * * * *"` every ten seconds, `"0 3 * * *"`
    /// 03:00 UTC daily), once per tick across all processes. Registers `J` too. A schedule
    /// that does not parse makes [`Jobs::start`] fail with a sentence naming it. See
    /// [`crate::cron`] for the catch-up rule.
    pub fn cron<J: Job + Clone>(mut self, schedule: &str, job: J) -> Self {
        self = self.task::<J>();
        match (crate::cron::parse(schedule), NewJob::of(&job)) {
            (Ok(cron), Ok(row)) => self.crons.push(CronEntry {
                schedule: schedule.to_owned(),
                cron: Arc::new(cron),
                job: Arc::new(row),
            }),
            (Err(e), _) => self.problems.push(e),
            (_, Err(Error::Config(e))) => self.problems.push(e),
            (_, Err(e)) => self.problems.push(e.to_string()),
        }
        self
    }

    /// Workers per queue (default 8), for queues without their own [`Jobs::queue`] number.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.settings.concurrency = n.max(1);
        self
    }

    /// Serves `queue` with `concurrency` workers (a queue job types name is served with
    /// [`Jobs::concurrency`] unless set here).
    pub fn queue(mut self, queue: impl Into<String>, concurrency: usize) -> Self {
        self.queues.insert(queue.into(), Some(concurrency.max(1)));
        self
    }

    /// Serves only these queues (the `worker` command's `--queues`). A queue the app does not
    /// serve (no registered job type's `QUEUE`, no [`Jobs::queue`]) makes [`Jobs::start`] fail
    /// with a sentence listing the known ones.
    pub fn only_queues<I: IntoIterator<Item = S>, S: Into<String>>(mut self, queues: I) -> Self {
        self.only = Some(queues.into_iter().map(Into::into).collect());
        self
    }

    /// How long a claim lasts without a heartbeat (default 30 s): a job whose worker died
    /// runs again this long after its last heartbeat. Heartbeats come every third of it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease.max(Duration::from_millis(150));
        self
    }

    /// How often an idle queue looks for due jobs without being woken (default 1 s): the
    /// latency of a `run_at` job, and of a job enqueued by another process on SQLite.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.settings.poll = every.max(Duration::from_millis(10));
        self
    }

    /// How long shutdown waits for running jobs before releasing them (default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.settings.grace = grace;
        self
    }

    /// How long done and cancelled jobs are kept (default 7 days) and dead ones (default 30
    /// days) before the pruner deletes them; either is at least the cron catch-up window plus a
    /// minute (a cron tick's row stops its tick from firing again). A `finished` of zero
    /// deletes a job the moment it succeeds, [`Jobs::no_pruning`] or not (nothing to see in the
    /// admin afterwards, one write less per job — graphile-worker's way, and Celery without a
    /// result backend keeps nothing either); cancelled jobs and cron ticks' rows are still
    /// kept for that floor.
    ///
    /// ```
    /// use std::time::Duration;
    /// let jobs = brisk_jobs::Jobs::new().retention(Duration::ZERO, Duration::from_secs(30 * 24 * 3600));
    /// ```
    pub fn retention(mut self, finished: Duration, dead: Duration) -> Self {
        self.settings.retention = finished;
        self.settings.dead_retention = dead;
        self
    }

    /// Turns the pruner off (prune with [`crate::prune`] yourself).
    pub fn no_pruning(mut self) -> Self {
        self.settings.prune = false;
        self
    }

    /// Retry delays: `base * 2^(attempt-1)` capped at `max`, minus a random part of up to
    /// half (default 2 s and 1 hour).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.backoff_base = base;
        self.settings.backoff_max = max.max(base);
        self
    }

    /// How old a missed cron tick may be and still fire once (default 1 hour).
    pub fn cron_catch_up(mut self, window: Duration) -> Self {
        self.settings.cron_catch_up = window;
        self
    }

    /// Whether this runner fires cron ticks (default yes).
    pub fn cron_enabled(mut self, on: bool) -> Self {
        self.cron_enabled = on;
        self
    }

    /// Whether web processes run workers (default yes; `BRISK_JOBS_WORKERS=0` says no too).
    /// Without, run `myapp worker` beside them.
    pub fn workers_in_web(mut self, on: bool) -> Self {
        self.in_web = on;
        self
    }

    /// The database (default: the app's `Database` state, installed before `Jobs`).
    pub fn database(mut self, db: Database) -> Self {
        self.database = Some(db);
        self
    }

    /// The URL of the LISTEN connection on PostgreSQL (default: `DATABASE_URL`, else the
    /// database's URL). Needed when the database was opened with a password but not from
    /// `DATABASE_URL`.
    pub fn listen_url(mut self, url: impl Into<String>) -> Self {
        self.settings.listen_url = Some(url.into());
        self
    }

    /// A value jobs read with [`JobContext::state`](crate::JobContext::state).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The app's state of type `T` (added with `App::with_state` before `Jobs` is
    /// installed), for jobs to read with [`JobContext::state`](crate::JobContext::state).
    pub fn app_state<T: Clone + Send + Sync + 'static>(mut self) -> Self {
        self.copies.push(Arc::new(|app: &App, bag: &mut StateBag| match app.state::<T>() {
            Some(value) => {
                bag.insert(value.clone());
                Ok(())
            }
            None => Err(format!(
                "Jobs::app_state::<{}>(): the app has no such state when Jobs is installed; add it first",
                std::any::type_name::<T>()
            )),
        }));
        self
    }

    /// Starts workers for every served queue (and the cron schedulers and the pruner) on
    /// `db`, in the current tokio runtime. The app does this itself when installed; tests
    /// and programs of their own call it. It fails, with a sentence, on a cron schedule that
    /// does not parse, an [`Jobs::app_state`] missing from the app, or an
    /// [`Jobs::only_queues`] queue the app does not serve.
    pub fn start(&self, db: &Database) -> Result<Runner, StartError> {
        let mut problems = self.problems.clone();
        if let Some(only) = &self.only {
            let known: Vec<&str> = self.queues.keys().map(String::as_str).collect();
            for queue in only.iter().filter(|q| !self.queues.contains_key(q.as_str())) {
                problems.push(format!(
                    "the queue {queue:?} is not one this app serves (its queues: {})",
                    known.join(", ")
                ));
            }
        }
        if !problems.is_empty() {
            return Err(StartError(problems.join("; ")));
        }
        let queues = self.served_queues();
        let crons = if self.cron_enabled { self.crons.clone() } else { Vec::new() };
        Ok(crate::worker::start(
            db.clone(),
            self.registry.clone(),
            self.state.clone(),
            self.settings.clone(),
            queues,
            crons,
        ))
    }

    fn served_queues(&self) -> BTreeMap<String, usize> {
        self.queues
            .iter()
            .filter(|(q, _)| self.only.as_ref().is_none_or(|only| only.iter().any(|o| o == *q)))
            .map(|(q, n)| (q.clone(), n.unwrap_or(self.settings.concurrency)))
            .collect()
    }

    /// This web process's workers per the environment: `None` for none.
    fn web_workers(mut self) -> Option<Jobs> {
        match std::env::var(WORKERS_ENV).ok().map(|v| v.trim().parse::<usize>()) {
            Some(Ok(0)) => None,
            Some(Ok(n)) => {
                self.settings.concurrency = n;
                self.in_web.then_some(self)
            }
            _ => self.in_web.then_some(self),
        }
    }
}

impl Install for Jobs {
    fn install(mut self, app: App) -> App {
        for copy in std::mem::take(&mut self.copies) {
            if let Err(e) = copy(&app, &mut self.state) {
                self.problems.push(e);
            }
        }
        let db = self.database.clone().or_else(|| app.state::<Database>().cloned());
        let command = crate::command::Worker { jobs: self.clone(), db: db.clone() };
        let app = app.command(command);
        let Some(jobs) = self.web_workers() else { return app };
        let runner: Arc<Mutex<Option<Runner>>> = Arc::default();
        let stop = runner.clone();
        let draining = runner.clone();
        // At the shutdown signal, before the HTTP drain: no more claims, and the running jobs
        // start their grace period while the last requests finish (on_shutdown then waits).
        app.on_draining(move || {
            if let Some(runner) = draining.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                runner.stop_claiming();
            }
        })
        .on_startup(move || async move {
            let db =
                db.ok_or("brisk-jobs needs the app's Database: install it before Jobs (or Jobs::database)")?;
            let started = jobs.start(&db)?;
            *runner.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
            Ok(())
        })
        .on_shutdown(move || async move {
            let taken = stop.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(runner) = taken {
                runner.shutdown().await;
            }
            Ok(())
        })
    }
}
