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
                Err(e) => {
                    let message = format!("the payload does not deserialize as job {}: {e}", J::NAME);
                    Box::pin(async move { Err(JobError::new(message)) })
                }
            }
        });
        self.handlers.insert(J::NAME, handler);
        if !self.queues.contains(&J::QUEUE) {
            self.queues.push(J::QUEUE);
        }
    }

    /// The future that runs a row's payload: an unknown name or a payload that does not
    /// deserialize is a failed attempt with a sentence saying so.
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
