//! JSON Lines (`application/jsonl`): one JSON value per line, streamed.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::CONTENT_TYPE;
use http::HeaderValue;
use schemars::JsonSchema;
use serde::Serialize;

use super::sse::describe_stream;
use super::{IntoResponse, Response};
use crate::body::Body;
use crate::openapi::{DescribeOutput, DocContext, Operation};

/// A JSON Lines response from a stream of `T`: each item is written as one line when it comes,
/// nothing is buffered. Dropped when the client goes away.
///
/// ```
/// use brisk::response::JsonLines;
///
/// async fn rows() -> JsonLines<impl futures_util::Stream<Item = u32> + Send> {
///     JsonLines(futures_util::stream::iter(1..=3))
/// }
/// ```
///
/// An item that fails to serialise ends the stream (the client sees a truncated body) and is
/// logged.
pub struct JsonLines<S>(pub S);

fn line<T: Serialize>(item: T) -> Result<Bytes, serde_json::Error> {
    let mut buf = serde_json::to_vec(&item).inspect_err(|e| {
        tracing::error!(target: "brisk::response", error = %e, "a JSON Lines item failed to serialise");
    })?;
    buf.push(b'\n');
    Ok(Bytes::from(buf))
}

impl<S, T> IntoResponse for JsonLines<S>
where
    S: Stream<Item = T> + Send + 'static,
    T: Serialize + 'static,
{
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::from_stream(self.0.map(line)));
        res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
        res
    }
}

impl<S: Stream<Item = T>, T: JsonSchema> DescribeOutput for JsonLines<S> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        describe_stream::<T>(cx, op, "application/jsonl", "JSON Lines");
    }
}
