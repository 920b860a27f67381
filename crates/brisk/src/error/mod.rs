//! The one error type of brisk, and how it becomes a response.
//!
//! Every rejection (a failed extractor, an `HTTPException`-style error raised by a handler,
//! an internal failure) is an [`Error`]. It renders through the app's [`ErrorFormatter`],
//! FastAPI's JSON by default:
//!
//! - HTTP errors: `{"detail": <detail>}` with the given status and headers;
//! - validation errors: 422 `{"detail": [{"type", "loc", "msg", "input", "ctx"}, ...]}`;
//! - internal errors: 500 `{"detail": "Internal Server Error"}` — the cause is logged, never sent.
//!
//! ## Error pages for browsers
//!
//! A request whose `Accept` prefers HTML to JSON (a browser's: see
//! [`prefers_html`](crate::response::prefers_html)) gets the error as an HTML page instead:
//! built in (status, reason, the detail when it is a string, a 422's messages by field, never a
//! 500's cause), or — with feature `templates` — rendered from `errors/<status>.html`
//! (`errors/404.html`, `errors/422.html` ...) with `status`, `reason`, `detail`, `errors` (by
//! field) and `values` (the submitted form). Every error answer carries `Vary: Accept`. API
//! clients (`application/json`, `*/*`, no `Accept`) get the JSON above, unchanged.
//! [`App::html_error_pages(false)`](crate::App::html_error_pages) switches pages off.

mod answers;
mod format;
mod openai;
mod pages;
mod validation;

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

pub use answers::{answer_errors_with, ErrorAnswer};
pub(crate) use format::{render_error, rerender_error};
pub use format::{ErrorFormatter, FastApiFormatter, ProblemJsonFormatter};
pub use openai::OpenAiFormatter;
#[cfg(feature = "templates")]
pub(crate) use pages::{escape_html, html_document, shown_detail};
pub(crate) use pages::{vary_on_accept, ErrorPages, Negotiation};
pub(crate) use validation::extend_unique;
pub use validation::{Loc, LocItem, ValidationError};

/// A boxed error from anywhere.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result<T, brisk::Error>`, the return type of fallible handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as the error formatter sees it.
#[derive(Debug)]
pub enum ErrorKind {
    /// An error with a status and a client-facing `detail`, like FastAPI's `HTTPException`.
    Http {
        /// The response status.
        status: StatusCode,
        /// The `detail` member of the body: a string or any JSON.
        detail: Value,
    },
    /// One or more validation failures: always 422.
    Validation(Vec<ValidationError>),
    /// A failure whose details must not leak: always 500, the source is logged.
    Internal(BoxError),
}

/// The one error type: an [`ErrorKind`] plus extra response headers.
///
/// ```
/// use brisk::{Error, http::StatusCode};
/// let e = Error::http(StatusCode::NOT_FOUND, "Item not found");
/// assert_eq!(e.status(), StatusCode::NOT_FOUND);
/// ```
///
/// Any `std::error::Error` converts into an internal error, so `?` works in handlers:
/// the client sees a plain 500 and the cause goes to the log.
pub struct Error {
    kind: ErrorKind,
    headers: Option<Box<HeaderMap>>,
}

impl Error {
    /// An HTTP error with a string or JSON `detail` (FastAPI's `HTTPException(status, detail)`).
    pub fn http(status: StatusCode, detail: impl Into<Value>) -> Self {
        Error::from_kind(ErrorKind::Http { status, detail: detail.into() })
    }

    /// The status this error answers with (422 for validation, 500 for internal).
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            ErrorKind::Http { status, .. } => *status,
            ErrorKind::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An HTTP error whose detail is the canonical reason of `status` (`"Not Found"`).
    pub fn from_status(status: StatusCode) -> Self {
        Error::http(status, status.canonical_reason().unwrap_or("Error"))
    }

    /// 404 `{"detail": "Not Found"}`.
    pub fn not_found() -> Self {
        Error::from_status(StatusCode::NOT_FOUND)
    }

