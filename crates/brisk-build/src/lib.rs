//! Build-script helpers for brisk apps.
//!
//! [`embed_migrations`] makes the project's `migrations/` folder part of the binary, so a
//! release binary migrates its database without a source tree beside it. Call it from
//! `build.rs`:
//!
//! ```no_run
//! // build.rs: fn main() { ... }
//! brisk_build::embed_migrations("migrations");
//! ```
//!
//! and read the files in the app with `brisk_orm::embedded_migrations!()`. Cargo runs the build
//! script again whenever a file under the folder is added, changed or removed, so a migration
//! that `makemigrations` just wrote is in the next `cargo run`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file the build script writes in `OUT_DIR`, which `brisk_orm::embedded_migrations!()`
/// includes.
pub const OUTPUT: &str = "brisk_migrations.rs";

/// Embeds every `<dir>/<app>/<name>.toml` (relative to the package's root) as a list of
/// `(app, name, text)`, sorted by app then name, into `$OUT_DIR/brisk_migrations.rs`, and
/// tells cargo to run the build script again when anything under `dir` changes. A missing
/// folder embeds nothing.
///
/// # Panics
///
/// When it is not run by cargo as a build script (no `OUT_DIR` or `CARGO_MANIFEST_DIR`), or
/// when the folder or the output cannot be read or written: a build script reports errors by
/// panicking, and cargo prints the message.
pub fn embed_migrations(dir: impl AsRef<Path>) {
    let root = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let dir = root.join(dir.as_ref());
    println!("cargo:rerun-if-changed={}", dir.display());
    let files = match collect(&dir) {
        Ok(files) => files,
        Err(e) => panic!("brisk-build: cannot read the migrations in {}: {e}", dir.display()),
    };
    let out = PathBuf::from(env("OUT_DIR")).join(OUTPUT);
    if let Err(e) = std::fs::write(&out, render(&files)) {
        panic!("brisk-build: cannot write {}: {e}", out.display());
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("brisk-build: {name} is not set; call this from build.rs"))
}

/// One migration file found: its app label, its name (without `.toml`) and its path.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    app: String,
    name: String,
    path: PathBuf,
}

fn collect(dir: &Path) -> std::io::Result<Vec<Found>> {
    let mut found = Vec::new();
    let apps = match std::fs::read_dir(dir) {
        Ok(apps) => apps,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for app in apps {
        let app = app?.path();
        if !app.is_dir() {
            continue;
        }
        let Some(label) = app.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        for file in std::fs::read_dir(&app)? {
            let path = file?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".toml"))
            else {
                continue;
            };
            found.push(Found { app: label.clone(), name: name.to_owned(), path: path.clone() });
        }
    }
    found.sort();
    Ok(found)
}

fn render(files: &[Found]) -> String {
    let mut out = String::from("&[\n");
    for f in files {
        // `{:?}` writes a Rust string literal with every special character escaped.
        let _ = writeln!(
            out,
            "    ({:?}, {:?}, ::core::include_str!({:?})),",
            f.app,
            f.name,
            f.path.display().to_string()
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_toml_files_per_app_sorted_and_skips_the_rest() {
        let dir = std::env::temp_dir().join(format!("brisk-build-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("blog")).unwrap();
        std::fs::create_dir_all(dir.join("auth")).unwrap();
        std::fs::write(dir.join("blog/0002_auto.toml"), "").unwrap();
        std::fs::write(dir.join("blog/0001_initial.toml"), "").unwrap();
        std::fs::write(dir.join("blog/notes.txt"), "").unwrap();
        std::fs::write(dir.join("auth/0001_initial.toml"), "").unwrap();
        std::fs::write(dir.join("stray.toml"), "").unwrap();
        let found = collect(&dir).unwrap();
        let names: Vec<_> = found.iter().map(|f| format!("{}/{}", f.app, f.name)).collect();
        assert_eq!(names, ["auth/0001_initial", "blog/0001_initial", "blog/0002_auto"]);
        let code = render(&found);
        assert!(code.contains("(\"blog\", \"0002_auto\", ::core::include_str!("), "{code}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_embeds_nothing() {
        let found = collect(Path::new("/nonexistent/brisk/migrations")).unwrap();
        assert!(found.is_empty());
        assert_eq!(render(&found), "&[\n]");
    }
}
