//! [`BodyStream`]: read an upload chunk by chunk, with the body limit still enforced.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::header::CONTENT_LENGTH;
use http_body::Body as _;
use serde_json::json;

use super::body::too_large;
use super::{FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::{BoxError, Error};
use crate::openapi::{DescribeInput, DocContext, Operation, RequestBody};

/// The request body as it arrives, without buffering it whole. The route's body limit holds:
/// a `Content-Length` above it is refused before reading (413), and a body that grows past it
/// ends with a 413 error from [`next`](BodyStream::next) at the chunk that crosses it.
///
/// ```
/// use brisk::extract::BodyStream;
///
/// async fn upload(mut body: BodyStream) -> brisk::Result<String> {
///     let mut total = 0;
///     while let Some(chunk) = body.next().await {
///         total += chunk?.len();
///     }
///     Ok(total.to_string())
/// }
/// ```
pub struct BodyStream {
    body: Body,
    seen: usize,
    limit: usize,
    failed: bool,
}

impl BodyStream {
    /// The next chunk, `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, Error>> {
        futures_util::StreamExt::next(self).await
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> usize {
        self.seen
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        loop {
            let frame = match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(read_error(e))));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            // Trailers carry no data: skip them.
            let Ok(chunk) = frame.into_data() else { continue };
            self.seen = self.seen.saturating_add(chunk.len());
            if self.seen > self.limit {
                self.failed = true;
                return Poll::Ready(Some(Err(too_large())));
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
    }
}

fn read_error(e: BoxError) -> Error {
    tracing::debug!(target: "brisk::extract", error = %e, "request body failed while streaming");
    crate::body_pace::too_slow(&e)
        .unwrap_or_else(|| Error::http(http::StatusCode::BAD_REQUEST, "Error reading the request body"))
}

impl FromRequest for BodyStream {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > cx.body_limit as u64) {
            return Err(too_large());
        }
        Ok(BodyStream { body, seen: 0, limit: cx.body_limit, failed: false })
    }
}

impl DescribeInput for BodyStream {
    fn describe_input(_cx: &mut DocContext, op: &mut Operation) {
        let mut content = serde_json::Map::new();
        content.insert(
            "application/octet-stream".to_owned(),
            json!({"schema": {"type": "string", "format": "binary"}}),
        );
        op.request_body = Some(RequestBody { required: false, content });
    }
}
