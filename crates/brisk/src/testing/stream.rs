//! [`TestStream`]: a response whose body is read as it comes, and its raw reader [`Chunks`].

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use http_body::Body as _;
use serde::de::DeserializeOwned;
use tokio::time::Sleep;

use super::connection::Connection;
use super::json_lines::JsonLinesItems;
use super::sse::SseEvents;
use super::stream_error::TestStreamError;
use super::TestResponse;
use crate::body::Body;

/// How long a read waits for its item by default: long enough for any test that is not hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an unexpected body [`TestStreamError::NotAStream`] keeps.
const UNEXPECTED_BODY_LIMIT: usize = 64 * 1024;

/// A response whose head has come and whose body is read as it streams, from
/// [`TestRequest::stream`](super::TestRequest::stream).
///
/// Read it with one of its readers: [`sse_events`](Self::sse_events) (Server-Sent Events),
/// [`json_lines`](Self::json_lines) (JSON Lines), [`chunks`](Self::chunks) (the raw body), or
/// whole with [`into_response`](Self::into_response). Each read waits at most the
/// [timeout](Self::timeout) for its item. Dropping the stream or its reader leaves: in process
/// the body (and the stream behind it) is dropped, over a socket the connection is closed.
#[must_use = "a stream is read with one of its readers"]
pub struct TestStream {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    /// The body ended or failed: it is not polled again.
    done: bool,
    deadline: Deadline,
    /// Whether the reader's media type was checked (and matched).
    checked: bool,
    /// The start of a body that is not of the reader's media type, for its error.
    unexpected: BytesMut,
    /// The connection that carries the body (socket mode), closed when the stream is dropped.
    _connection: Option<Connection>,
}

impl std::fmt::Debug for TestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStream")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("timeout", &self.deadline.every)
            .finish_non_exhaustive()
    }
}

