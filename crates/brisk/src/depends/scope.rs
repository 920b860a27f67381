//! Teardown: work a dependency registers to run after the response has been sent.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::handler::BoxFuture;

type Teardown = BoxFuture<'static, Result<(), Error>>;

/// The teardowns registered during one request. When the last reference goes — after the
/// response body has been sent, or when the handler failed, panicked or the client left —
/// they run on the runtime, last registered first, each error logged.
#[derive(Default)]
struct Teardowns(Mutex<Vec<(&'static str, Teardown)>>);

impl Drop for Teardowns {
    fn drop(&mut self) {
        let tasks = match self.0.get_mut() {
            Ok(tasks) => std::mem::take(tasks),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if tasks.is_empty() {
            return;
        }
        let run = async move {
            for (name, task) in tasks.into_iter().rev() {
                if let Err(e) = task.await {
                    tracing::error!(target: "brisk::depends", dependency = name, error = %e, "teardown failed");
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(run);
            }
            Err(_) => tracing::error!(target: "brisk::depends", "teardown skipped: no runtime"),
        }
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
    /// Runs `task` after the response has been sent (also if the handler failed or the client
    /// went away). `name` labels its errors in the log.
    pub fn on_teardown<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        match self.0 .0.lock() {
            Ok(mut tasks) => tasks.push((name, Box::pin(task))),
            Err(poisoned) => poisoned.into_inner().push((name, Box::pin(task))),
        }
    }
}
