//! Error formatters: how an [`Error`] becomes a response body.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use super::{Error, ErrorKind};
use crate::body::Body;
use crate::response::{to_json_bytes, Response};

/// Turns an [`Error`] into a response. An app has one; replace it with
/// [`App::error_formatter`](crate::App::error_formatter).
///
/// ```
/// use brisk::error::{Error, ErrorFormatter};
/// use brisk::response::{IntoResponse, Response};
///
/// struct PlainText;
/// impl ErrorFormatter for PlainText {
///     fn format(&self, error: &Error) -> Response {
///         (error.status(), error.to_string()).into_response()
///     }
/// }
/// ```
pub trait ErrorFormatter: Send + Sync + 'static {
    /// Renders `error`. Headers carried by the error are added afterwards by brisk.
    fn format(&self, error: &Error) -> Response;

    /// The schema of the bodies [`format`](Self::format) writes, for the OpenAPI document of
    /// the routes it renders ([`Router::error_formatter`](crate::Router::error_formatter)): every
    /// error response of their operations is documented with it. `None` (the default) leaves
    /// them documented in FastAPI's format.
    fn error_schema(cx: &mut crate::openapi::DocContext) -> Option<serde_json::Value>
    where
        Self: Sized,
    {
        let _ = cx;
        None
    }
}

/// FastAPI's format: `{"detail": ...}`. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastApiFormatter;

/// RFC 9457 `application/problem+json`: `{"type","title","status","detail"}`, with validation
/// failures under `errors`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJsonFormatter;

/// `{"detail": ...}`, serialized straight from the error so fields keep FastAPI's order
/// (`type`, `loc`, `msg`, `input`, `ctx`).
#[derive(serde::Serialize)]
struct Detail<'a, T: serde::Serialize + ?Sized> {
    detail: &'a T,
}

impl ErrorFormatter for FastApiFormatter {
    fn format(&self, error: &Error) -> Response {
        let body = match error.kind() {
            ErrorKind::Http { detail, .. } => to_json_bytes(&Detail { detail }),
            ErrorKind::Validation(errors) => to_json_bytes(&Detail { detail: errors.as_slice() }),
            ErrorKind::Internal(_) => to_json_bytes(&Detail { detail: "Internal Server Error" }),
        };
        bytes_response(
            error.status(),
            body.unwrap_or_else(|_| Bytes::from_static(INTERNAL)),
            "application/json",
        )
    }
}

const INTERNAL: &[u8] = b"{\"detail\":\"Internal Server Error\"}";

impl ErrorFormatter for ProblemJsonFormatter {
    fn format(&self, error: &Error) -> Response {
        let status = error.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let mut body = json!({ "type": "about:blank", "title": title, "status": status.as_u16() });
        match error.kind() {
            ErrorKind::Http { detail, .. } => body["detail"] = detail.clone(),
            ErrorKind::Validation(errors) => body["errors"] = json!(errors),
            ErrorKind::Internal(_) => {}
        }
        json_response(status, &body, "application/problem+json")
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value, content_type: &'static str) -> Response {
    bytes_response(status, to_json_bytes(body).unwrap_or_else(|_| Bytes::from_static(INTERNAL)), content_type)
}

pub(crate) fn bytes_response(status: StatusCode, bytes: Bytes, content_type: &'static str) -> Response {
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// Renders again, with `formatter`, the `error` that `rendered` was made from: the new body, and
/// every header `rendered` carried besides its body's own (`Content-Type`, `Content-Length`) —
/// those a handler or a limit added around the error (`RateLimit-*` ...) are kept.
pub(crate) fn rerender_error(formatter: &dyn ErrorFormatter, error: &Error, rendered: Response) -> Response {
    let mut res = render_error(formatter, error);
    let own: Vec<http::HeaderName> = res.headers().keys().cloned().collect();
    let (parts, _) = rendered.into_parts();
    let mut name = None;
    for (header, value) in parts.headers {
        if let Some(header) = header {
            name = Some(header);
        }
        let Some(name) = &name else { continue };
        if *name == CONTENT_TYPE || *name == http::header::CONTENT_LENGTH || own.contains(name) {
            continue;
        }
        res.headers_mut().append(name.clone(), value);
    }
    res
}

/// Renders `error` with `formatter` and adds the error's own headers.
pub(crate) fn render_error(formatter: &dyn ErrorFormatter, error: &Error) -> Response {
    let mut res = formatter.format(error);
    if let Some(headers) = error.headers() {
        for (name, value) in headers {
            res.headers_mut().append(name, value.clone());
        }
    }
    res
}
