//! [`TestStreamError`]: why reading a streamed test response gave no item.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::error::BoxError;

/// Why a [`TestStream`](super::TestStream) reader gave an error instead of the next item.
///
/// A malformed line or event is reported and skipped: the next read goes on after it. A
/// [`Timeout`](Self::Timeout) can be retried. After [`NotAStream`](Self::NotAStream) or
/// [`Body`](Self::Body) the reader ends (`None`).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::response::JsonLines;
/// use brisk::testing::{TestClient, TestStreamError};
/// use futures_util::{stream, Stream};
///
/// async fn rows() -> JsonLines<impl Stream<Item = i32> + Send> {
///     JsonLines(stream::iter([1, 2]))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = TestClient::new(App::new().route("/rows", get(rows)));
/// // Read as the wrong type: line 1 is reported, then line 2.
/// let mut rows = client.get("/rows").stream().await.json_lines::<String>();
/// match rows.next().await {
///     Some(Err(TestStreamError::Json { line, text, .. })) => assert_eq!((line, text.as_str()), (1, "1")),
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(rows.next().await, Some(Err(TestStreamError::Json { line: 2, .. }))));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TestStreamError {
    /// No whole item came within the timeout (see [`TestStream::timeout`](super::TestStream::timeout)).
    /// The reader can be read again.
    Timeout(Duration),
    /// The response is not the stream the reader reads (say a `404` JSON error where events
    /// were expected).
    NotAStream {
        /// The media type the reader reads.
        expected: &'static str,
        /// The response's status.
        status: StatusCode,
        /// The response's `Content-Type`, if it has a readable one.
        content_type: Option<String>,
        /// The start of the body (up to 64 KiB, as far as it came within the timeout).
        body: String,
    },
    /// Reading the body failed (the connection broke).
    Body(BoxError),
    /// A line that is not UTF-8 (line numbers start at 1).
    NotUtf8 {
        /// Its number.
        line: usize,
    },
    /// A Server-Sent Events line that browsers would ignore: an unknown field, a `retry` that
    /// is not a number of milliseconds, an `id` holding NUL.
    Sse {
        /// Its number.
        line: usize,
        /// The line.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON Lines line that is not the JSON of the expected type.
    Json {
        /// Its number.
        line: usize,
        /// The line (lossy UTF-8).
        text: String,
        /// serde_json's error.
        error: serde_json::Error,
    },
    /// The body ended inside an item: an event without its closing blank line.
    Truncated {
        /// The number of the last line read.
        line: usize,
        /// What was left unfinished.
        text: String,
    },
}

impl fmt::Display for TestStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestStreamError::Timeout(after) => write!(f, "no item within {after:?}"),
            TestStreamError::NotAStream { expected, status, content_type, body } => write!(
                f,
                "expected a {expected} response, got {status} with Content-Type {}: {body}",
                content_type.as_deref().unwrap_or("(none)")
            ),
            TestStreamError::Body(e) => write!(f, "reading the response body failed: {e}"),
            TestStreamError::NotUtf8 { line } => write!(f, "line {line} is not UTF-8"),
            TestStreamError::Sse { line, text, reason } => {
                write!(f, "invalid Server-Sent Events line {line} `{text}`: {reason}")
            }
            TestStreamError::Json { line, text, error } => {
                write!(f, "line {line} is not the expected JSON ({error}): `{text}`")
            }
            TestStreamError::Truncated { line, text } => {
                write!(f, "the body ended inside an item after line {line}: `{text}`")
            }
        }
    }
}

impl std::error::Error for TestStreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestStreamError::Body(e) => Some(e.as_ref()),
            TestStreamError::Json { error, .. } => Some(error),
            _ => None,
        }
    }
}
