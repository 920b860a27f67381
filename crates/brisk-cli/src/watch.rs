//! What `brisk dev` watches (notify: inotify on Linux, FSEvents on macOS): the project's
//! `src/`, `migrations/`, `templates/` and `static/` folders, its `Cargo.toml` and `build.rs`,
//! and the folders given with `--watch`; never `target/`, editors' swap and backup files, nor
//! reads.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::failure::Failure;

/// The project's folders whose changes rebuild the app.
pub const FOLDERS: &[&str] = &["src", "migrations", "templates", "static"];

/// The project's files whose changes rebuild the app.
pub const FILES: &[&str] = &["Cargo.toml", "build.rs"];

/// Which changes matter, for a project at `root` with `extra` folders watched too.
#[derive(Clone)]
pub struct Filter {
    root: PathBuf,
    extra: Vec<PathBuf>,
}

impl Filter {
    /// The filter for `root` (absolute) and `extra` (absolute) folders.
    pub fn new(root: PathBuf, extra: Vec<PathBuf>) -> Self {
        Filter { root, extra }
    }

    /// Whether a change to `path` should rebuild the app.
    pub fn matters(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
        if is_scratch(name) {
            return false;
        }
        if let Ok(inside) = path.strip_prefix(&self.root) {
            let mut parts = inside.components();
            let first = parts.next().and_then(|c| c.as_os_str().to_str());
            return match (first, parts.next()) {
                (Some(file), None) => FILES.contains(&file) || FOLDERS.contains(&file),
                (Some(folder), Some(_)) => FOLDERS.contains(&folder),
                (None, _) => false,
            };
        }
        // A watched folder's own build output (`--watch ../brisk` holds `target/`) would
        // rebuild forever.
        self.extra.iter().any(|dir| {
            path.strip_prefix(dir).is_ok_and(|inside| !inside.components().any(|c| c.as_os_str() == "target"))
        })
    }
}

/// Editors' temporary files: hidden files (`.lib.rs.swp`, `.#lib.rs`), backups (`lib.rs~`),
/// Emacs's `#lib.rs#`, vim's `4913` probe and `*.tmp`.
fn is_scratch(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// Whether the kind of event is a change (not a read, not a bookkeeping notice).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}

/// The running watcher; dropping it stops watching.
pub struct Watch {
    watcher: notify::RecommendedWatcher,
    root: PathBuf,
    watched: Vec<PathBuf>,
}

impl Watch {
    /// Watches the project at `root` and the `extra` folders; `changed` is called (from the
    /// watcher's thread) with every path that matters, `failed` with the watcher's errors.
    pub fn start(
        root: &Path,
        extra: &[PathBuf],
        changed: impl Fn(PathBuf) + Send + 'static,
        failed: impl Fn(String) + Send + 'static,
    ) -> Result<Watch, Failure> {
        let filter = Filter::new(root.to_path_buf(), extra.to_vec());
        let handler = move |result: notify::Result<notify::Event>| match result {
            Ok(event) if is_change(&event.kind) => {
                event.paths.into_iter().filter(|p| filter.matters(p)).for_each(&changed);
            }
            Ok(_) => {}
            Err(e) => failed(format!("watching the files failed: {e}")),
        };
        let watcher = notify::recommended_watcher(handler)
            .map_err(|e| Failure::failed(format!("cannot watch the files: {e}")))?;
        let mut watch = Watch { watcher, root: root.to_path_buf(), watched: Vec::new() };
        // The root itself, not recursively: Cargo.toml, build.rs, and folders that appear.
        watch.add(root, RecursiveMode::NonRecursive)?;
        for folder in FOLDERS {
            let dir = root.join(folder);
            if dir.is_dir() {
                watch.add(&dir, RecursiveMode::Recursive)?;
            }
        }
        for dir in extra {
            watch.add(dir, RecursiveMode::Recursive)?;
        }
        Ok(watch)
    }

    /// Starts watching `path` if it is one of the project's folders that appeared since.
    pub fn saw(&mut self, path: &Path) {
        let is_folder = path.parent() == Some(self.root.as_path())
            && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| FOLDERS.contains(&n));
        if is_folder && path.is_dir() && !self.watched.iter().any(|w| w == path) {
            let _ = self.add(path, RecursiveMode::Recursive);
        }
    }

    fn add(&mut self, path: &Path, mode: RecursiveMode) -> Result<(), Failure> {
        self.watcher
            .watch(path, mode)
            .map_err(|e| Failure::failed(format!("cannot watch {}: {e}", path.display())))?;
        self.watched.push(path.to_path_buf());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_matter_and_the_rest_does_not() {
        let filter = Filter::new("/p".into(), vec!["/lib/shared".into()]);
        for path in [
            "/p/src/lib.rs",
            "/p/src/a/b.rs",
            "/p/Cargo.toml",
            "/p/build.rs",
            "/p/migrations/app/0002.toml",
            "/p/templates/x.html",
            "/p/static/a.css",
            "/p/src",
            "/lib/shared/src/x.rs",
        ] {
            assert!(filter.matters(Path::new(path)), "{path}");
        }
        for path in [
            "/p/target/debug/demo",
            "/p/Cargo.lock",
            "/p/app.db",
            "/p/app.db-wal",
            "/p/README.md",
            "/p/src/.lib.rs.swp",
            "/p/src/lib.rs~",
            "/p/src/4913",
            "/p/src/#lib.rs#",
            "/p/tests/api.rs",
            "/elsewhere/x.rs",
            "/lib/shared/target/debug/x",
        ] {
            assert!(!filter.matters(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Read)));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(&EventKind::Modify(notify::event::ModifyKind::Any)));
        assert!(is_change(&EventKind::Remove(notify::event::RemoveKind::File)));
    }
}
