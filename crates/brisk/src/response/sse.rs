//! Server-Sent Events: a typed [`Sse`] response from any stream of [`Event`]s.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::HeaderValue;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::time::{Instant, Sleep};

use super::{IntoResponse, Response};
use crate::body::Body;
use crate::openapi::{DescribeOutput, DocContext, Operation, ResponseDoc};

/// The data of [`Event::done`].
pub const DONE: &str = "[DONE]";

/// What an event's `data` holds.
#[derive(Debug, Clone)]
enum Data<T> {
    Json(T),
    Text(String),
    None,
}

/// One event: `data` (JSON of a `T`, or text), and optionally `event`, `id`, `retry`.
///
/// ```
/// use brisk::response::Event;
/// let token = Event::json("hello").event("token").id("1");
/// let done = Event::<String>::done(); // `data: [DONE]`
/// ```
#[derive(Debug, Clone)]
pub struct Event<T = String> {
    data: Data<T>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
}

impl<T> Event<T> {
    /// An event whose data is `value` as JSON.
    pub fn json(value: T) -> Self {
        Event { data: Data::Json(value), event: None, id: None, retry: None }
    }

    /// An event whose data is `text` as it is (`[DONE]`, say). Newlines split it into several
    /// `data:` lines, as the format requires.
    pub fn text(text: impl Into<String>) -> Self {
        Event { data: Data::Text(text.into()), event: None, id: None, retry: None }
    }

    /// The `[DONE]` sentinel that ends an OpenAI-style stream (documented as such).
    pub fn done() -> Self {
        Event::text(DONE)
    }

    /// An event with no data (only `event`, `id` or `retry`).
    pub fn empty() -> Self {
        Event { data: Data::None, event: None, id: None, retry: None }
    }

    /// The event's type (`event:`); clients listen for it by name.
    pub fn event(mut self, name: impl Into<String>) -> Self {
        self.event = Some(name.into());
        self
    }

    /// The event's id (`id:`), sent back by reconnecting clients as `Last-Event-ID`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// How long a client waits before reconnecting (`retry:`).
    pub fn retry(mut self, after: Duration) -> Self {
        self.retry = Some(after);
        self
    }
}

/// Writes `name: value` lines, one per line of `value` (a field value may hold no newline).
fn field(buf: &mut BytesMut, name: &str, value: &str) {
    for line in value.split(['\n', '\r']) {
        buf.put_slice(name.as_bytes());
        buf.put_slice(b": ");
        buf.put_slice(line.as_bytes());
        buf.put_u8(b'\n');
    }
}

impl<T: Serialize> Event<T> {
    /// The event in the wire format, ending with the blank line.
    fn encode(&self) -> Result<Bytes, serde_json::Error> {
        let mut buf = BytesMut::with_capacity(64);
        if let Some(event) = &self.event {
            field(&mut buf, "event", event);
        }
        if let Some(id) = &self.id {
            field(&mut buf, "id", id);
        }
        if let Some(retry) = self.retry {
            field(&mut buf, "retry", &retry.as_millis().to_string());
        }
        match &self.data {
            Data::Json(value) => field(&mut buf, "data", &serde_json::to_string(value)?),
            Data::Text(text) => field(&mut buf, "data", text),
            Data::None => {}
        }
        buf.put_u8(b'\n');
        Ok(buf.freeze())
    }
}

/// A Server-Sent Events response (`text/event-stream`) from a stream of [`Event<T>`]s.
///
/// A comment line goes out every 15 s while the stream is idle (change it with
/// [`keep_alive`](Sse::keep_alive)) so proxies keep the connection; the response says
/// `Cache-Control: no-cache` and `X-Accel-Buffering: no`. When the client goes away the
/// stream is dropped, so a generation behind it stops.
///
/// When the server shuts down, the stream ends as soon as the server stops accepting (after
/// the [shutdown grace](crate::App::shutdown_grace), if any): nothing more is sent, the
/// response ends and the connection closes, so the drain is not held for its whole timeout,
/// and an `EventSource` reconnects (to another process). Give the events ids for clients to
/// resume from (`Last-Event-ID`). See [`crate::health#shutting-down`].
///
/// ```
/// use brisk::prelude::*;
/// use brisk::response::{Event, Sse};
///
/// async fn ticks() -> Sse<impl futures_util::Stream<Item = Event<u32>> + Send> {
///     Sse::new(futures_util::stream::iter((1..=3).map(Event::json)))
/// }
/// ```
///
/// In the OpenAPI document the response is `text/event-stream` and its schema describes one
/// event, as OpenAPI 3.2's `itemSchema` does (3.1 has no such field): `data` is a string whose
/// `contentSchema` is `T`.
pub struct Sse<S> {
    stream: S,
    keep_alive: Option<Duration>,
}

