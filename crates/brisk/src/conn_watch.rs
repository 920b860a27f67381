//! What ends a connection besides its client: the server's drain signal, and, for HTTP/2, a
//! connection that has had no request in flight for too long.
//!
//! hyper's HTTP/1 header read timeout also closes an idle keep-alive connection, but hyper's
//! HTTP/2 server has no idle or header timeout at all: a client that sends the preface and then
//! nothing, or a HEADERS frame without END_HEADERS, would hold its connection (a file
//! descriptor, buffers) forever, and PING keep-alive doesn't help against a client that answers
//! pings. [`Idle`] counts an HTTP/2 connection's requests in flight (from the service call until
//! the response body is dropped); when none has been in flight for the timeout, the connection
//! gets a graceful GOAWAY (h2 still finishes the streams it has), and if the client has still not
//! closed it and nothing has been written to it for [`GOAWAY_GRACE`] (an unfinished header
//! block, or a client that never answers the GOAWAY's PING), it is dropped.
//!
//! Limitation: an HTTP/2 CONNECT tunnel (extended CONNECT, `hyper::upgrade::on`) counts as idle
//! once its 2xx head is sent, and is closed with the connection. brisk's WebSockets are HTTP/1.1
//! upgrades, which this does not touch.
//!
//! hyper-util's `GracefulShutdown` can't be combined with this (its connection trait is
//! sealed), so [`Drain`] does its job: signal every connection, wait for all to end.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// How long an HTTP/2 client has, after an idle GOAWAY, to close the connection itself.
pub(crate) const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// The shortest idle timeout the watch uses.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// The server-wide drain signal: [`Drain::start`] tells every watched connection to finish its
/// in-flight requests and close, and resolves once all of them have.
///
/// A connection is polled on every read and write, so the check must be cheap: an atomic flag,
/// and the connection task's waker registered once (tokio's `watch`/`Notify` futures take a lock
/// on every poll, ~200 instructions per request).
pub(crate) struct Drain {
    signal: Arc<Signal>,
    /// Every [`Watcher`] holds a receiver: [`Drain::start`] waits until all are dropped.
    alive: watch::Sender<()>,
}

