//! Streaming a query's rows ([`QuerySet::stream`](crate::QuerySet::stream)) without letting
//! a consumer that stops reading hold up anyone else's queries.
//!
//! - SQLite, outside a transaction: a reader thread reads the rows into a bounded channel and
//!   waits while the consumer is slow; the other readers serve everyone else.
//! - PostgreSQL, outside a transaction: the rows come on a dedicated connection from the
//!   transaction pool, not on the shared pipelined one. A driver connection reads its
//!   answers in order, so rows nobody reads would fill its socket and stall every query
//!   queued behind them on that connection.
//! - In a transaction (both backends): the transaction has one connection (SQLite: the
//!   writer), and its next statement must not wait behind a stream the same code has not
//!   finished reading. The rows are read as they come and the ones not yet consumed wait in
//!   memory.

use std::future::Future;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::Connection;
use tokio::sync::mpsc;

use super::postgres::{PgPool, Ungated};
use super::{sqlite_params, Reader, Sql};
use crate::error::{from_pg, from_sqlite, Error};
use crate::transaction::WeakTransaction;
use crate::value::{RowRef, Value};

/// A stream of one error.
pub(crate) fn failed<R: Send + 'static>(e: Error) -> BoxStream<'static, Result<R, Error>> {
    Box::pin(stream::once(async move { Err(e) }))
}

/// How many rows a SQLite thread may read ahead of the consumer.
pub(crate) enum Buffer {
    /// 64 rows, then the thread waits (a reader thread of the pool's).
    Bounded,
    /// As many as come (the writer, in a transaction whose next statement must not wait).
    Unbounded,
}

/// The sending half of a stream's rows, for a database thread.
enum Sending<T> {
    Bounded(mpsc::Sender<T>),
    Unbounded(mpsc::UnboundedSender<T>),
}

impl<T> Sending<T> {
    /// Sends one row, waiting for room when bounded; false when the consumer is gone.
    fn send(&self, item: T) -> bool {
        match self {
            Sending::Bounded(tx) => tx.blocking_send(item).is_ok(),
            Sending::Unbounded(tx) => tx.send(item).is_ok(),
        }
    }
}

/// The receiving half, for the consumer.
enum Arrivals<T> {
    Bounded(mpsc::Receiver<T>),
    Unbounded(mpsc::UnboundedReceiver<T>),
}

impl<T> Arrivals<T> {
    async fn recv(&mut self) -> Option<T> {
        match self {
            Arrivals::Bounded(rx) => rx.recv().await,
            Arrivals::Unbounded(rx) => rx.recv().await,
        }
    }

    fn into_stream(self) -> impl futures_util::Stream<Item = T>
    where
        T: Send,
    {
        stream::unfold(self, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
    }
}

/// The sending half, in the job: a job dropped before it ran (its transaction's lease ended
/// with the job still in line, or the threads stopped) says so with `unrun`'s error, instead
/// of ending the stream as if it had no rows.
struct RowsOut<T> {
    tx: Sending<Result<T, Error>>,
    ran: bool,
    unrun: fn() -> Error,
}

impl<T> Drop for RowsOut<T> {
    fn drop(&mut self) {
        if !self.ran {
            // Nothing was sent yet, so there is room: never waits (this may run in a task).
            match &self.tx {
                Sending::Bounded(tx) => drop(tx.try_send(Err((self.unrun)()))),
                Sending::Unbounded(tx) => drop(tx.send(Err((self.unrun)()))),
            }
        }
    }
}

/// Sends a job (by `spawn`) that reads the rows into a channel, and yields what arrives; a
/// job dropped unrun yields `unrun`'s error.
pub(crate) fn sqlite<R: Send + 'static>(
    spawn: impl FnOnce(Box<dyn FnOnce(&mut Connection) + Send>) -> Result<(), Error>,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R>,
    buffer: Buffer,
    unrun: fn() -> Error,
) -> BoxStream<'static, Result<R, Error>> {
    let (tx, rx) = match buffer {
        Buffer::Bounded => {
            let (tx, rx) = mpsc::channel::<Result<R, Error>>(64);
            (Sending::Bounded(tx), Arrivals::Bounded(rx))
        }
        Buffer::Unbounded => {
            let (tx, rx) = mpsc::unbounded_channel::<Result<R, Error>>();
            (Sending::Unbounded(tx), Arrivals::Unbounded(rx))
        }
    };
    let mut out = RowsOut { tx, ran: false, unrun };
    let work = move |conn: &mut Connection| {
        out.ran = true;
        let tx = &out.tx;
        let run = || -> Result<(), Error> {
            let mut statement = conn.prepare_cached(&sql).map_err(from_sqlite)?;
            let mut rows = statement.query(sqlite_params(&values)).map_err(from_sqlite)?;
            while let Some(row) = rows.next().map_err(from_sqlite)? {
                if !tx.send(read(&RowRef::sqlite_row(row))) {
                    return Ok(()); // the consumer left: stop reading
                }
            }
            Ok(())
        };
        if let Err(e) = run() {
            tx.send(Err(e));
        }
    };
    match spawn(Box::new(work)) {
        Ok(()) => Box::pin(rx.into_stream()),
        Err(e) => failed(e),
    }
}

