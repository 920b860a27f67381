//! [`Transaction`]: `db.atomic(|tx| async move { ... })` commits when the closure succeeds and
//! rolls back when it fails; `tx.atomic(...)` nests with a savepoint; `on_commit` hooks run
//! after the outermost commit, and are dropped with a rollback.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::backend::postgres::{Gate, PgLease, Ungated};
use crate::backend::sqlite::{LeaseStart, Work};
use crate::backend::{
    sqlite_execute, sqlite_fetch, Backend, Executor, OwnedParams, ReadAll, Reader, Rows, Sql, Target,
};
use crate::database::Database;
use crate::error::{from_sqlite, Error};
use crate::pipelined::{Answer, Pipelined, Unread};
use crate::value::Value;

type Hook = Box<dyn FnOnce() + Send>;

enum Link {
    /// Jobs for SQLite's writer thread, leased to this transaction until the sender drops or
    /// the transaction has ended (its `COMMIT` or `ROLLBACK` ran); and how the lease started
    /// (shared with the statements waiting for it).
    Sqlite(std::sync::mpsc::Sender<Work>, Arc<LeaseStart>),
    /// A dedicated PostgreSQL connection.
    Postgres(PgLease),
}

struct State {
    link: Option<Link>,
    /// PostgreSQL: whether `BEGIN` has gone out. It is sent with the transaction's first
    /// statement (see [`Transaction::pg_statement`]), so a transaction costs one round trip
    /// less, and one that runs no statement costs none. SQLite: whether a statement has been
    /// sent to the lease (one that has not may end without waiting for the writer).
    begun: bool,
    depth: u32,
    hooks: Vec<(u32, Hook)>,
    /// PostgreSQL: whether a statement's answer may have gone unread (its future dropped once
    /// written, a stream, a client-side failure midway): the server may have failed the
    /// transaction without brisk-orm hearing of it, so its `COMMIT` is checked (see
    /// [`Transaction::end`]).
    unsure: bool,
    /// PostgreSQL statements taken by [`Transaction::on_pg`] and not yet answered (on clones
    /// of the transaction, one may still be running while another commits: its failure would
    /// not be known to the commit, which is then checked too).
    in_flight: u32,
}

struct Inner {
    db: Database,
    state: Mutex<State>,
    /// Statements written by [`Transaction::pipeline`] whose answers are still to be read,
    /// and the failure one of them reported (locked after `state`, when both are).
    pipelined: Mutex<Pipelined>,
    /// Set by [`Transaction::keep_on_error`]: [`atomic_requests`](crate::atomic_requests)
    /// commits it whatever the request answers.
    keep_on_error: AtomicBool,
}

/// An open transaction; a cheap handle to clone. Queries run in it with `&tx` wherever an
/// [`Executor`] is taken.
///
/// On PostgreSQL the connection is taken when the transaction begins, and `BEGIN` is written
/// with the first statement (one round trip for both); a transaction that runs no statement
/// sends nothing. On SQLite the writer is asked for when the transaction begins and the first
/// statement waits for it (so [`Error::PoolTimeout`] comes from that statement).
///
/// Get one from [`Database::atomic`] (or [`Database::begin`] to commit by hand). A
/// transaction runs one statement at a time on its own connection (on SQLite: the one writer,
/// so a transaction that waits on a write outside itself waits for itself, and ends with
/// [`Error::PoolTimeout`]). Dropped without a commit, it rolls back.
///
/// ```no_run
/// # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
/// db.atomic(|tx| async move {
///     tx.execute_raw("UPDATE account SET balance = balance - 10 WHERE id = 1").await?;
///     tx.execute_raw("UPDATE account SET balance = balance + 10 WHERE id = 2").await?;
///     tx.on_commit(|| println!("moved"));
///     Ok::<_, brisk_orm::Error>(())
/// })
/// .await
/// # }
/// ```
#[derive(Clone)]
pub struct Transaction(Arc<Inner>);

/// A handle on a transaction that does not keep it open: a stream not read yet holds one, so
/// dropping the transaction still rolls it back and frees its connection.
pub(crate) struct WeakTransaction(std::sync::Weak<Inner>);