#[derive(Default)]
struct Signal {
    draining: AtomicBool,
    next_id: AtomicU64,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Signal {
    fn wakers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drain {
    pub(crate) fn new() -> Self {
        Drain { signal: Arc::default(), alive: watch::channel(()).0 }
    }

    /// A watcher for one connection; [`Drain::start`] waits for it from now on.
    pub(crate) fn watcher(&self) -> Watcher {
        let id = self.signal.next_id.fetch_add(1, Ordering::Relaxed);
        Watcher { signal: self.signal.clone(), id, registered: None, _alive: self.alive.subscribe() }
    }

    /// Signals every connection, then waits until all have ended.
    pub(crate) async fn start(self) {
        self.signal.draining.store(true, Ordering::Release);
        let wakers: Vec<Waker> = self.signal.wakers().drain().map(|(_, w)| w).collect();
        wakers.into_iter().for_each(Waker::wake);
        self.alive.closed().await;
    }
}

/// One connection's subscription to the drain signal.
pub(crate) struct Watcher {
    signal: Arc<Signal>,
    id: u64,
    /// The waker registered under `id`, to skip the lock while the task's waker stays the same.
    registered: Option<Waker>,
    _alive: watch::Receiver<()>,
}

impl Watcher {
    /// Watches `conn`: `shutdown` (the connection's graceful shutdown) is called once on drain,
    /// and, with `idle`, when the connection has been idle for the idle timeout.
    pub(crate) fn watch<C>(self, conn: C, shutdown: fn(Pin<&mut C>), idle: Option<IdleWatch>) -> Watched<C> {
        Watched { conn: Box::pin(conn), shutdown, watcher: self, shut: false, idle }
    }

    /// Whether the drain has begun; if not, `cx`'s waker will be woken when it does.
    fn draining(&mut self, cx: &Context<'_>) -> bool {
        if self.signal.draining.load(Ordering::Acquire) {
            return true;
        }
        if !self.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.signal.wakers().insert(self.id, cx.waker().clone());
            self.registered = Some(cx.waker().clone());
            // The drain may have begun between the check and the registration.
            return self.signal.draining.load(Ordering::Acquire);
        }
        false
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if self.registered.is_some() {
            self.signal.wakers().remove(&self.id);
        }
    }
}

/// A connection under watch: ends when the connection does (or, idle past the GOAWAY grace,
/// when it is dropped).
pub(crate) struct Watched<C> {
    conn: Pin<Box<C>>,
    shutdown: fn(Pin<&mut C>),
    watcher: Watcher,
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
        if !this.shut && this.watcher.draining(cx) {
            this.shut_down();
        }
        // The connection first: a request already waiting in the socket is taken in (and
        // counted in flight) before the idle watch looks.
        if let Poll::Ready(ended) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(ended);
        }
        let Some(idle) = &mut this.idle else {
            return Poll::Pending;
        };
        match idle.poll(cx) {
            Poll::Ready(IdleStep::GoAway) => {
                this.shut_down();
                let polled = this.conn.as_mut().poll(cx);
                if let Some(idle) = &mut this.idle {
                    idle.settle();
                }
                polled
            }
            // Still open GOAWAY_GRACE after the GOAWAY with nothing in flight or being written.
            Poll::Ready(IdleStep::Drop) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One HTTP/2 connection's requests in flight, and since when it has had none.
#[derive(Clone)]
pub(crate) struct Idle(Arc<IdleState>);

struct IdleState {
    base: Instant,
    in_flight: AtomicUsize,
    /// Bytes hyper has written to the socket (see [`Progress`]).
    written: AtomicU64,
    /// Milliseconds after `base` when the last request in flight ended (0: none yet).
    idle_since: AtomicU64,
}

impl Idle {
    pub(crate) fn new() -> Self {
        Idle(Arc::new(IdleState {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            written: AtomicU64::new(0),
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
        // A zero timeout would re-arm the timer at `now` and spin while a request is in flight.
        let timeout = timeout.max(MIN_PERIOD);
        IdleWatch {
            state: self.0.clone(),
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            goaway_at: None,
            written_seen: 0,
            quiet_since: Instant::now(),
        }
    }

    /// `io`, with the bytes written through it counted for this connection's idle watch.
    pub(crate) fn progress<T>(&self, io: T) -> Progress<T> {
        Progress { io, state: self.0.clone() }
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
    /// After the GOAWAY: the byte count last seen, and since when it has not moved.
    written_seen: u64,
    quiet_since: Instant,
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
                Some(goaway) => {
                    // hyper lets go of a response body (and its `InFlight`) once h2 has taken
                    // the last chunk, which h2 may still be sending to a slow reader: while
                    // bytes keep going out, the connection is not idle.
                    let written = self.state.written.load(Ordering::Acquire);
                    if written != self.written_seen {
                        self.written_seen = written;
                        self.quiet_since = now;
                    }
                    goaway.max(idle_since).max(self.quiet_since) + GOAWAY_GRACE
                }
            };
            if now < deadline {
                self.sleep.as_mut().reset(deadline);
                continue;
            }
            if self.goaway_at.is_some() {
                return Poll::Ready(IdleStep::Drop);
            }
            self.goaway_at = Some(now);
            self.quiet_since = now;
            self.sleep.as_mut().reset(now + GOAWAY_GRACE);
            // Register for the new deadline before returning (a reset timer has no waker).
            let _ = self.sleep.as_mut().poll(cx);
            return Poll::Ready(IdleStep::GoAway);
        }
    }

    /// After the GOAWAY has been written: the bytes so far are the GOAWAY's, not a download's.
    fn settle(&mut self) {
        self.written_seen = self.state.written.load(Ordering::Acquire);
    }
}

/// An HTTP/2 connection's I/O, counting the bytes written (for [`IdleWatch`]).
pub(crate) struct Progress<T> {
    io: T,
    state: Arc<IdleState>,
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Progress<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Progress<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.count(&written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.count(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl<T> Progress<T> {
    fn count(&self, written: &Poll<std::io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = written {
            self.state.written.fetch_add(*n as u64, Ordering::Relaxed);
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

    /// A connection that ends a moment after its graceful shutdown is asked for.
    struct Conn {
        asked: Option<Pin<Box<Sleep>>>,
        ended: Arc<AtomicBool>,
    }

    impl Future for Conn {
        type Output = Result<(), ()>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            match &mut self.asked {
                Some(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    self.ended.store(true, Ordering::Release);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            }
        }
    }

    fn conn() -> (Conn, Arc<AtomicBool>) {
        let ended = Arc::new(AtomicBool::new(false));
        (Conn { asked: None, ended: ended.clone() }, ended)
    }

    fn ask(mut conn: Pin<&mut Conn>) {
        conn.asked = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
    }

    #[tokio::test]
    async fn drain_signals_every_connection_and_waits_for_them() {
        let drain = Drain::new();
        let (running, running_ended) = conn();
        let running = tokio::spawn(drain.watcher().watch(running, ask, None));
        // A connection still opening when the drain starts (its first poll comes after).
        let (opening, opening_ended) = conn();
        let opening_watcher = drain.watcher();
        tokio::task::yield_now().await;
        let started = tokio::spawn(drain.start());
        tokio::task::yield_now().await;
        assert!(!started.is_finished(), "the drain waits for the connections");
        let opening = tokio::spawn(opening_watcher.watch(opening, ask, None));
        tokio::time::timeout(Duration::from_secs(5), started).await.expect("drained").expect("join");
        assert!(running_ended.load(Ordering::Acquire) && opening_ended.load(Ordering::Acquire));
        assert!(running.await.expect("join").is_ok() && opening.await.expect("join").is_ok());
    }

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
