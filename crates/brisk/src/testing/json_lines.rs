//! [`JsonLinesItems`]: a JSON Lines body read line by line as typed items.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::lines::Lines;
use super::stream::TestStream;
use super::stream_error::TestStreamError;

/// The media types read as JSON Lines (brisk sends `application/jsonl`).
const MEDIA_TYPES: [&str; 5] = [
    "application/jsonl",
    "application/x-jsonlines",
    "application/jsonlines",
    "application/x-ndjson",
    "application/ndjson",
];

/// The items of a JSON Lines response (`application/jsonl`, `application/x-ndjson` ...), each
/// line read as JSON of a `T`, from [`TestStream::json_lines`]; also a
/// [`Stream`](futures_util::Stream).
///
/// Lines end with LF (or CRLF); the last line's newline is optional, as the format allows. A
/// line that is not a `T` (an empty line included) is [`TestStreamError::Json`] with its
/// number and text, and reading goes on with the next line. A response of another media type
/// gives [`TestStreamError::NotAStream`], then `None`.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::response::JsonLines;
/// use brisk::testing::TestClient;
/// use futures_util::{stream, Stream};
///
/// #[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
/// struct Row { id: u32 }
///
/// /// Endless rows.
/// async fn rows() -> JsonLines<impl Stream<Item = Row> + Send> {
///     JsonLines(stream::iter((1..).map(|id| Row { id })))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = TestClient::serve(App::new().route("/rows", get(rows))).await;
/// let mut rows = client.get("/rows").stream().await.json_lines::<Row>();
/// assert_eq!(rows.next().await.expect("a row").expect("a Row"), Row { id: 1 });
/// assert_eq!(rows.next().await.expect("a row").expect("a Row"), Row { id: 2 });
/// drop(rows); // closes the connection
/// # }
/// ```
#[must_use = "a reader does nothing unless read"]
pub struct JsonLinesItems<T> {
    stream: TestStream,
    lines: Lines,
    ended: bool,
    item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for JsonLinesItems<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesItems")
            .field("stream", &self.stream)
            .field("item", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> JsonLinesItems<T> {
    pub(super) fn new(stream: TestStream) -> Self {
        JsonLinesItems { stream, lines: Lines::new(false), ended: false, item: PhantomData }
    }

    /// The next item; `None` at the end of the body. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<T, TestStreamError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The per-item timeout (see [`TestStream::timeout`]).
    pub fn timeout(mut self, per_item: Option<Duration>) -> Self {
        self.stream = self.stream.timeout(per_item);
        self
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.stream.status()
    }

    /// The response's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.stream.headers()
    }

    /// The next line that has come, read as a `T`.
    fn parse(&mut self) -> Option<Result<T, TestStreamError>> {
        let (line, text) = match self.lines.next_line(self.ended) {
            Some(line) => line,
            None if self.ended => self.lines.take_rest()?,
            None => return None,
        };
        Some(item(line, &text))
    }
}

fn item<T: DeserializeOwned>(line: usize, text: &Bytes) -> Result<T, TestStreamError> {
    serde_json::from_slice(text).map_err(|error| TestStreamError::Json {
        line,
        text: String::from_utf8_lossy(text).into_owned(),
        error,
    })
}

impl<T: DeserializeOwned> Stream for JsonLinesItems<T> {
    type Item = Result<T, TestStreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let is_json_lines = |essence: &str| MEDIA_TYPES.contains(&essence);
        if let Err(e) = ready!(this.stream.poll_media_type(cx, "application/jsonl", is_json_lines)) {
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            if let Some(item) = this.parse() {
                this.stream.item_done();
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.stream.poll_chunk(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.lines.push(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    // The connection broke: a partial line is lost with it.
                    this.ended = true;
                    this.lines = Lines::new(false);
                    this.stream.item_done();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => {
                    return this
                        .stream
                        .poll_deadline(cx)
                        .map(|after| Some(Err(TestStreamError::Timeout(after))))
                }
            }
        }
    }
}
