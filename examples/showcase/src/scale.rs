//! Running as many processes: the routes under `/scale` use what several processes must share
//! — the cache (`incr`), a rate limit, pub/sub fan-out to Server-Sent Events, and durable jobs
//! enqueued in a transaction — so that `reliability/scale-out` can check, with three web
//! processes and two workers behind HAProxy, that nothing is lost or done twice.
//!
//! On one process they work with the in-process cache, limiter and broker; with `REDIS_URL`
//! set (see [`crate::app`]) the same code shares them through Redis. The routes are left out
//! of the OpenAPI document: they are a demonstration, not part of the items contract.

use std::time::Duration;

use brisk::cache::Cache;
use brisk::instance::instance_name;
use brisk::prelude::*;
use brisk::pubsub::PubSub;
use brisk::rate_limit::RateLimit;
use brisk::response::{Event, Sse};
use brisk::stream::Stream;
use brisk_jobs::prelude::*;
use brisk_orm::prelude::*;
use brisk_orm::Db;

/// One run of a [`Record`] job: which job (`run`, `seq`), which process ran it, and whether
/// the run got to its end (`finished`) or only started (a slow job's first row).
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(table = "showcase_jobrun", indexes(["run", "seq"]))]
pub struct JobRun {
    /// Assigned by the database.
    #[model(primary_key)]
    pub id: AutoId,
    /// The batch the job belongs to.
    #[validate(max_length = 100)]
    pub run: String,
    /// The job's number in its batch.
    pub seq: i64,
    /// The process that ran it (`BRISK_INSTANCE`).
    #[validate(max_length = 100)]
    pub instance: String,
    /// Whether this row marks the end of the run (else its start).
    pub finished: bool,
}

/// One firing of the [`Tick`] cron job.
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(table = "showcase_crontick", indexes(["tick"]))]
pub struct CronTick {
    /// Assigned by the database.
    #[model(primary_key)]
    pub id: AutoId,
    /// The tick it fired for.
    pub tick: DateTime,
    /// The process that ran it.
    #[validate(max_length = 100)]
    pub instance: String,
}

/// A job that writes down that it ran (and, when `sleep_ms` is set, that it started, then
/// sleeps: a job to kill a worker in the middle of).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The batch.
    pub run: String,
    /// Its number in the batch.
    pub seq: i64,
    /// How long it works before it finishes.
    pub sleep_ms: u64,
}

impl Job for Record {
    const NAME: &'static str = "showcase.record";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        let instance = instance_name();
        if self.sleep_ms > 0 {
            let started = JobRun {
                id: AutoId::default(),
                run: self.run.clone(),
                seq: self.seq,
                instance: instance.clone(),
                finished: false,
            };
            JobRun::objects().create(started, cx.db()).await?;
            tokio::time::sleep(Duration::from_millis(self.sleep_ms)).await;
        }
        let finished =
            JobRun { id: AutoId::default(), run: self.run, seq: self.seq, instance, finished: true };
        JobRun::objects().create(finished, cx.db()).await?;
        Ok(())
    }
}

/// A cron job that writes down each tick it fires for (scheduled every second when
/// `SHOWCASE_CRON_TICK=1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick;

impl Job for Tick {
    const NAME: &'static str = "showcase.tick";
    const MAX_ATTEMPTS: u32 = 1;

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        let tick = CronTick { id: AutoId::default(), tick: cx.scheduled_at(), instance: instance_name() };
        CronTick::objects().create(tick, cx.db()).await?;
        Ok(())
    }
}

/// The showcase's jobs: [`Record`], and [`Tick`] every second when `SHOWCASE_CRON_TICK=1`.
/// Workers run in every web process (`BRISK_JOBS_WORKERS=0` turns them off) and in
/// `showcase worker`; `SHOWCASE_JOBS_LEASE_SECS` shortens the lease (default 30 s) so that a
/// killed worker's job is taken over sooner.
pub fn jobs() -> Jobs {
    let mut jobs = Jobs::new().task::<Record>();
    if std::env::var("SHOWCASE_CRON_TICK").is_ok_and(|v| v == "1") {
        jobs = jobs.cron("* * * * * *", Tick);
    }
    if let Some(secs) = std::env::var("SHOWCASE_JOBS_LEASE_SECS").ok().and_then(|v| v.parse::<u64>().ok()) {
        jobs = jobs.lease(Duration::from_secs(secs.max(1)));
    }
    jobs
}

/// `POST /scale/counter/{key}` and `GET /scale/counter/{key}`: a counter in the cache.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct CounterPath {
    /// The counter's name.
    #[validate(min_length = 1, max_length = 100)]
    pub key: String,
}

/// A counter's value (`null`: never counted).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Counter {
    /// The value.
    pub value: Option<i64>,
}

async fn bump(cache: Cache, Path(p): Path<CounterPath>) -> Result<Json<Counter>> {
    let value = cache.incr(&format!("counter:{}", p.key), 1).await?;
    Ok(Json(Counter { value: Some(value) }))
}

async fn counter(cache: Cache, Path(p): Path<CounterPath>) -> Result<Json<Counter>> {
    Ok(Json(Counter { value: cache.get(&format!("counter:{}", p.key)).await? }))
}

/// The body of `GET /scale/limited`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Allowed {
    /// Always true: a refused request gets 429.
    pub ok: bool,
}

async fn limited() -> Json<Allowed> {
    Json(Allowed { ok: true })
}

/// `/scale/events/{channel}`.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct ChannelPath {
    /// The channel.
    #[validate(min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9_.-]+$")]
    pub channel: String,
}

