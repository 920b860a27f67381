//! The whole loop over real processes: `brisk new demo --brisk-path <this checkout>` outside
//! the workspace, `cargo test` in the new project (its API and migrations tests pass), then
//! `brisk dev` on it: a client requests continuously while a source file is edited, the new
//! code answers, and not one request fails.
//!
//! To stay fast the project builds with this workspace's Cargo.lock (the same versions, no
//! network) into this workspace's target folder (the template's `[profile.dev]` is the
//! workspace's): what the workspace's own build compiled with the same features (serde, syn,
//! the proc-macros) is reused. On a clean clone (CI) that took the project's `cargo test` from
//! ~55 s, in a target folder of its own, to ~18 s (alone on two cores).

#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The brisk checkout this test runs in.
fn checkout() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()))
}

/// This workspace's target folder (whatever CARGO_TARGET_DIR says).
fn scaffold_target() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.env("CARGO_TARGET_DIR", scaffold_target()).env("CARGO_NET_OFFLINE", "true");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last lines of `text`, for a failure message.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn a_new_project_passes_its_tests_and_reloads_under_brisk_dev_without_failing_a_request() {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("brisk-cli-scaffold-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveOnDrop(dir.clone());

    let out = Command::new(env!("CARGO_BIN_EXE_brisk"))
        .args(["new", "demo", "--brisk-path"])
        .arg(checkout())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "brisk new: {}{}", text(&out.stdout), text(&out.stderr));
    let project = dir.join("demo");
    std::fs::copy(checkout().join("Cargo.lock"), project.join("Cargo.lock")).unwrap();

    // (a) The project's own tests: its API over a socket, its migrations against its model.
    let out = cargo().args(["test", "--offline"]).current_dir(&project).output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "cargo test in the new project failed:\n{}\n{}",
        tail(&stderr, 60),
        tail(&stdout, 60)
    );
    for test in ["notes_are_created_listed_and_read", "the_migrations_match_the_models"] {
        assert!(stdout.contains(&format!("test {test} ... ok")), "{test} ran:\n{stdout}");
    }
    eprintln!("brisk new + cargo test: {:.1?}", started.elapsed());

    // (b) brisk dev: serve, edit, and no request fails meanwhile.
    let dev_started = Instant::now();
    let log = dir.join("dev.log");
    let mut dev = Dev::start(&project, &log);
    let addr = dev.address(Duration::from_secs(60));
    let first = wait_for(addr, "demo is running:", Duration::from_secs(300), &dev);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let client = Client::start(addr);
    std::thread::sleep(Duration::from_millis(300));
    let lib = project.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    assert!(source.contains("is running: the notes"), "the template's text is there to edit");

    // A change that does not build: the running app keeps serving.
    std::fs::write(&lib, format!("{source}\nfn broken( {{\n")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !dev.log().contains("the build failed") {
        assert!(Instant::now() < deadline, "the broken build was not reported:\n{}", dev.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let answered_while_broken = client.count();
    std::thread::sleep(Duration::from_millis(300));
    assert!(client.count() > answered_while_broken, "the old app still answers");

    // The fix, with a new text: the new code answers.
    std::fs::write(&lib, source.replace("is running: the notes", "is running, edited: the notes")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(300);
    while !client.seen("demo is running, edited:") {
        assert!(Instant::now() < deadline, "the edit never answered:\n{}", dev.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // A little longer, for requests that raced the restart.
    std::thread::sleep(Duration::from_millis(500));
    let (results, slowest) = client.stop();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let answered = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}\n{}",
        failures.len(),
        results.len(),
        failures,
        dev.log()
    );
    let old = results.iter().flatten().filter(|b| b.contains("demo is running: the notes")).count();
    let new = results.iter().flatten().filter(|b| b.contains("demo is running, edited:")).count();
    assert!(old > 0 && new > 0 && old + new == answered, "old {old}, new {new} of {answered}");
    // Only the edited text once the edit answered: no request went back to the old app.
    let first_new = results.iter().position(|r| r.as_ref().is_ok_and(|b| b.contains("edited:")));
    assert!(
        results[first_new.unwrap_or(0)..].iter().all(|r| r.as_ref().is_ok_and(|b| b.contains("edited:"))),
        "an old answer after a new one"
    );
    let log_text = dev.log();
    assert_eq!(log_text.matches("changed; rebuilding").count(), 2, "two edits, two rebuilds:\n{log_text}");
    assert_eq!(log_text.matches("restarting the app").count(), 1, "only the build that worked:\n{log_text}");
    assert!(log_text.contains("src/lib.rs changed; rebuilding"), "{log_text}");

    // Stopping brisk dev stops the app: the port closes.
    let status = dev.stop();
    assert!(status.is_some_and(|s| s.success()), "brisk dev exits 0 on SIGTERM: {status:?}\n{}", dev.log());
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "nothing listens any more");
    eprintln!(
        "brisk dev: {answered} requests, none failed, slowest {:.0?}; {:.1?} (total {:.1?})",
        slowest,
        dev_started.elapsed(),
        started.elapsed()
    );
}

/// One `GET /` on a connection of its own (what a browser's first request does); the whole
/// answer, or why there was none. Connection refused or reset is a failure.
fn get(addr: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| format!("read: {e}"))?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!("not 200: {answer:?}"));
    }
    Ok(answer)
}

