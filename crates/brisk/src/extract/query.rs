use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::percent::{decode_form, FormSource};
use super::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::error::Error;
use crate::validation::{from_strings, StringSource, Validate};

/// The query string, typed and validated.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Page {
///     #[serde(default)]
///     #[validate(ge = 0)]
///     skip: i64,
///     #[serde(default = "ten")]
///     #[validate(ge = 1, le = 100)]
///     limit: i64,
///     q: Option<String>,
/// }
/// fn ten() -> i64 { 10 }
///
/// async fn list(Query(page): Query<Page>) -> String {
///     format!("{} from {}", page.limit, page.skip)
/// }
/// ```
///
/// A repeated key fills a `Vec` field (`?tag=a&tag=b`). Failures are 422s at `["query", "<name>"]`.
///
/// Names and values are percent-decoded (`+` is a space); one whose bytes are then not UTF-8
/// (`?q=%FF`) is a 400 naming it, never replaced with `�`:
/// ``{"detail": "Invalid query parameter `q`: `%FF` decodes to bytes that are not valid UTF-8"}``.
/// Path parameters and form fields follow the same rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

pub(crate) fn from_pairs<T>(raw: &[u8], source: StringSource) -> Result<T, Error>
where
    T: DeserializeOwned + JsonSchema + Validate + 'static,
{
    let place = match source {
        StringSource::Query => FormSource::Query,
        _ => FormSource::Body,
    };
    let decoded = decode_form(raw, place)?;
    let pairs: Vec<(&str, &str)> = decoded.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    from_strings(&pairs, source)
}

impl<T> FromRequestParts for Query<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        from_pairs(parts.uri.query().unwrap_or("").as_bytes(), StringSource::Query).map(Query)
    }
}

impl<T> OptionalFromRequestParts for Query<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        match parts.uri.query() {
            None | Some("") => Ok(None),
            Some(raw) => from_pairs(raw.as_bytes(), StringSource::Query).map(|v| Some(Query(v))),
        }
    }
}
