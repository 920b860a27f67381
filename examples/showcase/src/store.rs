//! Database-session counters, shared by all workers (`GET /stats` shows them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    open: AtomicU64,
}

/// How many [`DbSession`](crate::items::DbSession)s were opened, and are open now.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Counts>);

impl Sessions {
    /// Opens a session.
    pub fn open(&self) {
        self.0.opened.fetch_add(1, Ordering::Relaxed);
        self.0.open.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes a session.
    pub fn close(&self) {
        let _ = self.0.open.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Sessions opened since start-up, and open now.
    pub fn counts(&self) -> (u64, u64) {
        (self.0.opened.load(Ordering::Relaxed), self.0.open.load(Ordering::Relaxed))
    }
}
