//! Logging through `tracing`: one access line per request at INFO (`brisk::access`).

/// Installs a `tracing` subscriber that prints to stderr, filtered by `RUST_LOG`
/// (default `info`). Does nothing when a subscriber is already installed.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// `url` with its password hidden, for logs and error messages: `postgres://u:secret@h/db`
/// becomes `postgres://u:***@h/db`. A credential without a colon is a user name (kept), except
/// for Redis URLs, where it is the password (`redis://secret@h` becomes `redis://***@h`).
///
/// ```
/// use brisk::logging::redact_url;
/// assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
/// assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
/// assert_eq!(redact_url("redis://secret@h:6379/0"), "redis://***@h:6379/0");
/// assert_eq!(redact_url("sqlite://app.db"), "sqlite://app.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let (Some(scheme), Some(at)) = (url.find("://"), url.rfind('@')) else { return url.to_owned() };
    if at < scheme {
        return url.to_owned();
    }
    let (start, creds, end) = (&url[..scheme + 3], &url[scheme + 3..at], &url[at..]);
    match creds.split_once(':') {
        Some((user, _)) => format!("{start}{user}:***{end}"),
        None if url.starts_with("redis") => format!("{start}***{end}"),
        None => url.to_owned(),
    }
}
