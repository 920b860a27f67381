//! The serve loop: hyper's HTTP/1.1 or HTTP/2 connection (h2c; the opening bytes tell which),
//! TCP_NODELAY, header read timeout, HTTP/2 idle timeout (`h2_idle.rs`), a 1024-deep listen
//! backlog, lifespan hooks, and graceful shutdown with a drain deadline.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream, ToSocketAddrs};

use crate::app::{App, AppService, BuildError, Lifespan, ServerConfig};
use crate::batched_io::BatchedIo;
use crate::body::Body;
use crate::drain::Drain;
use crate::error::BoxError;
use crate::extract::with_peer;
use crate::h2_idle::{Idle, Tracked};
use crate::header_clock::{Clock, ConnTimer};
use crate::health::Draining;
use crate::response::{EndsOnDrain, Response};

/// Why serving stopped with an error.
///
/// Its `Debug` is its sentence too, so `fn main() -> Result<(), ServeError>` prints
/// `Error: PORT must be a port number, got "abc"` rather than a dump of the enum.
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
            // Bad settings (PORT=abc) are sentences of their own.
            ServeError::Io(e) if e.kind() == std::io::ErrorKind::InvalidInput => write!(f, "{e}"),
            ServeError::Io(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                write!(f, "cannot listen: {e} (another server is on this port: stop it, or set PORT)")
            }
            ServeError::Io(e) => write!(f, "server I/O error: {e}"),
            ServeError::Startup(e) => write!(f, "startup hook failed: {e}"),
        }
    }
}

impl fmt::Debug for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Build(e) => Some(e),
            ServeError::Io(e) => Some(e),
            ServeError::Startup(e) => Some(e.as_ref()),
        }
    }
}

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
    /// With [`App::reuse_port`] the port is bound with `SO_REUSEPORT`, shared with other
    /// processes doing the same.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<(), ServeError> {
        let listener = if self.config.reuse_port { bind_reuse_port(addr).await? } else { bind(addr).await? };
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish within the drain timeout, and runs the shutdown hooks.
    ///
    /// When `shutdown` resolves the [`on_draining`](App::on_draining) hooks run and `/healthz`
    /// answers 503; after the [shutdown grace](App::shutdown_grace) the server stops
    /// accepting, and open Server-Sent Events streams end then (see
    /// [`crate::health#shutting-down`]).
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

/// How many connections the kernel may queue before the accept loop takes them. tokio's
/// `TcpListener::bind` asks for 128, and a burst of more connects than that sees SYNs dropped
/// and retried a second later; Linux caps this at `net.core.somaxconn` (4096 by default).
pub(crate) const LISTEN_BACKLOG: u32 = 1024;

/// Binds the first of `addr`'s addresses that binds, with a listen backlog of 1024 connections
/// (tokio's `TcpListener::bind` asks for 128, and a burst of more connects sees SYNs dropped).
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let listener = brisk::bind("127.0.0.1:8000").await?;
/// # Ok(()) }
/// ```
pub async fn bind(addr: impl ToSocketAddrs) -> std::io::Result<TcpListener> {
    bind_with(addr, false).await
}

/// [`bind`] with `SO_REUSEPORT`: every process that binds the same address this way gets its
/// own listening socket on the port, and the kernel spreads new connections among them (Linux
/// balances by a hash of the connection; a process that exits takes only its queued
/// connections with it). Several copies of an app share a port this way without a balancer in
/// front. Unix only: elsewhere it fails with `Unsupported`.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let listener = brisk::bind_reuse_port("127.0.0.1:8000").await?;
/// # Ok(()) }
/// ```
pub async fn bind_reuse_port(addr: impl ToSocketAddrs) -> std::io::Result<TcpListener> {
    bind_with(addr, true).await
}

async fn bind_with(addr: impl ToSocketAddrs, reuse_port: bool) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
        let bound = socket.and_then(|socket| {
            // As mio does for `TcpListener::bind`: rebinding a port in TIME_WAIT; not on Windows,
            // where the option lets another socket take the port over.
            #[cfg(not(windows))]
            socket.set_reuseaddr(true)?;
            if reuse_port {
                set_reuseport(&socket)?;
            }
            socket.bind(addr)?;
            socket.listen(LISTEN_BACKLOG)
        });
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")))
}

#[cfg(unix)]
fn set_reuseport(socket: &TcpSocket) -> std::io::Result<()> {
    socket.set_reuseport(true)
}

#[cfg(not(unix))]
fn set_reuseport(_socket: &TcpSocket) -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "SO_REUSEPORT needs a unix system"))
}

/// The HTTP/1.1 side of a connection, with its own header clock.
fn http1_builder(header_read_timeout: Duration, max_headers: usize, clock: &Arc<Clock>) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(ConnTimer(clock.clone()))
        .header_read_timeout(Some(header_read_timeout))
        .max_headers(max_headers);
    builder
}

/// The HTTP/2 side (h2c with prior knowledge).
fn http2_builder() -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).max_concurrent_streams(250);
    builder
}

/// What a new connection opened with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Opening {
    /// The whole HTTP/2 preface.
    Http2,
    /// Anything else: HTTP/1 (hyper answers what isn't).
    Http1,
}

