//! `TestClient` on streamed responses, in process and over a socket: Server-Sent Events read
//! event by event, JSON Lines item by item, raw chunks; an endless stream read in part then
//! left (the server sees the client go); malformed lines and timeouts as error values.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk::body::Body;
use brisk::http::header::CONTENT_TYPE;
use brisk::openapi::Undocumented;
use brisk::prelude::*;
use brisk::response::{Event, JsonLines, Sse};
use brisk::testing::{SseEvent, TestClient, TestStreamError};
use futures_util::{stream, Stream, StreamExt};

/// The same app in both transports.
async fn both(app: impl Fn() -> App) -> [(&'static str, TestClient); 2] {
    [("in process", TestClient::new(app())), ("socket", TestClient::serve(app()).await)]
}

/// Waits up to 5 s for `done`.
async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

/// What the endless stream's producer reports.
#[derive(Clone, Default)]
struct Probe {
    produced: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

/// Marks the probe when the stream holding it is dropped.
struct DropGuard(Probe);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

fn endless(probe: Probe) -> impl Stream<Item = u64> + Send {
    stream::unfold((0u64, DropGuard(probe)), |(n, guard)| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        guard.0.produced.fetch_add(1, Ordering::SeqCst);
        Some((n, (n + 1, guard)))
    })
}

async fn ticks(State(probe): State<Probe>) -> Sse<impl Stream<Item = Event<u64>> + Send> {
    Sse::new(endless(probe).map(|n| Event::json(n).event("tick").id(n.to_string())))
}

async fn rows(State(probe): State<Probe>) -> JsonLines<impl Stream<Item = serde_json::Value> + Send> {
    JsonLines(endless(probe).map(|n| serde_json::json!({"n": n})))
}

/// Drops the reader (after three items were read) and checks that the producer, alive until
/// then, was dropped and stopped.
async fn assert_left<R>(transport: &str, probe: &Probe, reader: R) {
    assert!(!probe.dropped.load(Ordering::SeqCst), "{transport}: the stream is alive while read");
    assert!(probe.produced.load(Ordering::SeqCst) >= 3, "{transport}");
    drop(reader);
    assert!(
        eventually(|| probe.dropped.load(Ordering::SeqCst)).await,
        "{transport}: the server dropped the stream once the client left"
    );
    let at_drop = probe.produced.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(probe.produced.load(Ordering::SeqCst), at_drop, "{transport}: nothing produced after");
}

#[tokio::test]
async fn an_endless_event_stream_read_in_part_then_left() {
    for transport in ["in process", "socket"] {
        let probe = Probe::default();
        let app = App::new().route("/ticks", get(ticks)).with_state(probe.clone());
        let client = match transport {
            "socket" => TestClient::serve(app).await,
            _ => TestClient::new(app),
        };
        let res = client.get("/ticks").stream().await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.header("content-type"), Some("text/event-stream"));
        let mut events = res.sse_events();
        for n in 0..3u64 {
            let event = events.next().await.expect("an event").expect("well formed");
            assert_eq!(
                event,
                SseEvent {
                    event: Some("tick".into()),
                    data: n.to_string(),
                    id: Some(n.to_string()),
                    retry: None
                },
                "{transport}"
            );
        }
        assert_eq!(events.last_event_id(), Some("2"));
        assert_left(transport, &probe, events).await;
    }
}

#[tokio::test]
async fn an_endless_json_lines_stream_read_in_part_then_left() {
    for transport in ["in process", "socket"] {
        let probe = Probe::default();
        let app = App::new().route("/rows", get(rows)).with_state(probe.clone());
        let client = match transport {
            "socket" => TestClient::serve(app).await,
            _ => TestClient::new(app),
        };
        let mut rows = client.get("/rows").stream().await.json_lines::<serde_json::Value>();
        for n in 0..3 {
            assert_eq!(rows.next().await.expect("a row").expect("JSON")["n"], n, "{transport}");
        }
        assert_left(transport, &probe, rows).await;
    }
}