impl WeakTransaction {
    /// The transaction, or the error its statements get once it is gone.
    pub(crate) fn upgrade(&self) -> Result<Transaction, Error> {
        self.0.upgrade().map(Transaction).ok_or_else(ended)
    }
}

pub(crate) fn ended() -> Error {
    Error::Database { message: ENDED.into(), code: None }
}

const ENDED: &str = "the transaction has already ended";

/// Whether `e` is [`ended`]'s error.
pub(crate) fn is_ended(e: &Error) -> bool {
    matches!(e, Error::Database { message, code: None } if message == ENDED)
}

impl Transaction {
    /// A handle that does not keep this transaction open.
    pub(crate) fn downgrade(&self) -> WeakTransaction {
        WeakTransaction(Arc::downgrade(&self.0))
    }

    pub(crate) async fn begin(db: &Database) -> Result<Transaction, Error> {
        Transaction::begin_with(db, false).await
    }

    /// A transaction that changes the schema: on SQLite, foreign keys are off while it runs
    /// (and checked by the caller), so tables can be rebuilt without cascading deletes.
    pub(crate) async fn begin_schema(db: &Database) -> Result<Transaction, Error> {
        Transaction::begin_with(db, true).await
    }

    async fn begin_with(db: &Database, schema: bool) -> Result<Transaction, Error> {
        let link = match db.backend() {
            // The writer begins the transaction while the caller goes on to its first
            // statement, which waits in the lease's channel (see `SqlitePool::begin`).
            Backend::Sqlite(pool) => {
                let (jobs, begun) = pool.begin(schema)?;
                Link::Sqlite(jobs, Arc::new(LeaseStart::new(begun)))
            }
            // `BEGIN` goes out with the first statement.
            Backend::Postgres(pool) => Link::Postgres(pool.lease().await?),
        };
        let state = State {
            link: Some(link),
            begun: false,
            depth: 0,
            hooks: Vec::new(),
            unsure: false,
            in_flight: 0,
        };
        let pipelined = Mutex::default();
        Ok(Transaction(Arc::new(Inner {
            db: db.clone(),
            state: Mutex::new(state),
            pipelined,
            keep_on_error: AtomicBool::new(false),
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pipelined(&self) -> std::sync::MutexGuard<'_, Pipelined> {
        crate::pipelined::lock(&self.0.pipelined)
    }

    /// `answers` to read, handed back to the transaction if they are not all read.
    fn unread(&self, answers: Vec<crate::pipelined::Pending>) -> Unread<'_> {
        Unread::new(&self.0.pipelined, answers)
    }

    /// The database this transaction runs on.
    pub fn database(&self) -> &Database {
        &self.0.db
    }

    /// Runs `work` on SQLite's leased writer.
    async fn on_sqlite<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut rusqlite::Connection) -> Result<R, Error> + Send + 'static,
    ) -> Result<R, Error> {
        let (sent, start) = {
            let mut state = self.state();
            let sent = match &state.link {
                Some(Link::Sqlite(jobs, start)) => {
                    // The writer did not begin it: every statement answers why.
                    if let Some(failure) = start.failure() {
                        return Err(failure);
                    }
                    (send_to_lease(jobs, work), start.clone())
                }
                _ => return Err(ended()),
            };
            state.begun = true;
            sent
        };
        answer_from_lease(&start, sent).await
    }

    /// Waits until SQLite's writer has begun this transaction (a streamed query sends its
    /// work without waiting for an answer: it asks this first).
    pub(crate) async fn sqlite_begun(&self) -> Result<(), Error> {
        let start = match &self.state().link {
            Some(Link::Sqlite(_, start)) => start.clone(),
            _ => return Err(ended()),
        };
        start.wait().await
    }

    /// Sends `work` to SQLite's leased writer without waiting for it.
    pub(crate) fn spawn_sqlite(
        &self,
        work: impl FnOnce(&mut rusqlite::Connection) + Send + 'static,
    ) -> Result<(), Error> {
        let mut state = self.state();
        state.begun = true;
        match &state.link {
            Some(Link::Sqlite(jobs, _)) => jobs.send(Box::new(work)).map_err(|_| ended()),
            _ => Err(ended()),
        }
    }

    /// The connection for the next statement, and the answers the caller must read with its
    /// own, in order: the transaction's `BEGIN` when this is its first statement, and those of
    /// pipelined statements still unread ([`Transaction::pipeline`]). The connection answers
    /// in order and hands an answer over only once the one before it has been read, so the
    /// caller reads them while it waits for its own ([`Transaction::on_pg`]).
    ///
    /// `BEGIN` has been written to the connection already (under the state's lock, so a
    /// statement sent concurrently on a clone of the transaction cannot go before it), and the
    /// caller sends its statement right behind it and awaits both — one round trip for the
    /// two. tokio-postgres writes a request at its future's first poll. `BEGIN` on a
    /// connection that is up cannot fail (it only warns inside a transaction); when the
    /// connection is down, the statement behind it cannot run either.
    fn pg_statement(&self) -> Result<(Arc<crate::backend::postgres::PgConn>, Unread<'_>), Error> {
        let mut state = self.state();
        let conn = match &state.link {
            Some(Link::Postgres(lease)) => lease.conn.clone(),
            _ => return Err(ended()),
        };
        let mut pipelined = self.pipelined();
        if !std::mem::replace(&mut state.begun, true) {
            pipelined.push(0, write_begin(&conn));
        }
        let earlier = pipelined.take();
        state.in_flight += 1; // until `on_pg`'s `Unsure` drops
        drop((pipelined, state));
        Ok((conn, self.unread(earlier)))
    }

    /// Runs `statement` on the transaction's PostgreSQL connection, behind its `BEGIN` when it
    /// is the first, reading the answers before its own (see [`Transaction::pg_statement`]).
    ///
    /// An error PostgreSQL raised has failed the transaction (or the savepoint block it ran
    /// in) on the server: it is kept as a pipelined statement's failure is, so a commit after
    /// the app handled it rolls back and answers it, where PostgreSQL would answer the COMMIT
    /// as a rollback without an error. The statements after it are refused by the server:
    /// their failure is reported as that first one.
    pub(crate) async fn on_pg<T, Fut>(
        &self,
        statement: impl FnOnce(Arc<crate::backend::postgres::PgConn>) -> Fut,
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, Error>>,
    {
        let (conn, earlier) = self.pg_statement()?;
        // Dropped before its answer is read (a cancelled request, a timeout), the statement
        // may have been written and have failed; so may one that failed on the client's side
        // (a row that did not decode leaves the rest of the answer unread).
        let mut unread = Unsure { tx: self, armed: true };
        let result = match earlier.is_empty() {
            true => statement(conn).await,
            false => {
                let (earlier, result) = tokio::join!(earlier.read(), statement(conn));
                earlier.and(result)
            }
        };
        unread.armed = matches!(&result, Err(e) if !raised_by_the_server(e));
        drop(unread);
        result.map_err(|e| {
            // A lost connection, a value that did not encode, an ended transaction: as it is.
            if !raised_by_the_server(&e) {
                return e;
            }
            let depth = self.state().depth;
            let mut pipelined = self.pipelined();
            pipelined.fail(depth, &e);
            pipelined.failure().unwrap_or(e)
        })
    }

    /// Notes that a statement's answer may go unread (a stream's rows are read by a task of
    /// their own, and one left early leaves them): see `State::unsure`.
    pub(crate) fn answer_may_go_unread(&self) {
        self.state().unsure = true;
    }

    /// Writes a statement now and reads its answer later: see [`crate::Raw::pipeline`].
    pub(crate) async fn pipeline(&self, sql: Sql, values: Vec<Value>) -> Result<(), Error> {
        self.0.db.count_query();
        match self.0.db.backend() {
            Backend::Sqlite(_) => {
                let mut state = self.state();
                let (sent, start) = match &state.link {
                    Some(Link::Sqlite(jobs, start)) => {
                        if let Some(failure) = start.failure() {
                            return Err(failure);
                        }
                        (send_to_lease(jobs, move |conn| sqlite_execute(conn, &sql, &values)), start.clone())
                    }
                    _ => return Err(ended()),
                };
                state.begun = true;
                self.pipelined()
                    .push(state.depth, Box::pin(async move { answer_from_lease(&start, sent).await }));
                Ok(())
            }
            Backend::Postgres(_) => {
                let conn = match &self.state().link {
                    Some(Link::Postgres(lease)) => lease.conn.clone(),
                    _ => return Err(ended()),
                };
                let statement = match conn.cached(&sql) {
                    Some(statement) => statement,
                    // The prepare's answer comes behind the earlier ones: read with them, and a
                    // failure kept (a Parse that fails fails the transaction too).
                    None => self.on_pg(|c| async move { c.statement(&sql, self).await }).await?,
                };
                // Written under the state's lock with the link there (the gate's rule): a
                // statement goes out before the transaction's COMMIT or not at all; and added
                // to the answers under it, so they are kept in the order written.
                let mut state = self.state();
                if !matches!(state.link, Some(Link::Postgres(_))) {
                    return Err(ended());
                }
                let mut pipelined = self.pipelined();
                if !std::mem::replace(&mut state.begun, true) {
                    pipelined.push(0, write_begin(&conn));
                }
                // A value that does not encode fails here, with nothing written.
                pipelined.push(state.depth, conn.written(statement, values)?);
                Ok(())
            }
        }
    }

    /// Reads the answers of the pipelined statements still unread; the first failure, once
    /// all are read (it is kept too: see [`crate::pipelined`]).
    async fn read_pending(&self) -> Result<(), Error> {
        let pending = self.pipelined().take();
        self.unread(pending).read().await
    }

    pub(crate) async fn fetch<R: Send + 'static, C: Rows<R>>(
        &self,
        sql: Sql,
        values: OwnedParams,
        read: impl Reader<R>,
        out: C,
    ) -> Result<C, Error> {
        match self.0.db.backend() {
            Backend::Sqlite(_) => {
                self.on_sqlite(move |conn| sqlite_fetch(conn, &sql, &values, &read, out)).await
            }
            // Read to the end (`ReadAll`): an error after the rows aborted the transaction.
            Backend::Postgres(_) => {
                let whole = ReadAll(out);
                self.on_pg(
                    |c| async move { c.fetch(&sql, &values, &read, whole, self).await.map(|all| all.0) },
                )
                .await
            }
        }
    }

    pub(crate) async fn execute(&self, sql: Sql, values: Vec<Value>) -> Result<u64, Error> {
        match self.0.db.backend() {
            Backend::Sqlite(_) => self.on_sqlite(move |conn| sqlite_execute(conn, &sql, &values)).await,
            Backend::Postgres(_) => self.on_pg(|c| async move { c.execute(&sql, &values, self).await }).await,
        }
    }

    /// Runs SQL text with no parameters inside the transaction (several statements may be
    /// separated by `;`). Prefer QuerySets: their values are always bound.
    ///
    /// Transaction control (`COMMIT`, `ROLLBACK`, `BEGIN`, `END` ...) is refused before
    /// anything is sent ([`Error::Config`]): it would end the transaction under brisk-orm.
    /// Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) are allowed; [`Transaction::atomic`]
    /// makes them for you.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), Error> {
        let reading = crate::control::read(sql, self.0.db.dialect());
        if let Some(keyword) = reading.control {
            return Err(crate::control::refused(keyword));
        }
        self.batch(sql).await?;
        if reading.rolls_back_to_a_savepoint {
            self.rolled_back_to_a_savepoint();
        }
        Ok(())
    }

