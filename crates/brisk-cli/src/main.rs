//! `brisk`: the command-line tool of the brisk web framework.
//!
//! - `brisk new PATH [--brisk-path DIR]` writes a new project (see [`new`]);
//! - `brisk dev [--host H] [--port P] [--bin NAME] [--watch DIR]... [-- ARGS]` serves the
//!   project in the working directory, rebuilding and restarting it on every change while
//!   the listening socket stays open (see [`dev`]).
//!
//! Exit codes: 0 success, 1 a command that failed, 2 wrong arguments.

mod failure;
mod new;
mod templates;

#[cfg(unix)]
mod cargo;
#[cfg(unix)]
mod dev;
#[cfg(unix)]
mod process;
#[cfg(unix)]
mod signals;
#[cfg(unix)]
mod socket;
#[cfg(unix)]
mod watch;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};

use failure::Failure;

fn cli() -> Command {
    Command::new("brisk")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The brisk web framework's tool: start a project, serve it while you edit it")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("new")
                .about("Writes a new project: an app with one model, its API, a test and the first migration")
                .long_about(
                    "Writes a new project into PATH (which must not exist, or be empty), named after \
                     PATH's last part: Cargo.toml, build.rs, src/main.rs, src/lib.rs (the app and \
                     its JSON API), src/models.rs (one model), migrations/, tests/, README.md, \
                     .gitignore and rustfmt.toml. Nothing is downloaded: the files are inside this binary.",
                )
                .arg(
                    Arg::new("path")
                        .value_name("PATH")
                        .required(true)
                        .value_parser(value_parser!(PathBuf))
                        .help("The new project's folder; its last part is the project's name (my-site)"),
                )
                .arg(
                    Arg::new("brisk-path")
                        .long("brisk-path")
                        .value_name("DIR")
                        .value_parser(value_parser!(PathBuf))
                        .help("Depend on the brisk checkout in DIR instead of the published crates"),
                ),
        )
        .subcommand(
            Command::new("dev")
                .about("Serves the project here, rebuilding and restarting it on every change")
                .long_about(
                    "Serves the project in the working directory (or the nearest parent with a \
                     Cargo.toml): binds HOST:PORT once, builds with cargo, and runs the binary on \
                     that socket (handed over as LISTEN_FDS). On every change to src/, \
                     migrations/, templates/, static/, Cargo.toml or build.rs it rebuilds; when \
                     the build succeeds the app is restarted, when it fails the running app keeps \
                     serving. The socket never closes, so a request made during a restart waits \
                     for the new app instead of failing. Ctrl-C stops everything.",
                )
                .arg(
                    Arg::new("host")
                        .long("host")
                        .value_name("HOST")
                        .help("The address to listen on [default: $HOST, else 127.0.0.1]"),
                )
                .arg(
                    Arg::new("port")
                        .long("port")
                        .short('p')
                        .value_name("PORT")
                        .value_parser(value_parser!(u16))
                        .help("The port to listen on, 0 for any free one [default: $PORT, else 8000]"),
                )
                .arg(
                    Arg::new("bin")
                        .long("bin")
                        .value_name("NAME")
                        .help("The binary to run, when the package has several"),
                )
                .arg(
                    Arg::new("watch")
                        .long("watch")
                        .value_name("DIR")
                        .action(ArgAction::Append)
                        .value_parser(value_parser!(PathBuf))
                        .help("Watch this folder too (a path dependency, say); repeatable"),
                )
                .arg(
                    Arg::new("args")
                        .value_name("ARGS")
                        .num_args(0..)
                        .last(true)
                        .value_parser(value_parser!(OsString))
                        .help("Arguments for the app, after --"),
                ),
        )
}

fn main() {
    let matches = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match matches.subcommand() {
        Some(("new", sub)) => run_new(sub),
        Some(("dev", sub)) => run_dev(sub),
        _ => Err(Failure::usage("say which command to run: brisk new, or brisk dev (brisk --help)")),
    };
    if let Err(failure) = result {
        eprintln!("error: {failure}");
        std::process::exit(failure.code);
    }
}

fn run_new(args: &ArgMatches) -> Result<(), Failure> {
    let Some(path) = args.get_one::<PathBuf>("path").cloned() else {
        return Err(Failure::usage("say where to write the project: brisk new my-site"));
    };
    let request = new::NewProject { path, brisk_path: args.get_one::<PathBuf>("brisk-path").cloned() };
    new::run(&request, &mut std::io::stdout())
}

#[cfg(unix)]
fn run_dev(args: &ArgMatches) -> Result<(), Failure> {
    let host = match args.get_one::<String>("host") {
        Some(host) => host.clone(),
        None => std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned()),
    };
    let port = match (args.get_one::<u16>("port"), std::env::var("PORT")) {
        (Some(port), _) => *port,
        (None, Ok(port)) => port.parse().map_err(|_| {
            Failure::usage(format!("PORT must be a port number, got {port:?}; or pass --port"))
        })?,
        (None, Err(_)) => 8000,
    };
    let options = dev::DevOptions {
        host,
        port,
        bin: args.get_one::<String>("bin").cloned(),
        watch: args.get_many::<PathBuf>("watch").into_iter().flatten().cloned().collect(),
        args: args.get_many::<OsString>("args").into_iter().flatten().cloned().collect(),
    };
    dev::run(options)
}

#[cfg(not(unix))]
fn run_dev(_: &ArgMatches) -> Result<(), Failure> {
    Err(Failure::failed(
        "brisk dev hands its socket to the app as a file descriptor, which needs Linux, macOS or another unix",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::cli().debug_assert();
    }
}
