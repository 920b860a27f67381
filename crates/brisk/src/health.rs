//! Health routes for load balancers and orchestrators: `/healthz` (the process is alive and
//! not shutting down) and `/readyz` (every readiness check passes: the database, Redis ...).
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::testing::TestClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new()
//!     .health_routes()
//!     .readiness_check("database", || Box::pin(async { Ok(()) }))
//!     .readiness_check("redis", || Box::pin(async { Err("connection refused".to_owned()) }));
//! let client = TestClient::new(app);
//! assert_eq!(client.get("/healthz").send().await.status(), 200);
//! let ready = client.get("/readyz").send().await;
//! assert_eq!(ready.status(), 503);
//! assert_eq!(
//!     ready.json::<serde_json::Value>(),
//!     serde_json::json!({
//!         "status": "unavailable",
//!         "checks": {"database": "ok", "redis": "connection refused"}
//!     })
//! );
//! # }
//! ```
//!
//! `/healthz` answers `200 {"status": "ok"}` while the process serves, and `503 {"status":
//! "draining"}` from the moment a shutdown starts, so a balancer that polls it stops sending
//! new requests while in-flight ones finish. With [`App::shutdown_grace`] the server keeps
//! accepting connections for that long after the signal (answering them, with `/healthz` at
//! 503), which gives a balancer the time to notice before the port closes.
//!
//! ## Shutting down
//!
//! A shutdown goes in two steps, which [`Draining`] (in every built app's state) tells:
//!
//! 1. **The signal** (SIGTERM, or the future given to
//!    [`App::serve_with_shutdown`](crate::App::serve_with_shutdown)): `/healthz` answers 503,
//!    hooks added with [`App::on_draining`] run, and the server keeps serving for
//!    [`App::shutdown_grace`] (0 by default).
//! 2. **The drain**: the server stops accepting, in-flight requests finish within the drain
//!    timeout, and open Server-Sent Events streams ([`Sse`](crate::response::Sse), and so
//!    [`PubSub::sse`](crate::pubsub::PubSub::sse)) end at once: they send nothing more and
//!    close, and an `EventSource` reconnects, to another process. Without that, one open
//!    stream would hold the shutdown for the whole drain timeout.
//!
//! A battery that must stop work at the signal, not after the drain (a job worker that
//! should claim no more jobs), adds a hook:
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! let stop = Arc::new(AtomicBool::new(false));
//! let flag = stop.clone();
//! let app = brisk::App::new().on_draining(move || flag.store(true, Ordering::Release));
//! ```
//!
//! or waits on the app's [`Draining`] (`State<Draining>` in a handler).
//!
//! `/readyz` runs every check (at once, each bounded by 2 seconds unless
//! [`App::readiness_timeout`] says otherwise) and answers `200 {"status": "ok", "checks":
//! {...}}` or `503 {"status": "unavailable", "checks": {...}}`, each check `"ok"` or the
//! reason it failed (also 503 while draining). Batteries add their checks: brisk-orm's
//! database, brisk-redis's connection. Both routes say `Cache-Control: no-store` and are left
//! out of the OpenAPI document.
//!
//! ## Running many processes
//!
//! The same app runs as several processes (on one machine or several) when what they share
//! lives outside them: the database (PostgreSQL), and sessions, the cache, rate limits and
//! pub/sub in Redis (`App::install(brisk_redis::Redis::from_env()?)` sets the four and adds a
//! `redis` readiness check). Then:
//!
//! - **Behind a balancer** (HAProxy, nginx): each process on its own port, the balancer
//!   polling `/healthz`. On SIGTERM a process answers `/healthz` with 503 for
//!   [`App::shutdown_grace`] (`BRISK_SHUTDOWN_GRACE` with [`run`](crate::run)), still serving,
//!   then closes its port and finishes its in-flight requests within the drain timeout. Make
//!   the grace longer than the balancer's check interval times its `fall` count.
//! - **Without one**: `BRISK_REUSE_PORT=1` (or [`App::reuse_port`]) lets every process bind
//!   the same port; the kernel spreads new connections among them.
//! - [`App::instance_header`] adds `X-Instance` (`BRISK_INSTANCE`, else host and process id)
//!   to every answer, to see which process answered.
//!
//! A HAProxy configuration for three processes on ports 8001 to 8003:
//!
//! ```text
//! defaults
//!     mode http
//!     timeout connect 2s
//!     timeout client 60s
//!     timeout server 60s
//!     retries 3
//!     option redispatch
//!     retry-on conn-failure empty-response
//!
//! frontend web
//!     bind 127.0.0.1:8000
//!     default_backend app
//!
//! backend app
//!     balance roundrobin
//!     option httpchk GET /healthz
//!     http-check expect status 200
//!     default-server inter 1s fall 1 rise 2
//!     server web1 127.0.0.1:8001 check
//!     server web2 127.0.0.1:8002 check
//!     server web3 127.0.0.1:8003 check
//! ```
//!
//! with each process started as `PORT=8001 BRISK_SHUTDOWN_GRACE=3 BRISK_INSTANCE=web1 ./app`.
//! Rate limits keyed by client address see the balancer's address unless told to read the
//! header it sets: [`RateLimit::client_header`](crate::rate_limit::RateLimit::client_header)
//! with `option forwardfor` in HAProxy.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::app::App;
use crate::extract::StateMap;
use crate::handler::BoxFuture;
use crate::response::{IntoResponse, Response};
use crate::routing::{get, Router};
use crate::State;

