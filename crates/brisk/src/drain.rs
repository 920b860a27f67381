//! The server's drain signal: on shutdown every connection is told to finish its in-flight
//! requests and close, and the server waits until all have.
//!
//! hyper-util's `GracefulShutdown` does this too, but its connection trait is sealed, so it can't
//! wrap a connection that also closes itself when idle ([`IdleWatch`]); and its check is a tokio
//! `watch` future, which takes a lock on every poll. [`Watched`] does both jobs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::watch;

use crate::h2_idle::{IdleStep, IdleWatch};

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
        // The connection first: a request already waiting in the socket is taken in (and
        // counted in flight) before the drain or the idle watch looks. Shut down first, hyper
        // closes a connection that has not read its first request yet as idle: one accepted
        // just before a drain, its request in the socket, ended unanswered (`brisk dev`'s
        // restart test caught 1 request in 456 so).
        if let Poll::Ready(ended) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(ended);
        }
        if !this.shut && this.watcher.draining(cx) {
            this.shut_down();
            if let Poll::Ready(ended) = this.conn.as_mut().poll(cx) {
                return Poll::Ready(ended);
            }
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

#[cfg(test)]
mod tests {
    use std::task::ready;
    use std::time::Duration;

    use tokio::time::Sleep;

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

    /// A connection whose request is already waiting when the drain begins, before its first
    /// poll (accepted just before the shutdown): the request is answered, then it closes.
    #[tokio::test]
    async fn a_request_waiting_when_the_drain_begins_is_answered() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(4096);
        client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request sent");
        let drain = Drain::new();
        let watcher = drain.watcher();
        let service = hyper::service::service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(b"answered"),
            )))
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let started = tokio::spawn(drain.start());
        tokio::task::yield_now().await;
        let served = tokio::spawn(watcher.watch(conn, |c| c.graceful_shutdown(), None));
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer))
            .await
            .expect("the connection closes")
            .expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(answer.ends_with("answered"), "{answer:?}");
        assert!(served.await.expect("join").is_ok());
        tokio::time::timeout(Duration::from_secs(5), started).await.expect("drained").expect("join");
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
}
