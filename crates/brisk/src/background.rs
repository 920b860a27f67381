//! Background tasks: work a handler queues to run after its response has been sent, and the
//! tracker graceful shutdown waits on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::FutureExt;
use http::request::Parts;
use tokio::sync::Notify;

use crate::depends::Scope;
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// Counts the after-response work in flight, so a graceful shutdown can wait for it.
#[derive(Default)]
pub(crate) struct TaskTracker {
    running: AtomicUsize,
    idle: Notify,
}

impl TaskTracker {
    /// Runs `work` on the runtime, counted until it ends (panics included).
    pub(crate) fn spawn(self: &Arc<Self>, work: impl Future<Output = ()> + Send + 'static) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::error!(target: "brisk::background", "after-response work skipped: no runtime");
            return;
        };
        self.running.fetch_add(1, Ordering::SeqCst);
        let tracker = self.clone();
        handle.spawn(async move {
            if AssertUnwindSafe(work).catch_unwind().await.is_err() {
                tracing::error!(target: "brisk::background", "after-response work panicked");
            }
            if tracker.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                tracker.idle.notify_waiters();
            }
        });
    }

    /// Resolves when no work is running.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Queues work to run after the response has been sent, in the order added, like FastAPI's
/// `BackgroundTasks`. A failing (or panicking) task is logged and the next one still runs;
/// graceful shutdown waits for queued tasks within the drain deadline.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::background::BackgroundTasks;
///
/// async fn signup(tasks: BackgroundTasks) -> &'static str {
///     tasks.add(async { /* send the welcome mail */ });
///     "welcome"
/// }
/// ```
#[derive(Clone)]
pub struct BackgroundTasks(Scope);

impl BackgroundTasks {
    /// Queues `task`.
    pub fn add(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.background("background task", async move {
            task.await;
            Ok(())
        });
    }

    /// Queues a task that can fail; its error is logged under `name`.
    pub fn add_fallible(
        &self,
        name: &'static str,
        task: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        self.0.background(name, task);
    }
}

impl FromRequestParts for BackgroundTasks {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        Ok(BackgroundTasks(cx.scope().clone()))
    }
}

/// Server-side only: documents nothing.
impl DescribeInput for BackgroundTasks {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}
