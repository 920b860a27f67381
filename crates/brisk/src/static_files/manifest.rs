//! The manifest `collectstatic` writes beside the files it collects (`staticfiles.json`, as
//! Django's `ManifestStaticFilesStorage`): each file's path and the content-hashed name it is
//! also stored under. A hashed name changes whenever the content does, so it can be cached for
//! a year without ever going stale.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The manifest's file name in the collected folder.
pub const MANIFEST: &str = "staticfiles.json";

/// Paths and their hashed names: `css/site.css` → `css/site.3f2a1b4c5d6e.css`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Path → hashed path.
    pub paths: BTreeMap<String, String>,
    /// The hashed paths, to tell one at each request without a scan (made when loaded).
    #[serde(skip)]
    hashed: std::collections::HashSet<String>,
}

impl Manifest {
    /// Reads `dir/staticfiles.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> std::io::Result<Option<Manifest>> {
        match std::fs::read(dir.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice::<Manifest>(&bytes)
                .map(|mut m| {
                    m.hashed = m.paths.values().cloned().collect();
                    Some(m)
                })
                .map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{}: not a static files manifest ({e}); run collectstatic again",
                            dir.join(MANIFEST).display()
                        ),
                    )
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The hashed name of `path`, if collected.
    pub fn hashed(&self, path: &str) -> Option<&str> {
        self.paths.get(path).map(String::as_str)
    }

    /// True when `path` is one of the hashed names (served as immutable).
    pub(crate) fn is_hashed_name(&self, path: &str) -> bool {
        self.hashed.contains(path)
    }
}

/// A strong ETag from `content`'s SHA-256 (its first 12 hex digits, as the hashed names).
pub(crate) fn etag(content: &[u8]) -> String {
    format!("\"{}\"", hex12(content))
}

fn hex12(content: &[u8]) -> String {
    Sha256::digest(content).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `path` with the first 12 hex digits of its content's SHA-256 before the extension.
pub(crate) fn hashed_name(path: &str, content: &[u8]) -> String {
    let hash = hex12(content);
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), path),
    };
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem}.{hash}.{ext}"),
        _ => format!("{dir}{file}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_goes_before_the_extension_and_follows_the_content() {
        let a = hashed_name("css/site.css", b"body{}");
        assert!(
            a.starts_with("css/site.") && a.ends_with(".css") && a.len() == "css/site..css".len() + 12,
            "{a}"
        );
        assert_ne!(a, hashed_name("css/site.css", b"body{color:red}"));
        assert_eq!(a, hashed_name("css/site.css", b"body{}"));
        assert!(hashed_name("LICENSE", b"x").starts_with("LICENSE."));
        assert!(hashed_name(".hidden", b"x").starts_with(".hidden."));
    }
}
