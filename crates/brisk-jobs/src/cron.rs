//! Cron: jobs enqueued on a schedule, once per tick whatever the number of processes.
//!
//! Every process that runs workers runs the schedulers. At a tick, each inserts the job with
//! the key `<job name> <schedule>@<tick>` in the unique column `cron_tick`; the first insert
//! wins and the others insert nothing (`ON CONFLICT DO NOTHING`). The job then runs as any
//! job: at least once, retried on failure.
//!
//! Catch-up: a scheduler fires the most recent tick that has passed and was not fired by it,
//! if that tick is at most the catch-up window old (default 1 hour,
//! [`Jobs::cron_catch_up`](crate::Jobs::cron_catch_up)). After downtime (no process running,
//! or the database unreachable) that is one run for the latest missed tick, never one per
//! missed tick; ticks older than the window are skipped.

use std::sync::Arc;
use std::time::Duration;

use brisk_orm::{Database, DateTime};
use chrono::Utc;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

use crate::enqueue::{insert, NewJob};

/// A schedule and the job it enqueues.
#[derive(Clone)]
pub(crate) struct CronEntry {
    pub(crate) schedule: String,
    pub(crate) cron: Arc<Cron>,
    pub(crate) job: Arc<NewJob>,
}

/// Parses a cron schedule: 5 fields (minute precision) or 6 (seconds first).
pub(crate) fn parse(schedule: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(schedule)
        .map_err(|e| format!("the cron schedule {schedule:?} is not valid: {e}"))
}

/// The row key of `entry`'s tick at `tick`.
pub(crate) fn tick_key(name: &str, schedule: &str, tick: chrono::DateTime<Utc>) -> String {
    format!("{name} {schedule}@{}", tick.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Fires `entry` at its ticks until dropped.
pub(crate) async fn schedule(db: Database, entry: CronEntry, catch_up: Duration) {
    let window = chrono::Duration::from_std(catch_up).unwrap_or(chrono::Duration::MAX / 2);
    let mut fired = Utc::now() - window;
    loop {
        let now = Utc::now();
        if let Ok(tick) = entry.cron.find_previous_occurrence(&now, true) {
            if tick > fired {
                fire(&db, &entry, tick).await;
                fired = tick;
            }
        }
        let next = match entry.cron.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(target: "brisk_jobs", schedule = %entry.schedule, error = %e, "no next tick");
                tokio::time::sleep(Duration::from_secs(60)).await;
                continue;
            }
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait + Duration::from_millis(1)).await;
    }
}

async fn fire(db: &Database, entry: &CronEntry, tick: chrono::DateTime<Utc>) {
    let job = NewJob {
        run_at: DateTime::from_micros(tick.timestamp_micros()),
        cron_tick: Some(tick_key(&entry.job.name, &entry.schedule, tick)),
        ..entry.job.as_ref().clone()
    };
    match insert(db, job).await {
        Ok(Some(id)) => {
            tracing::debug!(target: "brisk_jobs", job = id, schedule = %entry.schedule, %tick, "cron fired")
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(target: "brisk_jobs", schedule = %entry.schedule, %tick, error = %e, "could not fire a cron tick")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_with_and_without_seconds() {
        let every_second = parse("* * * * * *").expect("6 fields");
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).single().expect("time");
        let next = every_second.find_next_occurrence(&at, false).expect("next");
        assert_eq!((next - at).num_seconds(), 1);
        let daily = parse("0 3 * * *").expect("5 fields");
        let next = daily.find_next_occurrence(&at, false).expect("next");
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).single().expect("time"));
        assert!(parse("61 * * * *").is_err());
    }

    #[test]
    fn a_tick_has_one_key() {
        let tick = Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 1).single().expect("time");
        assert_eq!(tick_key("tick", "* * * * * *", tick), "tick * * * * * *@2026-12-06T15:00:01.000Z");
    }
}
