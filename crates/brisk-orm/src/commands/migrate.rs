//! `migrate [APP TARGET|zero]`: applies what is pending, or undoes an app's migrations.

use std::io::Write;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use clap::{Arg, ArgMatches};

use super::{BoxError, Migrations};

pub(super) struct Migrate(pub(super) Arc<Migrations>);

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
                    let bar = super::progress::Bar::new();
                    let applied =
                        migrator.migrate_reporting(|key, n, total| bar.starting(key, n, total)).await;
                    bar.finish();
                    let applied = applied?;
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
