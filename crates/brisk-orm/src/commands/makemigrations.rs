//! `makemigrations`: writes the migrations the models need; asks at a terminal, never guesses.

use std::io::Write;
use std::sync::Arc;

use brisk::cli::Command;
use brisk::handler::BoxFuture;
use clap::{Arg, ArgAction, ArgMatches};

use super::{BoxError, Migrations};
use std::io::{BufRead, IsTerminal};

use crate::error::Error;
use crate::migrations::{
    empty_migration, load, next_migration, write, FieldState, Fill, Graph, Migration, NonInteractive,
    ProjectState, Questioner,
};
use crate::value::ColumnKind;

pub(super) struct MakeMigrations(pub(super) Arc<Migrations>);

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
                Arg::new("empty").long("empty").value_name("APP").help(
                    "Writes an empty migration of APP, for a RunRust or RunSql operation written by hand",
                ),
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
            if let Some(app) = args.get_one::<String>("empty") {
                let migration = empty_migration(&graph, app);
                if dry {
                    writeln!(out, "{}:\n{}", migration.path(), migration.to_toml())?;
                } else {
                    let path = write(&self.0.source, &migration)?;
                    writeln!(out, "{}: an empty migration; add its operations", path.display())?;
                }
                return Ok(0);
            }
            let declared = ProjectState::from_registry(&crate::registry());
            let mut apps: Vec<String> = declared.models.values().map(|m| m.app.clone()).collect();
            apps.dedup();
            let interactive = !args.get_flag("no-input") && !check && std::io::stdin().is_terminal();
            let mut terminal = Terminal::stdio();
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

/// Asks a person: questions to `output`, answers read a line each from `input` (the terminal:
/// stdin and stdout).
pub(super) struct Terminal<R, W> {
    input: R,
    output: W,
}

impl Terminal<std::io::StdinLock<'static>, std::io::Stdout> {
    fn stdio() -> Self {
        Terminal { input: std::io::stdin().lock(), output: std::io::stdout() }
    }
}

impl<R: BufRead, W: Write> Terminal<R, W> {
    fn ask(&mut self, question: &str) -> Result<String, Error> {
        let io = |e: std::io::Error| Error::Config(format!("cannot ask at the terminal: {e}"));
        write!(self.output, "{question} ").map_err(io)?;
        self.output.flush().map_err(io)?;
        let mut line = String::new();
        self.input.read_line(&mut line).map_err(io)?;
        Ok(line.trim().to_owned())
    }
}

impl<R: BufRead, W: Write> Questioner for Terminal<R, W> {
    fn rename_field(&mut self, model: &str, old: &str, new: &str) -> Result<bool, Error> {
        Ok(self.ask(&format!("Was {model}.{old} renamed to {new}? [y/N]"))?.eq_ignore_ascii_case("y"))
    }
    fn rename_model(&mut self, old: &str, new: &str) -> Result<bool, Error> {
        Ok(self.ask(&format!("Was the model {old} renamed to {new}? [y/N]"))?.eq_ignore_ascii_case("y"))
    }
    fn fill(&mut self, model: &str, field: &FieldState) -> Result<Fill, Error> {
        let answer = self.ask(&format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal(answers: &str) -> Terminal<&[u8], Vec<u8>> {
        Terminal { input: answers.as_bytes(), output: Vec::new() }
    }

    #[test]
    fn renames_are_yes_only_when_the_person_says_so() {
        let mut t = terminal("y\nn\n\nY\n");
        assert!(t.rename_field("shop.Product", "title", "name").unwrap());
        assert!(!t.rename_field("shop.Product", "a", "b").unwrap());
        assert!(!t.rename_model("shop.Article", "shop.Product").unwrap(), "no answer is no");
        assert!(t.rename_model("shop.Article", "shop.Product").unwrap());
        let asked = String::from_utf8(t.output).unwrap();
        assert!(asked.starts_with("Was shop.Product.title renamed to name? [y/N] "), "{asked}");
        assert!(asked.contains("Was the model shop.Article renamed to shop.Product? [y/N] "), "{asked}");
    }

    #[test]
    fn a_not_null_value_is_read_as_the_fields_type_or_refused() {
        let field = |kind| FieldState::new("rank", kind);
        let mut t = terminal("7\nseven\ntrue\n2.5\ndraft\n\n");
        assert_eq!(t.fill("shop.Product", &field(ColumnKind::BigInt)).unwrap(), Fill::Int(7));
        let err = t.fill("shop.Product", &field(ColumnKind::Int)).unwrap_err().to_string();
        assert!(err.contains("\"seven\" is not a value of shop.Product.rank"), "{err}");
        assert_eq!(t.fill("shop.Product", &field(ColumnKind::Bool)).unwrap(), Fill::Bool(true));
        assert_eq!(t.fill("shop.Product", &field(ColumnKind::Double)).unwrap(), Fill::Float(2.5));
        assert_eq!(t.fill("shop.Product", &field(ColumnKind::Text)).unwrap(), Fill::Text("draft".into()));
        // Nothing typed: stopped with the sentence saying what to add, as without a terminal.
        let stop = t.fill("shop.Product", &field(ColumnKind::Text)).unwrap_err().to_string();
        let refused = NonInteractive.fill("shop.Product", &field(ColumnKind::Text)).unwrap_err().to_string();
        assert_eq!(stop, refused);
    }
}