/// A readiness check: `Ok(())` when what it checks is reachable, else why not.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The default bound on one readiness check.
pub const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// A hook run when the shutdown signal arrives (see [`App::on_draining`]).
type DrainingHook = Box<dyn FnOnce() + Send>;

/// What the app was told about health routes, applied when it is built.
pub(crate) struct HealthSetup {
    routes: Option<(String, String)>,
    checks: Vec<(&'static str, ReadinessCheck)>,
    timeout: Duration,
    on_draining: Vec<DrainingHook>,
}

impl Default for HealthSetup {
    fn default() -> Self {
        HealthSetup {
            routes: None,
            checks: Vec::new(),
            timeout: DEFAULT_READINESS_TIMEOUT,
            on_draining: Vec::new(),
        }
    }
}

/// Where a shutdown is: see [the module](crate::health#shutting-down).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Serving,
    /// The shutdown signal has come (the grace period, if any).
    Signalled,
    /// The server has stopped accepting and drains its connections.
    Closing,
}

/// Whether the server serving this app is shutting down. One per built app, in its state
/// (`State<Draining>` in a handler); cheap to clone.
///
/// [`is_draining`](Draining::is_draining) turns true when the shutdown signal arrives (then
/// `/healthz` answers 503 and the hooks of [`App::on_draining`] run), before the grace period
/// and the drain; [`is_closing`](Draining::is_closing) when the server stops accepting and
/// drains its connections, which ends open Server-Sent Events streams. See
/// [the module](crate::health#shutting-down).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::health::Draining;
///
/// async fn status(State(draining): State<Draining>) -> &'static str {
///     if draining.is_draining() { "leaving" } else { "here" }
/// }
/// let app = App::new().route("/status", get(status));
/// ```
///
/// The app gets one as it is built, unless it was given one: a battery that wants the handle
/// before then (to wait on it from a task) puts it in the state itself.
///
/// ```
/// use brisk::health::Draining;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = brisk::App::new();
/// let draining = app.state::<Draining>().cloned().unwrap_or_default();
/// let app = app.with_state(draining.clone());
/// tokio::spawn(async move {
///     draining.signalled().await;
///     // stop taking new work
/// });
/// # drop(app);
/// # }
/// ```
#[derive(Clone)]
pub struct Draining(Arc<DrainingInner>);

struct DrainingInner {
    phase: watch::Sender<Phase>,
    hooks: Mutex<Vec<DrainingHook>>,
}

impl Default for Draining {
    fn default() -> Self {
        Draining(Arc::new(DrainingInner { phase: watch::channel(Phase::Serving).0, hooks: Mutex::default() }))
    }
}

impl std::fmt::Debug for Draining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Draining").field(&*self.0.phase.borrow()).finish()
    }
}

impl Draining {
    /// Whether the shutdown signal has arrived (true through the grace period and the drain).
    pub fn is_draining(&self) -> bool {
        *self.0.phase.borrow() >= Phase::Signalled
    }

    /// Whether the server has stopped accepting and is draining its connections.
    pub fn is_closing(&self) -> bool {
        *self.0.phase.borrow() >= Phase::Closing
    }

    /// Resolves when the shutdown signal arrives (at once if it has).
    pub async fn signalled(&self) {
        self.reached(Phase::Signalled).await;
    }

    /// Resolves when the server stops accepting and drains (at once if it has).
    pub async fn closing(&self) {
        self.reached(Phase::Closing).await;
    }

