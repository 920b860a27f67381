//! [`Template`]: a rendered template as a response.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::Error;
use crate::openapi::{DescribeOutput, DocContext, Operation, ResponseDoc};
use crate::response::{IntoResponse, Response};

/// A rendered template: its status, a content type from its name (`.html` is
/// `text/html; charset=utf-8`, `.xml` `application/xml`, `.txt` `text/plain`, `.json`
/// `application/json`; other names HTML), and the text. Made by
/// [`Templates::render`](super::Templates::render).
///
/// Needs feature `templates`.
///
/// ```
/// use brisk::templates::{context, Template, Templates};
/// use brisk::response::IntoResponse;
///
/// let tpl = Templates::new().embedded(&[("feed.xml", "<feed>{{ title }}</feed>")]);
/// let page: Template = tpl.render("feed.xml", context! { title => "a & b" }).unwrap();
/// assert_eq!(page.body(), "<feed>a &amp; b</feed>");
/// let res = page.into_response();
/// assert_eq!(res.headers()["content-type"], "application/xml; charset=utf-8");
/// ```
#[derive(Debug, Clone)]
pub struct Template {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl Template {
    pub(crate) fn new(status: StatusCode, name: &str, body: String) -> Self {
        Template { status, content_type: content_type(name), body }
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The same page with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The rendered text.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The rendered text, owned.
    pub fn into_body(self) -> String {
        self.body
    }
}

fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "xml" => "application/xml; charset=utf-8",
        "txt" | "text" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => "text/html; charset=utf-8",
    }
}

impl IntoResponse for Template {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::from(self.body));
        *res.status_mut() = self.status;
        res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        res
    }
}

/// An HTML page.
impl DescribeOutput for Template {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response(
            "200",
            ResponseDoc::new("Successful Response").with_content("text/html", json!({"type": "string"})),
        );
    }
}

/// A status for [`Templates::render_status`](super::Templates::render_status): a
/// [`StatusCode`] or a number (`422`).
pub trait StatusArg {
    /// The status; an invalid number is an internal error.
    fn into_status(self) -> Result<StatusCode, Error>;
}

impl StatusArg for StatusCode {
    fn into_status(self) -> Result<StatusCode, Error> {
        Ok(self)
    }
}

impl StatusArg for u16 {
    fn into_status(self) -> Result<StatusCode, Error> {
        StatusCode::from_u16(self).map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_name() {
        assert_eq!(content_type("notes/detail.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("sitemap.XML"), "application/xml; charset=utf-8");
        assert_eq!(content_type("email.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("page"), "text/html; charset=utf-8");
        assert!(1000u16.into_status().is_err());
    }
}
