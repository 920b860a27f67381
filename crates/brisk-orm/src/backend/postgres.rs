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
use crate::backend::{Rows, Sql, TextHasher};
use crate::error::{from_pg, Error};
use crate::pipelined::Answer;
use crate::value::{RowRef, Value};

/// Statements kept per connection before the cache starts over.
const STATEMENT_CACHE: usize = 512;

type ByText = HashMap<String, Statement, std::hash::BuildHasherDefault<TextHasher>>;

/// A connection's prepared statements, by their SQL, and by the address of a shared SQL text
/// (the shape cache's `Arc<str>`): its lookup hashes one word instead of the text. The entry
/// holds a clone of that `Arc`, so its address cannot be reused by another text while it is
/// there.
#[derive(Default)]
struct Statements {
    by_text: ByText,
    by_shared: HashMap<usize, (Arc<str>, Statement), std::hash::BuildHasherDefault<TextHasher>>,
}

impl Statements {
    fn get(&mut self, sql: &Sql) -> Option<Statement> {
        let shared = match sql {
            Sql::Shared(shared) => shared,
            Sql::Built(text) => return self.by_text.get(text.as_str()).cloned(),
        };
        if let Some((_, statement)) = self.by_shared.get(&address(shared)) {
            return Some(statement.clone());
        }
        let statement = self.by_text.get(&**shared)?.clone();
        self.keep_shared(shared, &statement);
        Some(statement)
    }

    fn insert(&mut self, sql: &Sql, statement: &Statement) {
        if self.by_text.len() >= STATEMENT_CACHE || self.by_shared.len() >= STATEMENT_CACHE {
            self.by_text.clear();
            self.by_shared.clear();
        }
        self.by_text.insert((**sql).to_owned(), statement.clone());
        if let Sql::Shared(shared) = sql {
            self.keep_shared(shared, statement);
        }
    }

    fn keep_shared(&mut self, shared: &Arc<str>, statement: &Statement) {
        if self.by_shared.len() < STATEMENT_CACHE {
            self.by_shared.insert(address(shared), (shared.clone(), statement.clone()));
        }
    }
}

fn address(shared: &Arc<str>) -> usize {
    Arc::as_ptr(shared) as *const u8 as usize
}

/// Where a connection's requests may be written: at any time ([`Ungated`]: the shared
/// connections, a stream's own), or only while a transaction is open (a
/// [`Transaction`](crate::Transaction)). tokio-postgres writes a request at its future's first
/// poll; through a gate that poll is made inside [`Gate::open`] (every poll of a prepare, which
/// may look types up at later ones), so no request of a transaction goes out after its COMMIT
/// onto a connection the pool may have handed to another transaction (a statement prepared
/// first, then bound, leaves a round trip between the two requests for a clone of the
/// transaction to commit in). Not gated: the Close tokio-postgres sends when a prepared
/// statement is dropped (it does not depend on, nor change, any transaction).
pub(crate) trait Gate: Sync {
    /// Whether requests wait for [`Gate::open`] (false: written straight).
    const GATED: bool;
    /// Runs `write` if requests may be written now; otherwise the error that says why not.
    fn open(&self, write: &mut dyn FnMut()) -> Result<(), Error>;
}

/// Requests written at any time.
pub(crate) struct Ungated;

impl Gate for Ungated {
    const GATED: bool = false;
    fn open(&self, write: &mut dyn FnMut()) -> Result<(), Error> {
        write();
        Ok(())
    }
}

/// Which polls of a request [`through`] makes inside its gate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Polls {
    /// The first, which writes a query's request (later polls only read its answer).
    First,
    /// Every one: a prepare writes its Parse at the first, and may write more at later ones
    /// (tokio-postgres looks up a type it does not know, an enum's or an extension's, with
    /// queries of its own). Once the gate is shut the prepare is dropped and the caller gets
    /// the gate's error (a Parse changes nothing, so nothing of the transaction is lost; a
    /// named statement may stay prepared on the server).
    Every,
}