    fn reached(&self, phase: Phase) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.phase.subscribe();
        async move {
            // The sender lives as long as `self`'s clones; if all are gone, nothing will come.
            if rx.wait_for(|now| *now >= phase).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// A future that resolves when the drain starts, not borrowing `self` (for bodies).
    pub(crate) fn closing_owned(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.reached(Phase::Closing)
    }

    /// The shutdown signal has come: runs the hooks (once) and flags `/healthz`.
    pub(crate) fn start(&self) {
        self.advance(Phase::Signalled);
        let hooks = std::mem::take(&mut *self.0.hooks.lock().unwrap_or_else(PoisonError::into_inner));
        for hook in hooks {
            hook();
        }
    }

    /// The server stops accepting and drains: ends open event streams.
    pub(crate) fn close(&self) {
        self.advance(Phase::Closing);
    }

    fn advance(&self, to: Phase) {
        self.0.phase.send_if_modified(|now| {
            let later = *now < to;
            if later {
                *now = to;
            }
            later
        });
    }

    fn add_hooks(&self, hooks: Vec<DrainingHook>) {
        self.0.hooks.lock().unwrap_or_else(PoisonError::into_inner).extend(hooks);
    }
}

/// The checks `/readyz` runs.
#[derive(Clone)]
struct Readiness {
    checks: Arc<[(&'static str, ReadinessCheck)]>,
    timeout: Duration,
}

impl App {
    /// Serves `/healthz` and `/readyz` (see [`crate::health`]).
    pub fn health_routes(self) -> Self {
        self.health_routes_at("/healthz", "/readyz")
    }

    /// Serves the liveness route at `live` and the readiness route at `ready`.
    pub fn health_routes_at(mut self, live: &str, ready: &str) -> Self {
        self.health.routes = Some((live.to_owned(), ready.to_owned()));
        self
    }

    /// Adds a check `/readyz` runs: `Ok(())` when the thing `name`d is reachable, else the
    /// reason (shown in the answer, so no secrets). Checks run at once, each bounded by the
    /// readiness timeout; one that takes longer fails with `"timed out"`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().health_routes().readiness_check("disk", || {
    ///     Box::pin(async {
    ///         std::fs::metadata("/tmp").map(|_| ()).map_err(|e| e.to_string())
    ///     })
    /// });
    /// ```
    pub fn readiness_check(
        mut self,
        name: &'static str,
        check: impl Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static,
    ) -> Self {
        self.health.checks.retain(|(existing, _)| *existing != name);
        self.health.checks.push((name, Arc::new(check)));
        self
    }

    /// Runs `hook` when the server's shutdown signal arrives, before the grace period and the
    /// drain (when `/healthz` starts answering 503): where a battery stops taking new work
    /// (a job worker stops claiming jobs) while in-flight requests still finish. Hooks run
    /// once, in the order added, on the server's task: keep them quick (set a flag, cancel a
    /// token, notify a task). The app's [`Draining`] tells the same to code that waits.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let stop = tokio::sync::watch::channel(false).0;
    /// let app = App::new().on_draining(move || {
    ///     stop.send_replace(true);
    /// });
    /// ```
    pub fn on_draining(mut self, hook: impl FnOnce() + Send + 'static) -> Self {
        self.health.on_draining.push(Box::new(hook));
        self
    }

    /// How long one readiness check may take (default 2 s).
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.health.timeout = timeout;
        self
    }
}

/// Adds the health routes the app asked for, and the drain flag the server sets.
pub(crate) fn apply(mut setup: HealthSetup, router: Router, state: &mut StateMap) -> Router {
    if state.get::<Draining>().is_none() {
        state.insert(Draining::default());
    }
    if let Some(draining) = state.get::<Draining>() {
        draining.add_hooks(std::mem::take(&mut setup.on_draining));
    }
    let Some((live, ready)) = setup.routes else {
        return router;
    };
    state.insert(Readiness { checks: Arc::from(setup.checks), timeout: setup.timeout });
    router.merge(
        Router::new().route(&live, get(liveness)).route(&ready, get(readiness)).include_in_schema(false),
    )
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = (status, crate::Json(body)).into_response();
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn liveness(State(draining): State<Draining>) -> Response {
    if draining.is_draining() {
        return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "draining"}));
    }
    answer(StatusCode::OK, json!({"status": "ok"}))
}

async fn readiness(State(draining): State<Draining>, State(readiness): State<Readiness>) -> Response {
    let runs = readiness.checks.iter().map(|(name, check)| {
        let run = check();
        async move {
            let outcome = match tokio::time::timeout(readiness.timeout, run).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(reason)) => Err(reason),
                Err(_) => Err("timed out".to_owned()),
            };
            (*name, outcome)
        }
    });
    let outcomes = futures_util::future::join_all(runs).await;
    let healthy = outcomes.iter().all(|(_, outcome)| outcome.is_ok());
    let checks: BTreeMap<&str, String> = outcomes
        .into_iter()
        .map(|(name, outcome)| (name, outcome.err().unwrap_or_else(|| "ok".to_owned())))
        .collect();
    if draining.is_draining() {
        return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "draining", "checks": checks}));
    }
    if healthy {
        answer(StatusCode::OK, json!({"status": "ok", "checks": checks}))
    } else {
        answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "unavailable", "checks": checks}))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn draining_runs_its_hooks_once_and_tells_both_steps() {
        let draining = Draining::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        draining.add_hooks(vec![Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })]);
        let signalled = tokio::spawn({
            let draining = draining.clone();
            async move { draining.signalled().await }
        });
        let closing = tokio::spawn(draining.closing_owned());
        assert!(!draining.is_draining() && !draining.is_closing());
        draining.start();
        draining.start();
        assert_eq!(ran.load(Ordering::SeqCst), 1, "hooks run once");
        assert!(draining.is_draining() && !draining.is_closing());
        tokio::time::timeout(Duration::from_secs(1), signalled).await.expect("signalled").expect("join");
        assert!(!closing.is_finished());
        draining.close();
        assert!(draining.is_closing());
        tokio::time::timeout(Duration::from_secs(1), closing).await.expect("closing").expect("join");
    }
}
