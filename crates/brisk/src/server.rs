//! The serve loop: hyper-util's auto connection (HTTP/1.1 and h2c), TCP_NODELAY, header-read
//! timeout, lifespan hooks, and graceful shutdown with a drain deadline.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use crate::app::{App, AppService, BuildError, Lifespan, ServerConfig};
use crate::batched_io::BatchedIo;
use crate::body::Body;
use crate::error::BoxError;
use crate::header_clock::{Clock, ConnTimer};

/// Why serving stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    /// The app refused to build (conflicting routes ...).
    Build(BuildError),
    /// Binding or listening failed.
    Io(std::io::Error),
    /// A startup hook failed.
    Startup(BoxError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Build(e) => e.fmt(f),
            ServeError::Io(e) => write!(f, "server I/O error: {e}"),
            ServeError::Startup(e) => write!(f, "startup hook failed: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<std::io::Error> for ServeError {
    fn from(e: std::io::Error) -> Self {
        ServeError::Io(e)
    }
}

impl From<BuildError> for ServeError {
    fn from(e: BuildError) -> Self {
        ServeError::Build(e)
    }
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

impl App {
    /// Serves on `addr` until SIGINT or SIGTERM, then drains gracefully.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<(), ServeError> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish within the drain timeout, and runs the shutdown hooks.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let (service, lifespan) = self.into_parts()?;
        let Lifespan { config, startup, shutdown: shutdown_hooks } = lifespan;
        for hook in startup {
            hook().await.map_err(ServeError::Startup)?;
        }
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(target: "brisk::server", "listening on http://{addr}");
        }
        serve_connections(listener, service, &config, shutdown).await;
        for hook in shutdown_hooks {
            if let Err(e) = hook().await {
                tracing::error!(target: "brisk::server", error = %e, "shutdown hook failed");
            }
        }
        Ok(())
    }
}

fn connection_builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Some(config.header_read_timeout))
        .max_headers(config.max_headers);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(250);
    builder
}

/// Waits for a new connection's first bytes: enough to tell HTTP/1 from HTTP/2's preface.
/// hyper's header timeout starts only once the protocol is known, so a connection that sends
/// nothing (or stops inside the preface) is dropped here after `within`.
async fn opening_arrives(stream: &TcpStream, within: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let sniff = async {
        let mut buf = [0u8; PREFACE.len()];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n == PREFACE.len() || buf[..n] != PREFACE[..n] => return true,
                // Part of the preface: peek again once more may have come.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    };
    tokio::time::timeout(within, sniff).await.unwrap_or(false)
}

async fn serve_connections(
    listener: TcpListener,
    service: AppService,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) {
    let builder = connection_builder(config);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(target: "brisk::server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let min_body_rate = config.min_body_rate;
        let opening_within = config.header_read_timeout;
        let mut builder = builder.clone();
        let graceful_watcher = graceful.watcher();
        tokio::spawn(async move {
            if !opening_arrives(&stream, opening_within).await {
                return;
            }
            let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                service.call(req.map(|body| Body::incoming(body, min_body_rate))).map(Ok::<_, Infallible>)
            });
            let (io, pump) = BatchedIo::new(stream);
            let clock = Clock::new();
            builder.http1().timer(ConnTimer(clock.clone()));
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), hyper_service);
            if let Err(e) = pump.pump(graceful_watcher.watch(conn.into_owned()), Some(clock)).await {
                tracing::debug!(target: "brisk::server", error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "brisk::server", "shutting down: draining in-flight requests");
    let deadline = tokio::time::Instant::now() + config.drain_timeout;
    let drained = async {
        graceful.shutdown().await;
        tracing::info!(target: "brisk::server", "all connections closed");
        service.after_response_work_done().await;
    };
    if tokio::time::timeout_at(deadline, drained).await.is_err() {
        tracing::warn!(target: "brisk::server", "drain timeout reached; closing what is left");
    }
}
