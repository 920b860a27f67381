//! [`SseEvents`]: a Server-Sent Events body read event by event, as a browser's `EventSource`
//! parses it, and the [`SseEvent`]s it yields.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::lines::Lines;
use super::stream::TestStream;
use super::stream_error::TestStreamError;
use crate::response::DONE;

/// One Server-Sent Event, as read by [`SseEvents`].
///
/// `data` joins the event's `data:` lines with `\n`; `event`, `id` and `retry` are the fields
/// the event itself sent (`None` when it sent none: a browser then dispatches it as
/// `message`, and keeps the previous id, see [`SseEvents::last_event_id`]).
///
/// ```
/// use std::time::Duration;
/// use brisk::testing::SseEvent;
///
/// let event = SseEvent { event: Some("tick".into()), data: "7".into(), ..SseEvent::default() };
/// assert_eq!(event.json::<u32>().expect("JSON"), 7);
/// assert_eq!(event.event_type(), "tick");
/// assert_eq!(SseEvent { data: "[DONE]".into(), ..SseEvent::default() }.is_done(), true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (the type listeners subscribe to).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`; empty when the event had none.
    pub data: String,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `retry:` field: how long a client waits before reconnecting.
    pub retry: Option<Duration>,
}

impl SseEvent {
    /// The data read as JSON of a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(&self.data)
    }

    /// The type a browser dispatches it as: its `event`, or `message`.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    /// Whether the data is the `[DONE]` sentinel that ends an OpenAI-style stream
    /// ([`Event::done`](crate::response::Event::done)).
    pub fn is_done(&self) -> bool {
        self.data == DONE
    }
}

/// The events of a `text/event-stream` response, from
/// [`TestStream::sse_events`]; also a [`Stream`](futures_util::Stream).
///
/// Parsed as the HTML standard says: lines end with LF, CRLF or CR; a line starting with `:`
/// is a comment (brisk's keep-alives) and is skipped; `field: value` loses one space after the
/// colon; a blank line ends the event. Stricter than a browser where a browser would hide a
/// server's bug: a line that is not UTF-8, an unknown field, a `retry` that is not a number of
/// milliseconds or an `id` holding NUL are [`TestStreamError`]s (the event goes on without the
/// line), and so is a body that ends inside an event ([`TestStreamError::Truncated`]). An
/// event with no `data` (only `event`, `id` or `retry`) is yielded too, with empty `data`
/// (a browser does not dispatch it).
///
/// A response that is not `text/event-stream` gives [`TestStreamError::NotAStream`] (with its
/// status and the start of its body), then `None`.
///
/// ```
/// use std::time::Duration;
/// use brisk::prelude::*;
/// use brisk::response::{Event, Sse};
/// use brisk::testing::{SseEvent, TestClient};
/// use futures_util::{stream, Stream};
///
/// async fn progress() -> Sse<impl Stream<Item = Event<u32>> + Send> {
///     Sse::new(stream::iter([
///         Event::json(50).event("progress").id("1"),
///         Event::text("all\ndone").retry(Duration::from_secs(3)),
///     ]))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = TestClient::new(App::new().route("/progress", get(progress)));
/// let mut events = client.get("/progress").stream().await.sse_events();
/// let first = events.next().await.expect("an event").expect("well formed");
/// assert_eq!(first, SseEvent { event: Some("progress".into()), data: "50".into(), id: Some("1".into()), retry: None });
/// let second = events.next().await.expect("an event").expect("well formed");
/// assert_eq!((second.data.as_str(), second.retry), ("all\ndone", Some(Duration::from_secs(3))));
/// assert_eq!(events.last_event_id(), Some("1"), "kept from the first event");
/// assert!(events.next().await.is_none());
/// # }
/// ```
#[must_use = "a reader does nothing unless read"]
#[derive(Debug)]
pub struct SseEvents {
    stream: TestStream,
    lines: Lines,
    building: Building,
    last_event_id: Option<String>,
    /// The body has ended: what is left is parsed, then `None`.
    ended: bool,
}

impl SseEvents {
    pub(super) fn new(stream: TestStream) -> Self {
        SseEvents {
            stream,
            lines: Lines::new(true),
            building: Building::default(),
            last_event_id: None,
            ended: false,
        }
    }

    /// The next event; `None` at the end of the body. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<SseEvent, TestStreamError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The per-event timeout (see [`TestStream::timeout`]).
    pub fn timeout(mut self, per_event: Option<Duration>) -> Self {
        self.stream = self.stream.timeout(per_event);
        self
    }

