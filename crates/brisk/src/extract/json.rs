use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::HeaderMap;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::body::read_all;
use super::{split_then, FromRequest, OptionalFromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::{Error, Loc, ValidationError};
use crate::validation::{from_json, Validate};

/// A JSON body (as an extractor) or a JSON response (as a return value).
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, Serialize, JsonSchema, Validate)]
/// struct Note {
///     #[validate(min_length = 1)]
///     text: String,
/// }
///
/// async fn echo(Json(note): Json<Note>) -> Json<Note> {
///     Json(note)
/// }
/// ```
///
/// The request must say `Content-Type: application/json` (or `application/*+json`), else 415
/// `{"detail": "Unsupported Media Type: this route accepts application/json"}` (documented in
/// the route's OpenAPI operation).
/// An empty body is a 422 `missing` at `["body"]`; invalid JSON a 422 `json_invalid` at
/// `["body", <character offset>]`; every field failure a 422 entry at `["body", <path>...]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// True for `application/json` and `application/<anything>+json`.
pub(crate) fn is_json(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime: mime::Mime = match value.parse() {
        Ok(m) => m,
        Err(_) => return Some(false),
    };
    Some(
        mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix().is_some_and(|s| s == mime::JSON)),
    )
}

/// The media type [`Json`] reads.
const JSON: &str = "application/json";

/// The 415 of a JSON body.
fn not_json() -> Error {
    Error::unsupported_media_type(&[JSON])
}

pub(crate) fn missing_body() -> Error {
    Error::validation(vec![ValidationError::new("missing", Loc::root("body"), "Field required", Value::Null)])
}

async fn parse<T>(headers: &HeaderMap, body: &mut Body, limit: usize) -> Result<Option<T>, Error>
where
    T: DeserializeOwned + JsonSchema + Validate + 'static,
{
    let json = is_json(headers);
    if json == Some(false) {
        return Err(not_json());
    }
    let bytes = read_all(body, headers, limit).await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if json.is_none() {
        return Err(not_json());
    }
    // A UTF-8 byte-order mark before the document is skipped, as FastAPI (Python's `json`
    // with `utf-8-sig`) does: some Windows tools write one.
    from_json(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)).map(Some)
}

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    async fn from_parts_and_body(
        parts: &mut Parts,
        mut body: Body,
        cx: &RequestContext,
    ) -> Result<Self, Error> {
        parse(&parts.headers, &mut body, cx.body_limit).await?.map(Json).ok_or_else(missing_body)
    }
}

impl<T> OptionalFromRequest for Json<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Option<Self>, Error> {
        let (parts, mut body) = req.into_parts();
        Ok(parse(&parts.headers, &mut body, cx.body_limit).await?.map(Json))
    }
}
