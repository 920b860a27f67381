//! What ends a connection besides its client: the server's drain signal, and, for HTTP/2, a
//! connection that has had no request in flight for too long.
//!
//! hyper's HTTP/1 header read timeout also closes an idle keep-alive connection, but hyper's
//! HTTP/2 server has no idle or header timeout at all: a client that sends the preface and then
//! nothing, or a HEADERS frame without END_HEADERS, would hold its connection (a file
//! descriptor, buffers) forever, and PING keep-alive doesn't help against a client that answers
//! pings. [`Idle`] counts an HTTP/2 connection's requests in flight (from the service call until
//! the response body is dropped); when none has been in flight for the timeout, the connection
//! gets a graceful GOAWAY, and if the client has still not closed it [`GOAWAY_GRACE`] later (an
//! unfinished header block, or a client that never answers the GOAWAY's PING), it is dropped.
//!
//! hyper-util's `GracefulShutdown` can't be combined with this (its connection trait is
//! sealed), so [`Drain`] is the same idea: a watch channel whose receivers are the connections.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body::{Frame, SizeHint};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// How long an HTTP/2 client has, after an idle GOAWAY, to close the connection itself.
pub(crate) const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// The server-wide drain signal: [`Drain::start`] tells every watched connection to finish its
/// in-flight requests and close, and resolves once all of them have.
pub(crate) struct Drain {
    tx: watch::Sender<()>,
}

impl Drain {
    pub(crate) fn new() -> Self {
        Drain { tx: watch::channel(()).0 }
    }

    /// A watcher for one connection; [`Drain::start`] waits for it from now on.
    pub(crate) fn watcher(&self) -> Watcher {
        Watcher { rx: self.tx.subscribe() }
    }

    /// Signals every connection, then waits until all have ended.
    pub(crate) async fn start(self) {
        let _ = self.tx.send(());
        self.tx.closed().await;
    }
}

/// One connection's subscription to the drain signal.
pub(crate) struct Watcher {
    rx: watch::Receiver<()>,
}

impl Watcher {
    /// Watches `conn`: `shutdown` (the connection's graceful shutdown) is called once on drain,
    /// and, with `idle`, when the connection has been idle for the idle timeout.
    pub(crate) fn watch<C>(self, conn: C, shutdown: fn(Pin<&mut C>), idle: Option<IdleWatch>) -> Watched<C> {
        let mut rx = self.rx;
        let signal = Box::pin(async move {
            let _ = rx.changed().await;
            rx
        });
        Watched { conn: Box::pin(conn), shutdown, signal: Some(signal), held: None, shut: false, idle }
    }
}

/// A connection under watch: ends when the connection does (or, idle past the GOAWAY grace,
/// when it is dropped).
pub(crate) struct Watched<C> {
    conn: Pin<Box<C>>,
    shutdown: fn(Pin<&mut C>),
    signal: Option<BoxFuture<'static, watch::Receiver<()>>>,
    /// The receiver, held after the signal so that [`Drain::start`] waits for this connection.
    held: Option<watch::Receiver<()>>,
    shut: bool,
    idle: Option<IdleWatch>,
}

impl<C> Watched<C> {
    fn shut_down(&mut self) {
        if !self.shut {
            self.shut = true;
            (self.shutdown)(self.conn.as_mut());
        }
    }
}

impl<C, E> Future for Watched<C>
where
    C: Future<Output = Result<(), E>>,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(signal) = &mut this.signal {
            if let Poll::Ready(rx) = signal.as_mut().poll(cx) {
                this.signal = None;
                this.held = Some(rx);
                this.shut_down();
            }
        }
        if let Some(idle) = &mut this.idle {
            match idle.poll(cx) {
                Poll::Ready(IdleStep::GoAway) => this.shut_down(),
                // Still open GOAWAY_GRACE after the GOAWAY with nothing in flight: drop it.
                Poll::Ready(IdleStep::Drop) => return Poll::Ready(Ok(())),
                Poll::Pending => {}
            }
        }
        this.conn.as_mut().poll(cx)
    }
}

