//! Reading a body under a size limit, and the raw body extractors `Bytes` and `String`.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::{FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::{Error, Loc, ValidationError};

/// Reads a whole body, refusing more than `limit` bytes with 413.
///
/// A `Content-Length` above the limit is refused before anything is read.
pub async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Error> {
    let declared =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(crate::body_pace::too_slow(&e)
            .unwrap_or_else(|| Error::http(StatusCode::BAD_REQUEST, "Error reading the request body"))),
    }
}

pub(crate) fn too_large() -> Error {
    Error::http(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
}

impl FromRequest for Bytes {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        read_body(body, &parts.headers, cx.body_limit).await
    }
}

impl FromRequest for String {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, cx).await?;
        String::from_utf8(bytes.into()).map_err(|_| {
            Error::validation(vec![ValidationError::new(
                "string_unicode",
                Loc::root("body"),
                "Input should be a valid string, unable to parse raw data as a unicode string",
                Value::Null,
            )])
        })
    }
}
