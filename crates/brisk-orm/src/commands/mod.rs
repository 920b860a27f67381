//! The database commands an app gets by installing [`Migrations`]: `migrate`,
//! `makemigrations`, `showmigrations`, `sqlmigrate` and `dbshell`, run as `myapp <command>`
//! through `brisk::cli::main`, and the migration problems `myapp check` reports.

mod dbshell;
mod makemigrations;
mod migrate;
mod progress;
mod showmigrations;
mod sqlmigrate;

use std::path::PathBuf;
use std::sync::Arc;

use brisk::{App, Install};

use crate::database::Database;
use crate::migrations::{next_migration, Graph, Migration, Migrator, NonInteractive, ProjectState};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The migrations of an app and the commands that run them. `files` are the migrations built
/// into the binary (what `migrate` applies); `makemigrations` reads and writes the folder
/// `source` (default: the working directory's `migrations/`).
///
/// ```no_run
/// # fn demo(db: brisk_orm::Database, files: Vec<brisk_orm::migrations::Migration>) {
/// use brisk::prelude::*;
/// let app = App::new().install(db.clone()).install(brisk_orm::Migrations::new(db, files));
/// brisk::cli::main(app) // myapp migrate, myapp makemigrations --check ...
/// # }
/// ```
#[derive(Clone)]
pub struct Migrations {
    db: Database,
    files: Vec<Migration>,
    source: PathBuf,
}

impl Migrations {
    /// The commands for `files` on `db`.
    pub fn new(db: Database, files: Vec<Migration>) -> Self {
        Migrations { db, files, source: PathBuf::from(".") }
    }

    /// Where `makemigrations` finds `migrations/` (the project's folder).
    pub fn source(mut self, dir: impl Into<PathBuf>) -> Self {
        self.source = dir.into();
        self
    }

    fn migrator(&self) -> Result<Migrator, BoxError> {
        Ok(Migrator::new(self.db.clone(), self.files.clone())?)
    }
}

impl Migrations {
    /// What `check` reports: migrations the database has not applied, and apps whose models
    /// changed without a migration (compared with the migrations built into the binary).
    pub async fn problems(&self) -> Result<Vec<String>, BoxError> {
        let mut problems = Vec::new();
        let migrator = self.migrator()?;
        for pending in migrator.pending().await? {
            problems.push(format!("{} is not applied to the database: run `migrate`", pending.path()));
        }
        let declared = ProjectState::from_registry(&crate::registry());
        let mut apps: Vec<String> = declared.models.values().map(|m| m.app.clone()).collect();
        apps.dedup();
        let graph = Graph::new(self.files.clone())?;
        for app in apps {
            match next_migration(&graph, &declared, &app, &mut NonInteractive) {
                Ok(None) => {}
                Ok(Some(m)) => problems.push(format!(
                    "the models of {app} changed without a migration ({}): run `makemigrations`",
                    m.operations.iter().map(|op| op.describe()).collect::<Vec<_>>().join("; ")
                )),
                Err(e) => problems.push(format!(
                    "the models of {app} changed without a migration, which needs a decision: {e}"
                )),
            }
        }
        Ok(problems)
    }
}

impl Install for Migrations {
    fn install(self, app: App) -> App {
        let shared = Arc::new(self);
        let checked = shared.clone();
        app.command(migrate::Migrate(shared.clone()))
            .command(makemigrations::MakeMigrations(shared.clone()))
            .command(showmigrations::ShowMigrations(shared.clone()))
            .command(sqlmigrate::SqlMigrate(shared.clone()))
            .command(dbshell::DbShell(shared))
            .check(move || {
                let migrations = checked.clone();
                Box::pin(async move { migrations.problems().await })
            })
    }
}