/// The future `request` makes (a tokio-postgres future, which writes at its first poll),
/// awaited with `polls` of it made inside `gate` ([`Gate::open`] runs them only while the
/// transaction is open); ungated, polled straight. It takes a maker, not the future: an
/// `async fn`'s argument is kept in its state machine beside what it awaits, so a ~1 KB query
/// future passed in was held twice — and a caller branching around `through` for ungated
/// connections still had room for both laid out in its own future (`-Zprint-type-sizes`:
/// `PgConn::fetch` 2,296 → 1,248 bytes, the bench's `/queries` query future 2,976 → 1,928,
/// each moved whole into `try_join_all`'s list).
async fn through<G: Gate, F: std::future::Future>(
    gate: &G,
    polls: Polls,
    request: impl FnOnce() -> F,
) -> Result<F::Output, Error> {
    let mut request = std::pin::pin!(request());
    let mut first = true;
    std::future::poll_fn(|cx| {
        let gated = G::GATED && (std::mem::take(&mut first) || polls == Polls::Every);
        if !gated {
            return request.as_mut().poll(cx).map(Ok);
        }
        let mut polled = None;
        if let Err(e) = gate.open(&mut || polled = Some(request.as_mut().poll(cx))) {
            return std::task::Poll::Ready(Err(e));
        }
        // `open` answers Ok only once it ran the poll; were it not to, nothing went out.
        polled.map_or(std::task::Poll::Ready(Err(crate::transaction::ended())), |p| p.map(Ok))
    })
    .await
}

/// One connection and its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    statements: Mutex<Statements>,
    /// Stops the task that drives the connection (its socket is closed with it).
    task: tokio::task::AbortHandle,
}

