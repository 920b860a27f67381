//! [`Templates`] as an extractor: the app's templates, with the request's values.

use std::sync::Arc;

use http::header::HOST;
use http::request::Parts;

use super::{TemplateContext, Templates, Value};
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// The app's templates, with this request's values (`request`, and what
/// [`App::template_context`](crate::App::template_context) adds). A handler of an app without
/// templates gets an internal error (a 500, logged, naming the fix).
impl FromRequestParts for Templates {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let Some(templates) = cx.state::<Templates>() else {
            return Err(Error::internal(
                "a handler asks for `Templates`, but the app has none: add them with `App::templates`",
            ));
        };
        // Loaded before the per-request values are made: flashes and the CSRF token read it.
        #[cfg(feature = "sessions")]
        if parts.extensions.get::<crate::sessions::Session>().is_some() {
            crate::sessions::Session::from_extensions(&parts.extensions).await?;
        }
        let mut values = TemplateContext::default();
        values.insert("request", request_value(parts));
        for processor in &templates.engine().processors {
            processor(parts, &mut values);
        }
        let mut templates = templates.clone();
        templates.request = Some(Arc::new(values));
        Ok(templates)
    }
}

/// The server's own: documents nothing.
impl DescribeInput for Templates {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

/// `request` in templates: `method`, `path`, `query_string`, `url` (path and query), `host`,
/// and `args` (the query's parameters, the first value of each).
fn request_value(parts: &Parts) -> Value {
    let query = parts.uri.query().unwrap_or("");
    let mut args: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !args.iter().any(|(seen, _)| *seen == k) {
            args.push((k.into_owned(), v.into_owned()));
        }
    }
    let url =
        parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let host =
        parts.headers.get(HOST).and_then(|h| h.to_str().ok()).or_else(|| parts.uri.host()).unwrap_or("");
    Value::from_pairs([
        ("method", Value::from(parts.method.as_str())),
        ("path", Value::from(parts.uri.path())),
        ("query_string", Value::from(query)),
        ("url", Value::from(url)),
        ("host", Value::from(host)),
        ("args", Value::from_pairs(args)),
    ])
}
