//! Write batching for pipelined HTTP/1.1: what a connection writes during one poll of its task
//! is gathered and sent with one syscall when that poll ends.
//!
//! hyper flushes after every response, so a client that pipelines sixteen requests gets
//! sixteen `write`s. hyper's own `pipeline_flush` option batches them, but skips the flush
//! whenever unread input is buffered — and when the connection then closes (a 413 answered
//! while the rest of the body is still unread) the queued response is dropped unsent. Here the
//! deferral is bounded by the poll instead: [`Pump`] polls the connection, then writes out
//! whatever it gathered, so nothing waits for more input and nothing is left behind.
//!
//! Outside a pump poll (an upgraded WebSocket writing from its own task) writes and flushes go
//! through at once, in order with anything still gathered.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Above this many gathered bytes, writes go to the socket instead of the buffer.
const MAX_GATHERED: usize = 64 * 1024;

struct Shared {
    stream: TcpStream,
    gathered: Mutex<Vec<u8>>,
    /// True while [`Pump`] is polling the connection: flushes may wait for the poll's end.
    in_poll: AtomicBool,
}

impl Shared {
    fn gathered(&self) -> MutexGuard<'_, Vec<u8>> {
        self.gathered.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes out everything gathered; `Pending` (with the waker registered) while the
    /// socket is full.
    fn poll_drain(&self, gathered: &mut Vec<u8>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut sent = 0;
        let result = loop {
            if sent == gathered.len() {
                break Poll::Ready(Ok(()));
            }
            match self.stream.try_write(&gathered[sent..]) {
                Ok(0) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.stream.poll_write_ready(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                    Poll::Pending => break Poll::Pending,
                },
                Err(e) => break Poll::Ready(Err(e)),
            }
        };
        gathered.drain(..sent);
        if let Poll::Ready(Err(_)) = result {
            // The peer is gone: what is left can never be delivered.
            gathered.clear();
        }
        result
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Normally empty: the pump drains after every poll. Whatever is left goes out if the
        // socket takes it now; nothing can wait any more.
        let gathered = self.gathered.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut sent = 0;
        while sent < gathered.len() {
            match self.stream.try_write(&gathered[sent..]) {
                Ok(n) if n > 0 => sent += n,
                _ => break,
            }
        }
    }
}

/// A TCP stream whose writes are gathered while its [`Pump`] polls the connection.
pub(crate) struct BatchedIo(Arc<Shared>);

/// Wraps `conn`, the connection future serving `BatchedIo`, so its writes go out once per poll.
pub(crate) struct Pump<F: Future> {
    conn: Pin<Box<F>>,
    shared: Arc<Shared>,
    done: Option<F::Output>,
}

/// Makes the [`Pump`] of one [`BatchedIo`].
pub(crate) struct PumpMaker(Arc<Shared>);

impl BatchedIo {
    /// Wraps `stream`; the maker wraps the connection future that will serve it.
    pub(crate) fn new(stream: TcpStream) -> (Self, PumpMaker) {
        let shared =
            Arc::new(Shared { stream, gathered: Mutex::new(Vec::new()), in_poll: AtomicBool::new(false) });
        (BatchedIo(shared.clone()), PumpMaker(shared))
    }
}

impl PumpMaker {
    /// The pump for `conn`, the connection future serving the stream.
    pub(crate) fn pump<F: Future>(self, conn: F) -> Pump<F> {
        Pump { conn: Box::pin(conn), shared: self.0, done: None }
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
            let mut gathered = this.shared.gathered();
            this.shared.poll_drain(&mut gathered, cx)
        };
        match (drained, this.done.take()) {
            (Poll::Pending, done) => {
                this.done = done;
                Poll::Pending
            }
            // A write error shows up in the connection's own next write, or it has ended.
            (Poll::Ready(_), Some(output)) => Poll::Ready(output),
            (Poll::Ready(_), None) => Poll::Pending,
        }
    }
}

impl AsyncRead for BatchedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.stream.poll_read_ready(cx))?;
            match self.0.stream.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl BatchedIo {
    fn poll_gather(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let mut gathered = self.0.gathered();
        let in_poll = self.0.in_poll.load(Ordering::Acquire);
        if !in_poll || gathered.len() + len > MAX_GATHERED {
            // Not under a pump (an upgraded connection writes from its own task), or large
            // output: send what is gathered, then write through as a plain socket would.
            ready!(self.0.poll_drain(&mut gathered, cx))?;
            if !in_poll || len > MAX_GATHERED {
                return loop {
                    match self.0.stream.try_write_vectored(bufs) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            ready!(self.0.stream.poll_write_ready(cx))?;
                        }
                        result => break Poll::Ready(result),
                    }
                };
            }
        }
        gathered.reserve(len);
        for buf in bufs {
            gathered.extend_from_slice(buf);
        }
        Poll::Ready(Ok(len))
    }
}

impl AsyncWrite for BatchedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_gather(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_gather(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.0.in_poll.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        let mut gathered = self.0.gathered();
        self.0.poll_drain(&mut gathered, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        {
            let mut gathered = self.0.gathered();
            ready!(self.0.poll_drain(&mut gathered, cx))?;
        }
        Poll::Ready(socket2::SockRef::from(&self.0.stream).shutdown(std::net::Shutdown::Write))
    }
}
