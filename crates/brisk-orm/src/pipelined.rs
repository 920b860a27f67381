//! Statements written inside a transaction whose answers are read later
//! ([`crate::Raw::pipeline`]): the answers still to read, in the order they were written, and
//! the failure one of them reported, kept until the transaction (or the savepoint it was
//! written in) ends.
//!
//! A failure is kept, not only returned to whoever read it: PostgreSQL answers the `COMMIT`
//! of a failed transaction as a rollback, without an error, and SQLite would commit the rest;
//! an app that handled the error and went on must still not see its commit succeed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;

/// The answer to a statement already written (rows touched), to await later.
pub(crate) type Answer = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send>>;

/// One statement's answer, with when it was written and in which savepoint.
pub(crate) struct Pending {
    seq: u64,
    depth: u32,
    answer: Answer,
}

/// A transaction's pipelined statements. Locked after the transaction's state when both are
/// (never the other way round).
#[derive(Default)]
pub(crate) struct Pipelined {
    pending: Vec<Pending>,
    next_seq: u64,
    /// The first failure read, and the savepoint depth it was written at (0: the
    /// transaction's own level); a failure written less deep replaces it.
    failed: Option<(u32, Error)>,
}

impl Pipelined {
    /// Adds a statement just written at savepoint `depth` (call it under the lock the
    /// statement was written under, so the order kept is the order written).
    pub(crate) fn push(&mut self, depth: u32, answer: Answer) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push(Pending { seq, depth, answer });
    }

    /// The answers still unread, for the caller to read ([`Unread`]).
    pub(crate) fn take(&mut self) -> Vec<Pending> {
        std::mem::take(&mut self.pending)
    }

    /// The failure kept, if any.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed.as_ref().map(|(_, e)| e.clone())
    }

    /// The failure kept of a statement written at savepoint `depth` or deeper: one the
    /// savepoint's block answers for.
    pub(crate) fn failure_within(&self, depth: u32) -> Option<Error> {
        self.failed.as_ref().filter(|(d, _)| *d >= depth).map(|(_, e)| e.clone())
    }

    /// Forgets a failure written at savepoint `depth` or deeper, once the transaction has
    /// rolled back to that savepoint.
    pub(crate) fn forget_within(&mut self, depth: u32) {
        if self.failed.as_ref().is_some_and(|(d, _)| *d >= depth) {
            self.failed = None;
        }
    }

    /// Keeps `e`, a failure of a statement at savepoint `depth`, unless one as shallow is
    /// kept already.
    pub(crate) fn fail(&mut self, depth: u32, e: &Error) {
        if self.failed.as_ref().is_none_or(|(d, _)| depth < *d) {
            self.failed = Some((depth, e.clone()));
        }
    }
}

/// Locks `pipelined` (a panic elsewhere does not make its data wrong).
pub(crate) fn lock(pipelined: &Mutex<Pipelined>) -> MutexGuard<'_, Pipelined> {
    pipelined.lock().unwrap_or_else(|p| p.into_inner())
}

/// Answers being read, in order. A failure read is kept in the transaction's [`Pipelined`]
/// as well as returned. If the reading is cancelled (the statement that reads them was
/// dropped), those not read yet go back, in the order they were written, for the next
/// statement or the commit.
pub(crate) struct Unread<'a> {
    pipelined: &'a Mutex<Pipelined>,
    answers: VecDeque<Pending>,
}

impl<'a> Unread<'a> {
    pub(crate) fn new(pipelined: &'a Mutex<Pipelined>, answers: Vec<Pending>) -> Self {
        Unread { pipelined, answers: answers.into() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// Reads every answer, in order (the connection answers in the order they were written);
    /// the first failure, once all are read.
    pub(crate) async fn read(mut self) -> Result<(), Error> {
        let mut first = None;
        while let Some(pending) = self.answers.front_mut() {
            let answered = (&mut pending.answer).await;
            let depth = pending.depth;
            self.answers.pop_front();
            if let Err(e) = answered {
                lock(self.pipelined).fail(depth, &e);
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Unread<'_> {
    fn drop(&mut self) {
        if self.answers.is_empty() {
            return;
        }
        let mut pipelined = lock(self.pipelined);
        pipelined.pending.extend(self.answers.drain(..));
        pipelined.pending.sort_by_key(|p| p.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: Result<u64, Error>) -> Answer {
        Box::pin(std::future::ready(result))
    }

    fn failed(message: &str) -> Result<u64, Error> {
        Err(Error::Config(message.into()))
    }

    /// A cancelled reading hands back what it did not read, in the order written, with what
    /// a reader took later; a failure read is kept, the least deep one winning.
    #[tokio::test]
    async fn unread_answers_go_back_in_order_and_failures_are_kept() {
        let pipelined = Mutex::new(Pipelined::default());
        {
            let mut p = lock(&pipelined);
            p.push(1, answer(failed("in the savepoint")));
            p.push(0, answer(Ok(1)));
        }
        let first = lock(&pipelined).take();
        lock(&pipelined).push(0, answer(Ok(2)));
        let second = lock(&pipelined).take();
        // The later reader is dropped unread, then the earlier one too.
        drop(Unread::new(&pipelined, second));
        drop(Unread::new(&pipelined, first));
        let seqs: Vec<u64> = lock(&pipelined).pending.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, [0, 1, 2]);

        let all = lock(&pipelined).take();
        let e = Unread::new(&pipelined, all).read().await.expect_err("the first failure");
        assert!(e.to_string().contains("in the savepoint"), "{e}");
        assert!(lock(&pipelined).failure_within(1).is_some());
        lock(&pipelined).push(0, answer(failed("outside")));
        let all = lock(&pipelined).take();
        assert!(Unread::new(&pipelined, all).read().await.is_err());
        // Less deep: it replaces the savepoint's, which a rollback to the savepoint no longer
        // clears.
        assert!(lock(&pipelined).failure_within(1).is_none());
        lock(&pipelined).forget_within(1);
        assert!(lock(&pipelined).failure().is_some_and(|e| e.to_string().contains("outside")));
        lock(&pipelined).forget_within(0);
        assert!(lock(&pipelined).failure().is_none());
    }
}