    /// The last `id` the stream set, as a reconnecting `EventSource` would send it in
    /// `Last-Event-ID` (an `id:` line with no value resets it).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref().filter(|id| !id.is_empty())
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.stream.status()
    }

    /// The response's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.stream.headers()
    }

    /// Parses the lines that have come; `None` when they hold no whole event.
    fn parse(&mut self) -> Option<Result<SseEvent, TestStreamError>> {
        while let Some((number, line)) = self.lines.next_line(self.ended) {
            match self.building.feed(number, &line) {
                Ok(Some(event)) => {
                    if let Some(id) = &event.id {
                        self.last_event_id = Some(id.clone());
                    }
                    return Some(Ok(event));
                }
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        if !self.ended {
            return None;
        }
        let line = self.lines.number();
        if let Some((_, rest)) = self.lines.take_rest() {
            self.building = Building::default();
            let text = String::from_utf8_lossy(&rest).into_owned();
            return Some(Err(TestStreamError::Truncated { line, text }));
        }
        if self.building.started {
            let text = std::mem::take(&mut self.building).text;
            return Some(Err(TestStreamError::Truncated { line, text }));
        }
        None
    }
}

impl Stream for SseEvents {
    type Item = Result<SseEvent, TestStreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Err(e) =
            ready!(this.stream.poll_media_type(cx, "text/event-stream", |t| t == "text/event-stream"))
        {
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
                    // The connection broke: what came of the event is lost with it.
                    this.ended = true;
                    this.lines = Lines::new(true);
                    this.building = Building::default();
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

/// The fields of the event being read.
#[derive(Debug, Default)]
struct Building {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    /// A field line has been read since the last blank line.
    started: bool,
    /// Its field lines, for [`TestStreamError::Truncated`].
    text: String,
}

impl Building {
    /// Reads one line: `Some` event at a blank line ending one.
    fn feed(&mut self, number: usize, line: &[u8]) -> Result<Option<SseEvent>, TestStreamError> {
        let Ok(line) = std::str::from_utf8(line) else {
            return Err(TestStreamError::NotUtf8 { line: number });
        };
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        let invalid = |reason: String| TestStreamError::Sse { line: number, text: line.to_owned(), reason };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                data.push_str(value);
                data.push('\n');
            }
            "id" if value.contains('\0') => {
                return Err(invalid("an id may not hold NUL (browsers ignore the line)".to_owned()))
            }
            "id" => self.id = Some(value.to_owned()),
            "retry" => match value.parse::<u64>() {
                Ok(ms) if value.bytes().all(|b| b.is_ascii_digit()) => {
                    self.retry = Some(Duration::from_millis(ms))
                }
                _ => {
                    return Err(invalid(
                        "retry must be a number of milliseconds, ASCII digits only (browsers ignore the line)"
                            .to_owned(),
                    ))
                }
            },
            other => {
                return Err(invalid(format!(
                    "unknown field `{other}`: the fields are event, data, id and retry (browsers ignore the line)"
                )))
            }
        }
        self.started = true;
        self.text.push_str(line);
        self.text.push('\n');
        Ok(None)
    }

    /// The event read so far (none when only comments and blank lines came), starting anew.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let building = std::mem::take(self);
        if !building.started {
            return None;
        }
        let mut data = building.data.unwrap_or_default();
        if data.ends_with('\n') {
            data.pop();
        }
        Some(SseEvent { event: building.event, data, id: building.id, retry: building.retry })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(body: &str) -> Vec<Result<SseEvent, String>> {
        let mut lines = Lines::new(true);
        let mut building = Building::default();
        lines.push(body.as_bytes());
        let mut out = Vec::new();
        while let Some((number, line)) = lines.next_line(true) {
            match building.feed(number, &line) {
                Ok(Some(event)) => out.push(Ok(event)),
                Ok(None) => {}
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        out
    }

    #[test]
    fn fields_comments_and_multi_line_data() {
        let got =
            events(": hello\n\nevent: tick\nid: 7\nretry: 1500\ndata: a\ndata:b\ndata\n\n: keep-alive\n\n");
        let tick = SseEvent {
            event: Some("tick".into()),
            data: "a\nb\n".into(),
            id: Some("7".into()),
            retry: Some(Duration::from_millis(1500)),
        };
        assert_eq!(got, [Ok(tick)], "a `data` line without a colon adds an empty line");
        // `data:  x` keeps the second space; one trailing newline goes.
        assert_eq!(events("data:  x\n\n"), [Ok(SseEvent { data: " x".into(), ..SseEvent::default() })]);
        assert_eq!(events("id: 3\n\n"), [Ok(SseEvent { id: Some("3".into()), ..SseEvent::default() })]);
    }

    #[test]
    fn lines_browsers_would_ignore_are_errors_and_the_event_goes_on() {
        let got = events("retry: soon\ndatum: x\nid: a\0b\ndata: kept\n\n");
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(&got[0], Err(e) if e.contains("line 1") && e.contains("milliseconds")), "{got:?}");
        assert!(matches!(&got[1], Err(e) if e.contains("unknown field `datum`")), "{got:?}");
        assert!(matches!(&got[2], Err(e) if e.contains("NUL")), "{got:?}");
        assert_eq!(got[3], Ok(SseEvent { data: "kept".into(), ..SseEvent::default() }));
        assert!(events("retry: -5\n\n")[0].is_err());
    }
}
