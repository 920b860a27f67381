//! Reading a body under a size limit, and the raw body extractors `Bytes` and `String`.

use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use http_body::Body as _;
use serde_json::Value;

use super::{split_then, FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::{Error, Loc, ValidationError};

/// Reads a whole body, refusing more than `limit` bytes with 413.
///
/// A `Content-Length` above the limit is refused before anything is read.
pub async fn read_body(mut body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Error> {
    read_all(&mut body, headers, limit).await
}

/// [`read_body`] through a reference: the extractors' futures then hold the body once, not once
/// per layer (a `Body` is 112 bytes, and a handler's future is allocated on every request).
///
/// A body that comes in one chunk is returned as it is, without a copy.
pub(crate) async fn read_all(body: &mut Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Error> {
    let declared =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut first = Bytes::new();
    let mut joined = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            crate::body_pace::too_slow(&e)
                .unwrap_or_else(|| Error::http(StatusCode::BAD_REQUEST, "Error reading the request body"))
        })?;
        let Ok(data) = frame.into_data() else { continue };
        if first.len() + joined.len() + data.len() > limit {
            return Err(too_large());
        }
        if first.is_empty() && joined.is_empty() {
            first = data;
        } else {
            if joined.is_empty() {
                joined.extend_from_slice(&first);
                first = Bytes::new();
            }
            joined.extend_from_slice(&data);
        }
    }
    Ok(if joined.is_empty() { first } else { joined.freeze() })
}

pub(crate) fn too_large() -> Error {
    Error::http(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
}

impl FromRequest for Bytes {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    async fn from_parts_and_body(
        parts: &mut Parts,
        mut body: Body,
        cx: &RequestContext,
    ) -> Result<Self, Error> {
        read_all(&mut body, &parts.headers, cx.body_limit).await
    }
}

impl FromRequest for String {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    async fn from_parts_and_body(
        parts: &mut Parts,
        mut body: Body,
        cx: &RequestContext,
    ) -> Result<Self, Error> {
        let bytes = read_all(&mut body, &parts.headers, cx.body_limit).await?;
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
