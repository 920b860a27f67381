//! HTTP/2 idle connections: hyper's HTTP/1 header read timeout also closes an idle keep-alive
//! connection, but hyper's HTTP/2 server has no idle or header timeout at all. A client that
//! sends the preface and then nothing, or a HEADERS frame without END_HEADERS, would hold its
//! connection (a file descriptor, buffers) forever, and PING keep-alive doesn't help against a
//! client that answers pings.
//!
//! [`Idle`] counts an HTTP/2 connection's requests in flight (from the service call until the
//! response body is dropped, [`Tracked`]); when none has been in flight for the timeout, the
//! connection gets a graceful GOAWAY (h2 still finishes the streams it has), and if the client
//! has still not closed it and nothing has been written to it ([`Progress`]) for
//! [`GOAWAY_GRACE`] (an unfinished header block, or a client that never answers the GOAWAY's
//! PING), it is dropped. [`crate::drain::Watched`] acts on the [`IdleStep`]s.
//!
//! Limitation: an HTTP/2 CONNECT tunnel (extended CONNECT, `hyper::upgrade::on`) counts as idle
//! once its 2xx head is sent, and is closed with the connection. brisk's WebSockets are HTTP/1.1
//! upgrades, which this does not touch.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::future::Future;
use tokio::time::{Instant, Sleep};

/// How long an HTTP/2 client has, after an idle GOAWAY, to close the connection itself.
pub(crate) const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// The shortest idle timeout the watch uses.
const MIN_PERIOD: Duration = Duration::from_millis(10);

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
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<IdleStep> {
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
    pub(crate) fn settle(&mut self) {
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

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_does_not_spin_while_a_request_is_in_flight() {
        let idle = Idle::new();
        let mut watch = idle.watch(Duration::ZERO);
        let _guard = idle.request();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        tokio::time::advance(Duration::from_millis(50)).await;
        // Returns (Pending) instead of re-arming the timer at `now` forever.
        assert!(watch.poll(&mut cx).is_pending());
    }
}
