//! Management commands in the app's own binary, as Django's `manage.py` (feature `cli`):
//! `myapp` (or `myapp runserver`) serves, `myapp routes` lists the routes, `myapp openapi`
//! prints the OpenAPI document, and batteries add theirs through [`App::install`]
//! (brisk-orm's `migrate`, `makemigrations` ...).
//!
//! Needs feature `cli`.
//!
//! ```no_run
//! use brisk::prelude::*;
//!
//! fn main() {
//!     let app = App::new().route("/", get(|| async { "hi" }));
//!     brisk::cli::main(app)
//! }
//! ```

use std::ffi::OsString;
use std::io::Write;
use std::sync::Arc;

use crate::error::BoxError;
use crate::handler::BoxFuture;
use crate::App;

/// A management command a battery or the app adds with [`App::command`].
pub trait Command: Send + Sync + 'static {
    /// Its name on the command line (`migrate`).
    fn name(&self) -> &'static str;
    /// One line of help.
    fn about(&self) -> &'static str;
    /// Its arguments and options, added to `command`.
    fn args(&self, command: clap::Command) -> clap::Command {
        command
    }
    /// Runs it; the exit code comes back (0 for success). What it prints goes to `out`.
    fn run<'a>(
        &'a self,
        args: &'a clap::ArgMatches,
        out: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<i32, BoxError>>;
}

/// A check `myapp check` runs (Django's system checks): the problems it finds, each a
/// sentence saying what to do; none when all is well.
pub(crate) type SystemCheck =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<String>, BoxError>> + Send + Sync + 'static>;

impl App {
    /// Adds a management command (see [`crate::cli`]).
    ///
    /// Needs feature `cli`.
    pub fn command(mut self, command: impl Command) -> Self {
        self.commands.push(Arc::new(command));
        self
    }

    /// Adds a check that `myapp check` runs after building the app: the problems it finds, as
    /// sentences (brisk-orm adds "migrations not applied" and "models changed without a
    /// migration"). An error of the check itself is reported as a problem too.
    ///
    /// Needs feature `cli`.
    ///
    /// ```
    /// use brisk::prelude::*;
    ///
    /// let app = App::new().check(|| Box::pin(async {
    ///     let mut problems = Vec::new();
    ///     if std::env::var("SECRET_KEY").is_err() {
    ///         problems.push("SECRET_KEY is not set: set it to a long random string".to_owned());
    ///     }
    ///     Ok(problems)
    /// }));
    /// ```
    pub fn check<F>(mut self, check: F) -> Self
    where
        F: Fn() -> BoxFuture<'static, Result<Vec<String>, BoxError>> + Send + Sync + 'static,
    {
        self.checks.push(Arc::new(check));
        self
    }
}

/// `check`: builds the app (its build errors are problems), then runs every check; exit 1
/// when anything was found.
fn check(mut app: App, out: &mut (dyn Write + Send)) -> i32 {
    let checks = std::mem::take(&mut app.checks);
    let mut problems = Vec::new();
    if let Err(e) = app.into_parts() {
        problems.push(format!("the app does not build: {e}"));
    }
    if !checks.is_empty() {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => {
                for check in &checks {
                    match runtime.block_on(check()) {
                        Ok(found) => problems.extend(found),
                        Err(e) => problems.push(format!("a check failed: {e}")),
                    }
                }
            }
            Err(e) => problems.push(format!("cannot start the checks: {e}")),
        }
    }
    for problem in &problems {
        let _ = writeln!(out, "error: {problem}");
    }
    match problems.len() {
        0 => {
            let _ = writeln!(out, "System check identified no issues.");
            0
        }
        1 => {
            let _ = writeln!(out, "System check identified 1 issue.");
            1
        }
        n => {
            let _ = writeln!(out, "System check identified {n} issues.");
            1
        }
    }
}

/// Parses the process's arguments and runs the command (serving when there is none), then
/// exits with its code.
pub fn main(app: App) -> ! {
    let mut out = std::io::stdout();
    let code = run(app, std::env::args_os(), &mut out);
    let _ = out.flush();
    std::process::exit(code)
}

/// Runs the command that `args` names (the first is the program's name), printing to `out`;
/// returns the exit code: 0 success, 1 a command that failed, 2 arguments that are wrong.
pub fn run<I, T>(app: App, args: I, out: &mut (dyn Write + Send)) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cli = clap::Command::new("app")
        .about("The app's server and management commands")
        .subcommand(
            clap::Command::new("runserver")
                .about("Serves the app (the default): HOST, PORT, WORKERS, RUST_LOG, LISTEN_FDS"),
        )
        .subcommand(clap::Command::new("routes").about("Lists the routes and their methods"))
        .subcommand(clap::Command::new("check").about(
            "Builds the app and runs its checks (pending or missing migrations ...); exit 1 on a problem",
        ))
        .subcommand(clap::Command::new("openapi").about("Prints the OpenAPI document"));
    for command in &app.commands {
        cli = cli.subcommand(command.args(clap::Command::new(command.name()).about(command.about())));
    }
    let matches = match cli.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = write!(out, "{}", e.render());
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let failed = |out: &mut (dyn Write + Send), message: String| {
        let _ = writeln!(out, "error: {message}");
        1
    };
    match matches.subcommand() {
        None | Some(("runserver", _)) => match crate::run(app) {
            Ok(()) => 0,
            Err(e) => failed(out, e.to_string()),
        },
        Some(("check", _)) => check(app, out),
        Some(("routes", _)) => match app.openapi().map(|doc| serde_json::to_value(&doc)) {
            Ok(Ok(doc)) => {
                for (path, item) in doc["paths"].as_object().into_iter().flatten() {
                    let methods: Vec<String> =
                        item.as_object().into_iter().flatten().map(|(m, _)| m.to_uppercase()).collect();
                    let _ = writeln!(out, "{path}  {}", methods.join(", "));
                }
                0
            }
            Ok(Err(e)) => failed(out, e.to_string()),
            Err(e) => failed(out, e.to_string()),
        },
        Some(("openapi", _)) => match app.openapi().map(|doc| serde_json::to_string_pretty(&doc)) {
            Ok(Ok(text)) => {
                let _ = writeln!(out, "{text}");
                0
            }
            Ok(Err(e)) => failed(out, e.to_string()),
            Err(e) => failed(out, e.to_string()),
        },
        Some((name, sub)) => {
            let Some(command) = app.commands.iter().find(|c| c.name() == name).cloned() else {
                return failed(out, format!("no command {name}"));
            };
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return failed(out, e.to_string()),
            };
            crate::logging::init();
            match runtime.block_on(command.run(sub, out)) {
                Ok(code) => code,
                Err(e) => failed(out, e.to_string()),
            }
        }
    }
}
