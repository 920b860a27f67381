//! The 403 of a refused request: a page for a browser, JSON for anything else.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::Body;
use crate::error::Error;
use crate::response::{IntoResponse, Response};

/// Whether the client asked for a page (`Accept: text/html`).
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/html"))
}

/// 403 "CSRF check failed: {reason}". The reasons are brisk's own sentences (no request text).
pub(crate) fn refusal(html: bool, reason: &'static str) -> Response {
    tracing::warn!(target: "brisk::csrf", reason, "request refused by the CSRF check");
    if !html {
        return Error::http(StatusCode::FORBIDDEN, format!("CSRF check failed: {reason}")).into_response();
    }
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>403 Forbidden</title></head>\n\
         <body><h1>Forbidden (403)</h1>\n<p>CSRF check failed: the request was refused to protect your \
         account.</p>\n<p>{reason}</p>\n<p>If you sent a form, go back, reload the page and send it again.</p>\
         </body></html>\n"
    );
    let mut res = Response::new(Body::from(page));
    *res.status_mut() = StatusCode::FORBIDDEN;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res
}
