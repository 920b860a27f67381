//! Which pages may open a WebSocket: the request's own site by default, plus the origins an
//! app or a route allows ([`WebSocketOrigins`], [`allowed_origins`](super::WebSocketUpgrade::allowed_origins)).
//!
//! A browser sends its cookies with a WebSocket handshake whatever page opens it, and the
//! same-origin policy does not apply to WebSockets: without this check any site a user visits
//! could talk to the app as that user (cross-site WebSocket hijacking). Browsers always send
//! `Origin` with the handshake and pages cannot change it, so the check is sound for browsers;
//! clients that are not browsers send no `Origin` and are let through (the check protects
//! users' browsers, it is not authentication).

use http::header::HOST;
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode};

use crate::error::Error;

/// `X-Forwarded-Host`: the host the client asked a reverse proxy for.
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The app-wide origins allowed to open WebSockets, beside the request's own site; add it with
/// [`App::with_state`](crate::App::with_state). Routes widen it further with
/// [`WebSocketUpgrade::allowed_origins`](super::WebSocketUpgrade::allowed_origins).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::ws::WebSocketOrigins;
///
/// let app = App::new().with_state(
///     WebSocketOrigins::new()
///         // A front end served from another origin.
///         .allow(["https://app.example.com"])
///         // Behind a proxy that sends `X-Forwarded-Host` (and does not pass on the client's).
///         .trust_forwarded_host(true),
/// );
/// ```
///
/// **Same origin** means the `Origin`'s host and port (the scheme's default port when it names
/// none) are the request's `Host` (compared without the scheme, so a TLS-terminating proxy in
/// front of a plain-HTTP app needs no setting). A proxy that rewrites `Host` breaks that
/// comparison: either make it pass the client's `Host` on (nginx:
/// `proxy_set_header Host $host;`), or turn on [`trust_forwarded_host`](Self::trust_forwarded_host).
#[derive(Debug, Clone, Default)]
pub struct WebSocketOrigins {
    allowed: Vec<String>,
    trust_forwarded_host: bool,
}

impl WebSocketOrigins {
    /// Only the request's own site (the default without this state).
    pub fn new() -> Self {
        WebSocketOrigins::default()
    }

    /// Also allows these origins (`scheme://host[:port]`, compared case-insensitively; a
    /// trailing `/` is ignored). `"*"` allows every origin, turning the check off: only for
    /// sockets that authenticate otherwise than with cookies.
    pub fn allow<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Compares the `Origin` with the last value of `X-Forwarded-Host` (the one the proxy in
    /// front of the app wrote) instead of `Host`, when the request has one. Off by default: a
    /// client reaching the app directly could send any `X-Forwarded-Host`. Turn it on only
    /// behind a proxy that sets the header.
    pub fn trust_forwarded_host(mut self, trust: bool) -> Self {
        self.trust_forwarded_host = trust;
        self
    }
}

/// What the origin check needs from the handshake request.
#[derive(Debug, Clone)]
pub(crate) struct OriginCheck {
    /// The request's `Origin`, if it sent one.
    pub(crate) origin: Option<HeaderValue>,
    /// The host the request was made to (`Host`, or `X-Forwarded-Host` when trusted).
    host: Option<String>,
    /// Origins allowed beside the request's own: the app's, then the route's.
    pub(crate) allowed: Vec<String>,
}

impl OriginCheck {
    /// Reads the request's `Origin` and host, under the app's policy (`None`: the default).
    pub(crate) fn new(parts: &Parts, policy: Option<&WebSocketOrigins>) -> OriginCheck {
        let header = |name: &HeaderName| parts.headers.get_all(name).iter().next_back()?.to_str().ok();
        let forwarded = policy
            .filter(|p| p.trust_forwarded_host)
            .and_then(|_| header(&X_FORWARDED_HOST))
            .and_then(|v| v.rsplit(',').next());
        let host = forwarded
            .or_else(|| header(&HOST))
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .map(|h| h.trim().to_owned());
        OriginCheck {
            origin: parts.headers.get(http::header::ORIGIN).cloned(),
            host,
            allowed: policy.map(|p| p.allowed.clone()).unwrap_or_default(),
        }
    }