/// A response sent as these chunks, exactly.
fn raw(content_type: &'static str, chunks: &'static [&'static [u8]]) -> Raw {
    let body = Body::from_stream(stream::iter(chunks.iter().map(|c| Ok::<_, Infallible>(*c))));
    Undocumented(([(CONTENT_TYPE, content_type)], body).into_response())
}

type Raw = Undocumented<Response>;

/// Every SSE field, comments, CR / LF / CRLF line endings, a BOM, and cuts in awkward places.
async fn fields() -> Raw {
    raw(
        "text/event-stream; charset=utf-8",
        &[
            b"\xEF\xBB\xBF: a comment\n\n",
            b"event: greeting\r",
            b"\nid: 1\rretry: 2500\ndata: first line\ndata:second line\r\n",
            b"data\ndata:  indented\n",
            b"\n: keep-alive\n\ndata: {\"n\":2}\n\n",
            b"id\ndata: after an empty id\n\n",
        ],
    )
}

#[tokio::test]
async fn sse_events_parse_every_field_and_skip_comments() {
    for (transport, client) in both(|| App::new().route("/fields", get(fields))).await {
        let mut events = client.get("/fields").stream().await.sse_events();
        let first = events.next().await.expect("an event").expect("well formed");
        assert_eq!(
            first,
            SseEvent {
                event: Some("greeting".into()),
                data: "first line\nsecond line\n\n indented".into(),
                id: Some("1".into()),
                retry: Some(Duration::from_millis(2500)),
            },
            "{transport}: data lines joined with \\n, one space after the colon dropped"
        );
        assert_eq!(events.last_event_id(), Some("1"));
        let second = events.next().await.expect("an event").expect("well formed");
        assert_eq!((second.event_type(), second.id.as_deref()), ("message", None), "{transport}");
        assert_eq!(second.json::<serde_json::Value>().expect("JSON")["n"], 2);
        assert_eq!(events.last_event_id(), Some("1"), "{transport}: an event without id keeps the last");
        let third = events.next().await.expect("an event").expect("well formed");
        assert_eq!(third.data, "after an empty id");
        assert_eq!(events.last_event_id(), None, "{transport}: an empty id resets it");
        assert!(events.next().await.is_none(), "{transport}: the comments were no events");
    }
}

/// brisk's own `Sse`: multi-line text, `[DONE]`, keep-alive comments in the silences.
async fn answer() -> Sse<impl Stream<Item = Event<String>> + Send> {
    let events =
        stream::iter([Event::text("two\nlines").event("token"), Event::done()]).then(|event| async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            event
        });
    Sse::new(events).keep_alive(Some(Duration::from_millis(20)))
}

#[tokio::test]
async fn brisk_sse_with_keep_alives_reads_as_its_events() {
    for (transport, client) in both(|| App::new().route("/answer", get(answer))).await {
        let res = client.get("/answer").stream().await;
        // Keep-alive comments are sent in the silences, but they are no events.
        let events: Vec<_> = res.sse_events().collect().await;
        let events: Vec<SseEvent> = events.into_iter().map(|e| e.expect("well formed")).collect();
        assert_eq!(events.len(), 2, "{transport}: {events:?}");
        assert_eq!((events[0].event_type(), events[0].data.as_str()), ("token", "two\nlines"));
        assert!(events[1].is_done(), "{transport}");
    }
}

/// Lines a browser would silently ignore, a line that is not UTF-8, and a final event the body
/// cuts off.
async fn malformed() -> Raw {
    raw(
        "text/event-stream",
        &[
            b"retry: soon\ndata: a\n\n",
            b"colour: red\ndata: b\n\n",
            b"data: \xFF\xFE\ndata: c\n\n",
            b"data: cut",
        ],
    )
}

