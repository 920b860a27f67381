//! The app `brisk dev` runs: started on the shared socket, stopped gracefully (SIGTERM, then
//! SIGKILL after a grace period).

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::failure::Failure;

/// How long an app has to finish its requests and exit after SIGTERM before it is killed.
pub const GRACE: Duration = Duration::from_secs(5);

/// A running app.
pub struct AppProcess {
    child: Child,
}

impl AppProcess {
    /// Starts `program` with `args` in `dir`, serving on `listener`.
    pub fn start(
        program: &Path,
        args: &[OsString],
        dir: &Path,
        listener: &TcpListener,
    ) -> Result<AppProcess, Failure> {
        let child = crate::socket::command_on_socket(program, args, listener)
            .current_dir(dir)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| Failure::failed(format!("cannot start {}: {e}", program.display())))?;
        Ok(AppProcess { child })
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// How it ended, once it has (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks it to stop (SIGTERM: brisk finishes the requests in flight, then exits), and kills
    /// it if it is still running after `grace`. Returns once it has exited.
    pub fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        // The child is not reaped yet (try_wait said so), so the id is still its own.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: a plain system call on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}
