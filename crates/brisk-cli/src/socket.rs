//! The listening socket `brisk dev` binds once and hands to every app it starts, by systemd's
//! socket-activation protocol: the socket becomes the child's descriptor 3, `LISTEN_FDS=1`
//! says so, and `LISTEN_PID` is the child's process id (`brisk::run` serves on it).
//!
//! The socket stays open in `brisk dev` for its whole life, so while one app stops and the next
//! starts, the kernel keeps accepting connections into the socket's backlog, and the next app
//! answers them.

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::failure::Failure;

/// How many connections the kernel queues while no app is accepting (a restart), as brisk's
/// own server asks for; Linux caps it at `net.core.somaxconn`.
const BACKLOG: libc::c_int = 1024;

/// The descriptor the socket becomes in the child (systemd's `SD_LISTEN_FDS_START`).
const CHILD_FD: libc::c_int = 3;

/// Binds `host:port` (port 0: any free one), with a deep backlog.
pub fn bind(host: &str, port: u16) -> Result<TcpListener, Failure> {
    let listener = TcpListener::bind((host, port)).map_err(|e| {
        Failure::failed(format!(
            "cannot listen on {host}:{port}: {e}; is another server using the port? Choose another with --port"
        ))
    })?;
    // std listens with a backlog of 128; listening again on a listening socket only changes it.
    // SAFETY: a plain call on a descriptor this function owns.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(Failure::failed(format!(
            "cannot listen on {host}:{port}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(listener)
}

/// The shell line that starts the app: it sets `LISTEN_PID` to its own process id, then
/// becomes the app (`exec` keeps the id), so the app sees its own id there. A parent cannot
/// know the id before the child exists, and a forked child must not allocate to set it.
const SET_PID_THEN_EXEC: &str = r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#;

/// A command that runs `program` with `args` on `listener`: descriptor 3, `LISTEN_FDS=1`,
/// `LISTEN_PID` its process id. On Linux the app also gets SIGTERM if `brisk dev` dies without
/// stopping it, so it never outlives the tool holding its port.
pub fn command_on_socket(
    program: &std::path::Path,
    args: &[std::ffi::OsString],
    listener: &TcpListener,
) -> Command {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(SET_PID_THEN_EXEC)
        .arg(program)
        .args(args)
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES");
    let fd = listener.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec, so it calls only
    // async-signal-safe functions (dup2, fcntl, prctl) and does not allocate.
    unsafe {
        command.pre_exec(move || {
            if fd == CHILD_FD {
                // Already descriptor 3: only clear close-on-exec, which dup2 would have done.
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, CHILD_FD) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn the_child_gets_the_socket_as_fd_3_with_its_own_pid() {
        let listener = bind("127.0.0.1", 0).unwrap();
        let addr = listener.local_addr().unwrap();
        // A shell stands in for the app: it reports what it was given, and that fd 3 is open.
        let script = r#"echo "$LISTEN_FDS $LISTEN_PID $$ $1"; [ -e /dev/fd/3 ] && echo open"#;
        let output = command_on_socket(
            std::path::Path::new("/bin/sh"),
            &["-c".into(), script.into(), "sh".into(), "arg".into()],
            &listener,
        )
        .output()
        .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines();
        let fields: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
        assert_eq!(fields[0], "1", "{text}");
        assert_eq!(fields[1], fields[2], "LISTEN_PID is the child's own id: {text}");
        assert_eq!(fields[3], "arg", "{text}");
        assert_eq!(lines.next(), Some("open"), "{text}");
        // The socket is still ours and still listening.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
    }

    #[test]
    fn a_busy_port_is_a_sentence() {
        let taken = bind("127.0.0.1", 0).unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = bind("127.0.0.1", port).unwrap_err();
        assert!(e.message.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{}", e.message);
        assert!(e.message.contains("--port"), "{}", e.message);
    }
}
