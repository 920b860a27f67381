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
//!
//! A tick is fired only once its insert succeeded: an insert that failed (the database did
//! not answer) is tried again every second, while the tick is still the latest one and within
//! the window.

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

/// How soon a tick whose insert failed (the database did not answer) is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Fires `entry` at its ticks until dropped. A tick counts as fired only once its insert
/// succeeded (or found the tick's row already there); a failed insert is tried again every
/// second while the tick is still the latest one and within the catch-up window.
pub(crate) async fn schedule(db: Database, entry: CronEntry, catch_up: Duration) {
    // A window too long for chrono is as good as forever.
    let window = chrono::Duration::from_std(catch_up).unwrap_or(chrono::Duration::MAX);
    let mut fired: Option<chrono::DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        let mut failed = false;
        if let Ok(tick) = entry.cron.find_previous_occurrence(&now, true) {
            let in_window = now.signed_duration_since(tick) <= window;
            if in_window && fired.is_none_or(|f| tick > f) {
                match fire(&db, &entry, tick).await {
                    Ok(()) => fired = Some(tick),
                    Err(e) => {
                        failed = true;
                        tracing::warn!(target: "brisk_jobs", schedule = %entry.schedule, %tick, error = %e, "could not fire a cron tick; trying again in a second");
                    }
                }
            }
        }
        let next = match entry.cron.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(target: "brisk_jobs", schedule = %entry.schedule, error = %e, "no next tick");
                tokio::time::sleep(if failed { RETRY } else { Duration::from_secs(60) }).await;
                continue;
            }
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(1);
        tokio::time::sleep(if failed { wait.min(RETRY) } else { wait }).await;
    }
}

/// Inserts the row of `entry`'s `tick` (nothing when another process did first).
async fn fire(db: &Database, entry: &CronEntry, tick: chrono::DateTime<Utc>) -> Result<(), brisk_orm::Error> {
    let job = NewJob {
        run_at: DateTime::from_micros(tick.timestamp_micros()),
        cron_tick: Some(tick_key(&entry.job.name, &entry.schedule, tick)),
        ..entry.job.as_ref().clone()
    };
    if let Some(id) = insert(db, job).await? {
        tracing::debug!(target: "brisk_jobs", job = id, schedule = %entry.schedule, %tick, "cron fired");
    }
    Ok(())
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
    fn the_documented_schedules_parse() {
        // The README's and `Jobs::cron`'s examples.
        for schedule in ["* * * * * *", "0 */5 * * * *", "0 3 * * *", "*/10 * * * * *"] {
            assert!(parse(schedule).is_ok(), "{schedule}");
        }
        // The README's former example, which croner 4 refuses.
        let error = parse("0/1 * * * * *").err().unwrap_or_default();
        assert!(error.starts_with("the cron schedule \"0/1 * * * * *\" is not valid: "), "{error}");
    }

    #[test]
    fn a_tick_has_one_key() {
        let tick = Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 1).single().expect("time");
        assert_eq!(tick_key("tick", "* * * * * *", tick), "tick * * * * * *@2026-12-06T15:00:01.000Z");
    }
}
