//! A brisk server in a separate process: `reliability-server` (src/bin) started with
//! `PORT=0`, its address read from its own log line, its stderr drained and counted, and real
//! signals delivered with `kill`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// What the server process wrote to stderr so far.
#[derive(Default)]
pub struct StderrLog {
    /// Lines written.
    pub lines: AtomicUsize,
    /// Lines containing "intentional panic" (the default panic hook's message).
    pub panic_lines: AtomicUsize,
    /// The last 50 lines, for failure messages.
    pub tail: Mutex<Vec<String>>,
}

/// A running `reliability-server` process; killed (SIGKILL) on drop if still running.
pub struct ServerProcess {
    child: Child,
    /// Its pid.
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr, drained by a thread.
    pub stderr: Arc<StderrLog>,
}

impl ServerProcess {
    /// Starts `bin` on `127.0.0.1:0` with `WORKERS=2`, `RUST_BACKTRACE=0` and the extra `env`;
    /// waits (at most 30 s) for its "listening on" log line.
    pub fn start(bin: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut cmd = Command::new(bin);
        cmd.env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("WORKERS", "2")
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LOG", "warn,brisk::server=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let pid = child.id();
        let stderr = Arc::new(StderrLog::default());
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        let pipe = child.stderr.take().expect("piped stderr");
        let log = stderr.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                log.lines.fetch_add(1, Ordering::Relaxed);
                if line.contains("intentional panic") {
                    log.panic_lines.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let (Some(tx), Ok(addr)) = (tx.take(), rest.trim().parse::<SocketAddr>()) {
                        let _ = tx.send(addr);
                    }
                }
                let mut tail = log.tail.lock().unwrap();
                if tail.len() == 50 {
                    tail.remove(0);
                }
                tail.push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "{bin} did not log its address within 30 s; stderr: {:?}",
                    stderr.tail.lock().unwrap()
                );
            }
        };
        ServerProcess { child, pid, addr, stderr }
    }

    /// Sends `signal` (`TERM`, `INT` ...) with `kill -SIGNAL pid`, as an operator would.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid);
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `limit` for the process to exit; its status and when it was seen exiting.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<(ExitStatus, Instant)> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some((status, Instant::now()));
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The last lines of its stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr.tail.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
