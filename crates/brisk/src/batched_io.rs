//! Write batching for pipelined HTTP/1.1: responses a connection produces back to back, without
//! reading in between, are gathered and sent with one syscall when its task's poll ends.
//!
//! hyper flushes after every response, so a client that pipelines sixteen requests gets
//! sixteen `write`s. hyper's own `pipeline_flush` option batches them, but skips the flush
//! whenever unread input is buffered — and when the connection then closes (a 413 answered
//! while the rest of the body is still unread) the queued response is dropped unsent. Here the
//! deferral is bounded by the poll instead: [`Pump`] polls the connection, then writes out
//! whatever it gathered, so nothing waits for more input and nothing is left behind.
//!
//! The first write after a read goes straight to the socket, so a client that does not
//! pipeline pays no copy: only the second and later answers to one read are gathered. Outside a
//! pump poll (an upgraded WebSocket writing from its own task) every write goes straight
//! through, in order with anything still gathered.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::header_clock::{Alarm, Clock};

/// Above this many gathered bytes, writes go to the socket instead of the buffer.
const MAX_GATHERED: usize = 64 * 1024;

struct Out {
    write: OwnedWriteHalf,
    gathered: Vec<u8>,
}

impl Out {
    /// Writes out everything gathered; `Pending` (with the waker registered) while the
    /// socket is full.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut sent = 0;
        let result = loop {
            if sent == self.gathered.len() {
                break Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.write).poll_write(cx, &self.gathered[sent..]) {
                Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => sent += n,
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        self.gathered.drain(..sent);
        if let Poll::Ready(Err(_)) = result {
            // The peer is gone: what is left can never be delivered.
            self.gathered.clear();
        }
        result
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        // Normally empty: the pump drains after every poll. Whatever is left goes out if the
        // socket takes it now; nothing can wait any more.
        let mut sent = 0;
        while sent < self.gathered.len() {
            match self.write.try_write(&self.gathered[sent..]) {
                Ok(n) if n > 0 => sent += n,
                _ => break,
            }
        }
    }
}

struct Shared {
    out: Mutex<Out>,
    /// True while [`Pump`] is polling the connection: gathered output may wait for the poll's end.
    in_poll: AtomicBool,
}

impl Shared {
    fn out(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TCP stream whose back-to-back writes are gathered while its [`Pump`] polls the connection.
pub(crate) struct BatchedIo {
    read: OwnedReadHalf,
    shared: Arc<Shared>,
    /// Whether something was written since the last read: the next write is a second answer.
    wrote_since_read: bool,
}

/// Makes the [`Pump`] of one [`BatchedIo`].
pub(crate) struct PumpMaker(Arc<Shared>);

/// Wraps `conn`, the connection future serving a `BatchedIo`, so its writes go out once per poll.
pub(crate) struct Pump<F: Future> {
    conn: Pin<Box<F>>,
    shared: Arc<Shared>,
    done: Option<F::Output>,
    /// The connection's header-timeout clock and its one real timer.
    clock: Option<(Arc<Clock>, Alarm)>,
}

impl BatchedIo {
    /// Wraps `stream`; the maker wraps the connection future that will serve it.
    pub(crate) fn new(stream: TcpStream) -> (Self, PumpMaker) {
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            out: Mutex::new(Out { write, gathered: Vec::new() }),
            in_poll: AtomicBool::new(false),
        });
        (BatchedIo { read, shared: shared.clone(), wrote_since_read: false }, PumpMaker(shared))
    }

    fn poll_gather(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let mut out = self.shared.out();
        let second_answer = self.wrote_since_read || !out.gathered.is_empty();
        if self.shared.in_poll.load(Ordering::Acquire)
            && second_answer
            && out.gathered.len() + len <= MAX_GATHERED
        {
            out.gathered.reserve(len);
            for buf in bufs {
                out.gathered.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(len));
        }
        // The first answer to a read, large output, or no pump: send what is gathered (to keep
        // the order), then write through as a plain socket would.
        ready!(out.poll_drain(cx))?;
        let written = ready!(Pin::new(&mut out.write).poll_write_vectored(cx, bufs))?;
        self.wrote_since_read = true;
        Poll::Ready(Ok(written))
    }
}

impl PumpMaker {
    /// The pump for `conn`, the connection future serving the stream; it also keeps the alarm
    /// of `clock`, the connection's header-timeout clock.
    pub(crate) fn pump<F: Future>(self, conn: F, clock: Option<Arc<Clock>>) -> Pump<F> {
        Pump { conn: Box::pin(conn), shared: self.0, done: None, clock: clock.map(|c| (c, Alarm::default())) }
    }
}

impl<F: Future> Future for Pump<F>
where
    F::Output: Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if this.done.is_none() {
            this.shared.in_poll.store(true, Ordering::Release);
            let polled = this.conn.as_mut().poll(cx);
            this.shared.in_poll.store(false, Ordering::Release);
            if let Poll::Ready(output) = polled {
                this.done = Some(output);
            }
        }
        let drained = {
            let mut out = this.shared.out();
            if out.gathered.is_empty() {
                Poll::Ready(Ok(()))
            } else {
                out.poll_drain(cx)
            }
        };
        match (drained, this.done.take()) {
            (Poll::Pending, done) => {
                this.done = done;
                Poll::Pending
            }
            // A write error shows up in the connection's own next write, or it has ended.
            (Poll::Ready(_), Some(output)) => Poll::Ready(output),
            (Poll::Ready(_), None) => {
                if let Some((clock, alarm)) = &mut this.clock {
                    if alarm.poll(clock, cx).is_ready() {
                        // A header deadline has come: poll the connection again to see it.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for BatchedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.read).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.wrote_since_read = false;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for BatchedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_gather(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_gather(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shared.in_poll.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        self.shared.out().poll_drain(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.shared.out();
        ready!(out.poll_drain(cx))?;
        Pin::new(&mut out.write).poll_shutdown(cx)
    }
}
