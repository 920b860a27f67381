//! `sqlmigrate APP NAME [--database URL]`: the SQL a migration runs.

use std::io::Write;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use clap::{Arg, ArgMatches};

use crate::backend::Dialect;

use super::{BoxError, Migrations};

pub(super) struct SqlMigrate(pub(super) Arc<Migrations>);

impl Command for SqlMigrate {
    fn name(&self) -> &'static str {
        "sqlmigrate"
    }
    fn about(&self) -> &'static str {
        "Prints the SQL a migration runs, on this database or the one --database names"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command
            .arg(Arg::new("app").required(true).help("The app label"))
            .arg(Arg::new("name").required(true).help("The migration: 0002_auto, or a prefix of it (0002)"))
            .arg(
                Arg::new("database")
                    .long("database")
                    .value_name("URL")
                    .help("Prints the SQL for this database's backend (sqlite://... or postgres://...); nothing connects"),
            )
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
            let found: Vec<_> =
                migrator.graph().ordered().filter(|m| m.app == app && m.name.starts_with(&name)).collect();
            let migration = match found.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    return Err(
                        format!("there is no migration {app}/{name}: `showmigrations` lists them").into()
                    )
                }
                many => {
                    let names: Vec<String> = many.iter().map(|m| m.name.clone()).collect();
                    return Err(format!("{app}/{name} names several migrations: {}", names.join(", ")).into());
                }
            };
            let dialect = match args.get_one::<String>("database") {
                None => self.0.db.dialect(),
                Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Dialect::Postgres
                }
                Some(url) if url.starts_with("sqlite:") => Dialect::Sqlite,
                Some(url) => {
                    return Err(format!(
                        "--database {url:?}: the URL must start with sqlite:// or postgres://"
                    )
                    .into())
                }
            };
            for sql in migrator.sql(&migration, dialect)? {
                writeln!(out, "{sql};")?;
            }
            Ok(0)
        })
    }
}
