//! `brisk new` as a user runs it: the files it writes, formatted as `cargo fmt` leaves them,
//! and the sentences and exit codes of what it refuses. (Building the project and running
//! its tests is `scaffold.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn brisk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brisk"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run brisk: {e}"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A fresh folder of this test's own under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brisk-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[test]
fn writes_a_project_named_after_its_folder() {
    let dir = scratch("new-files");
    let out = brisk(&dir, &["new", "my-site"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Created my-site (brisk 0.1 from crates.io)"), "{}", text(&out));
    let project = dir.join("my-site");
    for file in [
        "Cargo.toml",
        "build.rs",
        "src/main.rs",
        "src/lib.rs",
        "src/models.rs",
        "migrations/my_site/0001_initial.toml",
        "tests/api.rs",
        "tests/migrations.rs",
        "README.md",
        ".gitignore",
        "rustfmt.toml",
    ] {
        assert!(project.join(file).is_file(), "{file} written");
    }
    let read = |file: &str| std::fs::read_to_string(project.join(file)).unwrap_or_default();
    assert!(read("Cargo.toml").contains(r#"brisk = { version = "0.1", features = ["cli"] }"#));
    assert!(read("src/main.rs").contains("my_site::app()"));
    assert!(read("src/models.rs").contains(r#"#[model(app_label = "my_site", ordering = ["id"])]"#));
    assert!(read("migrations/my_site/0001_initial.toml").contains(r#"table = "my_site_note""#));
    let readme = read("README.md");
    assert!(readme.contains("cargo run ") && readme.contains("cargo test "), "{readme}");

    // As `cargo fmt` would leave them, with the project's rustfmt.toml.
    let rustfmt = Command::new("rustfmt")
        .args(["--edition", "2021", "--check", "build.rs", "src/main.rs", "src/lib.rs", "src/models.rs"])
        .args(["tests/api.rs", "tests/migrations.rs"])
        .current_dir(&project)
        .output();
    match rustfmt {
        Ok(out) => assert!(out.status.success(), "the templates are not formatted:\n{}", text(&out)),
        Err(e) => eprintln!("rustfmt is not installed ({e}): formatting not checked"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_folder_is_used_and_a_full_one_refused() {
    let dir = scratch("new-occupied");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let out = brisk(&dir, &["new", "empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = brisk(&dir, &["new", "empty"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already exists and is not empty: choose another name"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_arguments_are_sentences_with_code_2() {
    let dir = scratch("new-args");
    for (args, says) in [
        (&["new", "2cool"][..], "`2cool` cannot be a project name: it must start with a letter"),
        (&["new", "my site"][..], "` ` is not allowed; use letters, digits, `-` and `_`"),
        (&["new", "tokio"][..], "already in every project"),
        (&["new", "ok", "--brisk-path", "/nonexistent/brisk"][..], "--brisk-path /nonexistent/brisk:"),
        (
            &["new", "ok", "--brisk-path", "."][..],
            "is not a brisk checkout: it has no crates/brisk/Cargo.toml",
        ),
        (&["new"][..], "<PATH>"),
        (&["frobnicate"][..], "unrecognized subcommand 'frobnicate'"),
        (&["dev", "--port", "http"][..], "invalid value 'http' for '--port <PORT>'"),
    ] {
        let out = brisk(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    assert!(!dir.join("ok").exists(), "nothing written when refused");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_command_explains_itself() {
    let dir = std::env::temp_dir();
    for (args, says) in [
        (&["--help"][..], "brisk web framework"),
        (&["new", "--help"][..], "--brisk-path <DIR>"),
        (&["dev", "--help"][..], "LISTEN_FDS"),
        (&["--version"][..], env!("CARGO_PKG_VERSION")),
    ] {
        let out = brisk(&dir, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}

#[cfg(unix)]
#[test]
fn dev_outside_a_project_says_where_to_run_it() {
    let dir = scratch("dev-nowhere");
    let out = brisk(&dir, &["dev", "--port", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("there is no Cargo.toml in"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