    /// SQL written by hand rolled back to a savepoint it made at this depth (`SAVEPOINT s`,
    /// a statement that fails, `ROLLBACK TO SAVEPOINT s`): on PostgreSQL the transaction is
    /// healthy again, and a failure kept at this depth (see [`crate::pipelined`]) is gone —
    /// it came after the savepoint, as one before it would have failed the `SAVEPOINT` and
    /// this `ROLLBACK TO`. SQLite does not fail a savepoint for a failure before it: there a
    /// kept failure stays.
    pub(crate) fn rolled_back_to_a_savepoint(&self) {
        if self.0.db.dialect() == crate::backend::Dialect::Postgres {
            let depth = self.state().depth;
            self.pipelined().forget_within(depth);
        }
    }

    /// Runs SQL text brisk-orm wrote itself (its savepoints), unread by [`crate::control`].
    async fn batch(&self, sql: &str) -> Result<(), Error> {
        self.0.db.count_query();
        match self.0.db.backend() {
            Backend::Sqlite(_) => {
                let sql = sql.to_owned();
                self.on_sqlite(move |conn| conn.execute_batch(&sql).map_err(from_sqlite)).await
            }
            Backend::Postgres(_) => self.on_pg(|c| async move { c.batch(sql, self).await }).await,
        }
    }

