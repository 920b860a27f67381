//! PostgreSQL on tokio-postgres: a few shared connections that many requests use at once
//! (tokio-postgres pipelines their queries), statements prepared once per connection, and a
//! small pool of dedicated connections for transactions.
//!
//! A connection found closed is replaced on its next use, never handed out again; the query
//! that found it broken fails with [`Error::Unavailable`] (503), the next one reconnects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::TryStreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls, Statement};

use crate::backend::bind::{PgOwned, PgParam};
use crate::backend::TextHasher;
use crate::error::{from_pg, Error};
use crate::value::{RowRef, Value};

/// Statements kept per connection before the cache starts over.
const STATEMENT_CACHE: usize = 512;

type Statements = HashMap<String, Statement, std::hash::BuildHasherDefault<TextHasher>>;

/// One connection and its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    statements: Mutex<Statements>,
}

impl PgConn {
    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn statement(&self, sql: &str) -> Result<Statement, Error> {
        if let Some(s) = self.statements.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return Ok(s.clone());
        }
        // Boxed: preparing is rare (once per statement and connection), and its future inline
        // would make every query's future, and so every handler's, kilobytes larger.
        let statement = Box::pin(self.client.prepare(sql)).await.map_err(from_pg)?;
        let mut cache = self.statements.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs a prepared query and reads each row with `read` as it arrives: the parameters are
    /// bound straight from `values` and no list of driver rows is kept in between (two
    /// allocations and a copy per query fewer than `Client::query`).
    pub(crate) async fn fetch<R>(
        &self,
        sql: &str,
        values: &[Value],
        read: &impl Fn(&RowRef<'_>) -> Result<R, Error>,
    ) -> Result<Vec<R>, Error> {
        let statement = self.statement(sql).await?;
        let rows = self.client.query_raw(&statement, values.iter().map(PgParam)).await.map_err(from_pg)?;
        let mut rows = std::pin::pin!(rows);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(from_pg)? {
            out.push(read(&RowRef::postgres_row(&row))?);
        }
        Ok(out)
    }

    /// Runs a prepared query and hands its rows over as the server sends them.
    pub(crate) async fn query_stream(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<tokio_postgres::RowStream, Error> {
        let statement = self.statement(sql).await?;
        let params: Vec<PgOwned> = values.into_iter().map(PgOwned).collect();
        self.client.query_raw(&statement, params).await.map_err(from_pg)
    }

    /// Runs a prepared statement and returns how many rows it touched.
    pub(crate) async fn execute(&self, sql: &str, values: &[Value]) -> Result<u64, Error> {
        let statement = self.statement(sql).await?;
        self.client.execute_raw(&statement, values.iter().map(PgParam)).await.map_err(from_pg)
    }

    /// Runs SQL text without parameters (transaction control, DDL).
    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        self.client.batch_execute(sql).await.map_err(from_pg)
    }
}

#[derive(Default)]
struct Slot {
    conn: RwLock<Option<Arc<PgConn>>>,
    connecting: tokio::sync::Mutex<()>,
}

/// How connections are made.
#[derive(Debug, Clone)]
pub(crate) struct PgConfig {
    pub config: tokio_postgres::Config,
    pub shared: usize,
    pub transactions: usize,
    pub acquire_timeout: Duration,
    pub connect_timeout: Duration,
}

/// The connections of one PostgreSQL database.
pub(crate) struct PgPool {
    config: PgConfig,
    shared: Vec<Slot>,
    next: AtomicUsize,
    idle: Mutex<Vec<Arc<PgConn>>>,
    permits: Arc<Semaphore>,
}

/// A dedicated connection, held for one transaction.
pub(crate) struct PgLease {
    pub conn: Arc<PgConn>,
    _permit: OwnedSemaphorePermit,
    pool: Arc<PgPool>,
}

impl PgLease {
    /// Gives the connection back for the next transaction (when it is still healthy and
    /// outside any transaction).
    pub(crate) fn release(self) {
        if !self.conn.is_closed() {
            self.pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(self.conn);
        }
    }
}

impl PgPool {
    pub(crate) fn new(config: PgConfig) -> Self {
        let shared = (0..config.shared.max(1)).map(|_| Slot::default()).collect();
        let permits = Arc::new(Semaphore::new(config.transactions.max(1)));
        PgPool { config, shared, next: AtomicUsize::new(0), idle: Mutex::new(Vec::new()), permits }
    }

    async fn connect(&self) -> Result<PgConn, Error> {
        let connecting = self.config.config.connect(NoTls);
        let (client, connection) = match tokio::time::timeout(self.config.connect_timeout, connecting).await {
            Ok(result) => result.map_err(from_pg)?,
            Err(_) => {
                return Err(Error::Unavailable { message: "connecting to PostgreSQL timed out".into() })
            }
        };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "brisk_orm", error = %e, "PostgreSQL connection closed");
            }
        });
        Ok(PgConn { client, statements: Mutex::new(Statements::default()) })
    }

    /// Runs `work` on a shared connection; a connection that fails as unreachable (the server
    /// closed it, say) is dropped from its slot at once, so the next query reconnects.
    pub(crate) async fn on_shared<T, F, Fut>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(Arc<PgConn>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.shared.len();
        let conn = self.shared(index).await?;
        let result = work(conn.clone()).await;
        if matches!(result, Err(Error::Unavailable { .. })) {
            let mut current = self.shared[index].conn.write().unwrap_or_else(|p| p.into_inner());
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &conn)) {
                *current = None;
            }
        }
        result
    }

    /// The next shared connection (round robin), for a streaming query.
    pub(crate) async fn next_shared(&self) -> Result<Arc<PgConn>, Error> {
        self.shared(self.next.fetch_add(1, Ordering::Relaxed) % self.shared.len()).await
    }

    /// The shared connection of slot `index`, reconnected if it is gone or closed.
    async fn shared(&self, index: usize) -> Result<Arc<PgConn>, Error> {
        let slot = &self.shared[index];
        let current =
            || slot.conn.read().unwrap_or_else(|p| p.into_inner()).clone().filter(|c| !c.is_closed());
        if let Some(conn) = current() {
            return Ok(conn);
        }
        let _one_at_a_time = slot.connecting.lock().await;
        if let Some(conn) = current() {
            return Ok(conn);
        }
        // Boxed, as preparing is: connecting is rare, and its future is kilobytes.
        let conn = Arc::new(Box::pin(self.connect()).await?);
        *slot.conn.write().unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
        Ok(conn)
    }

    /// A dedicated connection for a transaction, within the acquire timeout.
    pub(crate) async fn lease(self: &Arc<Self>) -> Result<PgLease, Error> {
        let permit = tokio::time::timeout(self.config.acquire_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Error::PoolTimeout)?
            .map_err(|_| Error::Unavailable { message: "the pool is closed".into() })?;
        let idle = loop {
            let popped = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match popped {
                Some(conn) if conn.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match idle {
            Some(conn) => conn,
            None => Arc::new(Box::pin(self.connect()).await?),
        };
        Ok(PgLease { conn, _permit: permit, pool: self.clone() })
    }
}
