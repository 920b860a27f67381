//! Error pages for browsers: an error answers a request whose `Accept` prefers HTML
//! ([`prefers_html`](crate::response::prefers_html): browsers) with an HTML page, and any other
//! request with the app's JSON as before (FastAPI's bodies for API clients are unchanged). Both
//! carry `Vary: Accept`.
//!
//! The built-in pages need nothing; with templates (feature `templates`), a template
//! `errors/<status>.html` (`errors/404.html`, `errors/405.html`, `errors/422.html`,
//! `errors/500.html` ...) replaces the page of its status. It is rendered with:
//!
//! - `status` (`404`), `reason` (`Not Found`), `detail` (the error's detail when it is a
//!   string, else none; never anything of a 500's cause);
//! - `errors`: for a 422, the messages by field (`{"title": ["Field required"]}`), and
//!   `values`: the submitted values when the error came from [`FormErrors`](crate::extract::FormErrors),
//!   else each failing field's input.
//!
//! Error pages are rendered after the handler, away from the request: the per-request template
//! values (`request`, `csrf_token()` ...) are not there, the app's globals are. A page whose
//! template fails is logged and replaced by the built-in one. In debug, a template error's 500
//! page shows the template, line and cause (see `brisk::templates`); in release, the plain 500.
//!
//! Switch HTML pages off with [`App::html_error_pages(false)`](crate::App::html_error_pages).

use std::fmt::Write as _;
use std::sync::Arc;

