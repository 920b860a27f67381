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

use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::Connection;
use tokio::sync::mpsc;

use super::postgres::{PgConn, PgPool};
use super::{sqlite_params, Reader, Sql};
use crate::error::{from_pg, from_sqlite, Error};
use crate::transaction::Begin;
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
enum Rows<T> {
    Bounded(mpsc::Sender<T>),
    Unbounded(mpsc::UnboundedSender<T>),
}

impl<T> Rows<T> {
    /// Sends one row, waiting for room when bounded; false when the consumer is gone.
    fn send(&self, item: T) -> bool {
        match self {
            Rows::Bounded(tx) => tx.blocking_send(item).is_ok(),
            Rows::Unbounded(tx) => tx.send(item).is_ok(),
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

/// Sends a job (by `spawn`) that reads the rows into a channel, and yields what arrives.
pub(crate) fn sqlite<R: Send + 'static>(
    spawn: impl FnOnce(Box<dyn FnOnce(&mut Connection) + Send>) -> Result<(), Error>,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R>,
    buffer: Buffer,
) -> BoxStream<'static, Result<R, Error>> {
    let (tx, rx) = match buffer {
        Buffer::Bounded => {
            let (tx, rx) = mpsc::channel::<Result<R, Error>>(64);
            (Rows::Bounded(tx), Arrivals::Bounded(rx))
        }
        Buffer::Unbounded => {
            let (tx, rx) = mpsc::unbounded_channel::<Result<R, Error>>();
            (Rows::Unbounded(tx), Arrivals::Unbounded(rx))
        }
    };
    let work = move |conn: &mut Connection| {
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

/// Rows from a dedicated connection of `pool`'s (waiting for one within the acquire timeout,
/// as a transaction does). A stream read to its end gives the connection back; one dropped
/// before closes it, rather than leave the next transaction waiting for the rest of the rows
/// to arrive and be thrown away.
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
            let rows = match lease.conn.query_stream(&Sql::Built(sql), values).await {
                Ok(rows) => Box::pin(rows),
                Err(e) => return failed(e),
            };
            Box::pin(stream::unfold(Some((rows, lease, read)), |state| async move {
                let (mut rows, lease, read) = state?;
                match rows.next().await {
                    Some(row) => {
                        let item = row.map_err(from_pg).and_then(|row| read(&RowRef::postgres_row(&row)));
                        Some((item, Some((rows, lease, read))))
                    }
                    None => {
                        lease.release();
                        None
                    }
                }
            })) as BoxStream<'static, Result<R, Error>>
        })
        .flatten(),
    )
}

/// Rows from a transaction's connection (after its `BEGIN`, when this is its first
/// statement), read by a task of their own as the server sends them, so the transaction's
/// next statement is answered whether or not the consumer has read them yet. The query goes
/// out when the stream is first polled, as every other stream's does.
pub(crate) fn pg_drained<R: Send + 'static>(
    conn: Arc<PgConn>,
    begin: Option<Begin>,
    sql: String,
    values: Vec<Value>,
    read: impl Reader<R> + Sync,
) -> BoxStream<'static, Result<R, Error>> {
    let drained = async move {
        let (tx, rx) = mpsc::unbounded_channel::<Result<R, Error>>();
        tokio::spawn(async move {
            let started = async {
                if let Some(begin) = begin {
                    begin.await?;
                }
                conn.query_stream(&Sql::Built(sql), values).await
            };
            let rows = match started.await {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                let item = row.map_err(from_pg).and_then(|row| read(&RowRef::postgres_row(&row)));
                if tx.send(item).is_err() {
                    return; // the consumer left: the driver discards the rest
                }
            }
        });
        Arrivals::Unbounded(rx).into_stream()
    };
    Box::pin(stream::once(drained).flatten())
}