impl<S> Sse<S> {
    /// Events from `stream`, with a keep-alive comment every 15 s of silence.
    pub fn new(stream: S) -> Self {
        Sse { stream, keep_alive: Some(Duration::from_secs(15)) }
    }

    /// The silence after which a keep-alive comment is sent; `None` sends none.
    pub fn keep_alive(mut self, every: Option<Duration>) -> Self {
        self.keep_alive = every;
        self
    }
}

/// The encoded events, with keep-alive comments in the silences.
struct SseBody<S> {
    events: Pin<Box<S>>,
    keep_alive: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl<S, T> Stream for SseBody<S>
where
    S: Stream<Item = Event<T>>,
    T: Serialize,
{
    type Item = Result<Bytes, serde_json::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some((every, sleep)) = &mut self.keep_alive {
                    let every = *every;
                    sleep.as_mut().reset(Instant::now() + every);
                }
                Poll::Ready(Some(event.encode()))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match &mut self.keep_alive {
                Some((every, sleep)) => {
                    if sleep.as_mut().poll(cx).is_ready() {
                        let every = *every;
                        sleep.as_mut().reset(Instant::now() + every);
                        Poll::Ready(Some(Ok(Bytes::from_static(b": keep-alive\n\n"))))
                    } else {
                        Poll::Pending
                    }
                }
                None => Poll::Pending,
            },
        }
    }
}

use std::future::Future as _;

impl<S, T> IntoResponse for Sse<S>
where
    S: Stream<Item = Event<T>> + Send + 'static,
    T: Serialize + 'static,
{
    fn into_response(self) -> Response {
        let keep_alive = self.keep_alive.map(|every| (every, Box::pin(tokio::time::sleep(every))));
        let body = SseBody { events: Box::pin(self.stream), keep_alive };
        let mut res = Response::new(Body::from_stream(body));
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        res.extensions_mut().insert(EndsOnDrain);
        res
    }
}

/// Marks a response whose body the server ends when it starts draining (an endless event
/// stream would otherwise hold the drain for its whole timeout).
#[derive(Clone, Copy, Debug)]
pub(crate) struct EndsOnDrain;

/// A JSON Lines body: a string schema, each line's schema in `x-itemSchema`.
pub(crate) fn describe_stream<T: JsonSchema>(
    cx: &mut DocContext,
    op: &mut Operation,
    media_type: &str,
    what: &str,
) {
    let item = cx.output_schema::<T>();
    let mut doc = ResponseDoc::new(format!("{what}; each item's schema is x-itemSchema"));
    doc.content.insert(
        media_type.to_owned(),
        serde_json::json!({"schema": {"type": "string"}, "x-itemSchema": item}),
    );
    op.add_response("200", doc);
}

impl<S, T: JsonSchema> DescribeOutput for Sse<S>
where
    S: Stream<Item = Event<T>>,
{
    /// One event's schema, OpenAPI 3.2's convention for `text/event-stream` (which tools such
    /// as schemathesis apply to each event): `data` is JSON of `T` (its `contentSchema`), or
    /// the [`Event::done`] sentinel. Other text events are not described.
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        let item = cx.output_schema::<T>();
        let data = serde_json::json!({"anyOf": [
            {"type": "string", "contentMediaType": "application/json", "contentSchema": item},
            {"const": DONE, "description": "the end of the stream"}
        ]});
        let event = serde_json::json!({
            "type": "object",
            "properties": {
                "data": data,
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0}
            }
        });
        let doc = ResponseDoc::new("Server-Sent Events; the schema describes one event")
            .with_content("text/event-stream", event);
        op.add_response("200", doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(e: Event<T>) -> String {
        String::from_utf8_lossy(&e.encode().unwrap_or_default()).into_owned()
    }

    #[test]
    fn events_encode_to_the_wire_format() {
        assert_eq!(wire(Event::json(serde_json::json!({"a": 1}))), "data: {\"a\":1}\n\n");
        assert_eq!(wire(Event::<String>::text("[DONE]")), "data: [DONE]\n\n");
        assert_eq!(
            wire(Event::json(5).event("tick").id("7").retry(Duration::from_millis(1500))),
            "event: tick\nid: 7\nretry: 1500\ndata: 5\n\n"
        );
        assert_eq!(wire(Event::<String>::text("a\nb")), "data: a\ndata: b\n\n");
        // A newline in a name cannot forge another field.
        assert_eq!(wire(Event::<u8>::empty().event("x\ndata: evil")), "event: x\nevent: data: evil\n\n");
    }
}