/// Rows from a SQLite transaction's writer, sent once the writer has begun it (a stream's
/// work is sent without waiting for an answer, so it cannot wait for the beginning itself),
/// into memory as they are read. Like [`pg_drained`] it holds the transaction weakly until
/// its first poll.
pub(crate) fn sqlite_in_transaction<R: Send + 'static>(
    tx: WeakTransaction,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R>,
) -> BoxStream<'static, Result<R, Error>> {
    let started = async move {
        let tx = match tx.upgrade() {
            Ok(tx) => tx,
            Err(e) => return failed(e),
        };
        match tx.sqlite_begun().await {
            Ok(()) => sqlite(
                |work| tx.spawn_sqlite(work),
                sql,
                values,
                read,
                Buffer::Unbounded,
                crate::transaction::ended,
            ),
            Err(e) => failed(e),
        }
    };
    Box::pin(stream::once(started).flatten())
}

/// Rows from a dedicated connection of `pool`'s (waiting for one within the acquire timeout,
/// as a transaction does). A stream read to its end, or ended by the server's `ERROR` (which
/// leaves the connection ready), gives the connection back. One dropped before, or ended by a
/// broken connection, keeps its place in the pool until its query is cancelled and what the
/// server sent is thrown away, then closes the connection (see [`Leased`]), also when dropped
/// before the server's first answer.
pub(crate) fn pg_leased<R: Send + 'static>(
    pool: Arc<PgPool>,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R> + Sync,
) -> BoxStream<'static, Result<R, Error>> {
    Box::pin(
        stream::once(async move {
            let lease = match pool.lease().await {
                Ok(lease) => lease,
                Err(e) => return failed(e),
            };
            // Held from before the query goes out: dropped while it is on its way (before the
            // server's first answer), the stream has it cancelled as one dropped later does,
            // instead of leaving it running on a server backend nobody reads.
            let conn = lease.conn.clone();
            let mut leased = Leased { rows: None, lease: Some(lease) };
            match conn.query_stream(&Sql::Built(sql), values, &Ungated).await {
                Ok(rows) => leased.rows = Some(Box::pin(rows)),
                Err(e) => {
                    // The query failed before any row (a bad value, say): the connection is
                    // idle again and goes back.
                    leased.finish();
                    return failed(e);
                }
            }
            Box::pin(stream::unfold(Some((leased, read)), |state| async move {
                let (mut leased, read) = state?;
                match leased.rows.as_mut()?.next().await {
                    Some(Ok(row)) => Some((read(&RowRef::postgres_row(&row)), Some((leased, read)))),
                    // The driver repeats an error (a closed connection) forever: it is the last
                    // item. A server's error (division by zero in the 500th row, say) ended the
                    // query and left the connection ready for the next: it goes back.
                    Some(Err(e)) => {
                        if e.as_db_error().is_some_and(|db| db.severity() == "ERROR") {
                            leased.finish();
                        }
                        Some((Err(from_pg(e)), None))
                    }
                    None => {
                        leased.finish();
                        None
                    }
                }
            })) as BoxStream<'static, Result<R, Error>>
        })
        .flatten(),
    )
}

/// How long a stream dropped early may take to cancel its query and read what was sent
/// before its connection is closed anyway.
const CLEANUP: std::time::Duration = std::time::Duration::from_secs(10);

/// A leased connection and the rows of the query running on it (`None` until the server's
/// first answer).
struct Leased {
    rows: Option<std::pin::Pin<Box<tokio_postgres::RowStream>>>,
    lease: Option<super::postgres::PgLease>,
}

impl Leased {
    /// Every row was read, or the server ended the query with an error: the connection is
    /// idle and goes back to the pool.
    fn finish(&mut self) {
        self.rows = None;
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
    }
}

