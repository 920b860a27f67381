//! [`run`]: the one-call entry point that reads its settings from the environment.

mod inherited;

use std::env;

use crate::app::App;
use crate::server::ServeError;

/// Serves `app` with settings from the environment, as the showcase does:
///
/// - `HOST` (default `127.0.0.1`) and `PORT` (default `8000`): the address;
/// - `WORKERS` (default: the number of cores): runtime worker threads, `1` meaning a
///   single-threaded runtime;
/// - `RUST_LOG` (default `info`): log filter; `warn` silences the access log;
/// - `LISTEN_FDS` (and `LISTEN_PID`): when a parent process hands over a listening socket as
///   descriptor 3 (systemd's socket activation, `brisk dev`, systemfd), the app serves on it
///   instead of binding `HOST:PORT`. `LISTEN_PID`, when set, must be this process's id; the
///   variables are unset once read, so the app's own subprocesses do not claim the socket.
/// - `BRISK_REUSE_PORT=1`: binds with `SO_REUSEPORT`, so several processes started alike share
///   the port (see [`App::reuse_port`]);
/// - `BRISK_SHUTDOWN_GRACE` (seconds, default 0): how long to keep accepting after the signal
///   with `/healthz` at 503 (see [`App::shutdown_grace`]).
///
/// Before serving it calls [`memory::map_large_blocks`](crate::memory::map_large_blocks), so
/// that with glibc's malloc the memory of large blocks (password checks, big bodies) goes back
/// to the system when they are freed instead of staying in per-thread arenas.
///
/// Blocks until SIGINT or SIGTERM, then shuts down gracefully.
///
/// ```no_run
/// use brisk::prelude::*;
///
/// async fn hello() -> &'static str { "Hello, World!" }
///
/// fn main() -> Result<(), brisk::ServeError> {
///     brisk::run(App::new().route("/", get(hello)))
/// }
/// ```
pub fn run(mut app: App) -> Result<(), ServeError> {
    crate::logging::init();
    crate::memory::map_large_blocks();
    // Before the runtime's threads start: it unsets the variables it reads.
    let inherited = inherited::take()?;
    let host = env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match env::var("PORT") {
        Ok(p) => p.parse::<u16>().map_err(|_| invalid(format!("PORT must be a port number, got {p:?}")))?,
        Err(_) => 8000,
    };
    let workers = match env::var("WORKERS") {
        Ok(w) => match w.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(invalid(format!("WORKERS must be a positive number, got {w:?}"))),
        },
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    match env::var("BRISK_REUSE_PORT").as_deref() {
        Ok("1" | "true" | "yes") => app = app.reuse_port(true),
        Ok("" | "0" | "false" | "no") | Err(_) => {}
        Ok(other) => return Err(invalid(format!("BRISK_REUSE_PORT must be 1 or 0, got {other:?}"))),
    }
    if let Ok(grace) = env::var("BRISK_SHUTDOWN_GRACE") {
        let secs =
            grace.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0 && *s < 3600.0).ok_or_else(
                || invalid(format!("BRISK_SHUTDOWN_GRACE must be a number of seconds, got {grace:?}")),
            )?;
        app = app.shutdown_grace(std::time::Duration::from_secs_f64(secs));
    }
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async move {
        let listener = match inherited {
            Some(listener) => {
                tracing::info!(target: "brisk::server", "serving on the socket handed over by LISTEN_FDS");
                tokio::net::TcpListener::from_std(listener)?
            }
            None if app.config.reuse_port => crate::bind_reuse_port((host.as_str(), port)).await?,
            None => crate::bind((host.as_str(), port)).await?,
        };
        app.serve_with_shutdown(listener, crate::shutdown_signal()).await
    })
}

fn invalid(message: String) -> ServeError {
    ServeError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, message))
}
