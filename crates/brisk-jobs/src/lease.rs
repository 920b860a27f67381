//! Leases: a claimed job is the worker's until `locked_until`; while it runs, a heartbeat
//! pushes that time forward. When the worker dies (SIGKILL, a lost machine), the heartbeat
//! stops, the lease runs out, and the next claim takes the job again: at-least-once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brisk_orm::{Database, DateTime, Raw};

/// The attempts a runner is running now, by (job id, attempt): the same job can be held at
/// two attempts at once (an attempt whose outcome could not be written, whose lease ran out
/// and that this runner claimed again), and the end of one must not forget the other.
#[derive(Default)]
pub(crate) struct Active(Mutex<HashSet<(i64, i64)>>);

impl Active {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(i64, i64)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks attempt `attempt` of job `id` running until the guard drops.
    pub(crate) fn hold(self: &Arc<Self>, id: i64, attempt: i64) -> Held {
        self.lock().insert((id, attempt));
        Held { active: self.clone(), key: (id, attempt) }
    }

    fn snapshot(&self) -> Vec<(i64, i64)> {
        self.lock().iter().copied().collect()
    }
}

/// A running attempt, removed from [`Active`] when dropped (also when its task is aborted).
pub(crate) struct Held {
    active: Arc<Active>,
    key: (i64, i64),
}

impl Drop for Held {
    fn drop(&mut self) {
        self.active.lock().remove(&self.key);
    }
}

/// The end of a lease taken now (at most 9999-12-31).
pub(crate) fn lease_end(lease: Duration) -> DateTime {
    crate::enqueue::from_now(lease)
}

/// Renews the leases of the jobs in `active` every third of `lease`, until dropped. Only jobs
/// this runner is running (by id and attempt) are renewed: a job whose outcome could not be
/// written is let go, and its lease runs out.
pub(crate) async fn heartbeat(db: Database, worker: String, active: Arc<Active>, lease: Duration) {
    let every = (lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        let jobs = active.snapshot();
        for chunk in jobs.chunks(256) {
            let chunk = crate::store::padded(chunk);
            let pairs = crate::store::pair_list(chunk.len());
            let raw = Raw::new(format!(
                "UPDATE jobs_job SET locked_until = ? WHERE locked_by = ? AND state = 'running' AND ({pairs})"
            ))
            .bind(lease_end(lease))
            .bind(&worker);
            if let Err(e) = crate::store::with_pairs(raw, &chunk).execute(&db).await {
                tracing::warn!(target: "brisk_jobs", error = %e, "could not renew the leases");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_attempts_of_one_job_are_held_apart() {
        let active = Arc::new(Active::default());
        let old = active.hold(7, 1);
        let new = active.hold(7, 2);
        drop(old);
        assert_eq!(active.snapshot(), [(7, 2)], "the newer attempt is still renewed");
        drop(new);
        assert!(active.snapshot().is_empty());
    }
}
