//! Turning the rest of a static URL into a file path under the folder, refusing every way out:
//! `..` and `.` segments (also percent-encoded, in any case), backslashes, NUL, absolute and
//! drive paths, invalid UTF-8 and empty segments. Symbolic links leading out of the folder are
//! refused where the file is opened (see `service.rs`), since only the file system knows them.

use percent_encoding::percent_decode_str;

/// The relative path `rest` names (`css/site.css`), as checked segments joined by `/`; `None`
/// when it could leave the folder or is not a plain file path.
pub(crate) fn safe_relative(rest: &str) -> Option<String> {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for raw in rest.split('/') {
        // Decoded once: `%252e` stays the name `%2e`, which is not `.`.
        let segment = percent_decode_str(raw).decode_utf8().ok()?;
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.contains(['/', '\\', '\0', ':'])
            || segment.chars().any(char::is_control);
        if bad {
            return None;
        }
        out.push(segment.into_owned());
    }
    Some(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass() {
        assert_eq!(safe_relative("css/site.css").as_deref(), Some("css/site.css"));
        assert_eq!(safe_relative("/img/a%20b.png").as_deref(), Some("img/a b.png"));
        assert_eq!(safe_relative("fonts/caf%C3%A9.woff2").as_deref(), Some("fonts/café.woff2"));
        // A name that merely contains dots is a name.
        assert_eq!(safe_relative("js/app..min.js").as_deref(), Some("js/app..min.js"));
        assert_eq!(safe_relative("%252e%252e/x").as_deref(), Some("%2e%2e/x"));
    }

    /// Every one of these is a way out, or not a plain file path.
    pub(crate) const TRAVERSALS: &[&str] = &[
        "../Cargo.toml",
        "..",
        "a/../../Cargo.toml",
        "%2e%2e/Cargo.toml",
        "%2E%2E/Cargo.toml",
        "%2e%2E%2fCargo.toml",
        ".%2e/Cargo.toml",
        "%2e./Cargo.toml",
        "..%2fCargo.toml",
        "..%2FCargo.toml",
        "..%5cCargo.toml",
        "..%5CCargo.toml",
        "..\\Cargo.toml",
        "%5c..%5cCargo.toml",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "%2fetc/passwd",
        "css/%00.css",
        "css/x.css%00.png",
        "%c0%ae%c0%ae/Cargo.toml",
        "%e0%80%ae%e0%80%ae/Cargo.toml",
        "C:%5cWindows%5cwin.ini",
        "c:/windows/win.ini",
        "./css/site.css",
        "css/./site.css",
        "css//site.css",
        "css/site.css/",
        "%0a/x",
        "",
    ];

    #[test]
    fn every_way_out_is_refused() {
        for attempt in TRAVERSALS {
            assert_eq!(safe_relative(attempt), None, "{attempt:?}");
        }
    }
}