impl Drop for Leased {
    /// The query not finished (its answer not begun, or rows still coming): cancel it (again
    /// after 1, 3 and 7 s while it is not seen to end), read what the server already sent,
    /// then close the connection and free its place in the pool (dropped at once, the driver
    /// would read the whole result anyway while a new connection took its place, and a query
    /// not answered yet would run on, for nobody: the server notices a closed connection only
    /// when it sends a row). Its place stays taken until then, up to [`CLEANUP`] (a pool
    /// whose every place is held so may answer `PoolTimeout` meanwhile); past that the
    /// connection's task is stopped, which closes its socket. Never reused: a late cancel
    /// could stop the next query on it.
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else { return };
        let mut rows = self.rows.take();
        if lease.conn.is_closed() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        // The schedule counts from now, however late the task below first runs.
        let dropped = tokio::time::Instant::now();
        runtime.spawn(async move {
            let token = lease.conn.cancel_token();
            // The query has ended when its rows do (the rest of them, or the cancel's error),
            // or, its answer not begun, when a statement written after it is answered.
            let ended = async {
                match rows.as_mut() {
                    Some(rows) => while let Some(Ok(_)) = rows.next().await {},
                    None => {
                        let _ = lease.conn.batch("", &Ungated).await;
                    }
                }
            };
            let cancel = || {
                let token = token.clone();
                async move {
                    let _ = token.cancel_query(tokio_postgres::NoTls).await;
                }
            };
            // Bounded: a cancel that never arrives (a proxy that does not pass it on) must not
            // hold the pool's place while the rest of a large result is read.
            let cleanup = cancel_until_ended(ended, cancel, dropped, &CANCEL_AT);
            if tokio::time::timeout(CLEANUP, cleanup).await.is_err() {
                lease.conn.close_now();
            }
            drop(lease);
        });
    }
}

/// When a stream dropped early sends its cancel, after the drop: a cancel that reaches the
/// server before its backend began the query (still reading it: a busy machine) is ignored
/// there, so it is sent again while the query is not seen to end, less often each time (each
/// is a connection the server forks a process for).
const CANCEL_AT: [std::time::Duration; 4] = [
    std::time::Duration::ZERO,
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(3),
    std::time::Duration::from_secs(7),
];

/// Sends `cancel` at each time of `schedule` (from `start`) until `ended` completes; `ended` is
/// polled all along (rows keep being drained while a cancel connects), and a send still
/// connecting at the next time is dropped for the next one (a cancel has no timeout of its
/// own), as is a send whose next time has already come (a task that started late sends the
/// latest one due, at once). Unbounded once the schedule is spent: the caller bounds it.
async fn cancel_until_ended<C, F>(
    ended: impl Future<Output = ()>,
    mut cancel: C,
    start: tokio::time::Instant,
    schedule: &[std::time::Duration],
) where
    C: FnMut() -> F,
    F: Future<Output = ()>,
{
    let resend = async {
        for (i, at) in schedule.iter().enumerate() {
            let next = schedule.get(i + 1).map(|next| start + *next);
            tokio::time::sleep_until(start + *at).await;
            // Woken (or started) late, past the next send's time: that one is sent instead.
            if next.is_some_and(|next| next <= tokio::time::Instant::now()) {
                continue;
            }
            match next {
                Some(next) => {
                    let _ = tokio::time::timeout_at(next, cancel()).await;
                }
                None => cancel().await,
            }
        }
        std::future::pending::<()>().await
    };
    futures_util::future::select(std::pin::pin!(ended), std::pin::pin!(resend)).await;
}

