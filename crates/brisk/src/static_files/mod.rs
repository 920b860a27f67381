//! Static files (feature `static-files`): the app's folder served under a prefix, batteries'
//! files embedded in their crates under a namespace (the app's folder overrides them), and
//! `collectstatic`, which gathers everything into one folder with content-hashed names, a
//! manifest, and precompressed copies for production.
//!
//! Needs feature `static-files`.
//!
//! ```no_run
//! use brisk::prelude::*;
//! use brisk::static_files::StaticFiles;
//!
//! let app = App::new().static_files("/static", StaticFiles::new("static"));
//! // GET /static/css/site.css serves static/css/site.css
//! ```
//!
//! - **Serving** is tower-http's `ServeFile`: `ETag` and `Last-Modified` with 304s, byte
//!   ranges, and the `.br` / `.gz` sibling of a file when the client accepts it.
//! - **Caching**: a content-hashed name (from `collectstatic`'s manifest) is served with
//!   `Cache-Control: public, max-age=31536000, immutable`; any other name with `no-cache`
//!   (the browser keeps it and asks again, getting a 304 while it is unchanged).
//! - **Safety**: a path that could leave the folder — `..` in any encoding, backslashes, NUL,
//!   absolute or drive paths, invalid UTF-8 — or a symbolic link that leads out of it is a 404.
//! - **Production**: run `myapp collectstatic` (feature `cli`) at build or deploy time, then
//!   start with `STATIC_ROOT` naming its output ([`StaticFiles::from_env`]): files come from
//!   there, and [`StaticFiles::url`] (the templates' `static()`) gives the hashed names.
//!
//! Not rewritten: `url(...)` references inside CSS files keep their plain names (Django's
//! manifest storage rewrites them); refer to hashed names from templates.

mod collect;
mod manifest;
mod path;
mod service;

use std::path::PathBuf;
use std::sync::Arc;

pub use collect::{collect, Collected};
pub use manifest::{Manifest, MANIFEST};

use crate::routing::MethodRouter;
use crate::App;

/// Files a battery embeds: `(path within its namespace, content)`, e.g. with `include_bytes!`.
pub type EmbeddedFiles = &'static [(&'static str, &'static [u8])];

/// An embedded file and its content ETag.
#[derive(Clone)]
pub(crate) struct Embedded {
    pub(crate) bytes: &'static [u8],
    pub(crate) etag: String,
}

/// Where static files come from, and the URLs that name them. Cheap to clone; the app keeps
/// one as state (`State<StaticFiles>`), so handlers and templates can build URLs.
#[derive(Clone)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
pub(crate) struct Inner {
    /// The URL prefix (`/static`), set when mounted.
    pub(crate) prefix: String,
    /// The app's own folder.
    pub(crate) dir: Option<PathBuf>,
    /// Batteries' embedded files, by namespace.
    pub(crate) namespaces: Vec<(&'static str, EmbeddedFiles)>,
    /// The same, by (namespace, path), each with its ETag, made once when added (the first
    /// namespace to add a path keeps it).
    pub(crate) embedded: std::collections::HashMap<(&'static str, &'static str), Embedded>,
    /// The folder `collectstatic` wrote, and its manifest: served instead of the sources.
    pub(crate) collected: Option<(PathBuf, Manifest)>,
}

impl StaticFiles {
    /// The app's folder `dir` (relative to the working directory, or absolute).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StaticFiles { inner: Arc::new(Inner { dir: Some(dir.into()), ..Inner::default() }) }
    }

    /// No folder of the app's own: only embedded namespaces (or a collected folder).
    pub fn none() -> Self {
        StaticFiles { inner: Arc::new(Inner::default()) }
    }

    /// Adds a battery's embedded files under `namespace` (`admin`: `/static/admin/...`); a file
    /// at the same path in the app's folder (`static/admin/...`) is served instead.
    pub fn namespace(mut self, namespace: &'static str, files: EmbeddedFiles) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        inner.namespaces.push((namespace, files));
        for (name, bytes) in files.iter() {
            inner
                .embedded
                .entry((namespace, *name))
                .or_insert_with(|| Embedded { bytes, etag: manifest::etag(bytes) });
        }
        self
    }

    /// Serves the folder `collectstatic` wrote instead of the sources, with the hashed names
    /// of its manifest. An error when the folder has no manifest (run `collectstatic`).
    pub fn collected(mut self, dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        let manifest = Manifest::load(&dir)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} has no {MANIFEST}: run `collectstatic --output {}` first",
                    dir.display(),
                    dir.display()
                ),
            )
        })?;
        Arc::make_mut(&mut self.inner).collected = Some((dir, manifest));
        Ok(self)
    }

    /// The app's folder `dir`, or — when `STATIC_ROOT` is set — the folder `collectstatic`
    /// wrote there (refused when it has no manifest, so a deployment never serves stale names).
    pub fn from_env(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let files = StaticFiles::new(dir);
        match std::env::var_os("STATIC_ROOT") {
            Some(root) if !root.is_empty() => files.collected(PathBuf::from(root)),
            _ => Ok(files),
        }
    }

    /// The URL of `path` (`css/site.css` → `/static/css/site.3f2a1b4c5d6e.css` when collected,
    /// else `/static/css/site.css`); what templates' `static()` gives.
    ///
    /// ```
    /// use brisk::static_files::StaticFiles;
    /// let files = StaticFiles::new("static");
    /// assert_eq!(files.url("css/site.css"), "/static/css/site.css"); // before mounting: /static
    /// ```
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let named = self.inner.collected.as_ref().and_then(|(_, m)| m.hashed(path)).unwrap_or(path);
        let prefix = if self.inner.prefix.is_empty() { "/static" } else { self.inner.prefix.as_str() };
        format!("{prefix}/{named}")
    }

    /// The URL prefix files are served under.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl From<&str> for StaticFiles {
    fn from(dir: &str) -> Self {
        StaticFiles::new(dir)
    }
}

impl From<PathBuf> for StaticFiles {
    fn from(dir: PathBuf) -> Self {
        StaticFiles::new(dir)
    }
}

impl App {
    /// Serves `files` under `prefix` (`/static`; GET and HEAD, left out of the OpenAPI
    /// document) and keeps them as state for URLs (`State<StaticFiles>`, `static()` in
    /// templates). See [`crate::static_files`].
    ///
    /// Needs feature `static-files`.
    pub fn static_files(self, prefix: &str, files: impl Into<StaticFiles>) -> Self {
        let mut files = files.into();
        let prefix = prefix.trim_end_matches('/').to_owned();
        Arc::make_mut(&mut files.inner).prefix = prefix.clone();
        let route = service::route(files.clone());
        // GET answers HEAD too.
        let methods = MethodRouter::default().on_route(http::Method::GET, route);
        #[cfg(feature = "cli")]
        let app = if self.commands.iter().any(|c| c.name() == "collectstatic") {
            self
        } else {
            self.command(collect::CollectStatic(files.clone()))
        };
        #[cfg(not(feature = "cli"))]
        let app = self;
        app.route(&format!("{prefix}/{{*path}}"), methods).with_state(files)
    }
}
