//! `POST /v1/chat/completions` over a real socket: JSON and SSE answers (read event by event),
//! errors in OpenAI's shape, concurrent generations sharing model calls through the batcher;
//! and the showcase's other streams: the WebSocket echo and the pub/sub event stream.

use std::sync::Arc;

use brisk::testing::TestClient;
use serde_json::{json, Value};

async fn server() -> TestClient {
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    TestClient::serve(showcase::app_with(
        auth,
        brisk_orm::Database::open("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
    ))
    .await
}

fn request(stream: bool, max_tokens: u32) -> Value {
    json!({"model": "markov", "messages": [{"role": "user", "content": "The server reads"}], "stream": stream, "max_tokens": max_tokens, "temperature": 0.2})
}

#[tokio::test]
async fn a_whole_answer() {
    let client = server().await;
    let res = client.post("/v1/chat/completions").json(&request(false, 8)).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let body: Value = res.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "markov");
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    // The model continues the prompt's last two words from its corpus.
    assert_eq!(choice["message"]["content"], "the request and the handler runs and the");
    assert_eq!(choice["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 8);
    assert_eq!(body["usage"]["total_tokens"], 11);
}

#[tokio::test]
async fn a_streamed_answer_ends_with_done() {
    let client = server().await;
    let stream = client.post("/v1/chat/completions").json(&request(true, 3)).stream().await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let mut events = stream.sse_events();
    let mut chunks = Vec::new();
    let mut done = false;
    while let Some(event) = events.next().await {
        let event = event.unwrap_or_else(|e| panic!("a malformed event: {e}"));
        if event.is_done() {
            done = true;
            break;
        }
        chunks.push(event.json::<Value>().unwrap_or_else(|e| panic!("a chunk that is not JSON: {e}")));
    }
    assert!(done, "the stream ends with [DONE]");
    assert!(events.next().await.is_none(), "nothing after [DONE]");
    assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
    let words: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(words, "the request and");
    assert_eq!(chunks.last().map(|c| c["choices"][0]["finish_reason"].clone()), Some(json!("length")));
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
}

#[tokio::test]
async fn bad_requests_are_422_in_openais_shape() {
    let client = server().await;
    let res = client
        .post("/v1/chat/completions")
        .json(&json!({"model": "m", "messages": [], "max_tokens": 0}))
        .send()
        .await;
    assert_eq!(res.status(), 422);
    // OpenAI's clients read `error.message`; every failure is in it, the first names `param`.
    assert_eq!(
        res.json::<Value>(),
        json!({"error": {
            "message": "messages: List should have at least 1 item after validation, not 0; max_tokens: Input should be greater than or equal to 1",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "too_short"
        }})
    );
    // The rest of the app keeps FastAPI's format.
    let res = client.post("/items").json(&json!({"name": ""})).send().await;
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>()["detail"].is_array());
}

#[tokio::test]
async fn include_usage_sends_the_usage_chunk_last() {
    let client = server().await;
    let mut req = request(true, 3);
    req["stream_options"] = json!({"include_usage": true});
    let res = client.post("/v1/chat/completions").json(&req).send().await;
    assert_eq!(res.status(), 200);
    let text = res.text();
    let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{text}");
    let chunks: Vec<Value> =
        data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap_or(Value::Null)).collect();
    let last = chunks.last().cloned().unwrap_or(Value::Null);
    assert_eq!(last["choices"], json!([]), "{text}");
    assert_eq!(last["usage"], json!({"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}));
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c.get("usage").is_none()), "{text}");
    // Without it, no usage chunk.
    let text = client.post("/v1/chat/completions").json(&request(true, 3)).send().await.text();
    assert!(!text.contains("\"usage\""), "{text}");
}

#[tokio::test]
async fn concurrent_generations_share_model_calls() {
    let client = Arc::new(server().await);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client.post("/v1/chat/completions").json(&request(false, 20)).send().await.status().as_u16()
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap_or(0), 200);
    }
    let token: Value = client
        .post("/token")
        .form(&json!({"username": "alice", "password": "wonderland"}))
        .send()
        .await
        .json();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap_or(""));
    let stats: Value = client.get("/stats").header("authorization", &bearer).send().await.json();
    let (batches, steps) =
        (stats["model_batches"].as_u64().unwrap_or(0), stats["model_steps"].as_u64().unwrap_or(0));
    assert_eq!(steps, 8 * 20, "every token of every request was one step");
    assert!(batches < steps, "concurrent steps shared model calls: {batches} batches for {steps} steps");
    let doc: Value = client.get("/openapi.json").send().await.json();
    let content = &doc["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"];
    assert!(content.get("application/json").is_some() && content.get("text/event-stream").is_some());
}

#[tokio::test]
async fn the_websocket_echoes() {
    let client = server().await;
    let mut socket = client.websocket("/ws/echo").connect().await.unwrap_or_else(|e| panic!("{e}"));
    socket.send_text("hello").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(socket.receive_text().await.unwrap_or_else(|e| panic!("{e}")), "hello");
    socket.send_binary(vec![0u8, 159, 255]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&socket.receive_bytes().await.unwrap_or_else(|e| panic!("{e}"))[..], &[0u8, 159, 255]);
    socket.close(1000, "bye").await.unwrap_or_else(|e| panic!("{e}"));
    // Another site's page may not open it (same-origin by default).
    let refused = client.websocket("/ws/echo").header("origin", "https://evil.example").connect().await;
    assert_eq!(refused.err().and_then(|e| e.status()).map(|s| s.as_u16()), Some(403));
}

/// `GET /scale/events/{channel}` streams what `POST` publishes on it (in process: the app's
/// own broker), event by event, and a subscriber that leaves is let go.
#[tokio::test]
async fn published_announcements_reach_a_subscriber() {
    let client = server().await;
    let mut events = client.get("/scale/events/lobby").stream().await.sse_events();
    // The subscription is made when the stream starts; publish until the first one arrives.
    let mut first = None;
    for n in 0..50 {
        let res =
            client.post("/scale/events/lobby").json(&json!({"text": format!("hello {n}")})).send().await;
        assert_eq!(res.status(), 204);
        let next = tokio::time::timeout(std::time::Duration::from_millis(100), events.next()).await;
        if let Ok(Some(event)) = next {
            first = Some(event.unwrap_or_else(|e| panic!("{e}")));
            break;
        }
    }
    let first = first.unwrap_or_else(|| panic!("no announcement arrived"));
    let text = first.json::<Value>().unwrap_or_else(|e| panic!("{e}"))["text"].as_str().map(str::to_owned);
    assert!(text.is_some_and(|t| t.starts_with("hello ")), "{first:?}");
    drop(events);
    let bad = client.post("/scale/events/no%20spaces").json(&json!({"text": "x"})).send().await;
    assert_eq!(bad.status(), 422);
}
