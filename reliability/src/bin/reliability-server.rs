//! The brisk server that the reliability scripts (`reliability/scripts/*`) and
//! `tests/process.rs` start as a separate process, with brisk's production defaults.
//!
//! It is served by [`brisk::run`]: `HOST`, `PORT`, `WORKERS` and `RUST_LOG` as documented there,
//! SIGINT/SIGTERM through `brisk::shutdown_signal`, graceful drain. Two optional variables
//! override a default, for the quick forms and the drain-deadline check only:
//! `HEADER_READ_TIMEOUT_MS` (default: brisk's 10 s) and `DRAIN_TIMEOUT_MS` (default: brisk's 30 s).
//!
//! Routes:
//! - `GET /json` — `{"message":"Hello, World!"}`;
//! - `GET /slow?ms=N` — sleeps N ms (default 2000), then answers 200 `slept`;
//! - `GET /panic` — the handler panics (brisk answers 500);
//! - `GET /pid` — this process's id;
//! - `GET /in-flight` — how many `/slow` handlers are running now;
//! - `POST /upload` — reads the whole body (brisk's 2 MiB limit) and answers its length;
//! - `POST /upload-timeout` — the same under `Router::timeout` (10 s, or `UPLOAD_TIMEOUT_MS`):
//!   504 when the body is too slow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brisk::bytes::Bytes;
use brisk::http::Uri;
use brisk::prelude::*;

async fn json() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "message": "Hello, World!" }))
}

/// `/slow` handlers running now (entered, not yet returned or dropped).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn slow(uri: Uri) -> &'static str {
    let _guard = InFlight::enter();
    let ms = uri.query().and_then(|q| q.strip_prefix("ms=")).and_then(|ms| ms.parse().ok());
    tokio::time::sleep(Duration::from_millis(ms.unwrap_or(2000))).await;
    "slept"
}

async fn in_flight() -> String {
    IN_FLIGHT.load(Ordering::SeqCst).to_string()
}

async fn boom() -> &'static str {
    panic!("reliability-server: intentional panic")
}

async fn pid() -> String {
    std::process::id().to_string()
}

async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

fn millis_from_env(name: &str) -> Option<Duration> {
    let value = std::env::var(name).ok()?;
    match value.parse::<u64>() {
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => {
            eprintln!("{name} must be a number of milliseconds, got {value:?}");
            std::process::exit(2);
        }
    }
}

fn main() -> Result<(), brisk::ServeError> {
    let upload_timeout = millis_from_env("UPLOAD_TIMEOUT_MS").unwrap_or(Duration::from_secs(10));
    let mut app = App::new()
        .title("reliability-server")
        .route("/json", get(json))
        .route("/slow", get(slow))
        .route("/panic", get(boom))
        .route("/pid", get(pid))
        .route("/in-flight", get(in_flight))
        .route("/upload", post(upload))
        .merge(Router::new().route("/upload-timeout", post(upload)).timeout(upload_timeout));
    if let Some(timeout) = millis_from_env("HEADER_READ_TIMEOUT_MS") {
        app = app.header_read_timeout(timeout);
    }
    if let Some(timeout) = millis_from_env("DRAIN_TIMEOUT_MS") {
        app = app.drain_timeout(timeout);
    }
    brisk::run(app)
}