    /// Runs `f` in a savepoint: released when it succeeds, rolled back to when it fails (the
    /// outer transaction goes on, and a failure inside is gone with the savepoint). The block
    /// fails although `f` returned `Ok` when a statement pipelined inside it failed
    /// ([`crate::Raw::pipeline`]); it fails at once, without running `f`, when the transaction
    /// has already failed (a pipelined statement before it, or on PostgreSQL an error the
    /// server raised): that failure stays the enclosing block's.
    pub async fn atomic<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        let depth = {
            let mut state = self.state();
            state.depth += 1;
            state.depth
        };
        let name = format!("brisk_sp_{depth}");
        // Pipelined statements are read at the savepoint's edges, so a failure is the block's
        // it was written in. One written before, or kept from before, has failed the
        // enclosing block: this one fails at once, and the failure stays the enclosing
        // block's (its commit, or its own savepoint's end, answers it).
        let before = self.read_pending().await;
        let kept = self.pipelined().failure();
        if let Some(e) = kept.or(before.err()) {
            self.state().depth = depth - 1;
            return Err(e.into());
        }
        let result = match self.batch(&format!("SAVEPOINT {name}")).await {
            Ok(()) => f(self.clone()).await,
            Err(e) => Err(e.into()),
        };
        let _ = self.read_pending().await;
        let result = match (result, self.pipelined().failure_within(depth)) {
            (Ok(_), Some(e)) => Err(e.into()),
            (result, _) => result,
        };
        let end = match &result {
            Ok(_) => self.batch(&format!("RELEASE SAVEPOINT {name}")).await,
            Err(_) => {
                self.state().hooks.retain(|(d, _)| *d < depth);
                let undone =
                    self.batch(&format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")).await;
                if undone.is_ok() {
                    self.pipelined().forget_within(depth);
                }
                undone
            }
        };
        self.state().depth = depth - 1;
        match (result, end) {
            (Ok(_), Err(e)) => Err(e.into()),
            (result, _) => result,
        }
    }

