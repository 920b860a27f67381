//! Streaming over real sockets: SSE (with keep-alive), JSON Lines, streamed uploads,
//! cancellation when the client leaves, background tasks, concurrency limits and timeouts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brisk::background::BackgroundTasks;
use brisk::extract::BodyStream;
use brisk::prelude::*;
use brisk::response::{Event, JsonLines, Sse};
use brisk::testing::TestClient;
use futures_util::{stream, Stream, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a raw request and reads until `until` appears (or 5 s pass); returns what came.
async fn read_until(addr: std::net::SocketAddr, request: &str, until: &str) -> (TcpStream, String) {
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&seen).contains(until) {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    (conn, String::from_utf8_lossy(&seen).into_owned())
}

#[derive(Serialize, JsonSchema)]
struct Token {
    text: String,
}

async fn tokens() -> Sse<impl Stream<Item = Event<Token>> + Send> {
    let words = ["Hello", "brisk"].map(|w| Event::json(Token { text: w.to_owned() }).event("token"));
    let done = Event::done();
    // Then silence: only keep-alive comments.
    let events = stream::iter(words).chain(stream::once(async { done })).chain(stream::pending());
    Sse::new(events).keep_alive(Some(Duration::from_millis(50)))
}

#[tokio::test]
async fn sse_streams_typed_events_and_keeps_idle_streams_alive() {
    let client = TestClient::serve(App::new().route("/events", get(tokens))).await;
    let addr = client.addr().expect("socket");
    let (_conn, seen) = read_until(addr, "GET /events HTTP/1.1\r\nhost: x\r\n\r\n", ": keep-alive").await;
    let lower = seen.to_lowercase();
    assert!(lower.contains("content-type: text/event-stream"), "{seen}");
    assert!(lower.contains("cache-control: no-cache"), "{seen}");
    assert!(lower.contains("x-accel-buffering: no"), "{seen}");
    assert!(seen.contains("event: token\ndata: {\"text\":\"Hello\"}\n\n"), "{seen}");
    assert!(seen.contains("data: [DONE]\n\n"), "{seen}");
    assert!(seen.contains(": keep-alive\n\n"), "a keep-alive comment arrived on the idle stream: {seen}");
}

async fn rows() -> JsonLines<impl Stream<Item = Value> + Send> {
    JsonLines(stream::iter((1..=3).map(|i| json!({"row": i}))))
}

#[tokio::test]
async fn json_lines_are_one_value_per_line() {
    let client = TestClient::serve(App::new().route("/rows", get(rows))).await;
    let res = client.get("/rows").send().await;
    assert_eq!(res.header("content-type"), Some("application/jsonl"));
    assert_eq!(res.text(), "{\"row\":1}\n{\"row\":2}\n{\"row\":3}\n");
}

#[derive(Clone, Default)]
struct Produced(Arc<AtomicUsize>);

async fn generate(State(produced): State<Produced>) -> Sse<impl Stream<Item = Event<usize>> + Send> {
    let tokens = stream::unfold(0usize, move |n| {
        let produced = produced.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            produced.0.fetch_add(1, Ordering::SeqCst);
            Some((Event::json(n), n + 1))
        }
    });
    Sse::new(tokens)
}

#[tokio::test]
async fn generation_stops_when_the_client_leaves() {
    let produced = Produced::default();
    let client =
        TestClient::serve(App::new().route("/generate", post(generate)).with_state(produced.clone())).await;
    let addr = client.addr().expect("socket");
    let (conn, seen) =
        read_until(addr, "POST /generate HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n", "data: 5\n")
            .await;
    assert!(seen.contains("data: 5\n"), "{seen}");
    drop(conn);
    let at_disconnect = produced.0.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_100ms = produced.0.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = produced.0.load(Ordering::SeqCst);
    assert_eq!(later, after_100ms, "no token was produced more than 100 ms after the disconnect");
    assert!(
        after_100ms - at_disconnect <= 3,
        "at most a token or two in flight: {at_disconnect} -> {after_100ms}"
    );
}

async fn count(mut body: BodyStream) -> Result<String> {
    let mut chunks = 0;
    while let Some(chunk) = body.next().await {
        chunk?;
        chunks += 1;
    }
    Ok(format!("{} bytes in {chunks} chunks", body.bytes_read()))
}

