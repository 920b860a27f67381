//! CSRF protection (feature `csrf`), on by default with [`App::sessions`](crate::App::sessions).
//!
//! Needs feature `csrf`.
//!
//! A forged request is one another site makes the browser send, with the browser's cookies.
//! Only requests that carry the session cookie can be forged that way, so only those are
//! checked, and only their unsafe methods (anything but GET, HEAD, OPTIONS):
//!
//! 1. **Fetch metadata and Origin** (OWASP's recommendation; tower-http's `CsrfLayer`, Go's
//!    `CrossOriginProtection`): `Sec-Fetch-Site: cross-site` or `same-site` is refused, as is an
//!    `Origin` that is not this host (nor a [trusted origin](Csrf::trusted_origin)).
//! 2. **A synchronizer token** when the request has neither header (an old browser, or a proxy
//!    that strips them): the form's `csrf_token` field or the `X-CSRF-Token` header must hold a
//!    token of this session ([`CsrfToken`]: `{{ csrf_token() }}` in templates).
//!
//! A request with `Authorization: Bearer ...` is not checked: a browser never adds that header
//! by itself, so another site cannot forge it. A refusal is a 403 saying why: a small HTML page
//! for browsers (`Accept: text/html`), `{"detail": "CSRF check failed: ..."}` otherwise.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::csrf::{Csrf, CsrfToken};
//! use brisk::sessions::SessionConfig;
//!
//! async fn form(token: CsrfToken) -> Html<String> {
//!     Html(format!("<form method=post>{}<button>Send</button></form>", token.hidden_input()))
//! }
//!
//! let app = App::new()
//!     .sessions(SessionConfig::from_env())
//!     .csrf(Csrf::default().trusted_origin("https://admin.example.com").exempt("/webhooks/"))
//!     .route("/form", get(form));
//! ```

mod check;
mod refusal;
mod token;

use std::sync::Arc;

pub use token::CsrfToken;

use crate::app::App;
use crate::DEFAULT_BODY_LIMIT;

pub(crate) use check::CsrfLayer;

/// How CSRF protection is configured: [`App::csrf`].
#[derive(Debug, Clone)]
pub struct Csrf {
    pub(crate) enabled: bool,
    trusted_origins: Vec<String>,
    exempt: Vec<String>,
    form_limit: usize,
}

impl Default for Csrf {
    /// On, no trusted origin, no exempt path.
    fn default() -> Self {
        Csrf {
            enabled: true,
            trusted_origins: Vec::new(),
            exempt: Vec::new(),
            form_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl Csrf {
    /// Off: no request is checked. Say so only when something else protects the app.
    pub fn disabled() -> Self {
        Csrf { enabled: false, ..Csrf::default() }
    }

    /// Accepts requests from another origin (`https://admin.example.com`: scheme, host and a
    /// non-default port, as browsers send it). A malformed origin stops the build.
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }

    /// Skips the check for paths under `prefix` (`/webhooks/`): for endpoints that must take
    /// cross-site POSTs and protect themselves (signed payloads).
    pub fn exempt(mut self, prefix: impl Into<String>) -> Self {
        self.exempt.push(prefix.into());
        self
    }

    /// How much of an urlencoded form is read to find its token (default 2 MiB).
    pub fn form_limit(mut self, bytes: usize) -> Self {
        self.form_limit = bytes;
        self
    }
}

impl App {
    /// Configures CSRF protection, or turns it off with [`Csrf::disabled`]. Without this call,
    /// [`App::sessions`] protects with `Csrf::default()`; with it and no sessions, the app
    /// refuses to build (the check is for requests carrying the session cookie).
    ///
    /// Needs feature `csrf`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::csrf::Csrf;
    /// use brisk::sessions::SessionConfig;
    ///
    /// let app = App::new().sessions(SessionConfig::from_env()).csrf(Csrf::default().exempt("/hooks/"));
    /// ```
    pub fn csrf(mut self, csrf: Csrf) -> Self {
        self.sessions.csrf = Some(csrf);
        self
    }
}

/// The layer for `csrf` (`None`: off), or the problems with its trusted origins.
pub(crate) fn layer(csrf: Csrf) -> Result<Option<CsrfLayer>, Vec<String>> {
    if !csrf.enabled {
        return Ok(None);
    }
    let mut origins = tower_http::csrf::CsrfLayer::new();
    let mut problems = Vec::new();
    for origin in &csrf.trusted_origins {
        match origins.clone().add_trusted_origin(origin) {
            Ok(with) => origins = with,
            Err(e) => problems.push(format!("Csrf::trusted_origin: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Some(CsrfLayer(Arc::new(check::Rules { origins, exempt: csrf.exempt, form_limit: csrf.form_limit }))))
}
