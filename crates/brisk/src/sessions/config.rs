//! [`SessionConfig`]: the store, the timeouts, the cookie's name and flags, the clock.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::request::Parts;

use super::store::SessionStore;
use crate::secret_key::SecretKey;

/// Django's `SESSION_COOKIE_AGE`: two weeks.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// When the cookie gets the `Secure` flag (sent over HTTPS only) and a `__Host-` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// When the request came over HTTPS: its URI's scheme says so (HTTP/2's `:scheme`), or,
    /// with [`SessionConfig::trust_forwarded_proto`], the proxy's `X-Forwarded-Proto: https`.
    /// The default, except under `BRISK_ENV=production`.
    #[default]
    Auto,
    /// Always (the default under `BRISK_ENV=production`: a TLS-terminating proxy is assumed).
    Always,
    /// Never (local development over plain HTTP with `BRISK_ENV=production`, say).
    Never,
}

/// What time it is, for the session's timeouts: the system clock, or a [`ManualClock`] in tests.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told, to test timeouts without waiting; clones share the time.
///
/// ```
/// use std::time::Duration;
/// use brisk::sessions::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock stopped at the current time.
    pub fn new() -> Self {
        ManualClock(Arc::new(Mutex::new(SystemTime::now())))
    }

    /// Moves it forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How an app keeps sessions: give it to [`App::sessions`](crate::App::sessions).
///
/// ```
/// use std::time::Duration;
/// use brisk::prelude::*;
/// use brisk::sessions::{MemoryStore, SecureCookies, SessionConfig};
///
/// let config = SessionConfig::from_env()
///     .store(MemoryStore::new())
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .absolute_lifetime(Some(Duration::from_secs(12 * 60 * 60)))
///     .secure(SecureCookies::Auto)
///     .trust_forwarded_proto(true);
/// let app = App::new().sessions(config);
/// ```
///
/// The cookie is always `HttpOnly`, `SameSite=Lax` and `Path=/`; with `Secure` (see
/// [`SecureCookies`]) its name gets the `__Host-` prefix (`__Secure-` when a
/// [`domain`](SessionConfig::domain) is set), which browsers only accept from HTTPS pages
/// and never let a sibling subdomain overwrite.
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) key: Option<SecretKey>,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    pub(crate) cookie_name: String,
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_lifetime: Option<Duration>,
    pub(crate) secure: SecureCookies,
    pub(crate) trust_forwarded_proto: bool,
    pub(crate) domain: Option<String>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cleanup_interval: Option<Duration>,
    /// Settings from the environment that did not parse: the app refuses to build.
    pub(crate) problems: Vec<String>,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("secure", &self.secure)
            .field("trust_forwarded_proto", &self.trust_forwarded_proto)
            .field("domain", &self.domain)
            .field("cleanup_interval", &self.cleanup_interval)
            .finish_non_exhaustive()
    }
}

impl Default for SessionConfig {
    /// [`SessionConfig::from_env`].
    fn default() -> Self {
        SessionConfig::from_env()
    }
}

fn seconds(name: &str, problems: &mut Vec<String>) -> Option<Duration> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
        _ => {
            problems.push(format!("{name}={value:?} is not a number of seconds (greater than 0)"));
            None
        }
    }
}