#[tokio::test]
async fn malformed_sse_lines_are_error_values_and_reading_goes_on() {
    for (transport, client) in both(|| App::new().route("/bad", get(malformed))).await {
        let mut events = client.get("/bad").stream().await.sse_events();
        match events.next().await {
            Some(Err(TestStreamError::Sse { line: 1, text, reason })) => {
                assert_eq!(text, "retry: soon");
                assert!(reason.contains("milliseconds"), "{reason}");
            }
            other => panic!("{transport}: {other:?}"),
        }
        assert_eq!(events.next().await.expect("an event").expect("well formed").data, "a");
        match events.next().await {
            Some(Err(e @ TestStreamError::Sse { line: 4, .. })) => {
                assert!(e.to_string().contains("unknown field `colour`"), "{e}")
            }
            other => panic!("{transport}: {other:?}"),
        }
        assert_eq!(events.next().await.expect("an event").expect("well formed").data, "b");
        assert!(
            matches!(events.next().await, Some(Err(TestStreamError::NotUtf8 { line: 7 }))),
            "{transport}"
        );
        assert_eq!(events.next().await.expect("an event").expect("well formed").data, "c");
        match events.next().await {
            Some(Err(TestStreamError::Truncated { text, .. })) => assert_eq!(text, "data: cut"),
            other => panic!("{transport}: {other:?}"),
        }
        assert!(events.next().await.is_none());
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Row {
    id: u32,
    name: String,
}

async fn ndjson() -> Raw {
    raw(
        "application/x-ndjson",
        &[
            b"{\"id\":1,\"name\":\"a\"}\r\n{\"id\":2,",
            b"\"name\":\"b\"}\nnot json\n",
            b"{\"id\":\"3\"}\n{\"id\":4,\"name\":\"d\"}",
        ],
    )
}

#[tokio::test]
async fn json_lines_are_typed_items_and_a_malformed_line_is_an_error_value() {
    for (transport, client) in both(|| App::new().route("/rows", get(ndjson))).await {
        let mut rows = client.get("/rows").stream().await.json_lines::<Row>();
        assert_eq!(rows.next().await.expect("a row").expect("a Row"), Row { id: 1, name: "a".into() });
        assert_eq!(rows.next().await.expect("a row").expect("a Row"), Row { id: 2, name: "b".into() });
        match rows.next().await {
            Some(Err(TestStreamError::Json { line: 3, text, .. })) => {
                assert_eq!(text, "not json", "{transport}")
            }
            other => panic!("{transport}: {other:?}"),
        }
        match rows.next().await {
            Some(Err(e @ TestStreamError::Json { line: 4, .. })) => {
                assert!(e.to_string().contains("line 4 is not the expected JSON"), "{e}")
            }
            other => panic!("{transport}: {other:?}"),
        }
        // The last line needs no newline.
        assert_eq!(rows.next().await.expect("a row").expect("a Row"), Row { id: 4, name: "d".into() });
        assert!(rows.next().await.is_none(), "{transport}");
    }
}

#[tokio::test]
async fn a_response_that_is_not_the_stream_is_an_error_value() {
    for (transport, client) in both(|| App::new().route("/rows", get(ndjson))).await {
        let mut events = client.get("/missing").stream().await.sse_events();
        match events.next().await {
            Some(Err(TestStreamError::NotAStream { expected, status, content_type, body })) => {
                assert_eq!((expected, status), ("text/event-stream", StatusCode::NOT_FOUND), "{transport}");
                assert!(content_type.is_some_and(|t| t.contains("json")), "{transport}");
                assert!(body.contains("Not Found"), "{transport}: {body}");
            }
            other => panic!("{transport}: {other:?}"),
        }
        assert!(events.next().await.is_none(), "{transport}: nothing more");
        // JSON Lines read as events: the wrong media type too.
        let mut events = client.get("/rows").stream().await.sse_events();
        assert!(matches!(events.next().await, Some(Err(TestStreamError::NotAStream { .. }))), "{transport}");
    }
}

/// An event, a silence with keep-alive comments, another event.
async fn slow() -> Sse<impl Stream<Item = Event<u32>> + Send> {
    let second = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Event::json(2)
    };
    let events = stream::iter([Event::json(1)]).chain(stream::once(second)).chain(stream::pending());
    Sse::new(events).keep_alive(Some(Duration::from_millis(20)))
}

#[tokio::test]
async fn a_read_that_waits_too_long_is_a_timeout_and_can_be_retried() {
    for (transport, client) in both(|| App::new().route("/slow", get(slow))).await {
        let mut events =
            client.get("/slow").stream().await.timeout(Some(Duration::from_millis(100))).sse_events();
        assert_eq!(events.next().await.expect("an event").expect("well formed").data, "1");
        // Keep-alives come every 20 ms, but no event for 400 ms.
        assert!(
            matches!(events.next().await, Some(Err(TestStreamError::Timeout(d))) if d == Duration::from_millis(100)),
            "{transport}"
        );
        let mut events = events.timeout(Some(Duration::from_secs(5)));
        assert_eq!(events.next().await.expect("an event").expect("well formed").data, "2", "{transport}");
        // Then nothing but keep-alives, for ever.
        let mut events = events.timeout(Some(Duration::from_millis(100)));
        assert!(matches!(events.next().await, Some(Err(TestStreamError::Timeout(_)))), "{transport}");
    }
}

async fn pieces() -> Raw {
    raw("application/octet-stream", &[b"one ", b"two ", b"three"])
}

#[tokio::test]
async fn raw_chunks_and_the_whole_rest() {
    for (transport, client) in both(|| App::new().route("/pieces", get(pieces))).await {
        let mut chunks = client.get("/pieces").stream().await.chunks();
        let mut body = Vec::new();
        while let Some(chunk) = chunks.next().await {
            body.extend_from_slice(&chunk.expect("a chunk"));
        }
        assert_eq!(body, b"one two three", "{transport}");

        let res = client.get("/pieces").stream().await.into_response().await.expect("the whole body");
        assert_eq!((res.status(), res.text().as_str()), (StatusCode::OK, "one two three"), "{transport}");
    }
    // In process, each chunk the app sends is one chunk read.
    let client = TestClient::new(App::new().route("/pieces", get(pieces)));
    let chunks: Vec<_> =
        client.get("/pieces").stream().await.chunks().map(|c| c.expect("a chunk")).collect().await;
    assert_eq!(chunks, ["one ", "two ", "three"]);
}