impl TestStream {
    pub(super) fn new(parts: http::response::Parts, body: Body, connection: Option<Connection>) -> Self {
        TestStream {
            status: parts.status,
            headers: parts.headers,
            body,
            done: false,
            deadline: Deadline { every: Some(DEFAULT_TIMEOUT), sleep: None },
            checked: false,
            unexpected: BytesMut::new(),
            _connection: connection,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// How long each read waits for its item (an event, a line, a chunk) before it gives
    /// [`TestStreamError::Timeout`]; `None` waits for ever. [`DEFAULT_TIMEOUT`] by default.
    ///
    /// Keep-alive comments do not count as items: an event stream that only sends them times
    /// out.
    pub fn timeout(mut self, per_item: Option<Duration>) -> Self {
        self.deadline = Deadline { every: per_item, sleep: None };
        self
    }

    /// Reads the body as Server-Sent Events (`text/event-stream`), event by event.
    pub fn sse_events(self) -> SseEvents {
        SseEvents::new(self)
    }

    /// Reads the body as JSON Lines (`application/jsonl`, `application/x-ndjson` ...), each
    /// line as JSON of a `T`.
    pub fn json_lines<T: DeserializeOwned>(self) -> JsonLinesItems<T> {
        JsonLinesItems::new(self)
    }

    /// Reads the body's chunks as they come (as the transport delivers them: one chunk of the
    /// server's may arrive as several, or several as one).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::testing::TestClient;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let client = TestClient::new(App::new().route("/", get(|| async { "hello" })));
    /// let mut chunks = client.get("/").stream().await.chunks();
    /// let mut body = Vec::new();
    /// while let Some(chunk) = chunks.next().await {
    ///     body.extend_from_slice(&chunk.expect("a chunk"));
    /// }
    /// assert_eq!(body, b"hello");
    /// # }
    /// ```
    pub fn chunks(self) -> Chunks {
        Chunks { stream: self }
    }

    /// Reads the rest of the body (within the timeout) into a [`TestResponse`].
    pub async fn into_response(mut self) -> Result<TestResponse, TestStreamError> {
        let every = self.deadline.every;
        let mut body = BytesMut::new();
        let read = std::future::poll_fn(|cx| loop {
            match ready!(self.poll_chunk(cx)) {
                Some(Ok(chunk)) => body.extend_from_slice(&chunk),
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(())),
            }
        });
        match every {
            Some(every) => {
                tokio::time::timeout(every, read).await.map_err(|_| TestStreamError::Timeout(every))??
            }
            None => read.await?,
        }
        Ok(TestResponse { status: self.status, headers: self.headers.clone(), body: body.freeze() })
    }

    /// The next data chunk of the body (trailers are skipped), without a deadline.
    pub(super) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, TestStreamError>>> {
        while !self.done {
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(TestStreamError::Body(e))));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                    _ => {}
                },
            }
        }
        Poll::Ready(None)
    }

    /// Ready with the timeout once the item being read has waited for it.
    pub(super) fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Duration> {
        self.deadline.poll_expired(cx)
    }

    /// An item was read: the next one gets a whole timeout.
    pub(super) fn item_done(&mut self) {
        self.deadline.sleep = None;
    }

    /// `Ok` once the response is of the media type a reader reads (`accepts` tells, from the
    /// `Content-Type`'s essence); else reads the start of the body into
    /// [`TestStreamError::NotAStream`] and ends the stream.
    pub(super) fn poll_media_type(
        &mut self,
        cx: &mut Context<'_>,
        expected: &'static str,
        accepts: fn(&str) -> bool,
    ) -> Poll<Result<(), TestStreamError>> {
        if self.checked {
            return Poll::Ready(Ok(()));
        }
        let content_type = self.header(CONTENT_TYPE.as_str()).map(str::to_owned);
        let essence = content_type.as_deref().and_then(|t| t.split(';').next()).map(str::trim);
        if essence.is_some_and(|e| accepts(&e.to_ascii_lowercase())) {
            self.checked = true;
            return Poll::Ready(Ok(()));
        }
        while !self.done && self.unexpected.len() < UNEXPECTED_BODY_LIMIT {
            match self.poll_chunk(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.unexpected.extend_from_slice(&chunk),
                Poll::Ready(_) => break,
                Poll::Pending => {
                    if self.poll_deadline(cx).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        self.checked = true;
        self.done = true;
        self.item_done();
        let body = String::from_utf8_lossy(&self.unexpected).into_owned();
        Poll::Ready(Err(TestStreamError::NotAStream { expected, status: self.status, content_type, body }))
    }
}

/// The deadline of the item being read: its clock starts at the first poll for it.
struct Deadline {
    every: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Duration> {
        let Some(every) = self.every else { return Poll::Pending };
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
        ready!(sleep.as_mut().poll(cx));
        self.sleep = None;
        Poll::Ready(every)
    }
}

/// The raw chunks of a [`TestStream`], from [`TestStream::chunks`]; also a
/// [`Stream`](futures_util::Stream).
#[must_use = "a reader does nothing unless read"]
#[derive(Debug)]
pub struct Chunks {
    stream: TestStream,
}

impl Chunks {
    /// The next chunk; `None` at the end of the body. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Bytes, TestStreamError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The per-read timeout (see [`TestStream::timeout`]).
    pub fn timeout(self, per_item: Option<Duration>) -> Self {
        Chunks { stream: self.stream.timeout(per_item) }
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.stream.status()
    }

    /// The response's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.stream.headers()
    }
}

impl Stream for Chunks {
    type Item = Result<Bytes, TestStreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let stream = &mut self.stream;
        match stream.poll_chunk(cx) {
            Poll::Ready(item) => {
                stream.item_done();
                Poll::Ready(item)
            }
            Poll::Pending => stream.poll_deadline(cx).map(|after| Some(Err(TestStreamError::Timeout(after)))),
        }
    }
}
