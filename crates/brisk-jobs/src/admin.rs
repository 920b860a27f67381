//! The jobs in brisk-admin (feature `admin`): state, attempts and last error in the list,
//! filters by state and queue, and the actions "Retry" and "Cancel".
//!
//! ```no_run
//! use brisk_admin::Admin;
//! let admin = Admin::new().register::<brisk_jobs::JobRecord>(brisk_jobs::admin::job_admin());
//! ```

use brisk_admin::{Action, ActionContext, ModelAdmin};

use crate::JobRecord;

/// The admin of [`JobRecord`]: read-only rows (jobs change through the queue's own rules),
/// with the actions `retry_jobs` (dead, cancelled or waiting jobs run again now) and
/// `cancel_jobs` (jobs that have not started are cancelled); both need the `change`
/// permission.
pub fn job_admin() -> ModelAdmin<JobRecord> {
    ModelAdmin::default()
        .list_display(["id", "name", "queue", "state", "attempts", "max_attempts", "run_at", "last_error"])
        .list_filter(["state", "queue"])
        .search_fields(["name", "unique_key", "last_error"])
        .ordering(["-id"])
        .title_fields(["name", "id"])
        .readonly_fields([
            "queue",
            "name",
            "payload",
            "state",
            "priority",
            "attempts",
            "max_attempts",
            "run_at",
            "timeout_ms",
            "unique_key",
            "cron_tick",
            "locked_by",
            "locked_until",
            "last_error",
            "created_at",
            "started_at",
            "finished_at",
        ])
        .action(Action::new(
            "retry_jobs",
            "Retry the selected jobs",
            "change",
            |cx: ActionContext| async move {
                let n = for_each(&cx, |db, id| async move { crate::retry(&db, id).await }).await?;
                Ok(format!("{n} job(s) will run again."))
            },
        ))
        .action(Action::new(
            "cancel_jobs",
            "Cancel the selected jobs",
            "change",
            |cx: ActionContext| async move {
                let n = for_each(&cx, |db, id| async move { crate::cancel(&db, id).await }).await?;
                Ok(format!("{n} job(s) cancelled (jobs already running or finished were left alone)."))
            },
        ))
}

/// Runs `op` on every selected key; counts those it changed.
async fn for_each<F, Fut>(cx: &ActionContext, op: F) -> Result<usize, brisk::Error>
where
    F: Fn(brisk_orm::Database, i64) -> Fut,
    Fut: std::future::Future<Output = Result<bool, brisk_orm::Error>>,
{
    let mut changed = 0;
    for key in &cx.keys {
        let id = match key {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let Some(id) = id else { continue };
        if op(cx.db.clone(), id).await? {
            changed += 1;
        }
    }
    Ok(changed)
}
