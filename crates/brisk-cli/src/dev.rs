//! `brisk dev`: binds the port once, then builds, runs, watches, and on every change rebuilds
//! and (when the build succeeds) replaces the app, which serves on the socket `brisk dev`
//! keeps open throughout (see [`crate::socket`]). A failed build leaves the running app
//! serving.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::cargo::{Build, Outcome};
use crate::failure::Failure;
use crate::process::{AppProcess, GRACE};
use crate::watch::Watch;

/// What `brisk dev` was asked for.
pub struct DevOptions {
    /// The address to listen on.
    pub host: String,
    /// The port (0: any free one).
    pub port: u16,
    /// The binary to run when the package has several.
    pub bin: Option<String>,
    /// More folders to watch.
    pub watch: Vec<PathBuf>,
    /// Arguments for the app.
    pub args: Vec<OsString>,
}

/// How long the files must stay quiet after a change before the rebuild starts: an editor's
/// save, a `git checkout` or a formatter touch several files within a few milliseconds.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often the loop looks whether the app has exited on its own.
const TICK: Duration = Duration::from_millis(100);

/// What the loop reacts to.
enum Event {
    /// A file that matters changed.
    Changed(PathBuf),
    /// The build ended.
    Built(Outcome),
    /// The watcher failed.
    WatchFailed(String),
    /// Ctrl-C or SIGTERM.
    Stop,
}

/// Prints a line of brisk dev's own (the app's and cargo's output go to the terminal as they
/// are).
fn say(line: impl std::fmt::Display) {
    eprintln!("brisk dev: {line}");
}

/// Runs until Ctrl-C or SIGTERM.
pub fn run(options: DevOptions) -> Result<(), Failure> {
    let root = project_root()?;
    let extra = options
        .watch
        .iter()
        .map(|dir| {
            std::fs::canonicalize(dir).map_err(|e| {
                Failure::usage(format!("--watch {}: {e}; give a folder that exists", dir.display()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let listener = crate::socket::bind(&options.host, options.port)?;
    let addr =
        listener.local_addr().map_err(|e| Failure::failed(format!("cannot read the bound address: {e}")))?;
    say(format_args!("listening on http://{addr} (the socket stays open across restarts)"));

    let (events, inbox) = mpsc::channel();
    let changed = events.clone();
    let failed = events.clone();
    let mut watch = Watch::start(
        &root,
        &extra,
        move |path| {
            let _ = changed.send(Event::Changed(path));
        },
        move |message| {
            let _ = failed.send(Event::WatchFailed(message));
        },
    )?;
    let stop = events.clone();
    crate::signals::on_stop(move || {
        let _ = stop.send(Event::Stop);
    })?;

    let bin = options.bin.as_deref();
    let mut app: Option<AppProcess> = None;
    say(format_args!("building {}", root.display()));
    let mut build = Some(start_build(&root, bin, &events)?);
    // Files changed since the last build began, and when the last of them did.
    let mut pending: Vec<PathBuf> = Vec::new();
    let mut last_change = Instant::now();
    loop {
        match inbox.recv_timeout(TICK) {
            Ok(Event::Changed(path)) => {
                watch.saw(&path);
                if !pending.contains(&path) {
                    pending.push(path);
                }
                last_change = Instant::now();
            }
            Ok(Event::Built(outcome)) => {
                build = None;
                match outcome {
                    Ok(program) => {
                        if let Some(old) = app.take() {
                            say("restarting the app");
                            old.stop(GRACE);
                        }
                        match AppProcess::start(&program, &options.args, &root, &listener) {
                            Ok(started) => {
                                say(format_args!("started {} (pid {})", program.display(), started.id()));
                                app = Some(started);
                            }
                            Err(e) => say(e),
                        }
                    }
                    Err(why) if app.is_some() => {
                        say(format_args!("{why}; the app keeps serving the last build. Fix it and save."))
                    }
                    Err(why) => {
                        say(format_args!("{why}; the app starts when a change builds. Fix it and save."))
                    }
                }
            }
            Ok(Event::WatchFailed(message)) => say(message),
            Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if build.is_none() && !pending.is_empty() && last_change.elapsed() >= DEBOUNCE {
            say(format_args!("{} changed; rebuilding", describe(&pending, &root)));
            pending.clear();
            match start_build(&root, bin, &events) {
                Ok(started) => build = Some(started),
                Err(e) => say(e),
            }
        }
        if let Some(status) = app.as_mut().and_then(AppProcess::exited) {
            say(format_args!("the app exited ({status}); it starts again on the next change that builds"));
            app = None;
        }
    }
    say("stopping");
    if let Some(build) = build {
        build.cancel();
    }
    if let Some(app) = app {
        app.stop(GRACE);
    }
    Ok(())
}

fn start_build(root: &Path, bin: Option<&str>, events: &Sender<Event>) -> Result<Build, Failure> {
    let done = events.clone();
    Build::start(root, bin, move |outcome| {
        let _ = done.send(Event::Built(outcome));
    })
}

/// The changed files, relative to the project: `src/lib.rs`, or `src/lib.rs and 2 more`.
/// Files that are gone again (an editor's or sed's temporary file, renamed over the real one)
/// are left out when others remain.
fn describe(paths: &[PathBuf], root: &Path) -> String {
    let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
    let shown: Vec<&PathBuf> = if existing.is_empty() { paths.iter().collect() } else { existing };
    let first =
        shown.first().map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string()).unwrap_or_default();
    match shown.len() {
        0 | 1 => first,
        n => format!("{first} and {} more", n - 1),
    }
}

/// The package to serve: the working directory or the nearest parent with a Cargo.toml.
fn project_root() -> Result<PathBuf, Failure> {
    let here = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Failure::failed(format!("cannot read the working directory: {e}")))?;
    here.ancestors().find(|dir| dir.join("Cargo.toml").is_file()).map(Path::to_path_buf).ok_or_else(|| {
        Failure::failed(format!(
            "there is no Cargo.toml in {} or above: run brisk dev in a project (brisk new NAME writes one)",
            here.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_described_briefly() {
        let root = Path::new("/p");
        assert_eq!(describe(&["/p/src/lib.rs".into()], root), "src/lib.rs");
        let three: Vec<PathBuf> = vec!["/p/src/a.rs".into(), "/p/src/b.rs".into(), "/p/Cargo.toml".into()];
        assert_eq!(describe(&three, root), "src/a.rs and 2 more");
    }
}
