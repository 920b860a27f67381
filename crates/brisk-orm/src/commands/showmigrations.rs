//! `showmigrations`: every migration, applied or pending.

use std::io::Write;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use clap::ArgMatches;

use super::{BoxError, Migrations};

pub(super) struct ShowMigrations(pub(super) Arc<Migrations>);

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