    /// `Ok` for no `Origin`, the request's own site, or an allowed origin; else a 403.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let Some(origin) = &self.origin else { return Ok(()) };
        let origin = origin.to_str().unwrap_or_default().trim();
        if self.host.as_deref().is_some_and(|host| same_origin(origin, host)) {
            return Ok(());
        }
        let allowed = |a: &String| {
            let a = a.trim().trim_end_matches('/');
            a == "*" || a.eq_ignore_ascii_case(origin)
        };
        if self.allowed.iter().any(allowed) {
            return Ok(());
        }
        let site = self.host.as_deref().unwrap_or("unknown: the request has no Host");
        Err(Error::http(
            StatusCode::FORBIDDEN,
            format!(
                "WebSocket handshake refused: the Origin `{origin}` is not this site (`{site}`) nor an \
                 allowed origin"
            ),
        ))
    }
}

/// `host` and its port, if it names one: `example.com:8000`, `[::1]:8000`, `example.com`.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if rest.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the site of `host` (`host[:port]`, from the
/// request): same host, same port, whatever the scheme. An origin without a port has its
/// scheme's default one; a `Host` without one matches an origin on its scheme's default port.
pub(crate) fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    let (Some((origin_host, origin_port)), Some((host, host_port))) =
        (split_port(authority), split_port(host))
    else {
        return false;
    };
    if !origin_host.eq_ignore_ascii_case(host) || origin_host.is_empty() {
        return false;
    }
    match host_port {
        Some(port) => origin_port.or(default_port) == Some(port),
        None => origin_port.is_none() || origin_port == default_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_site_whatever_the_scheme() {
        for (origin, host) in [
            ("http://127.0.0.1:8000", "127.0.0.1:8000"),
            ("https://Example.COM", "example.com"),
            ("https://example.com", "example.com:443"),
            ("http://example.com:80", "example.com"),
            ("https://example.com:8443", "example.com:8443"),
            ("http://[::1]:3000", "[::1]:3000"),
        ] {
            assert!(same_origin(origin, host), "{origin} on {host}");
        }
        for (origin, host) in [
            ("https://evil.example.net", "example.com"),
            ("http://example.com:8001", "example.com:8000"),
            ("http://example.com:8000", "example.com"),
            ("https://example.com", "example.com:80"),
            ("https://example.com.evil.net", "example.com"),
            ("null", "example.com"),
            ("example.com", "example.com"),
            ("http://[::1]:3000", "[::2]:3000"),
            ("http://:80", ":80"),
        ] {
            assert!(!same_origin(origin, host), "{origin} on {host}");
        }
    }

    fn check(origin: Option<&str>, headers: &[(&str, &str)], policy: Option<&WebSocketOrigins>) -> bool {
        let mut req = http::Request::get("/ws");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let (parts, ()) = req.body(()).unwrap_or_default().into_parts();
        OriginCheck::new(&parts, policy).check().is_ok()
    }

    #[test]
    fn forwarded_host_counts_only_when_trusted() {
        let behind_proxy = [("host", "127.0.0.1:8000"), ("x-forwarded-host", "evil.net, app.example.com")];
        assert!(!check(Some("https://app.example.com"), &behind_proxy, None));
        let trusting = WebSocketOrigins::new().trust_forwarded_host(true);
        assert!(check(Some("https://app.example.com"), &behind_proxy, Some(&trusting)));
        assert!(
            !check(Some("https://evil.net"), &behind_proxy, Some(&trusting)),
            "the proxy's value, the last"
        );
        // Trusted but absent: `Host` as usual.
        assert!(check(Some("http://127.0.0.1:8000"), &[("host", "127.0.0.1:8000")], Some(&trusting)));
    }

    #[test]
    fn allowed_origins_widen_and_a_star_allows_all() {
        let host = [("host", "api.example.com")];
        assert!(check(None, &host, None), "no Origin: not a browser");
        assert!(!check(Some("https://app.example.com"), &host, None));
        let app = WebSocketOrigins::new().allow(["https://APP.example.com/"]);
        assert!(check(Some("https://app.example.com"), &host, Some(&app)));
        assert!(check(Some("https://api.example.com"), &host, Some(&app)), "its own site still");
        assert!(!check(Some("http://app.example.com"), &host, Some(&app)), "an allowed origin is exact");
        assert!(check(Some("null"), &host, Some(&WebSocketOrigins::new().allow(["*"]))));
        assert!(!check(Some("https://api.example.com"), &[], None), "no host to compare with");
    }
}