impl SessionConfig {
    fn base(key: Option<SecretKey>) -> Self {
        SessionConfig {
            key,
            store: None,
            cookie_name: "session".into(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: None,
            secure: SecureCookies::Auto,
            trust_forwarded_proto: false,
            domain: None,
            clock: Arc::new(SystemClock),
            cleanup_interval: Some(Duration::from_secs(60 * 60)),
            problems: Vec::new(),
        }
    }

    /// The defaults, with the secret key and settings from the environment: the key as
    /// [`SecretKey::from_env`] finds it (when the app is built: a missing key in production or
    /// a weak key refuses to build), `SESSION_IDLE_TIMEOUT` and `SESSION_ABSOLUTE_LIFETIME`
    /// (seconds), `SESSION_COOKIE_SECURE` (`auto`, `always`, `never`) and
    /// `TRUST_X_FORWARDED_PROTO` (`1`/`true`). The store is the installed default (the
    /// database's, when brisk-orm's `Database` is installed) or else the signed cookie.
    pub fn from_env() -> Self {
        let mut config = SessionConfig::base(None);
        let mut problems = Vec::new();
        if let Some(idle) = seconds("SESSION_IDLE_TIMEOUT", &mut problems) {
            config.idle_timeout = idle;
        }
        if let Some(absolute) = seconds("SESSION_ABSOLUTE_LIFETIME", &mut problems) {
            config.absolute_lifetime = Some(absolute);
        }
        if crate::secret_key::is_production() {
            config.secure = SecureCookies::Always;
        }
        match std::env::var("SESSION_COOKIE_SECURE").ok().as_deref().map(str::trim) {
            None | Some("") => {}
            Some("auto") => config.secure = SecureCookies::Auto,
            Some("always" | "1" | "true") => config.secure = SecureCookies::Always,
            Some("never" | "0" | "false") => config.secure = SecureCookies::Never,
            Some(other) => {
                problems.push(format!("SESSION_COOKIE_SECURE={other:?} is not auto, always or never"))
            }
        }
        if let Ok(trust) = std::env::var("TRUST_X_FORWARDED_PROTO") {
            config.trust_forwarded_proto = matches!(trust.trim(), "1" | "true" | "yes");
        }
        config.problems = problems;
        config
    }

    /// The defaults, signing with `key` and reading nothing from the environment (for tests,
    /// and apps that load their settings themselves).
    pub fn new(key: SecretKey) -> Self {
        SessionConfig::base(Some(key))
    }

    /// Where sessions are kept (default: the installed default store, else a
    /// [`CookieStore`](super::CookieStore) signed with the secret key).
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The secret key (default: [`SecretKey::from_env`] when the app is built).
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.key = Some(key);
        self
    }

    /// How long a session lasts unused (default two weeks, Django's). Each use pushes the
    /// deadline back; to spare a write per request, an unchanged session is saved again only
    /// once the deadline would move by a hundredth of this (3.4 hours of two weeks).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a session lasts at most, however used (default `None`: no limit).
    pub fn absolute_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.absolute_lifetime = lifetime;
        self
    }

    /// The cookie's name without its prefix (default `session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// When the cookie is `Secure` (default [`SecureCookies::Auto`]).
    pub fn secure(mut self, secure: SecureCookies) -> Self {
        self.secure = secure;
        self
    }

    /// Believes `X-Forwarded-Proto: https` (default no). Turn it on only behind a proxy that
    /// sets the header and strips a client's own, or any client can claim HTTPS.
    pub fn trust_forwarded_proto(mut self, trust: bool) -> Self {
        self.trust_forwarded_proto = trust;
        self
    }

    /// Shares the cookie with subdomains (`Domain=example.com`; default: this host only). The
    /// `Secure` name prefix is then `__Secure-`, as `__Host-` forbids a domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The clock the timeouts read (default the system's; [`ManualClock`] in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often expired sessions are removed from the store while the server runs (default
    /// hourly; `None`: never, leave it to a cron job). Expired sessions are also removed when a
    /// request brings one.
    pub fn cleanup_interval(mut self, interval: Option<Duration>) -> Self {
        self.cleanup_interval = interval;
        self
    }

    /// Whether this request came over HTTPS, as far as this config may believe.
    pub(crate) fn is_secure(&self, parts: &Parts) -> bool {
        match self.secure {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => {
                parts.uri.scheme_str() == Some("https")
                    || (self.trust_forwarded_proto
                        && parts
                            .headers
                            .get("x-forwarded-proto")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.split(',').next())
                            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
            }
        }
    }

    /// The cookie's name for a request that is (or not) secure.
    pub(crate) fn name_for(&self, secure: bool) -> String {
        match (secure, &self.domain) {
            (false, _) => self.cookie_name.clone(),
            (true, None) => format!("__Host-{}", self.cookie_name),
            (true, Some(_)) => format!("__Secure-{}", self.cookie_name),
        }
    }

    /// The `Set-Cookie` value for `value`, living `max_age` (`None`: expire it now).
    pub(crate) fn set_cookie(
        &self,
        name: &str,
        value: &str,
        max_age: Option<Duration>,
        secure: bool,
    ) -> String {
        let mut cookie = match max_age {
            Some(age) => format!("{name}={value}; Path=/; Max-Age={}", age.as_secs()),
            None => format!("{name}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        };
        if let Some(domain) = &self.domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        cookie.push_str("; HttpOnly; SameSite=Lax");
        if secure {
            cookie.push_str("; Secure");
        }
        cookie
    }
}