/// Waits until `GET /` answers with `expected` in the body.
fn wait_for(addr: SocketAddr, expected: &str, within: Duration, dev: &Dev) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(answer) = get(addr) {
            if answer.contains(expected) {
                return answer;
            }
        }
        assert!(Instant::now() < deadline, "no answer with {expected:?}:\n{}", dev.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client making one request after another until stopped.
struct Client {
    stop: Arc<AtomicBool>,
    results: Arc<Mutex<Vec<Result<String, String>>>>,
    /// How long the slowest request took.
    thread: std::thread::JoinHandle<Duration>,
}

impl Client {
    fn start(addr: SocketAddr) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let (stopped, record) = (stop.clone(), results.clone());
        let thread = std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            while !stopped.load(Ordering::Relaxed) {
                let began = Instant::now();
                let result = get(addr);
                slowest = slowest.max(began.elapsed());
                if let Ok(mut results) = record.lock() {
                    results.push(result);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            slowest
        });
        Client { stop, results, thread }
    }

    fn count(&self) -> usize {
        self.results.lock().map_or(0, |r| r.len())
    }

    fn seen(&self, text: &str) -> bool {
        self.results.lock().is_ok_and(|r| r.iter().flatten().any(|b| b.contains(text)))
    }

    /// Every result in order, and the slowest request's time.
    fn stop(self) -> (Vec<Result<String, String>>, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let slowest = self.thread.join().unwrap_or_default();
        (std::mem::take(&mut *self.results.lock().unwrap_or_else(|e| e.into_inner())), slowest)
    }
}

/// `brisk dev --port 0` in the project, its output in a log file; stopped when dropped.
struct Dev {
    child: Option<Child>,
    log: PathBuf,
}

impl Dev {
    fn start(project: &Path, log: &Path) -> Dev {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_brisk"))
            .args(["dev", "--port", "0"])
            .current_dir(project)
            .env("CARGO_TARGET_DIR", scaffold_target())
            .env("CARGO_NET_OFFLINE", "true")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Dev { child: Some(child), log: log.to_path_buf() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The address it listens on, from its first line.
    fn address(&self, within: Duration) -> SocketAddr {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(rest) = log.split("listening on http://").nth(1) {
                if let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok()) {
                    return addr;
                }
            }
            assert!(Instant::now() < deadline, "brisk dev did not listen:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as Ctrl-C would; how it exited.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: a plain system call on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.stop();
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