/// Waits for a new connection's first bytes: enough to tell HTTP/1 from HTTP/2's preface.
/// hyper's header timeout starts only once the protocol is known, so a connection that sends
/// nothing (or stops inside the preface) is dropped here after `within` (`None`).
async fn opening_arrives(stream: &TcpStream, within: Duration) -> Option<Opening> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let sniff = async {
        let mut buf = [0u8; PREFACE.len()];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) if buf[..n] != PREFACE[..n] => return Some(Opening::Http1),
                Ok(n) if n == PREFACE.len() => return Some(Opening::Http2),
                // Part of the preface: peek again once more may have come.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    };
    tokio::time::timeout(within, sniff).await.ok().flatten()
}

/// A response marked [`EndsOnDrain`] (an event stream) with a body that ends once the server
/// starts draining; any other response as it is.
fn ends_on_drain(res: Response, draining: Option<&Draining>) -> Response {
    match draining {
        Some(draining) if res.extensions().get::<EndsOnDrain>().is_some() => {
            let closing = draining.closing_owned();
            res.map(|body| Body::new(UntilDrain { body, closing: Some(Box::pin(closing)) }))
        }
        _ => res,
    }
}

/// A body that ends (sending nothing more) when the drain starts.
struct UntilDrain {
    body: Body,
    /// `None` once the drain has started.
    closing: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl http_body::Body for UntilDrain {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let Some(closing) = &mut self.closing else {
            return Poll::Ready(None);
        };
        if closing.as_mut().poll(cx).is_ready() {
            self.closing = None;
            return Poll::Ready(None);
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.closing.is_none() || self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        // It may end early: never promise an exact length.
        let mut hint = http_body::SizeHint::new();
        if let Some(upper) = self.body.size_hint().upper() {
            hint.set_upper(upper);
        }
        hint
    }
}

/// Sleeps until `until`, forever when `None`.
async fn sleep_until_some(until: Option<tokio::time::Instant>) {
    match until {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn serve_connections(
    listener: TcpListener,
    service: AppService,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) {
    let drain = Drain::new();
    let draining = service.state::<Draining>().cloned();
    let mut shutdown = std::pin::pin!(shutdown);
    // Set once the shutdown signal has come: the grace period's end, while still accepting.
    let mut leaving: Option<tokio::time::Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(target: "brisk::server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown, if leaving.is_none() => {
                if let Some(draining) = &draining {
                    draining.start();
                }
                if config.shutdown_grace.is_zero() {
                    break;
                }
                tracing::info!(target: "brisk::server", grace = ?config.shutdown_grace, "shutdown signal: /healthz answers 503; still accepting during the grace period");
                leaving = Some(tokio::time::Instant::now() + config.shutdown_grace);
                continue;
            }
            _ = sleep_until_some(leaving), if leaving.is_some() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let min_body_rate = config.min_body_rate;
        let idle_timeout = config.header_read_timeout;
        let max_headers = config.max_headers;
        // Subscribed now, so that a drain that starts while this connection opens still waits.
        let watch = drain.watcher();
        let draining = draining.clone();
        tokio::spawn(async move {
            let Some(opening) = opening_arrives(&stream, idle_timeout).await else {
                return;
            };
            let (io, pump) = BatchedIo::new(stream);
            let ended = if opening == Opening::Http2 {
                // HTTP/2 has no header timeout in hyper: close a connection that has had no
                // request in flight for the header read timeout (h2_idle.rs).
                let idle = Idle::new();
                let watch_idle = idle.watch(idle_timeout);
                let io = idle.progress(TokioIo::new(io));
                let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let in_flight = idle.request();
                    let draining = draining.clone();
                    with_peer(peer, service.call(req.map(|body| Body::incoming(body, min_body_rate)))).map(
                        move |res| {
                            let res = ends_on_drain(res, draining.as_ref());
                            Ok::<_, Infallible>(res.map(|body| Tracked::new(body, in_flight)))
                        },
                    )
                });
                let conn = http2_builder().serve_connection(io, hyper_service);
                pump.pump(watch.watch(conn, |c| c.graceful_shutdown(), Some(watch_idle)), None).await
            } else {
                let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let draining = draining.clone();
                    with_peer(peer, service.answer(req.map(|body| Body::incoming(body, min_body_rate))))
                        .map(move |res| res.map(|res| ends_on_drain(res, draining.as_ref())))
                });
                let clock = Clock::new();
                let conn = http1_builder(idle_timeout, max_headers, &clock)
                    .serve_connection(TokioIo::new(io), hyper_service)
                    .with_upgrades();
                pump.pump(watch.watch(conn, |c| c.graceful_shutdown(), None), Some(clock)).await
            };
            if let Err(e) = ended {
                tracing::debug!(target: "brisk::server", error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "brisk::server", "shutting down: draining in-flight requests");
    // Event streams end now: they would hold the drain for its whole timeout.
    if let Some(draining) = &draining {
        draining.close();
    }
    let deadline = tokio::time::Instant::now() + config.drain_timeout;
    let drained = async {
        drain.start().await;
        tracing::info!(target: "brisk::server", "all connections closed");
        service.after_response_work_done().await;
    };
    if tokio::time::timeout_at(deadline, drained).await.is_err() {
        tracing::warn!(target: "brisk::server", "drain timeout reached; closing what is left");
    }
}
