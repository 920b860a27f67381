//! The migration commands an app gets by installing [`Migrations`]: `migrate`,
//! `makemigrations`, `showmigrations` and `sqlmigrate`, run as `myapp <command>` through
//! `brisk::cli::main`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use brisk::{App, Install};
use clap::{Arg, ArgAction, ArgMatches};

use crate::database::Database;
use crate::error::Error;
use crate::migrations::{
    load, next_migration, write, FieldState, Fill, Graph, Migration, Migrator, NonInteractive, ProjectState,
    Questioner,
};
use crate::value::ColumnKind;

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

impl Install for Migrations {
    fn install(self, app: App) -> App {
        let shared = Arc::new(self);
        app.command(Migrate(shared.clone()))
            .command(MakeMigrations(shared.clone()))
            .command(ShowMigrations(shared.clone()))
            .command(SqlMigrate(shared))
    }
}

struct Migrate(Arc<Migrations>);

impl Command for Migrate {
    fn name(&self) -> &'static str {
        "migrate"
    }
    fn about(&self) -> &'static str {
        "Applies the pending migrations; with APP and TARGET (or zero), undoes APP's after TARGET"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command.arg(Arg::new("app").help("An app label, to undo its migrations")).arg(
            Arg::new("target").help("The migration to go back to (0001_initial), or zero").requires("app"),
        )
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let migrator = self.0.migrator()?;
            let done = match (args.get_one::<String>("app"), args.get_one::<String>("target")) {
                (Some(app), Some(target)) => {
                    let to = (target != "zero").then_some(target.as_str());
                    let undone = migrator.migrate_back(app, to).await?;
                    for key in &undone {
                        writeln!(out, "  Undid {key}")?;
                    }
                    undone
                }
                (Some(app), None) => {
                    return Err(format!("say where to take {app}: a migration's name, or zero").into())
                }
                _ => {
                    let applied = migrator.migrate().await?;
                    for key in &applied {
                        writeln!(out, "  Applied {key}")?;
                    }
                    applied
                }
            };
            if done.is_empty() {
                writeln!(out, "No migrations to apply.")?;
            }
            Ok(0)
        })
    }
}

struct MakeMigrations(Arc<Migrations>);

impl Command for MakeMigrations {
    fn name(&self) -> &'static str {
        "makemigrations"
    }
    fn about(&self) -> &'static str {
        "Writes the migrations the models need (renames and NOT NULL values are asked, never guessed)"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command
            .arg(
                Arg::new("check")
                    .long("check")
                    .action(ArgAction::SetTrue)
                    .help("Writes nothing; exits 1 when a migration is missing (for CI)"),
            )
            .arg(
                Arg::new("dry-run")
                    .long("dry-run")
                    .action(ArgAction::SetTrue)
                    .help("Prints the migrations instead of writing them"),
            )
            .arg(
                Arg::new("no-input")
                    .long("no-input")
                    .action(ArgAction::SetTrue)
                    .help("Asks nothing: assumes no rename, refuses NOT NULL fields without a default"),
            )
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let check = args.get_flag("check");
            let dry = args.get_flag("dry-run");
            let on_disk = load(&self.0.source)?;
            let files = if on_disk.is_empty() { self.0.files.clone() } else { on_disk };
            let graph = Graph::new(files)?;
            let declared = ProjectState::from_registry(&crate::registry());
            let mut apps: Vec<String> = declared.models.values().map(|m| m.app.clone()).collect();
            apps.dedup();
            let interactive = !args.get_flag("no-input") && !check && std::io::stdin().is_terminal();
            let mut terminal = Terminal;
            let ask: &mut dyn Questioner = if interactive { &mut terminal } else { &mut NonInteractive };
            let mut made = 0;
            let mut graph_now = graph;
            for app in apps {
                let Some(migration) = next_migration(&graph_now, &declared, &app, ask)? else { continue };
                made += 1;
                writeln!(out, "{}:", migration.path())?;
                for op in &migration.operations {
                    writeln!(out, "  {}", op.describe())?;
                }
                if dry {
                    writeln!(out, "{}", migration.to_toml())?;
                } else if !check {
                    write(&self.0.source, &migration)?;
                }
                let mut all: Vec<Migration> = graph_now.ordered().cloned().collect();
                all.push(migration);
                graph_now = Graph::new(all)?;
            }
            if made == 0 {
                writeln!(out, "No changes detected.")?;
            }
            Ok(if check && made > 0 { 1 } else { 0 })
        })
    }
}

/// Asks at the terminal.
struct Terminal;

fn ask(question: &str) -> Result<String, Error> {
    print!("{question} ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| Error::Config(e.to_string()))?;
    Ok(line.trim().to_owned())
}

impl Questioner for Terminal {
    fn rename_field(&mut self, model: &str, old: &str, new: &str) -> Result<bool, Error> {
        Ok(ask(&format!("Was {model}.{old} renamed to {new}? [y/N]"))?.eq_ignore_ascii_case("y"))
    }
    fn rename_model(&mut self, old: &str, new: &str) -> Result<bool, Error> {
        Ok(ask(&format!("Was the model {old} renamed to {new}? [y/N]"))?.eq_ignore_ascii_case("y"))
    }
    fn fill(&mut self, model: &str, field: &FieldState) -> Result<Fill, Error> {
        let answer = ask(&format!(
            "{model}.{} is NOT NULL: the value for the rows already there (empty to stop)?",
            field.name
        ))?;
        if answer.is_empty() {
            return NonInteractive.fill(model, field);
        }
        let parsed = match field.kind {
            ColumnKind::Bool => answer.parse().map(Fill::Bool).ok(),
            ColumnKind::SmallInt | ColumnKind::Int | ColumnKind::BigInt | ColumnKind::Duration => {
                answer.parse().map(Fill::Int).ok()
            }
            ColumnKind::Double => answer.parse().map(Fill::Float).ok(),
            _ => Some(Fill::Text(answer.clone())),
        };
        parsed.ok_or_else(|| Error::Config(format!("{answer:?} is not a value of {model}.{}", field.name)))
    }
}

struct ShowMigrations(Arc<Migrations>);

impl Command for ShowMigrations {
    fn name(&self) -> &'static str {
        "showmigrations"
    }
    fn about(&self) -> &'static str {
        "Lists the migrations, [X] applied and [ ] pending"
    }
    fn run<'a>(
        &'a self,
        _args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let migrator = self.0.migrator()?;
            let applied: Vec<String> =
                migrator.applied().await?.into_iter().map(|a| format!("{}/{}", a.app, a.name)).collect();
            for m in migrator.graph().ordered() {
                let mark = if applied.contains(&m.key()) { "X" } else { " " };
                writeln!(out, "[{mark}] {}", m.key())?;
            }
            Ok(0)
        })
    }
}

struct SqlMigrate(Arc<Migrations>);

impl Command for SqlMigrate {
    fn name(&self) -> &'static str {
        "sqlmigrate"
    }
    fn about(&self) -> &'static str {
        "Prints the SQL a migration runs on this database"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command.arg(Arg::new("app").required(true)).arg(Arg::new("name").required(true).help("0002_auto"))
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let migrator = self.0.migrator()?;
            let app = args.get_one::<String>("app").cloned().unwrap_or_default();
            let name = args.get_one::<String>("name").cloned().unwrap_or_default();
            let Some(migration) = migrator.graph().get(&format!("{app}/{name}")).cloned() else {
                return Err(format!("there is no migration {app}/{name}").into());
            };
            for sql in migrator.sql(&migration, self.0.db.dialect())? {
                writeln!(out, "{sql};")?;
            }
            Ok(0)
        })
    }
}