/// What `POST /scale/events/{channel}` publishes.
#[derive(Debug, Serialize, Deserialize, JsonSchema, Validate)]
pub struct Announcement {
    /// Any text, at most 1000 characters.
    #[validate(max_length = 1000)]
    pub text: String,
}

async fn events(pubsub: PubSub, Path(p): Path<ChannelPath>) -> Result<Sse<impl Stream<Item = Event> + Send>> {
    pubsub.sse(&format!("showcase.{}", p.channel)).await
}

async fn announce(
    pubsub: PubSub,
    Path(p): Path<ChannelPath>,
    Json(a): Json<Announcement>,
) -> Result<NoContent> {
    pubsub.publish_json(&format!("showcase.{}", p.channel), &a).await?;
    Ok(NoContent)
}

/// `POST /scale/jobs`: `count` [`Record`] jobs numbered from `first`, enqueued in one
/// transaction that is committed, or rolled back when `commit` is false.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct Batch {
    /// The batch's name.
    #[validate(min_length = 1, max_length = 100)]
    pub run: String,
    /// The first job's number, 0 to 10^12.
    #[validate(ge = 0, le = 1000000000000)]
    pub first: i64,
    /// How many jobs, 1 to 100.
    #[validate(ge = 1, le = 100)]
    pub count: i64,
    /// Commit the transaction (else roll it back after enqueueing).
    pub commit: bool,
    /// How long each job works, at most 60 s.
    #[serde(default)]
    #[validate(le = 60000)]
    pub sleep_ms: u64,
}

/// What happened to a batch.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Enqueued {
    /// Jobs enqueued in the transaction.
    pub enqueued: i64,
    /// Whether the transaction was committed.
    pub committed: bool,
}

/// Why a batch's transaction ended in a rollback: asked for (with the jobs enqueued), or a
/// database error.
enum RolledBack {
    Asked(i64),
    Db(brisk_orm::Error),
}

impl From<brisk_orm::Error> for RolledBack {
    fn from(e: brisk_orm::Error) -> Self {
        RolledBack::Db(e)
    }
}

async fn enqueue(db: Db, Json(batch): Json<Batch>) -> Result<Json<Enqueued>> {
    let outcome = db
        .atomic(|tx| async move {
            // Pipelined: each INSERT goes out without waiting for the one before, and their
            // answers are read with the COMMIT (a failed one fails it).
            for seq in batch.first..batch.first + batch.count {
                Record { run: batch.run.clone(), seq, sleep_ms: batch.sleep_ms }
                    .enqueue_pipelined(&tx)
                    .await?;
            }
            if batch.commit {
                Ok(batch.count)
            } else {
                Err(RolledBack::Asked(batch.count))
            }
        })
        .await;
    match outcome {
        Ok(n) => Ok(Json(Enqueued { enqueued: n, committed: true })),
        Err(RolledBack::Asked(n)) => Ok(Json(Enqueued { enqueued: n, committed: false })),
        Err(RolledBack::Db(e)) => Err(e.into()),
    }
}

/// `GET /scale/jobs/{run}`.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct RunPath {
    /// The batch's name.
    #[validate(min_length = 1, max_length = 100)]
    pub run: String,
}

/// How the jobs of a batch ran.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Runs {
    /// Finished runs (a job run twice counts twice).
    pub runs: usize,
    /// Distinct jobs finished.
    pub distinct: usize,
    /// The finished jobs' numbers, ascending (repeated when run twice).
    pub seqs: Vec<i64>,
    /// The processes that started a slow job.
    pub started_by: Vec<String>,
    /// The processes that finished a job.
    pub finished_by: Vec<String>,
}

async fn runs(db: Db, Path(p): Path<RunPath>) -> Result<Json<Runs>> {
    let rows =
        JobRun::objects().filter(JobRun::run().eq(p.run)).order_by([JobRun::seq().asc()]).all(&db).await?;
    let mut seqs: Vec<i64> = rows.iter().filter(|r| r.finished).map(|r| r.seq).collect();
    seqs.sort_unstable();
    let mut distinct = seqs.clone();
    distinct.dedup();
    let names = |finished: bool| {
        let mut names: Vec<String> =
            rows.iter().filter(|r| r.finished == finished).map(|r| r.instance.clone()).collect();
        names.sort();
        names.dedup();
        names
    };
    Ok(Json(Runs {
        runs: seqs.len(),
        distinct: distinct.len(),
        seqs,
        started_by: names(false),
        finished_by: names(true),
    }))
}

/// The ticks the cron job fired for, as Unix seconds, and how often each ran.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ticks {
    /// Unix second → runs.
    pub ticks: std::collections::BTreeMap<String, usize>,
}

async fn ticks(db: Db) -> Result<Json<Ticks>> {
    let rows = CronTick::objects().all(&db).await?;
    let mut ticks = std::collections::BTreeMap::new();
    for row in rows {
        *ticks.entry(row.tick.timestamp().to_string()).or_insert(0) += 1;
    }
    Ok(Json(Ticks { ticks }))
}

/// The `/scale` routes. The limit is 10 requests per minute per client, the client's address
/// read from `X-Forwarded-For` when a proxy in front sets it.
pub fn router() -> Router {
    Router::new()
        .route("/scale/counter/{key}", get(counter).post(bump))
        .route(
            "/scale/limited",
            get(limited).rate_limit(RateLimit::per_minute(10).name("scale").client_header("x-forwarded-for")),
        )
        .route("/scale/events/{channel}", get(events).post(announce))
        .route("/scale/jobs", post(enqueue))
        .route("/scale/jobs/{run}", get(runs))
        .route("/scale/ticks", get(ticks))
        .include_in_schema(false)
}