/// One HTTP/2 connection's requests in flight, and since when it has had none.
#[derive(Clone)]
pub(crate) struct Idle(Arc<IdleState>);

struct IdleState {
    base: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `base` when the last request in flight ended (0: none yet).
    idle_since: AtomicU64,
}

impl Idle {
    pub(crate) fn new() -> Self {
        Idle(Arc::new(IdleState {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        }))
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub(crate) fn request(&self) -> InFlight {
        self.0.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.0.clone())
    }

    /// The watch that closes the connection after `timeout` with nothing in flight.
    pub(crate) fn watch(&self, timeout: Duration) -> IdleWatch {
        IdleWatch {
            state: self.0.clone(),
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            goaway_at: None,
        }
    }

    fn idle_since(state: &IdleState) -> Instant {
        state.base + Duration::from_millis(state.idle_since.load(Ordering::Acquire))
    }
}

/// A request in flight on an HTTP/2 connection (see [`Idle::request`]).
pub(crate) struct InFlight(Arc<IdleState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let since = u64::try_from(self.0.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.idle_since.store(since, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) enum IdleStep {
    GoAway,
    Drop,
}

/// Fires [`IdleStep::GoAway`] once nothing has been in flight for the timeout, then
/// [`IdleStep::Drop`] if nothing is in flight [`GOAWAY_GRACE`] after that.
pub(crate) struct IdleWatch {
    state: Arc<IdleState>,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    goaway_at: Option<Instant>,
}

impl IdleWatch {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<IdleStep> {
        loop {
            ready!(self.sleep.as_mut().poll(cx));
            let now = Instant::now();
            if self.state.in_flight.load(Ordering::Acquire) > 0 {
                // Look again a period later; a request ending meanwhile moves `idle_since`.
                let period = if self.goaway_at.is_some() { GOAWAY_GRACE } else { self.timeout };
                self.sleep.as_mut().reset(now + period);
                continue;
            }
            let idle_since = Idle::idle_since(&self.state);
            let deadline = match self.goaway_at {
                None => idle_since + self.timeout,
                Some(goaway) => goaway.max(idle_since) + GOAWAY_GRACE,
            };
            if now < deadline {
                self.sleep.as_mut().reset(deadline);
                continue;
            }
            if self.goaway_at.is_some() {
                return Poll::Ready(IdleStep::Drop);
            }
            self.goaway_at = Some(now);
            self.sleep.as_mut().reset(now + GOAWAY_GRACE);
            return Poll::Ready(IdleStep::GoAway);
        }
    }
}

/// A response body that holds its request's [`InFlight`] guard until hyper drops it.
pub(crate) struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, in_flight: InFlight) -> Self {
        Tracked { body, _in_flight: in_flight }
    }
}

impl<B> http_body::Body for Tracked<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_fires_goaway_then_drop_and_waits_for_requests_in_flight() {
        let idle = Idle::new();
        let mut watch = idle.watch(Duration::from_secs(10));
        let step = |w: &mut IdleWatch| {
            let waker = futures_util::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            match w.poll(&mut cx) {
                Poll::Ready(IdleStep::GoAway) => "goaway",
                Poll::Ready(IdleStep::Drop) => "drop",
                Poll::Pending => "pending",
            }
        };
        // A request in flight across the timeout keeps the connection.
        let guard = idle.request();
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(step(&mut watch), "pending");
        drop(guard);
        // 10 s after it ended (not after the connection opened) comes the GOAWAY.
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(step(&mut watch), "pending");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(step(&mut watch), "goaway");
        assert_eq!(step(&mut watch), "pending");
        tokio::time::advance(GOAWAY_GRACE).await;
        assert_eq!(step(&mut watch), "drop");
    }
}
