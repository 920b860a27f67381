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
//! Every answer written during a pump poll is gathered, the first one too: a pipelined batch
//! then leaves in one `write` (sending the first answer at once made two, and each loopback
//! write also costs the wake-up of the reader; pipelined `/json` went from 1.71 to 1.46 µs of
//! server CPU a request). A client that does not pipeline pays a copy of its one answer
//! (a few hundred bytes), not another syscall. Answers over [`MAX_GATHERED`] go straight to the
//! socket. Outside a pump poll (an upgraded WebSocket writing from its own task) every write
//! goes straight through, in order with anything still gathered.

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

/// A drained buffer larger than this is given back (a batch of 16 small answers needs ~3 KiB).
const KEPT_CAPACITY: usize = 16 * 1024;

struct Out {
    write: OwnedWriteHalf,
    gathered: Vec<u8>,
    /// Why sending what was gathered failed: every later write reports it.
    failed: Option<io::ErrorKind>,
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
        if let Poll::Ready(Err(e)) = &result {
            // The peer is gone: what is left can never be delivered, and the connection's next
            // write must fail too (it would otherwise be gathered as if it had gone out).
            self.gathered.clear();
            self.failed = Some(e.kind());
        }
        if self.gathered.is_empty() && self.gathered.capacity() > KEPT_CAPACITY {
            // One large answer must not cost an idle keep-alive connection its size for life.
            self.gathered = Vec::new();
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
            out: Mutex::new(Out { write, gathered: Vec::new(), failed: None }),
            in_poll: AtomicBool::new(false),
        });
        (BatchedIo { read, shared: shared.clone() }, PumpMaker(shared))
    }

    fn poll_gather(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let mut out = self.shared.out();
        if let Some(kind) = out.failed {
            return Poll::Ready(Err(kind.into()));
        }
        if self.shared.in_poll.load(Ordering::Acquire) && out.gathered.len() + len <= MAX_GATHERED {
            out.gathered.reserve(len);
            for buf in bufs {
                out.gathered.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(len));
        }
        // Large output, or no pump: send what is gathered (to keep the order), then write
        // through as a plain socket would.
        ready!(out.poll_drain(cx))?;
        Pin::new(&mut out.write).poll_write_vectored(cx, bufs)
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
            // A write error shows up in the connection's own next write (`Out::failed`), or it
            // has ended.
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
        Pin::new(&mut self.get_mut().read).poll_read(cx, buf)
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

    /// Yes: hyper then hands over each head and body as slices (its "queue" strategy). Its
    /// "flatten" strategy, which `false` picks, costs ~450 fewer instructions a request but
    /// copies every body chunk into a buffer hyper keeps per connection and never shrinks: one
    /// 8 MiB download left 8 MiB on that keep-alive connection for life.
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use tokio::net::TcpListener;

    /// A served stream, and its peer as a plain non-blocking socket: a read of the peer asks the
    /// kernel itself what has arrived (tokio's `try_read` answers from its readiness cache).
    async fn pair() -> (TcpStream, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let peer = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        peer.set_nonblocking(true).expect("non-blocking");
        (listener.accept().await.expect("accept").0, peer)
    }

    /// Whatever the peer has received by now.
    fn received(peer: &mut std::net::TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0; 256];
        loop {
            match peer.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return got,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Writes each of `answers` during one poll, then notes what the peer had received.
    struct WriteAll<'a> {
        io: BatchedIo,
        answers: &'a [&'a [u8]],
        peer: &'a mut std::net::TcpStream,
        seen_during_poll: Option<Vec<u8>>,
    }

    impl Future for WriteAll<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let this = self.get_mut();
            for answer in this.answers {
                let mut rest: &[u8] = answer;
                while !rest.is_empty() {
                    match Pin::new(&mut this.io).poll_write(cx, rest) {
                        Poll::Ready(Ok(n)) if n > 0 => rest = &rest[n..],
                        other => panic!("the write did not complete: {other:?}"),
                    }
                }
            }
            this.seen_during_poll = Some(received(this.peer));
            Poll::Ready(())
        }
    }

    /// Reads from the peer until `len` bytes have come (or 5 s pass).
    async fn read_len(peer: &mut std::net::TcpStream, len: usize) -> Vec<u8> {
        let mut got = Vec::new();
        for _ in 0..500 {
            got.extend(received(peer));
            if got.len() >= len {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        got
    }

    #[tokio::test]
    async fn answers_written_in_one_poll_leave_together_at_its_end() {
        let (server, mut peer) = pair().await;
        let (io, pump) = BatchedIo::new(server);
        let answers: [&[u8]; 3] = [b"first ", b"second ", b"third"];
        let mut writer = WriteAll { io, answers: &answers, peer: &mut peer, seen_during_poll: None };
        pump.pump(&mut writer, None).await;
        // Nothing, not even the first answer, went out while the connection was being polled.
        assert_eq!(writer.seen_during_poll, Some(Vec::new()));
        assert_eq!(read_len(&mut peer, 18).await, b"first second third");
    }

    #[tokio::test]
    async fn a_large_gathered_answer_does_not_keep_its_buffer() {
        let (server, mut peer) = pair().await;
        let (io, pump) = BatchedIo::new(server);
        let shared = io.shared.clone();
        let large = vec![b'y'; MAX_GATHERED - 1];
        let answers: [&[u8]; 1] = [&large];
        let mut writer = WriteAll { io, answers: &answers, peer: &mut peer, seen_during_poll: None };
        pump.pump(&mut writer, None).await;
        assert_eq!(read_len(&mut peer, large.len()).await.len(), large.len());
        let out = shared.out();
        assert!(out.gathered.is_empty());
        assert!(out.gathered.capacity() <= KEPT_CAPACITY, "kept {} bytes", out.gathered.capacity());
    }

    /// Writes `chunks` to `io`, one per poll of its pump (each its own batch).
    struct OnePerPoll {
        io: BatchedIo,
        chunks: Vec<Vec<u8>>,
        next: usize,
        offset: usize,
    }

    impl Future for OnePerPoll {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let this = self.get_mut();
            while let Some(chunk) = this.chunks.get(this.next) {
                match Pin::new(&mut this.io).poll_write(cx, &chunk[this.offset..]) {
                    Poll::Ready(Ok(n)) => {
                        this.offset += n;
                        if this.offset == chunk.len() {
                            (this.next, this.offset) = (this.next + 1, 0);
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                    Poll::Ready(Err(e)) => panic!("write: {e}"),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Ready(())
        }
    }

    fn numbered_chunks(count: usize, size: usize, tag: u8) -> Vec<Vec<u8>> {
        (0..count).map(|i| (0..size).map(|j| tag ^ ((i * 7 + j) % 251) as u8).collect()).collect()
    }

    #[tokio::test]
    async fn a_full_socket_keeps_what_waits_in_order_and_other_connections_are_not_mixed_in() {
        let (server_a, mut peer_a) = pair().await;
        let (server_b, mut peer_b) = pair().await;
        let (io_a, pump_a) = BatchedIo::new(server_a);
        let (io_b, pump_b) = BatchedIo::new(server_b);
        let shared_a = io_a.shared.clone();
        // 8 MiB to A, more than the socket buffers hold while its peer reads nothing.
        let to_a = numbered_chunks(256, 32 * 1024, 0);
        let to_b = numbered_chunks(8, 1000, 0x5a);
        let (expected_a, expected_b) = (to_a.concat(), to_b.concat());
        let writer_a = OnePerPoll { io: io_a, chunks: to_a, next: 0, offset: 0 };
        let writer_b = OnePerPoll { io: io_b, chunks: to_b, next: 0, offset: 0 };
        let read_a = async {
            // A stalls first; B is served on this same thread meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let waiting = shared_a.out().gathered.len();
            (waiting, read_len(&mut peer_a, expected_a.len()).await)
        };
        let (_, _, (waiting, got_a), got_b) = tokio::join!(
            pump_a.pump(writer_a, None),
            pump_b.pump(writer_b, None),
            read_a,
            read_len(&mut peer_b, expected_b.len()),
        );
        assert!(waiting > 0, "A's socket never filled: the test did not test what waits");
        assert!(got_b == expected_b, "B got {} bytes, not its own", got_b.len());
        assert!(got_a == expected_a, "A got {} bytes of {}, or out of order", got_a.len(), expected_a.len());
    }

    #[tokio::test]
    async fn once_sending_fails_every_later_write_fails_too() {
        let (server, peer) = pair().await;
        let (io, pump) = BatchedIo::new(server);
        let shared = io.shared.clone();
        drop(peer);
        // One batch per poll to a peer that is gone: the kernel takes the first and hears a
        // reset, sending a later one fails. From then on a write must report the failure, not
        // be gathered as if it had gone out.
        let mut writer = OnePerPoll { io, chunks: vec![vec![b'x'; 1000]; 200], next: 0, offset: 0 };
        let conn = std::future::poll_fn(|cx| {
            if shared.out().failed.is_some() {
                return Pin::new(&mut writer.io).poll_write(cx, b"late");
            }
            Pin::new(&mut writer).poll(cx).map(|()| Ok(0))
        });
        let late = tokio::time::timeout(std::time::Duration::from_secs(5), pump.pump(conn, None)).await;
        match late {
            Ok(Err(e)) => assert!(
                matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset),
                "{e:?}"
            ),
            other => panic!("no write failed, or a write after the failure did not: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_write_outside_a_pump_poll_goes_straight_out() {
        let (server, mut peer) = pair().await;
        let (mut io, _pump) = BatchedIo::new(server);
        tokio::io::AsyncWriteExt::write_all(&mut io, b"upgraded").await.expect("write");
        assert_eq!(read_len(&mut peer, 8).await, b"upgraded");
    }

    #[tokio::test]
    async fn an_answer_too_large_to_gather_goes_straight_out_after_what_was_gathered() {
        let (server, mut peer) = pair().await;
        let (io, pump) = BatchedIo::new(server);
        let large = vec![b'x'; MAX_GATHERED];
        let answers: [&[u8]; 2] = [b"small ", &large];
        let mut writer = WriteAll { io, answers: &answers, peer: &mut peer, seen_during_poll: None };
        pump.pump(&mut writer, None).await;
        let seen = writer.seen_during_poll.unwrap_or_default();
        assert!(seen.starts_with(b"small x"), "the large answer was held back, or came first");
        let mut all = seen;
        all.extend(read_len(&mut peer, 6 + MAX_GATHERED - all.len()).await);
        assert_eq!(all.len(), 6 + MAX_GATHERED);
    }
}