/// Rows from a transaction's connection, read by a task of their own as the server sends
/// them, so the transaction's next statement is answered whether or not the consumer has read
/// them yet. At the stream's first poll, in the consumer's task (so in the order of its
/// code): the transaction is checked open, and the query is sent (after its `BEGIN`, when it
/// is the first statement) and answered; only reading the rows is left to the task.
pub(crate) fn pg_drained<R: Send + 'static>(
    tx: WeakTransaction,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R> + Sync,
) -> BoxStream<'static, Result<R, Error>> {
    let drained = async move {
        let started = async {
            // A stream not read yet does not keep its transaction open: dropped meanwhile,
            // the transaction rolled back and this finds it gone. Once polled, it holds the
            // transaction until its query is answered.
            let tx = tx.upgrade()?;
            // The rows (and an error after them) are read by the task below, or left unread
            // when the consumer leaves: the commit checks the transaction.
            tx.answer_may_go_unread();
            let (sql, gate) = (&Sql::Built(sql), &tx);
            tx.on_pg(|conn| async move { conn.query_stream(sql, values, gate).await }).await
        };
        let rows = match started.await {
            Ok(rows) => rows,
            Err(e) => return failed(e),
        };
        let (sender, receiver) = mpsc::unbounded_channel::<Result<R, Error>>();
        tokio::spawn(async move {
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                let (item, last) = match row {
                    Ok(row) => (read(&RowRef::postgres_row(&row)), false),
                    // The driver repeats an error (a closed connection) forever: send it once.
                    Err(e) => (Err(from_pg(e)), true),
                };
                if sender.send(item).is_err() || last {
                    return; // the consumer left (the driver discards the rest), or it failed
                }
            }
        });
        Box::pin(Arrivals::Unbounded(receiver).into_stream()) as BoxStream<'static, Result<R, Error>>
    };
    Box::pin(stream::once(drained).flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    const FAST: [Duration; 4] =
        [Duration::ZERO, Duration::from_millis(50), Duration::from_millis(150), Duration::from_millis(350)];

    /// A cancel the server ignored (the first, here) is sent again, and nothing is sent once
    /// the query is seen to end; a send that hangs does not hold up the next, nor the
    /// draining of the rows. (On tokio's paused clock: a loaded machine's late timers cannot
    /// change what is sent.)
    #[tokio::test(start_paused = true)]
    async fn a_lost_cancel_is_sent_again_until_the_query_ends() {
        for hanging_first in [false, true] {
            let sent = AtomicUsize::new(0);
            let (done, finished) = tokio::sync::oneshot::channel::<()>();
            let done = std::sync::Mutex::new(Some(done));
            let ended = async {
                let _ = finished.await;
            };
            let cancel = || {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let done = &done;
                async move {
                    match n {
                        0 if hanging_first => std::future::pending::<()>().await,
                        0 => {} // lost
                        _ => {
                            if let Some(done) = done.lock().unwrap_or_else(|p| p.into_inner()).take() {
                                let _ = done.send(());
                            }
                        }
                    }
                }
            };
            tokio::time::timeout(
                Duration::from_secs(5),
                cancel_until_ended(ended, cancel, tokio::time::Instant::now(), &FAST),
            )
            .await
            .expect("the second cancel ends the query");
            assert_eq!(sent.load(Ordering::SeqCst), 2, "hanging first: {hanging_first}");
        }
    }

    /// Never seen to end: the schedule's sends, then nothing more until the caller's bound.
    #[tokio::test(start_paused = true)]
    async fn cancels_stop_with_the_schedule() {
        let sent = AtomicUsize::new(0);
        let cancel = || {
            sent.fetch_add(1, Ordering::SeqCst);
            std::future::ready(())
        };
        let never = std::future::pending::<()>();
        let bounded = tokio::time::timeout(
            Duration::from_millis(700),
            cancel_until_ended(never, cancel, tokio::time::Instant::now(), &FAST),
        );
        assert!(bounded.await.is_err(), "runs until its caller's bound");
        assert_eq!(sent.load(Ordering::SeqCst), FAST.len());
    }

    /// A cleanup task that first runs late (200 ms after the drop, here) sends the latest
    /// cancel due at once, not the ones whose next time has passed (each would be dropped
    /// before it connected), then keeps to the schedule.
    #[tokio::test(start_paused = true)]
    async fn a_late_start_sends_the_latest_cancel_due() {
        let dropped = tokio::time::Instant::now();
        tokio::time::advance(Duration::from_millis(200)).await;
        let sent = std::sync::Mutex::new(Vec::new());
        let cancel = || {
            sent.lock().unwrap_or_else(|p| p.into_inner()).push(dropped.elapsed());
            std::future::ready(())
        };
        let never = std::future::pending::<()>();
        let _ =
            tokio::time::timeout(Duration::from_secs(1), cancel_until_ended(never, cancel, dropped, &FAST))
                .await;
        let sent = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            sent,
            [Duration::from_millis(200), Duration::from_millis(350)],
            "the one due at once, then the last"
        );
    }

    /// A job dropped before it ran (its lease ended, the threads stopped) makes its stream
    /// fail once with the reason, bounded or not, also when dropped inside a task; a job that
    /// ran adds no error after its rows.
    #[tokio::test]
    async fn a_job_dropped_unrun_fails_its_stream_once_with_the_reason() {
        let read = |row: &RowRef<'_>| <i64 as crate::value::SqlType>::read(row, 0);
        for buffer in [Buffer::Bounded, Buffer::Unbounded] {
            let dropped = sqlite(
                |work| {
                    drop(work);
                    Ok(())
                },
                "SELECT 1".into(),
                Vec::new(),
                read,
                buffer,
                crate::transaction::ended,
            );
            let items: Vec<Result<i64, Error>> = dropped.collect().await;
            assert_eq!(items.len(), 1);
            assert!(
                items[0].as_ref().is_err_and(|e| e.to_string().contains("ended")),
                "{:?}",
                items[0].as_ref().err()
            );
        }
        // Run on a connection: its rows, and nothing after them.
        let ran = sqlite(
            |work| {
                let mut conn = Connection::open_in_memory().map_err(from_sqlite)?;
                work(&mut conn);
                Ok(())
            },
            "SELECT 1 UNION ALL SELECT 2".into(),
            Vec::new(),
            read,
            Buffer::Unbounded,
            crate::transaction::ended,
        );
        let items: Vec<i64> = ran.map(|r| r.expect("a row")).collect().await;
        assert_eq!(items, [1, 2]);
    }
}
