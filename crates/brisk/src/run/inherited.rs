//! A listening socket handed over by the parent process, by systemd's socket-activation
//! protocol as `brisk dev`, systemfd and the listenfd crate speak it: the parent binds, passes
//! the socket as descriptor 3 and sets `LISTEN_FDS=1` (and `LISTEN_PID`, this process's id).
//! Serving on it instead of binding lets the parent restart the app without ever closing the
//! port: connections made meanwhile wait in the kernel's backlog for the next process.
//!
//! The rule for `LISTEN_PID` is the listenfd crate's: when it is set (and not empty) it must
//! be this process's id, else the variables were meant for another process and are ignored;
//! when it is absent the socket is taken (tools that cannot know the child's id before it
//! starts leave it out). systemd itself always sets it.

// Descriptors are a unix notion: elsewhere the variables are ignored.
#![cfg_attr(not(unix), allow(dead_code))]

use std::io;
use std::net::TcpListener;

/// The first descriptor a parent passes (systemd's `SD_LISTEN_FDS_START`).
pub(crate) const FIRST_FD: i32 = 3;

/// Which descriptor the variables hand to process `pid`, if any: `Ok(None)` when `LISTEN_FDS`
/// is absent, empty or `0`, or when `LISTEN_PID` names another process; an error sentence when
/// either is not a number. With more than one socket the first is served.
pub(crate) fn claimed_fd(
    listen_fds: Option<&str>,
    listen_pid: Option<&str>,
    pid: u32,
) -> Result<Option<i32>, String> {
    let Some(fds) = listen_fds.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let count: u32 =
        fds.parse().map_err(|_| format!("LISTEN_FDS must be the number of sockets passed, got {fds:?}"))?;
    if let Some(owner) = listen_pid.filter(|v| !v.is_empty()) {
        let owner: u32 =
            owner.parse().map_err(|_| format!("LISTEN_PID must be a process id, got {owner:?}"))?;
        if owner != pid {
            return Ok(None);
        }
    }
    Ok((count > 0).then_some(FIRST_FD))
}

/// The socket the variables hand to process `pid`, taken from descriptor `fd` (3 in a real
/// process; tests pass their own): non-blocking, close-on-exec, ready for
/// `tokio::net::TcpListener::from_std`. `Ok(None)` when nothing is handed over.
///
/// The descriptor is checked before it is taken: one that is not open or not an Internet
/// socket is an error, and left as it was (it may be a file of this process's own when the
/// variables leaked from elsewhere).
#[cfg(unix)]
pub(crate) fn listener_from_env(
    listen_fds: Option<&str>,
    listen_pid: Option<&str>,
    pid: u32,
    fd: std::os::fd::RawFd,
) -> io::Result<Option<TcpListener>> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

    let Some(_) = claimed_fd(listen_fds, listen_pid, pid).map_err(invalid)? else {
        return Ok(None);
    };
    // SAFETY: the descriptor is only borrowed to duplicate it; when it is not open the
    // duplication fails with EBADF and nothing else happens.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let copy = borrowed.try_clone_to_owned().map_err(|e| {
        io::Error::new(e.kind(), format!("LISTEN_FDS is set but descriptor {fd} is not open ({e})"))
    })?;
    // The copy is close-on-exec (F_DUPFD_CLOEXEC), so the app's own subprocesses do not inherit
    // the socket; dropping it on the error path closes only the copy.
    let listener = TcpListener::from(copy);
    if let Err(e) = listener.local_addr() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("LISTEN_FDS is set but descriptor {fd} is not a TCP socket ({e})"),
        ));
    }
    // SAFETY: by the protocol the descriptor is this process's to take, and it was just seen
    // open and a socket; nothing else in the process owns it. Closing it leaves the copy.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Takes the socket the environment hands to this process, if any, and unsets `LISTEN_FDS`,