    /// Under [`atomic_requests`](crate::atomic_requests), commits this request's transaction
    /// even when the handler answers with an error: for writes a refusal must keep (a failed
    /// login's count — brisk-auth's throttle does this —, an audit row of a refused request).
    /// Everything the request wrote is kept then, and its [`on_commit`](Transaction::on_commit)
    /// hooks run (jobs it enqueued run, mail it queued goes), so call it only where that is
    /// right. It cannot be taken back (called inside a savepoint that is later rolled back,
    /// it still keeps the rest), and only `atomic_requests` reads it: [`Database::atomic`]
    /// and [`Transaction::commit`] commit or roll back as their code says. A panic or a client
    /// that left still rolls back, and a failed statement still fails the commit (logged; the
    /// client gets the handler's answer).
    ///
    /// ```no_run
    /// use brisk::prelude::*;
    /// use brisk_orm::{Db, Raw};
    ///
    /// async fn delete_report(db: Db) -> Result<&'static str> {
    ///     Raw::new("INSERT INTO audit (action) VALUES ('refused delete')").execute(&db).await?;
    ///     if let Some(tx) = db.transaction() {
    ///         tx.keep_on_error(); // the audit row stays though the answer is 403
    ///     }
    ///     Err(brisk::Error::http(StatusCode::FORBIDDEN, "not yours"))
    /// }
    /// ```
    pub fn keep_on_error(&self) {
        self.0.keep_on_error.store(true, Ordering::Relaxed);
    }

    /// Whether [`Transaction::keep_on_error`] was called.
    pub fn keeps_on_error(&self) -> bool {
        self.0.keep_on_error.load(Ordering::Relaxed)
    }

    /// Runs `hook` after the outermost transaction commits; never if it (or the savepoint
    /// the hook was registered in) rolls back.
    pub fn on_commit(&self, hook: impl FnOnce() + Send + 'static) {
        let mut state = self.state();
        let depth = state.depth;
        state.hooks.push((depth, Box::new(hook)));
    }

