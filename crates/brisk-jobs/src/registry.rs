//! The job types a runner knows, by name: each runs a row's payload as its type.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::job::{Job, JobContext, JobError};

pub(crate) type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(&str, JobContext) -> JobFuture + Send + Sync>;

/// Job names to their handlers.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    handlers: HashMap<&'static str, Handler>,
    pub(crate) queues: Vec<&'static str>,
}

impl Registry {
    pub(crate) fn add<J: Job>(&mut self) {
        let handler: Handler = Arc::new(|payload: &str, cx: JobContext| -> JobFuture {
            match serde_json::from_str::<J>(payload) {
                Ok(job) => Box::pin(job.run(cx)),
                // The same binary that knows the name cannot read the row: retrying it here
                // would fail the same way, so the job is dead at once (fix the type, e.g.
                // `#[serde(default)]` on a new field, then retry it from the admin).
                Err(e) => {
                    let message = format!(
                        "the payload does not deserialize as job {}: {e}; it will not be retried \
                         (make the type read it, then retry the job)",
                        J::NAME
                    );
                    Box::pin(async move { Err(JobError::permanent(message)) })
                }
            }
        });
        self.handlers.insert(J::NAME, handler);
        if !self.queues.contains(&J::QUEUE) {
            self.queues.push(J::QUEUE);
        }
    }

    /// The names of the job types it runs, sorted: a worker claims only rows with one of them.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.handlers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// The future that runs a row's payload: a payload that does not deserialize is a
    /// permanent failure with a sentence saying so. (An unknown name is not claimed; should
    /// one come here, its attempt fails with a sentence too.)
    pub(crate) fn run(&self, name: &str, payload: &str, cx: JobContext) -> JobFuture {
        match self.handlers.get(name) {
            Some(handler) => handler(payload, cx),
            None => {
                let mut known: Vec<&str> = self.handlers.keys().copied().collect();
                known.sort_unstable();
                let message = format!(
                    "unknown job {name:?}: this worker registers no such job (it registers: {}); \
                     was it renamed or removed?",
                    known.join(", ")
                );
                Box::pin(async move { Err(JobError::new(message)) })
            }
        }
    }
}