impl PgConn {
    /// Closes the connection now, answers owed or not (tokio-postgres would otherwise keep
    /// it open, reading, until the server answers every request written on it).
    pub(crate) fn close_now(&self) {
        self.task.abort();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub(crate) async fn statement<G: Gate>(&self, sql: &Sql, gate: &G) -> Result<Statement, Error> {
        match self.cached(sql) {
            Some(statement) => Ok(statement),
            // Boxed: preparing is rare (once per statement and connection), and its future
            // inline would make every query's future, and so every handler's, kilobytes larger.
            None => Box::pin(async { through(gate, Polls::Every, || self.prepare(sql)).await? }).await,
        }
    }

    /// The statement prepared for `sql` on this connection, if it was.
    pub(crate) fn cached(&self, sql: &Sql) -> Option<Statement> {
        self.statements.lock().unwrap_or_else(|p| p.into_inner()).get(sql)
    }

    async fn prepare(&self, sql: &Sql) -> Result<Statement, Error> {
        let statement = self.client.prepare(sql).await.map_err(from_pg)?;
        self.statements.lock().unwrap_or_else(|p| p.into_inner()).insert(sql, &statement);
        Ok(statement)
    }

    /// Runs a prepared query and reads each row with `read` as it arrives: the parameters are
    /// bound straight from `values` and no list of driver rows is kept in between (two
    /// allocations and a copy per query fewer than `Client::query`).
    pub(crate) async fn fetch<R, C: Rows<R>, G: Gate>(
        &self,
        sql: &Sql,
        values: &[Value],
        read: &impl Fn(&RowRef<'_>) -> Result<R, Error>,
        mut out: C,
        gate: &G,
    ) -> Result<C, Error> {
        let statement = self.statement(sql, gate).await?;
        let params = values.iter().map(PgParam);
        let rows = through(gate, Polls::First, || self.client.query_raw(&statement, params))
            .await?
            .map_err(from_pg)?;
        let mut rows = std::pin::pin!(rows);
        while !out.full() {
            match rows.try_next().await.map_err(from_pg)? {
                Some(row) => out.take(read(&RowRef::postgres_row(&row))?),
                None => break,
            }
        }
        Ok(out)
    }

    /// What cancels the query this connection's server is running (a stream dropped early).
    pub(crate) fn cancel_token(&self) -> tokio_postgres::CancelToken {
        self.client.cancel_token()
    }

    /// Runs a prepared query and hands its rows over as the server sends them.
    pub(crate) async fn query_stream(
        &self,
        sql: &Sql,
        values: Vec<Value>,
        gate: &impl Gate,
    ) -> Result<tokio_postgres::RowStream, Error> {
        let statement = self.statement(sql, gate).await?;
        let params: Vec<PgOwned> = values.into_iter().map(PgOwned).collect();
        through(gate, Polls::First, || self.client.query_raw(&statement, params)).await?.map_err(from_pg)
    }

    /// Runs a prepared statement and returns how many rows it touched.
    pub(crate) async fn execute<G: Gate>(&self, sql: &Sql, values: &[Value], gate: &G) -> Result<u64, Error> {
        let statement = self.statement(sql, gate).await?;
        let params = values.iter().map(PgParam);
        through(gate, Polls::First, || self.client.execute_raw(&statement, params)).await?.map_err(from_pg)
    }

    /// Writes a prepared statement to the connection now and hands back the future of its
    /// answer (how many rows it touched), to await later: tokio-postgres writes the request at
    /// the first poll, made here (the caller makes it inside its transaction's gate), and
    /// later polls only read the answer. See [`crate::Raw::pipeline`].
    /// A request that fails before it is written (a value that does not encode, a closed
    /// connection) is that error, with nothing written.
    pub(crate) fn written(
        self: &Arc<Self>,
        statement: Statement,
        values: Vec<Value>,
    ) -> Result<Answer, Error> {
        let conn = self.clone();
        let mut answer: Answer = Box::pin(async move {
            let params = values.iter().map(PgParam);
            conn.client.execute_raw(&statement, params).await.map_err(from_pg)
        });
        let waker = std::task::Waker::noop();
        match std::future::Future::poll(answer.as_mut(), &mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(Err(e)) => Err(e),
            // Not before its answer; were it to, it is kept (a finished async block may not
            // be polled again).
            std::task::Poll::Ready(done) => Ok(Box::pin(std::future::ready(done))),
            std::task::Poll::Pending => Ok(answer),
        }
    }

    /// Runs SQL text without parameters (transaction control, DDL).
    pub(crate) async fn batch(&self, sql: &str, gate: &impl Gate) -> Result<(), Error> {
        through(gate, Polls::First, || self.client.batch_execute(sql)).await?.map_err(from_pg)
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
        PgPool { config, shared, idle: Mutex::new(Vec::new()), permits }
    }

    async fn connect(&self) -> Result<PgConn, Error> {
        let connecting = self.config.config.connect(NoTls);
        let (client, connection) = match tokio::time::timeout(self.config.connect_timeout, connecting).await {
            Ok(result) => result.map_err(from_pg)?,
            Err(_) => {
                return Err(Error::Unavailable { message: "connecting to PostgreSQL timed out".into() })
            }
        };
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "brisk_orm", error = %e, "PostgreSQL connection closed");
            }
        });
        Ok(PgConn { client, statements: Mutex::new(Statements::default()), task: task.abort_handle() })
    }

    /// Runs `work` on a shared connection; a connection that fails as unreachable (the server
    /// closed it, say) is dropped from its slot at once, so the next query reconnects.
    pub(crate) async fn on_shared<T, F, Fut>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(Arc<PgConn>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let index = self.slot_of_this_thread();
        let conn = self.shared(index).await?;
        let result = work(conn.clone()).await;
        self.drop_if_unavailable(index, &conn, &result);
        result
    }

    /// A query on a shared connection ([`PgConn::fetch`] under [`PgPool::on_shared`]'s rule),
    /// written out rather than through `on_shared`'s closure: the commonest future of all, one
    /// state machine less to build, poll and drop per query.
    pub(crate) async fn fetch<R, C: Rows<R>>(
        &self,
        sql: &Sql,
        values: &[Value],
        read: &impl Fn(&RowRef<'_>) -> Result<R, Error>,
        out: C,
    ) -> Result<C, Error> {
        let index = self.slot_of_this_thread();
        let conn = match self.current(index) {
            Some(conn) => conn,
            None => Box::pin(self.shared(index)).await?,
        };
        let result = conn.fetch(sql, values, read, out, &Ungated).await;
        self.drop_if_unavailable(index, &conn, &result);
        result
    }

    /// A connection that failed as unreachable leaves its slot at once (when it is still
    /// there), so the next query reconnects.
    fn drop_if_unavailable<T>(&self, index: usize, conn: &Arc<PgConn>, result: &Result<T, Error>) {
        if matches!(result, Err(Error::Unavailable { .. })) {
            let mut current = self.shared[index].conn.write().unwrap_or_else(|p| p.into_inner());
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                *current = None;
            }
        }
    }

    /// Slot `index`'s connection when it is there and open.
    fn current(&self, index: usize) -> Option<Arc<PgConn>> {
        self.shared[index].conn.read().unwrap_or_else(|p| p.into_inner()).clone().filter(|c| !c.is_closed())
    }

    /// The shared connection a thread's queries go to: each thread that queries is numbered
    /// once, and thread `n` uses slot `n % slots`. A request's queries then go out together on
    /// one connection (one write, one read for all of them, where spreading them made each
    /// connection's socket and server process wake for a part), as TechEmpower's fastest
    /// entries keep a connection per thread.
    fn slot_of_this_thread(&self) -> usize {
        static THREADS: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static THREAD: usize = THREADS.fetch_add(1, Ordering::Relaxed);
        }
        THREAD.with(|n| *n) % self.shared.len()
    }

    /// The shared connection of slot `index`, reconnected if it is gone or closed.
    async fn shared(&self, index: usize) -> Result<Arc<PgConn>, Error> {
        let slot = &self.shared[index];
        if let Some(conn) = self.current(index) {
            return Ok(conn);
        }
        let _one_at_a_time = slot.connecting.lock().await;
        if let Some(conn) = self.current(index) {
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn conn() -> PgConn {
        let url = crate::testing::postgres_admin_url();
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("the test server");
        let task = tokio::spawn(connection);
        PgConn { client, statements: Mutex::new(Statements::default()), task: task.abort_handle() }
    }

    async fn one_number(conn: &PgConn, sql: &Sql) -> i32 {
        let rows: Vec<i32> = conn
            .fetch(sql, &[], &|row: &RowRef<'_>| row.pg::<i32>(0), Vec::new(), &Ungated)
            .await
            .expect("runs");
        rows[0]
    }

    /// `close_now` closes a connection whose answer is still owed (tokio-postgres alone keeps
    /// it open, reading, until the server answers): the waiting request fails at once.
    #[tokio::test]
    async fn close_now_closes_a_connection_that_still_owes_an_answer() {
        let conn = Arc::new(conn().await);
        let token = conn.cancel_token();
        let waiting = tokio::spawn({
            let conn = conn.clone();
            async move { conn.batch("SELECT pg_sleep(30)", &Ungated).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!conn.is_closed() && !waiting.is_finished(), "the sleep is running");
        conn.close_now();
        let answer = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        let answer = answer.expect("ended at once, not after the sleep").expect("not panicked");
        assert!(answer.is_err(), "{answer:?}");
        assert!(conn.is_closed());
        // The server's backend sleeps on until it notices: stopped here so the run leaves nothing.
        let _ = token.cancel_query(NoTls).await;
    }

    /// A shared text is found by its address, and a text is prepared once whichever way it
    /// comes; the cache keeps each shared text alive, so a later text allocated after the
    /// caller dropped its own never takes over an address the cache still maps.
    #[tokio::test]
    async fn shared_sql_is_prepared_once_and_never_mistaken_for_another() {
        let conn = conn().await;
        let first: Arc<str> = Arc::from("SELECT 1::int4");
        assert_eq!(one_number(&conn, &Sql::Shared(first.clone())).await, 1);
        assert_eq!(one_number(&conn, &Sql::Built("SELECT 1::int4".into())).await, 1);
        assert_eq!(one_number(&conn, &Sql::Shared(first.clone())).await, 1);
        {
            let statements = conn.statements.lock().expect("not poisoned");
            assert_eq!((statements.by_text.len(), statements.by_shared.len()), (1, 1));
        }
        let prepared = Sql::Built("SELECT count(*)::int4 FROM pg_prepared_statements".into());
        assert_eq!(one_number(&conn, &prepared).await, 2, "SELECT 1 and this count, prepared once each");
        drop(first);
        for n in 2..6 {
            let other: Arc<str> = Arc::from(format!("SELECT {n}::int4").as_str());
            assert_eq!(one_number(&conn, &Sql::Shared(other)).await, n);
        }
        assert_eq!(one_number(&conn, &prepared).await, 6);
        let statements = conn.statements.lock().expect("not poisoned");
        assert_eq!((statements.by_text.len(), statements.by_shared.len()), (6, 5));
    }
}
