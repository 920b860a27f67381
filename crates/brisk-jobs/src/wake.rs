//! Waking this process's workers when a job is enqueued: an enqueue in this process wakes the
//! workers of the same database at once (after the commit, for an enqueue in a transaction).
//! Other processes hear of it by `NOTIFY` on PostgreSQL (`crate::notify`); on SQLite, which
//! has no LISTEN, they find the job on their next poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// One runner's wake-ups, by queue.
pub(crate) struct Wakers {
    pub(crate) url: String,
    pub(crate) queues: HashMap<String, Arc<Notify>>,
}

impl Wakers {
    /// Wakes the claim loop of `queue` (one stored wake-up if it is busy: none is lost).
    pub(crate) fn wake(&self, queue: &str) {
        if let Some(notify) = self.queues.get(queue) {
            notify.notify_one();
        }
    }
}

static RUNNERS: Mutex<Vec<Weak<Wakers>>> = Mutex::new(Vec::new());

/// Registers a runner's wake-ups (dropped with the runner).
pub(crate) fn register(wakers: &Arc<Wakers>) {
    let mut runners = RUNNERS.lock().unwrap_or_else(|p| p.into_inner());
    runners.retain(|w| w.strong_count() > 0);
    runners.push(Arc::downgrade(wakers));
}

/// Wakes every runner of this process on database `url` that serves `queue`.
pub(crate) fn wake_local(url: &str, queue: &str) {
    let runners: Vec<Arc<Wakers>> = {
        let runners = RUNNERS.lock().unwrap_or_else(|p| p.into_inner());
        runners.iter().filter_map(Weak::upgrade).filter(|w| w.url == url).collect()
    };
    for runner in runners {
        runner.wake(queue);
    }
}
