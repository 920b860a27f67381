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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// What the app was told about health routes, applied when it is built.
pub(crate) struct HealthSetup {
    routes: Option<(String, String)>,
    checks: Vec<(&'static str, ReadinessCheck)>,
    timeout: Duration,
}

impl Default for HealthSetup {
    fn default() -> Self {
        HealthSetup { routes: None, checks: Vec::new(), timeout: DEFAULT_READINESS_TIMEOUT }
    }
}

/// Whether the server is shutting down: set by the server when its shutdown signal arrives,
/// read by `/healthz`. One per built app, in its state.
#[derive(Clone, Default)]
pub(crate) struct Draining(Arc<AtomicBool>);

impl Draining {
    pub(crate) fn start(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
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

    /// How long one readiness check may take (default 2 s).
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.health.timeout = timeout;
        self
    }
}

/// Adds the health routes the app asked for, and the drain flag the server sets.
pub(crate) fn apply(setup: HealthSetup, router: Router, state: &mut StateMap) -> Router {
    if state.get::<Draining>().is_none() {
        state.insert(Draining::default());
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
