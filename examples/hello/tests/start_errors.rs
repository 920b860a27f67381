//! What a person sees when the server cannot start: a sentence, not a Debug dump, although
//! `main` just returns the error.

use std::process::Command;

fn start(port: &str) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_hello")).env("PORT", port).env("RUST_LOG", "warn").output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_port_is_a_sentence() {
    let err = start("abc");
    assert_eq!(err.trim_end(), "Error: PORT must be a port number, got \"abc\"");
}

#[test]
fn a_port_in_use_says_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = start(&taken.local_addr().unwrap().port().to_string());
    assert!(err.starts_with("Error: cannot listen: "), "{err}");
    assert!(err.contains("another server is on this port: stop it, or set PORT"), "{err}");
    assert!(!err.contains("Io(") && !err.contains("Os {"), "{err}");
}
