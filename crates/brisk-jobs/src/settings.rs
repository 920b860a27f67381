//! The runner's settings, with their defaults.

use std::time::Duration;

use brisk_orm::Database;

/// How the workers of a [`Jobs`](crate::Jobs) behave; set through its builder methods.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) concurrency: usize,
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
    pub(crate) grace: Duration,
    pub(crate) retention: Duration,
    pub(crate) dead_retention: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) cron_catch_up: Duration,
    pub(crate) prune: bool,
    pub(crate) listen_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 8,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 24 * 3600),
            dead_retention: Duration::from_secs(30 * 24 * 3600),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(3600),
            cron_catch_up: Duration::from_secs(3600),
            prune: true,
            listen_url: None,
        }
    }
}

impl Settings {
    /// Whether a job that succeeded keeps its row (`done`, until the pruner): a retention
    /// above zero.
    pub(crate) fn keeps_done(&self) -> bool {
        !self.retention.is_zero()
    }

    /// How long anything ended is kept at least, whatever the retentions: a fired cron tick's
    /// row keeps the tick from firing again, so it stays as long as a tick may be caught up.
    pub(crate) fn prune_floor(&self) -> Duration {
        self.cron_catch_up.saturating_add(Duration::from_secs(60))
    }

    /// The URL the LISTEN connection uses: the one set, else `DATABASE_URL` when it is a
    /// PostgreSQL URL, else the database's own (whose password, if any, is hidden).
    pub(crate) fn listen_url(&self, db: &Database) -> String {
        if let Some(url) = &self.listen_url {
            return url.clone();
        }
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => url,
            _ => db.url().to_owned(),
        }
    }
}
