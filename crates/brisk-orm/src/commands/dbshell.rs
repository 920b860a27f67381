//! `dbshell`: the database's own shell (`sqlite3` or `psql`) on the app's database, as
//! Django's `dbshell`: what you type goes to the database.

use std::io::Write;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use clap::{Arg, ArgAction, ArgMatches};

use super::{BoxError, Migrations};
use crate::backend::Dialect;

pub(super) struct DbShell(pub(super) Arc<Migrations>);

/// The program and its arguments for the database at `url`.
fn shell(dialect: Dialect, url: &str) -> Result<(&'static str, Vec<String>), String> {
    match dialect {
        Dialect::Postgres => Ok(("psql", vec![url.to_owned()])),
        Dialect::Sqlite => {
            let path = url.strip_prefix("sqlite:").unwrap_or(url);
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                return Err("the database is in memory: there is no file for a shell to open".into());
            }
            Ok(("sqlite3", vec![path.to_owned()]))
        }
    }
}

impl Command for DbShell {
    fn name(&self) -> &'static str {
        "dbshell"
    }
    fn about(&self) -> &'static str {
        "Opens sqlite3 or psql on the app's database (DATABASE_URL)"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command
            .arg(
                Arg::new("print")
                    .long("print")
                    .action(ArgAction::SetTrue)
                    .help("Prints the command instead of running it"),
            )
            .arg(Arg::new("args").num_args(0..).last(true).help("Passed to the shell, after --"))
    }
    fn run<'a>(
        &'a self,
        args: &'a ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>> {
        Box::pin(async move {
            let db = &self.0.db;
            let (program, mut argv) = shell(db.dialect(), db.url())?;
            argv.extend(args.get_many::<String>("args").into_iter().flatten().cloned());
            if args.get_flag("print") {
                writeln!(out, "{program} {}", argv.join(" "))?;
                return Ok(0);
            }
            // The shell talks to the terminal itself: stdin, stdout and stderr are inherited.
            let status = std::process::Command::new(program).args(&argv).status().map_err(|e| {
                let package = if program == "psql" { "postgresql-client" } else { "sqlite3" };
                format!("cannot run {program} ({e}): install it (Debian: apt-get install {package})")
            })?;
            Ok(status.code().unwrap_or(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_of_each_backend() {
        assert_eq!(
            shell(Dialect::Sqlite, "sqlite://app.db").unwrap(),
            ("sqlite3", vec!["app.db".to_owned()])
        );
        assert_eq!(
            shell(Dialect::Sqlite, "sqlite:///var/lib/app.db").unwrap(),
            ("sqlite3", vec!["/var/lib/app.db".to_owned()])
        );
        assert!(shell(Dialect::Sqlite, "sqlite::memory:").unwrap_err().contains("in memory"));
        let url = "postgres://postgres@127.0.0.1:5432/app";
        assert_eq!(shell(Dialect::Postgres, url).unwrap(), ("psql", vec![url.to_owned()]));
    }
}