    /// 415 naming the content types the route accepts:
    /// `{"detail": "Unsupported Media Type: this route accepts application/json"}`.
    ///
    /// [`Json`](crate::Json), [`Form`](crate::Form) and the other body extractors answer it
    /// for a body of another type. An extractor that accepts several types (JSON or a form)
    /// names them all, so that the client learns what to send:
    ///
    /// ```
    /// use brisk::{http::StatusCode, Error};
    /// let e = Error::unsupported_media_type(&["application/json", "application/x-www-form-urlencoded"]);
    /// assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    /// let brisk::error::ErrorKind::Http { detail, .. } = e.kind() else { unreachable!() };
    /// assert_eq!(
    ///     detail.as_str(),
    ///     Some("Unsupported Media Type: this route accepts application/json or application/x-www-form-urlencoded")
    /// );
    /// ```
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Error::http(StatusCode::UNSUPPORTED_MEDIA_TYPE, unsupported_media_type_detail(accepted))
    }

    /// 503 with `Retry-After` (whole seconds, rounded up, at least 1): what a backend answers
    /// when it cannot reach its server (Redis down), so the client and the balancer retry
    /// later while requests that do not need it keep working.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = brisk::Error::unavailable(Duration::from_millis(1500));
    /// assert_eq!(e.status(), 503);
    /// assert_eq!(e.headers().unwrap()["retry-after"], "2");
    /// ```
    pub fn unavailable(retry_after: std::time::Duration) -> Self {
        let secs = (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
        Error::from_status(StatusCode::SERVICE_UNAVAILABLE)
            .with_header(http::header::RETRY_AFTER, HeaderValue::from(secs))
    }

    /// 422 with these validation errors.
    pub fn validation(errors: Vec<ValidationError>) -> Self {
        Error::from_kind(ErrorKind::Validation(errors))
    }

    /// 500; `source` is logged, the client sees only "Internal Server Error".
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Error::from_kind(ErrorKind::Internal(source.into()))
    }

    /// An error from its kind.
    pub fn from_kind(kind: ErrorKind) -> Self {
        Error { kind, headers: None }
    }

    /// Adds a response header (e.g. `WWW-Authenticate`, `Retry-After`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.get_or_insert_with(Default::default).append(name, value);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        self.kind
    }

    /// The validation errors, if this is a validation error.
    pub fn validation_errors(&self) -> Option<&[ValidationError]> {
        match &self.kind {
            ErrorKind::Validation(errors) => Some(errors),
            _ => None,
        }
    }

    /// Adds this error's validation failures to `errors` (skipping exact repeats) and returns
    /// `Ok`; any other error is returned untouched, headers and all. The one rule by which
    /// extractors' failures gather into a single 422 while others answer at once.
    pub(crate) fn gather_into(self, errors: &mut Vec<ValidationError>) -> Result<(), Error> {
        if self.validation_errors().is_none() {
            return Err(self);
        }
        if let ErrorKind::Validation(list) = self.into_kind() {
            extend_unique(errors, list);
        }
        Ok(())
    }

    /// Extra headers to send with the response.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_deref()
    }
}

/// `Unsupported Media Type: this route accepts a, b or c`: the 415's detail, and its
/// description in the OpenAPI document.
pub(crate) fn unsupported_media_type_detail(accepted: &[&str]) -> String {
    let list = match accepted {
        [] => return "Unsupported Media Type".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    format!("Unsupported Media Type: this route accepts {list}")
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("kind", &self.kind).finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Http { status, detail } => write!(f, "{status}: {detail}"),
            ErrorKind::Validation(errors) => {
                write!(f, "{} validation error(s)", errors.len())?;
                for e in errors {
                    write!(f, "; {e}")?;
                }
                Ok(())
            }
            ErrorKind::Internal(source) => write!(f, "internal error: {source}"),
        }
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(source: E) -> Self {
        match answers::answer(&source) {
            Some(answered) => answered,
            None => Error::internal(source),
        }
    }
}
