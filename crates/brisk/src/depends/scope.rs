//! Teardown: work a dependency registers to run after the response has been sent.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;
use smallvec::SmallVec;

use crate::background::TaskTracker;
use crate::error::Error;
use crate::handler::BoxFuture;

type Task = (&'static str, BoxFuture<'static, Result<(), Error>>);

/// The after-response work of one request: background tasks (run first, in order) and
/// dependency teardowns (then, last registered first). A request's first teardown is kept
/// inline: the common case, one dependency with cleanup, allocates no list.
#[derive(Default)]
struct Queued {
    background: Vec<Task>,
    teardowns: SmallVec<[Task; 1]>,
}

/// When the last reference goes — after the response body has been sent, or when the handler
/// failed, panicked or the client left — the queued work runs, each error logged: at once as far
/// as it goes without waiting, the rest on the runtime, counted by the app's tracker so a
/// graceful shutdown waits for it.
#[derive(Default)]
struct Teardowns {
    queued: Mutex<Queued>,
    tracker: Arc<TaskTracker>,
}

impl Drop for Teardowns {
    fn drop(&mut self) {
        let queued = match self.queued.get_mut() {
            Ok(q) => std::mem::take(q),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if queued.background.is_empty() && queued.teardowns.is_empty() {
            return;
        }
        let mut tasks = queued.background.into_iter().chain(queued.teardowns.into_iter().rev());
        // Most after-response work finishes without waiting (close a session, bump a counter):
        // run each task here until one has to wait, and only then hand the rest to the runtime.
        let mut cx = Context::from_waker(Waker::noop());
        while let Some((name, mut task)) = tasks.next() {
            match std::panic::catch_unwind(AssertUnwindSafe(|| task.as_mut().poll(&mut cx))) {
                Ok(Poll::Ready(result)) => report(name, Ok(result)),
                Err(_) => report(name, Err(())),
                Ok(Poll::Pending) => {
                    let rest: Vec<Task> = std::iter::once((name, task)).chain(tasks).collect();
                    self.tracker.spawn(run_in_order(rest));
                    return;
                }
            }
        }
    }
}

async fn run_in_order(tasks: Vec<Task>) {
    for (name, task) in tasks {
        report(name, AssertUnwindSafe(task).catch_unwind().await.map_err(|_| ()));
    }
}

/// Logs a failed or panicked after-response task (`Err(())` is a panic).
fn report(name: &'static str, outcome: Result<Result<(), Error>, ()>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(target: "brisk::depends", task = name, error = %e, "after-response task failed")
        }
        Err(()) => tracing::error!(target: "brisk::depends", task = name, "after-response task panicked"),
    }
}

/// A handle a [`Dependency`](super::Dependency) uses to register teardown, like the code after
/// `yield` in a FastAPI dependency.
///
/// ```
/// # use brisk::depends::Scope;
/// # fn demo(scope: &Scope) {
/// scope.on_teardown("db", async move {
///     // close the session, commit, release a lock ...
///     Ok(())
/// });
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Scope(Arc<Teardowns>);

impl Scope {
    pub(crate) fn new(tracker: Arc<TaskTracker>) -> Self {
        Scope(Arc::new(Teardowns { queued: Mutex::default(), tracker }))
    }

    pub(crate) fn background<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        match self.0.queued.lock() {
            Ok(mut q) => q.background.push((name, Box::pin(task))),
            Err(poisoned) => poisoned.into_inner().background.push((name, Box::pin(task))),
        }
    }

    /// Runs `task` after the response has been sent (also if the handler failed or the client
    /// went away). `name` labels its errors in the log.
    pub fn on_teardown<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        match self.0.queued.lock() {
            Ok(mut q) => q.teardowns.push((name, Box::pin(task))),
            Err(poisoned) => poisoned.into_inner().teardowns.push((name, Box::pin(task))),
        }
    }
}