    /// Commits, then runs the `on_commit` hooks.
    pub async fn commit(self) -> Result<(), Error> {
        let result = self.end("COMMIT").await;
        let hooks = self.finish();
        result?;
        for (_, hook) in hooks {
            hook();
        }
        Ok(())
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), Error> {
        let result = self.end("ROLLBACK").await;
        self.finish();
        result
    }

    /// Sends `COMMIT` or `ROLLBACK`; nothing when no statement ran (PostgreSQL: `BEGIN` never
    /// went out; SQLite: the writer is given up, or never began the transaction — a `COMMIT`
    /// then fails). The link leaves the state first, under its lock: a statement a clone sends
    /// from then on finds the transaction ended, instead of running after the `COMMIT` outside
    /// any transaction.
    async fn end(&self, sql: &'static str) -> Result<(), Error> {
        let (link, pending, kept, unsure) = {
            let mut state = self.state();
            match &state.link {
                Some(Link::Sqlite(_, start)) => {
                    // Never begun: nothing to roll back; a COMMIT answers why.
                    if let Some(failure) = start.failure() {
                        return match sql {
                            "ROLLBACK" => Ok(()),
                            _ => Err(failure),
                        };
                    }
                    // No statement sent: nothing to end (the lease is given up with the link).
                    if !state.begun {
                        state.link = None;
                        return Ok(());
                    }
                }
                // No BEGIN sent: the connection goes back to the pool outside any transaction.
                Some(Link::Postgres(_)) if !state.begun => {
                    if let Some(Link::Postgres(lease)) = state.link.take() {
                        lease.release();
                    }
                    return Ok(());
                }
                _ => {}
            }
            let mut pipelined = self.pipelined();
            (state.link.take(), pipelined.take(), pipelined.failure(), state.unsure || state.in_flight > 0)
        };
        self.0.db.count_query();
        // A pipelined statement's failure read before (and handled by the app, or not): the
        // transaction rolls back and the commit answers it.
        let (sql, kept) = match (sql, kept) {
            ("COMMIT", Some(e)) => ("ROLLBACK", Err(e)),
            (sql, _) => (sql, Ok(())),
        };
        let commit = sql == "COMMIT";
        match link {
            Some(Link::Sqlite(jobs, start)) => {
                // A failed statement does not abort a SQLite transaction: a pipelined one that
                // failed turns the COMMIT into a ROLLBACK here. (Its answer is there as soon
                // as the writer has run it: no round trip.)
                let read = if commit { self.unread(pending).read().await } else { Ok(()) };
                let sql = if read.is_ok() { sql } else { "ROLLBACK" };
                let sent = send_to_lease(&jobs, move |conn| conn.execute_batch(sql).map_err(from_sqlite));
                // The lease ends once this has run (or, should the COMMIT fail and leave the
                // transaction open, when `jobs` drops: then it rolls back).
                let ended = answer_from_lease(&start, sent).await;
                kept.and(read).and(ended)
            }
            // The COMMIT goes out right behind the pipelined statements, before their answers
            // are read: one round trip for all. One that failed aborted the transaction, and
            // PostgreSQL answers its COMMIT as a rollback, without an error: that failure is
            // the answer. A ROLLBACK does not read them (the connection drops unread answers).
            // When an answer may have gone unread, a `SELECT 1` goes out right before the
            // COMMIT (same round trip): in a transaction the server has failed it fails, where
            // the COMMIT would be answered as a rollback without an error.
            Some(Link::Postgres(lease)) => {
                let pending = if commit { pending } else { Vec::new() };
                let check = async {
                    match commit && unsure {
                        true => lease.conn.batch("SELECT 1", &Ungated).await.map_err(failed_unseen),
                        false => Ok(()),
                    }
                };
                let (read, checked, result) =
                    tokio::join!(self.unread(pending).read(), check, lease.conn.batch(sql, &Ungated));
                lease.release();
                kept.and(read).and(checked).and(result)
            }
            None => Err(ended()),
        }
    }

    /// Ends the lease (the connection goes back to the pool; SQLite's writer is freed, if its
    /// `COMMIT` or `ROLLBACK` has not freed it already) and hands back the hooks.
    fn finish(&self) -> Vec<(u32, Hook)> {
        let mut state = self.state();
        match state.link.take() {
            Some(Link::Postgres(lease)) => lease.release(),
            Some(Link::Sqlite(jobs, _)) => drop(jobs),
            None => {}
        }
        std::mem::take(&mut state.hooks)
    }
}

