//! A small app with a job and a cron tick. `DATABASE_URL=sqlite://jobs.db cargo run -p
//! brisk-jobs --example jobs -- migrate`, then `... --example jobs` (serves and works) and
//! `curl -XPOST localhost:8000/report/7`; `... --example jobs -- worker` runs only workers.

use brisk::prelude::*;
use brisk_jobs::{Job, JobContext, JobError, JobExt, Jobs};
use brisk_orm::{Database, Db};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SendReport {
    user_id: i64,
}

impl Job for SendReport {
    const NAME: &'static str = "send_report";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        tracing::info!(user = self.user_id, attempt = cx.attempt(), "sending the report");
        Ok(())
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct Tick;

impl Job for Tick {
    const NAME: &'static str = "tick";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        tracing::info!(job = cx.id(), "tick");
        Ok(())
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct UserPath {
    user_id: i64,
}

async fn report(db: Db, Path(path): Path<UserPath>) -> Result<&'static str> {
    let database: Database = (*db).clone();
    database
        .atomic(|tx| async move {
            SendReport { user_id: path.user_id }.enqueue(&tx).await?;
            Ok::<_, Error>("queued")
        })
        .await
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::from_env()?;
    let app = App::new()
        .install(db.clone())
        .install(brisk_orm::Migrations::new(db, Vec::new()))
        .install(Jobs::new().task::<SendReport>().cron("0 * * * * *", Tick))
        .route("/report/{user_id}", post(report));
    brisk::cli::main(app)
}