/// `LISTEN_PID` and `LISTEN_FDNAMES` so that child processes do not claim it too. Call it
/// before other threads read the environment. Always `Ok(None)` on non-unix systems.
pub(crate) fn take() -> io::Result<Option<TcpListener>> {
    let fds = std::env::var("LISTEN_FDS").ok();
    if fds.is_none() {
        return Ok(None);
    }
    let pid = std::env::var("LISTEN_PID").ok();
    for name in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    #[cfg(unix)]
    {
        let taken = listener_from_env(fds.as_deref(), pid.as_deref(), std::process::id(), FIRST_FD)?;
        if taken.is_some() && fds.as_deref().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n > 1) {
            tracing::warn!(target: "brisk::server", "LISTEN_FDS passes several sockets; serving on the first");
        }
        Ok(taken)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        Ok(None)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_fd_3_when_the_variables_say_so() {
        assert_eq!(claimed_fd(Some("1"), Some("42"), 42), Ok(Some(3)));
        assert_eq!(claimed_fd(Some("1"), None, 42), Ok(Some(3)), "no LISTEN_PID: taken");
        assert_eq!(claimed_fd(Some("1"), Some(""), 42), Ok(Some(3)), "empty LISTEN_PID: taken");
        assert_eq!(claimed_fd(Some("2"), Some("42"), 42), Ok(Some(3)), "the first of several");
    }

    #[test]
    fn claims_nothing_when_the_socket_is_someone_elses_or_absent() {
        assert_eq!(claimed_fd(None, None, 42), Ok(None));
        assert_eq!(claimed_fd(Some(""), Some("42"), 42), Ok(None));
        assert_eq!(claimed_fd(Some("0"), Some("42"), 42), Ok(None));
        assert_eq!(claimed_fd(Some("1"), Some("41"), 42), Ok(None), "another process's");
        assert_eq!(claimed_fd(None, Some("42"), 42), Ok(None));
    }

    #[test]
    fn malformed_variables_are_sentences() {
        let e = claimed_fd(Some("yes"), None, 42).unwrap_err();
        assert_eq!(e, "LISTEN_FDS must be the number of sockets passed, got \"yes\"");
        let e = claimed_fd(Some("1"), Some("me"), 42).unwrap_err();
        assert_eq!(e, "LISTEN_PID must be a process id, got \"me\"");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn serves_on_the_handed_over_socket() {
        use std::io::{Read, Write};
        use std::os::fd::IntoRawFd;

        let bound = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = bound.local_addr().unwrap();
        let fd = bound.into_raw_fd();
        let pid = std::process::id().to_string();
        let taken = listener_from_env(Some("1"), Some(&pid), std::process::id(), fd).unwrap().unwrap();
        assert_eq!(taken.local_addr().unwrap(), addr);
        let listener = tokio::net::TcpListener::from_std(taken).unwrap();
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"ping").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        });
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        tokio::io::AsyncReadExt::read_exact(&mut conn, &mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        tokio::io::AsyncWriteExt::write_all(&mut conn, b"pong").await.unwrap();
        drop(conn);
        assert_eq!(client.join().unwrap(), "pong");
    }

    #[cfg(unix)]
    #[test]
    fn leaves_a_descriptor_that_is_not_a_socket_alone() {
        use std::io::{Seek, Write};
        use std::os::fd::AsRawFd;

        let path = std::env::temp_dir().join(format!("brisk-inherited-{}", std::process::id()));
        let mut file =
            std::fs::File::options().create(true).truncate(true).read(true).write(true).open(&path).unwrap();
        let e = listener_from_env(Some("1"), None, 42, file.as_raw_fd()).unwrap_err();
        assert!(e.to_string().contains("is not a TCP socket"), "{e}");
        // Still this test's file, still open.
        file.write_all(b"kept").unwrap();
        file.rewind().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_descriptor_that_is_not_open_is_an_error() {
        // Far above any descriptor limit, so never open.
        let e = listener_from_env(Some("1"), None, 42, 1 << 30).unwrap_err();
        assert!(e.to_string().contains("is not open"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn takes_nothing_for_another_process() {
        assert!(listener_from_env(Some("1"), Some("1"), 42, 1 << 30).unwrap().is_none());
    }
}
