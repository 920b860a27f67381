//! Where templates come from: folders first, in order, then embedded sets (the app's own, then
//! batteries' namespaces). The first source that has a name wins, so the app's folder overrides
//! a battery's embedded template of the same name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use minijinja::{ErrorKind, TemplateSource};

use super::EmbeddedTemplates;

/// The sources of an app's templates.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    /// Folders, looked in first, in order.
    pub(crate) dirs: Vec<PathBuf>,
    /// Embedded sets by namespace (`""`: the root), looked in after every folder, in order.
    pub(crate) embedded: Vec<(&'static str, EmbeddedTemplates)>,
}

type Loaded = Result<Option<TemplateSource>, minijinja::Error>;

/// A template name as a relative path: `/`-separated segments, none empty, hidden (`.`, `..`,
/// `.secret`) or holding a backslash or a drive colon — anything else is no template.
fn relative(name: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for segment in name.split('/') {
        if segment.is_empty() || segment.starts_with('.') || segment.contains(['\\', ':', '\0']) {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// A file's modification time and size: what a change is seen by.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Sources {
    /// The loader minijinja calls for a name it has not loaded (or whose check says it changed).
    /// With `reload`, each template carries a check: its file unchanged, and no folder before it
    /// has gained a template of that name.
    pub(crate) fn loader(&self, reload: bool) -> impl Fn(&str) -> Loaded + Send + Sync + 'static {
        let dirs: Arc<[PathBuf]> = self.dirs.clone().into();
        let embedded = self.embedded.clone();
        move |name| {
            let Some(rel) = relative(name) else { return Ok(None) };
            for (i, dir) in dirs.iter().enumerate() {
                let path = dir.join(&rel);
                let seen = stamp(&path);
                match fs::read_to_string(&path) {
                    Ok(source) => {
                        let mut source = TemplateSource::new(source);
                        if reload {
                            let (dirs, rel) = (dirs.clone(), rel.clone());
                            source = source.with_uptodate_check(move || {
                                stamp(&path) == seen && !dirs[..i].iter().any(|d| d.join(&rel).is_file())
                            });
                        }
                        return Ok(Some(source));
                    }
                    Err(e) if missing(&e, &path) => continue,
                    Err(e) => {
                        let error =
                            minijinja::Error::new(ErrorKind::InvalidOperation, "could not read the template");
                        return Err(error.with_source(e));
                    }
                }
            }
            let Some(source) = find_embedded(&embedded, name) else { return Ok(None) };
            let mut source = TemplateSource::new(source);
            if reload && !dirs.is_empty() {
                let dirs = dirs.clone();
                source = source.with_uptodate_check(move || !dirs.iter().any(|d| d.join(&rel).is_file()));
            }
            Ok(Some(source))
        }
    }

    /// Every template and its source, the one that wins for each name; unreadable or non-UTF-8
    /// files are skipped (rendering them reports the problem).
    pub(crate) fn all(&self) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        for dir in &self.dirs {
            let mut names = Vec::new();
            walk(dir, "", &mut names);
            names.sort();
            for name in names {
                if found.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                if let Ok(source) = fs::read_to_string(dir.join(&name)) {
                    found.push((name, source));
                }
            }
        }
        for (namespace, files) in &self.embedded {
            for (file, source) in files.iter() {
                let name =
                    if namespace.is_empty() { (*file).to_owned() } else { format!("{namespace}/{file}") };
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, (*source).to_owned()));
                }
            }
        }
        found
    }

    /// The folders that do not exist.
    pub(crate) fn missing_dirs(&self) -> Vec<&Path> {
        self.dirs.iter().filter(|d| !d.is_dir()).map(PathBuf::as_path).collect()
    }
}

fn missing(e: &io::Error, path: &Path) -> bool {
    e.kind() == io::ErrorKind::NotFound || path.is_dir()
}

fn find_embedded(embedded: &[(&'static str, EmbeddedTemplates)], name: &str) -> Option<&'static str> {
    embedded.iter().find_map(|(namespace, files)| {
        let inner =
            if namespace.is_empty() { name } else { name.strip_prefix(namespace)?.strip_prefix('/')? };
        files.iter().find(|(file, _)| *file == inner).map(|(_, source)| *source)
    })
}

/// The files under `dir` (names `/`-separated, relative to the root), hidden ones left out.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &full, out);
        } else if path.is_file() {
            out.push(full);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_folder_are_no_templates() {
        assert!(relative("notes/detail.html").is_some());
        for bad in ["../secret", "a/../b", "/etc/passwd", ".env", "a//b", "a\\b", "c:x", "", "a/"] {
            assert!(relative(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn embedded_namespaces_resolve_their_prefix() {
        const ADMIN: EmbeddedTemplates = &[("base.html", "admin base")];
        const ROOT: EmbeddedTemplates = &[("base.html", "root base")];
        let sets = [("admin", ADMIN), ("", ROOT)];
        assert_eq!(find_embedded(&sets, "admin/base.html"), Some("admin base"));
        assert_eq!(find_embedded(&sets, "base.html"), Some("root base"));
        assert_eq!(find_embedded(&sets, "adminbase.html"), None);
        assert_eq!(find_embedded(&sets, "admin/other.html"), None);
    }
}
