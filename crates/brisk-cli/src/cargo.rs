//! `cargo build` in the project, its output streamed to the terminal as usual, and the binary
//! it built found in its JSON messages (`--message-format=json-render-diagnostics`: the
//! messages on stdout, the compiler's errors rendered on stderr as always).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use crate::failure::Failure;

/// A build in progress.
pub struct Build {
    child: Arc<Mutex<Child>>,
}

/// How a build ended: the binary to run, or a sentence saying why there is none.
pub type Outcome = Result<PathBuf, String>;

impl Build {
    /// Starts `cargo build` in `root` (for binary `bin` if given); `done` is called from
    /// another thread with the outcome when it ends.
    pub fn start(
        root: &Path,
        bin: Option<&str>,
        done: impl FnOnce(Outcome) + Send + 'static,
    ) -> Result<Build, Failure> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(&cargo);
        command.current_dir(root).args(["build", "--message-format=json-render-diagnostics"]);
        if let Some(bin) = bin {
            command.args(["--bin", bin]);
        }
        let mut child = command.stdout(Stdio::piped()).stdin(Stdio::null()).spawn().map_err(|e| {
            Failure::failed(format!(
                "cannot run {}: {e}; brisk dev builds with cargo, so it must be installed (rustup.rs)",
                Path::new(&cargo).display()
            ))
        })?;
        let stdout = child.stdout.take();
        let child = Arc::new(Mutex::new(child));
        let waited = child.clone();
        let manifest = root.join("Cargo.toml");
        let bin = bin.map(str::to_owned);
        std::thread::spawn(move || {
            let lines: Vec<String> = match stdout {
                Some(out) => BufReader::new(out).lines().map_while(Result::ok).collect(),
                None => Vec::new(),
            };
            let status = waited.lock().unwrap_or_else(PoisonError::into_inner).wait();
            done(match status {
                Ok(status) if status.success() => {
                    pick_executable(lines.iter().map(String::as_str), &manifest, bin.as_deref())
                }
                Ok(status) => Err(format!("the build failed ({status})")),
                Err(e) => Err(format!("cannot wait for cargo: {e}")),
            });
        });
        Ok(Build { child })
    }

    /// Stops the build (when brisk dev itself stops).
    pub fn cancel(self) {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The binary among cargo's messages: the one named `bin`, else the only one the package of
/// `manifest` built, else the only one at all.
pub fn pick_executable<'a>(
    messages: impl Iterator<Item = &'a str>,
    manifest: &Path,
    bin: Option<&str>,
) -> Outcome {
    let mut built: Vec<(String, PathBuf, bool)> = Vec::new();
    for line in messages {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bin =
            message["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        let (Some(name), Some(executable)) =
            (message["target"]["name"].as_str(), message["executable"].as_str())
        else {
            continue;
        };
        if is_bin {
            let ours = message["manifest_path"].as_str().is_some_and(|m| Path::new(m) == manifest);
            built.push((name.to_owned(), PathBuf::from(executable), ours));
        }
    }
    if let Some(bin) = bin {
        return built.into_iter().find(|(name, _, _)| name == bin).map(|(_, path, _)| path).ok_or_else(
            || {
                format!(
                    "cargo built no binary named {bin}: check --bin against the [[bin]] names in Cargo.toml"
                )
            },
        );
    }
    let ours: Vec<&(String, PathBuf, bool)> = built.iter().filter(|(_, _, ours)| *ours).collect();
    match (ours.as_slice(), built.as_slice()) {
        ([(_, path, _)], _) | ([], [(_, path, _)]) => Ok(path.clone()),
        ([], []) => {
            Err("the package has no binary to run: brisk dev runs src/main.rs (brisk new writes one)".into())
        }
        (several, _) => {
            let several = if several.is_empty() { built.iter().collect() } else { several.to_vec() };
            let names: Vec<&str> = several.iter().map(|(name, _, _)| name.as_str()).collect();
            Err(format!(
                "cargo built several binaries ({}): choose one with brisk dev --bin NAME",
                names.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, kind: &str, manifest: &str) -> String {
        serde_json::json!({
            "reason": "compiler-artifact",
            "manifest_path": manifest,
            "target": {"name": name, "kind": [kind]},
            "executable": if kind == "bin" { serde_json::json!(format!("/t/debug/{name}")) } else { serde_json::Value::Null },
            "fresh": false,
        })
        .to_string()
    }

    #[test]
    fn finds_the_package_binary_among_the_messages() {
        let lines = [
            artifact("serde", "lib", "/r/serde/Cargo.toml"),
            "not json".to_owned(),
            artifact("demo", "lib", "/p/Cargo.toml"),
            artifact("demo", "bin", "/p/Cargo.toml"),
            artifact("tool", "bin", "/p/tools/Cargo.toml"),
            r#"{"reason":"build-finished","success":true}"#.to_owned(),
        ];
        let picked = pick_executable(lines.iter().map(String::as_str), Path::new("/p/Cargo.toml"), None);
        assert_eq!(picked, Ok(PathBuf::from("/t/debug/demo")));
        let picked =
            pick_executable(lines.iter().map(String::as_str), Path::new("/p/Cargo.toml"), Some("tool"));
        assert_eq!(picked, Ok(PathBuf::from("/t/debug/tool")));
    }

    #[test]
    fn says_what_to_do_when_there_is_no_single_binary() {
        let none = pick_executable(std::iter::empty(), Path::new("/p/Cargo.toml"), None).unwrap_err();
        assert!(none.contains("no binary"), "{none}");
        let two = [artifact("a", "bin", "/p/Cargo.toml"), artifact("b", "bin", "/p/Cargo.toml")];
        let e =
            pick_executable(two.iter().map(String::as_str), Path::new("/p/Cargo.toml"), None).unwrap_err();
        assert_eq!(e, "cargo built several binaries (a, b): choose one with brisk dev --bin NAME");
        let e = pick_executable(two.iter().map(String::as_str), Path::new("/p/Cargo.toml"), Some("c"))
            .unwrap_err();
        assert!(e.contains("no binary named c"), "{e}");
    }
}