/// The commit's answer when its check found the transaction failed on the server: a
/// statement whose answer was not read had failed it.
fn failed_unseen(e: Error) -> Error {
    match e {
        Error::Database { code: Some(code), .. } if code == "25P02" => Error::Database {
            message: "the transaction had failed on the server (a statement whose failure was not taken \
                      into account: cancelled, left unread, or ignored); nothing was committed"
                .into(),
            code: Some(code),
        },
        e => e,
    }
}

/// A statement of [`Transaction::on_pg`] in flight: dropped, it is no longer
/// (`State::in_flight`), and it marks its transaction unsure (`State::unsure`) when armed.
struct Unsure<'a> {
    tx: &'a Transaction,
    armed: bool,
}

impl Drop for Unsure<'_> {
    fn drop(&mut self) {
        let mut state = self.tx.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.unsure |= self.armed;
    }
}

/// Whether PostgreSQL raised `e` (which fails the transaction it ran in), rather than the
/// client (a value that did not encode, a row that did not decode) or a lost connection.
fn raised_by_the_server(e: &Error) -> bool {
    matches!(
        e,
        Error::UniqueViolation { .. }
            | Error::ForeignKeyViolation { .. }
            | Error::ConstraintViolation { .. }
            | Error::Database { code: Some(_), .. }
    )
}

/// `BEGIN`, written to `conn` (its request goes out at this first poll), its answer to read
/// later.
fn write_begin(conn: &Arc<crate::backend::postgres::PgConn>) -> Answer {
    let sender = conn.clone();
    let mut begin: Answer = Box::pin(async move { sender.batch("BEGIN", &Ungated).await.map(|()| 0) });
    match begin.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        // A finished async block may not be polled again.
        std::task::Poll::Ready(done) => Box::pin(std::future::ready(done)),
        std::task::Poll::Pending => begin,
    }
}

/// Sends `work` to a SQLite lease: the receiver of its answer, or `None` when the lease is
/// gone.
fn send_to_lease<R: Send + 'static>(
    jobs: &std::sync::mpsc::Sender<Work>,
    work: impl FnOnce(&mut rusqlite::Connection) -> Result<R, Error> + Send + 'static,
) -> Option<oneshot::Receiver<Result<R, Error>>> {
    let (tx, rx) = oneshot::channel();
    let job: Work = Box::new(move |conn| {
        let _ = tx.send(work(conn));
    });
    jobs.send(job).ok().map(|()| rx)
}

/// The answer of work sent to a lease: once the writer has begun it (every statement learns
/// here whether it did, at once after the first), the work's own. A lease gone before the
/// work was sent answers why: the writer could not begin it, or it ended.
async fn answer_from_lease<R>(
    start: &LeaseStart,
    sent: Option<oneshot::Receiver<Result<R, Error>>>,
) -> Result<R, Error> {
    let Some(rx) = sent else {
        return Err(start.wait().await.err().unwrap_or_else(ended));
    };
    start.wait().await?;
    rx.await.map_err(|_| ended())?
}

/// A transaction's statements are written only while it is open: under its lock, with its
/// link still there (see [`Gate`]); `end` takes the link under the same lock before it
/// writes the COMMIT, so a statement goes out before the COMMIT or not at all.
impl Gate for Transaction {
    const GATED: bool = true;
    fn open(&self, write: &mut dyn FnMut()) -> Result<(), Error> {
        let state = self.state();
        match &state.link {
            Some(Link::Postgres(_)) => {
                write();
                Ok(())
            }
            _ => Err(ended()),
        }
    }
}

impl Executor for Transaction {
    fn target(&self) -> Target<'_> {
        Target::Tx(self)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A transaction dropped while open (a cancelled request, a panic): SQLite's thread
        // rolls back when its job channel closes; a PostgreSQL connection in the middle of a
        // transaction is closed, not reused, and the server rolls it back. One that never sent
        // `BEGIN` is outside any transaction: it goes back to the pool.
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(Link::Postgres(lease)) = state.link.take() {
            match state.begun {
                true => drop(lease.conn),
                false => lease.release(),
            }
        }
    }
}