#[tokio::test]
async fn uploads_stream_chunk_by_chunk_under_the_limit() {
    let client = TestClient::serve(App::new().route("/upload", post(count).body_limit(1000))).await;
    let addr = client.addr().expect("socket");
    let chunked = |n: usize| {
        let mut req = "POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_owned();
        for _ in 0..n {
            req.push_str(&format!("64\r\n{}\r\n", "z".repeat(100)));
        }
        req + "0\r\n\r\n"
    };
    let (_c, seen) = read_until(addr, &chunked(5), "chunks").await;
    assert!(seen.starts_with("HTTP/1.1 200") && seen.contains("500 bytes in"), "{seen}");
    let (_c, seen) = read_until(addr, &chunked(11), "}").await;
    assert!(seen.starts_with("HTTP/1.1 413"), "{seen}");
    let res = client.post("/upload").body(vec![0u8; 1001]).send().await;
    assert_eq!(res.status(), 413, "Content-Length over the limit is refused before reading");
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push(s.to_owned());
        }
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

async fn queue(tasks: BackgroundTasks, State(log): State<Log>) -> &'static str {
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    tasks.add(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.push("first");
    });
    tasks.add_fallible("failing", async { Err(Error::internal("smtp down")) });
    tasks.add(async move { b.push("second") });
    c.push("handler");
    "queued"
}

#[tokio::test]
async fn background_tasks_run_after_the_response_in_order() {
    let log = Log::default();
    let client = TestClient::serve(App::new().route("/queue", post(queue)).with_state(log.clone())).await;
    let res = client.post("/queue").send().await;
    assert_eq!(res.text(), "queued");
    assert_eq!(log.lines(), ["handler"], "the client had the response before the tasks ran");
    for _ in 0..100 {
        if log.lines().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log.lines(), ["handler", "first", "second"], "in order, past the failing one");
}

#[tokio::test]
async fn graceful_shutdown_waits_for_background_tasks() {
    let log = Log::default();
    let client = TestClient::serve(App::new().route("/queue", post(queue)).with_state(log.clone())).await;
    assert_eq!(client.post("/queue").send().await.text(), "queued");
    client.shutdown().await;
    assert_eq!(log.lines(), ["handler", "first", "second"]);
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "done"
}

#[tokio::test]
async fn concurrency_limit_answers_503_beyond_its_bound() {
    let api = Router::new().route("/slow", get(slow)).concurrency_limit(2, 0);
    let client = Arc::new(TestClient::serve(App::new().merge(api)).await);
    let calls = (0..5).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            let res = client.get("/slow").send().await;
            (res.status().as_u16(), res.header("retry-after").map(str::to_owned))
        })
    });
    let mut results: Vec<(u16, Option<String>)> = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        results.push(call.await.expect("join"));
    }
    results.sort();
    assert_eq!(
        results,
        [(200, None), (200, None), (503, Some("1".into())), (503, Some("1".into())), (503, Some("1".into()))]
    );
}

#[tokio::test]
async fn a_queue_lets_requests_wait_their_turn() {
    let api = Router::new().route("/slow", get(slow)).concurrency_limit(1, 2);
    let client = Arc::new(TestClient::serve(App::new().merge(api)).await);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/slow").send().await.status().as_u16() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("join"), 200);
    }
}

#[tokio::test]
async fn timeouts_answer_504_and_are_documented() {
    let api = || {
        Router::new()
            .route("/slow", get(slow))
            .route("/rows", get(rows))
            .route("/events", get(tokens))
            .timeout(Duration::from_millis(50))
    };
    let client = TestClient::new(App::new().merge(api()));
    let res = client.get("/slow").send().await;
    assert_eq!((res.status().as_u16(), res.json::<Value>()), (504, json!({"detail": "Gateway Timeout"})));
    let doc = serde_json::to_value(App::new().merge(api()).openapi().ok()).unwrap_or_default();
    assert!(doc["paths"]["/slow"]["get"]["responses"].get("504").is_some());
    let events = &doc["paths"]["/events"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    let data = &events["schema"]["properties"]["data"]["anyOf"];
    assert_eq!(data[0]["contentSchema"]["$ref"], "#/components/schemas/Token");
    assert_eq!(data[1]["const"], "[DONE]");
    let rows = &doc["paths"]["/rows"]["get"]["responses"]["200"]["content"]["application/jsonl"];
    assert!(rows.get("x-itemSchema").is_some());
}