use http::header::{CONTENT_TYPE, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use super::{Error, ErrorKind};
use crate::body::Body;
use crate::extract::{inputs_of, messages_by_field, FormValues, SubmittedValues};
use crate::response::{accepts_html, RenderedError, Response};

/// How an app renders its HTML error pages.
#[derive(Default)]
pub(crate) struct ErrorPages {
    #[cfg(feature = "templates")]
    pub(crate) templates: Option<crate::templates::Templates>,
}

impl ErrorPages {
    /// The page for `error` (status and headers included).
    pub(crate) fn render(&self, error: &Error, values: Option<&FormValues>) -> Response {
        let status = error.status();
        #[cfg(feature = "templates")]
        if let Some(templates) = &self.templates {
            if let Some(page) = templates.error_page(error, values) {
                return page_response(status, page, error);
            }
        }
        page_response(status, builtin_page(error, values), error)
    }

    /// The pages' side of one request: its `Accept`, kept (with the pages) only when it could
    /// prefer HTML, so that most API requests pay nothing until an error needs deciding.
    pub(crate) fn for_request(self: &Arc<Self>, headers: &HeaderMap) -> Negotiation {
        let accept = headers.get(http::header::ACCEPT).filter(|v| could_prefer_html(v.as_bytes()));
        Negotiation { html: accept.map(|accept| (self.clone(), accept.clone())) }
    }
}

/// Whether an `Accept` value names HTML or a wildcard a browser's preference could hide behind.
fn could_prefer_html(accept: &[u8]) -> bool {
    accept.windows(2).any(|w| w == b"/*") || accept.windows(4).any(|w| w.eq_ignore_ascii_case(b"html"))
}

/// One request's choice between an error page and JSON, made only when it answers an error.
pub(crate) struct Negotiation {
    /// The pages and the request's `Accept`, when it could prefer HTML.
    html: Option<(Arc<ErrorPages>, HeaderValue)>,
}

impl Negotiation {
    /// The pages, if the client prefers HTML.
    pub(crate) fn html_pages(&self) -> Option<&ErrorPages> {
        let (pages, accept) = self.html.as_ref()?;
        accepts_html(std::iter::once(accept)).then_some(&**pages)
    }

    /// Renders an error answer again as a page when the client prefers HTML; true if it did.
    pub(crate) fn render_page(&self, res: &mut Response) -> bool {
        let Some(RenderedError(error)) = res.extensions().get::<RenderedError>() else { return false };
        let Some(pages) = self.html_pages() else { return false };
        let error = error.clone();
        let values = res.extensions().get::<SubmittedValues>().map(|v| v.0.clone());
        *res = pages.render(&error, values.as_deref());
        true
    }
}

/// An error answer varies with `Accept`.
pub(crate) fn vary_on_accept(res: &mut Response) {
    res.headers_mut().append(VARY, HeaderValue::from_static("accept"));
}

fn page_response(status: StatusCode, page: String, error: &Error) -> Response {
    let mut res = Response::new(Body::from(page));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Some(headers) = error.headers() {
        for (name, value) in headers {
            res.headers_mut().append(name, value.clone());
        }
    }
    res
}

/// Escapes text for HTML content and quoted attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete page: `title` escaped, `body` already HTML.
pub(crate) fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape_html(title)
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#222;margin:0}\
main{max-width:46rem;margin:4rem auto;padding:0 1rem}h1{font-size:1.6rem;margin:0 0 1rem}\
code,pre{font-family:ui-monospace,monospace;background:#f3f3f3;border-radius:3px}\
code{padding:.1em .3em}pre{padding:1rem;overflow:auto}ul{padding-left:1.2rem}\
.line{background:#fde2e2;display:block}.muted{color:#666}";

/// The detail worth showing: an HTTP error's string detail when it says more than the reason.
pub(crate) fn shown_detail(error: &Error) -> Option<&str> {
    match error.kind() {
        ErrorKind::Http { status, detail: Value::String(detail) } => {
            (Some(detail.as_str()) != status.canonical_reason()).then_some(detail.as_str())
        }
        _ => None,
    }
}

/// The built-in page of `error`: its status, and what the client may see of it.
pub(crate) fn builtin_page(error: &Error, values: Option<&FormValues>) -> String {
    let status = error.status();
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    let mut body = format!("<h1>{}</h1>\n", escape_html(&title));
    match error.kind() {
        ErrorKind::Http { .. } => {
            if let Some(detail) = shown_detail(error) {
                let _ = writeln!(body, "<p>{}</p>", escape_html(detail));
            }
        }
        ErrorKind::Validation(errors) => {
            body.push_str("<p>The request is not valid:</p>\n<ul class=\"errors\">\n");
            for (field, messages) in messages_by_field(errors) {
                for message in messages {
                    let _ = writeln!(
                        body,
                        "<li><strong>{}</strong>: {}</li>",
                        escape_html(&field),
                        escape_html(message)
                    );
                }
            }
            body.push_str("</ul>\n");
            let inputs;
            let values = match values {
                Some(values) => values,
                None => {
                    inputs = inputs_of(errors);
                    &inputs
                }
            };
            if !values.is_empty() {
                body.push_str("<p class=\"muted\">You sent:</p>\n<ul class=\"values\">\n");
                for (field, value) in values.iter() {
                    let _ = writeln!(
                        body,
                        "<li><strong>{}</strong>: <code>{}</code></li>",
                        escape_html(field),
                        escape_html(value)
                    );
                }
                body.push_str("</ul>\n");
            }
        }
        ErrorKind::Internal(_) => {
            body.push_str("<p>The server could not answer this request. The problem has been logged.</p>\n");
        }
    }
    html_document(&title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Loc, ValidationError};

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#x27;"
        );
    }

    #[test]
    fn only_accept_values_that_could_prefer_html_are_kept() {
        for browser in ["text/html,*/*;q=0.8", "TEXT/HTML", "text/*", "application/json;q=0, */*"] {
            assert!(could_prefer_html(browser.as_bytes()), "{browser}");
        }
        for api in ["application/json", "application/problem+json", ""] {
            assert!(!could_prefer_html(api.as_bytes()), "{api}");
        }
    }

    #[test]
    fn builtin_pages_show_status_detail_and_errors_escaped() {
        let page = builtin_page(&Error::http(StatusCode::NOT_FOUND, "No <b>note</b> 7"), None);
        assert!(page.contains("<title>404 Not Found</title>"), "{page}");
        assert!(page.contains("No &lt;b&gt;note&lt;/b&gt; 7"), "{page}");

        let page = builtin_page(&Error::internal("secret: db password is hunter2"), None);
        assert!(page.contains("500 Internal Server Error") && !page.contains("hunter2"), "{page}");

        let error = Error::validation(vec![ValidationError::new(
            "string_too_short",
            Loc::root("body").key("title"),
            "String should have at least 1 character",
            Value::String(String::new()),
        )]);
        let values = FormValues::from_iter([("title", ""), ("body", "<script>x</script>")]);
        let page = builtin_page(&error, Some(&values));
        assert!(page.contains("<strong>title</strong>: String should have at least 1 character"), "{page}");
        assert!(page.contains("<code>&lt;script&gt;x&lt;/script&gt;</code>"), "{page}");
        assert!(!page.contains("<script>x"), "{page}");
    }
}
