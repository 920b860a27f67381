//! The server over real sockets: panics, graceful shutdown, HTTP/2, body limits, lifespan.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn boom() -> &'static str {
    panic!("handler exploded")
}

#[tokio::test]
async fn a_panic_is_a_500_and_the_server_keeps_serving() {
    let app = App::new().route("/boom", get(boom)).route("/ok", get(|| async { "still here" }));
    let client = TestClient::serve(app).await;
    for _ in 0..3 {
        let res = client.get("/boom").send().await;
        assert_eq!(res.status(), 500);
        assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));
    }
    assert_eq!(client.get("/ok").send().await.text(), "still here");
}

#[tokio::test]
async fn a_panic_answers_head_without_a_body() {
    // In process: nothing between the app and the test strips the body but the app itself.
    let client = TestClient::new(App::new().route("/boom", get(boom)));
    let get = client.get("/boom").send().await;
    let head = client.head("/boom").send().await;
    assert_eq!(head.status(), 500);
    assert_eq!(head.header("content-length").map(str::to_owned), Some(get.bytes().len().to_string()));
    assert!(head.bytes().is_empty(), "{}", head.text());
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "finished"
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(App::new().route("/slow", get(slow)).serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = stop.send(());
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("finished"), "{response}");
    // The listener is closed: new connections are refused.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server exits")
        .expect("join")
        .expect("serve");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn drain_timeout_cuts_requests_that_take_too_long() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = App::new()
        .route("/forever", get(|| async { tokio::time::sleep(Duration::from_secs(60)).await }))
        .drain_timeout(Duration::from_millis(200));
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /forever HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("exits within the deadline").ok();
}

/// An HTTP/2 (prior knowledge) client on one connection: its sender, and the connection's task.
async fn h2_client(
    addr: std::net::SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    (sender, tokio::spawn(conn))
}

/// GET `path` over `sender`; the status and the whole body.
async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>>,
    addr: std::net::SocketAddr,
    path: &str,
) -> (http::StatusCode, Bytes) {
    use http_body_util::BodyExt;
    let req = http::Request::builder()
        .uri(format!("http://{addr}{path}"))
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request");
    let res = sender.send_request(req).await.expect("h2 request");
    assert_eq!(res.version(), http::Version::HTTP_2);
    let status = res.status();
    (status, res.into_body().collect().await.expect("body").to_bytes())
}

#[tokio::test]
async fn serves_http2_cleartext() {
    let client =
        TestClient::serve(App::new().route("/json", get(|| async { Json(json!({"h2": true})) }))).await;
    let addr = client.addr().expect("socket mode");
    let (mut sender, _conn) = h2_client(addr).await;
    let (status, body) = h2_get(&mut sender, addr, "/json").await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], br#"{"h2":true}"#);
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const H2_SETTINGS: &[u8] = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Reads until the server closes the connection (or 5 s pass); returns what came and when the
/// end came, measured from `since`.
async fn read_until_closed(mut stream: TcpStream, since: std::time::Instant) -> (Vec<u8>, Option<Duration>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(since.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, None),
        }
    }
}

/// The types of the HTTP/2 frames in `bytes` (a server's output, after no preface).
fn h2_frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let len = usize::from(bytes[at]) << 16 | usize::from(bytes[at + 1]) << 8 | usize::from(bytes[at + 2]);
        types.push(bytes[at + 3]);
        at += 9 + len;
    }
    types
}

const GOAWAY: u8 = 0x7;

/// Opens a raw connection to a server whose header read timeout is 300 ms, sends `bytes`, and
/// reads until the server closes it: the frames that came, and when it closed.
async fn idle_h2_connection(bytes: &[u8]) -> (Vec<u8>, Option<Duration>) {
    let app = App::new().header_read_timeout(Duration::from_millis(300)).route("/", get(|| async { "hi" }));
    let client = TestClient::serve(app).await;
    let mut stream = TcpStream::connect(client.addr().expect("socket mode")).await.expect("connect");
    let opened = std::time::Instant::now();
    stream.write_all(bytes).await.expect("write");
    read_until_closed(stream, opened).await
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_is_closed() {
    let (got, closed) = idle_h2_connection(&[H2_PREFACE, H2_SETTINGS].concat()).await;
    let closed = closed.expect("the server closes an idle HTTP/2 connection");
    // GOAWAY at 300 ms; this client never answers its PING, so the close comes a second later.
    assert!(closed >= Duration::from_millis(250), "closed after {closed:?}");
    assert!(h2_frame_types(&got).contains(&GOAWAY), "frames {:?}", h2_frame_types(&got));
}

#[tokio::test]
async fn an_unfinished_http2_header_block_is_closed() {
    // HEADERS on stream 1 with END_STREAM but no END_HEADERS: GET http / (HPACK static table).
    let headers = [&[0, 0, 3, 0x1, 0x1, 0, 0, 0, 1][..], b"\x82\x86\x84"].concat();
    let (got, closed) = idle_h2_connection(&[H2_PREFACE, H2_SETTINGS, &headers].concat()).await;
    assert!(closed.is_some(), "the connection stays open; frames {:?}", h2_frame_types(&got));
    assert!(h2_frame_types(&got).contains(&GOAWAY), "frames {:?}", h2_frame_types(&got));
    // No response: the request never began.
    assert!(!h2_frame_types(&got).contains(&0x1), "frames {:?}", h2_frame_types(&got));
}

#[tokio::test]
async fn an_http2_request_in_flight_outlives_the_idle_timeout() {
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(900)).await;
        "slow but whole"
    };
    let app = App::new().header_read_timeout(Duration::from_millis(300)).route("/slow", get(slow));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket mode");
    let (mut sender, conn) = h2_client(addr).await;
    let mut answers = Vec::new();
    // Two requests one after the other on the same connection, each longer than the timeout.
    for _ in 0..2 {
        answers.push(h2_get(&mut sender, addr, "/slow").await.1);
    }
    assert_eq!(answers, vec![bytes::Bytes::from_static(b"slow but whole"); 2]);
    // Idle afterwards: the server ends the connection (this client answers GOAWAY's PING).
    tokio::time::timeout(Duration::from_secs(3), conn)
        .await
        .expect("the idle connection ends")
        .expect("join")
        .ok();
}

async fn count(body: bytes::Bytes) -> String {
    body.len().to_string()
}

#[tokio::test]
async fn body_limits_answer_413() {
    let app = App::new()
        .route("/small", post(count))
        .route("/big", post(count).body_limit(64 * 1024))
        .body_limit(1024);
    let client = TestClient::serve(app).await;
    assert_eq!(client.post("/small").body(vec![b'x'; 1024]).send().await.text(), "1024");
    let res = client.post("/small").body(vec![b'x'; 1025]).send().await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>(), json!({"detail": "Request body too large"}));
    assert_eq!(client.post("/big").body(vec![b'x'; 10_000]).send().await.text(), "10000");

    // Chunked, no Content-Length: the limit still holds while reading.
    let addr = client.addr().expect("socket");
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let mut req = b"POST /small HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[b'y'; 0x200]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    conn.write_all(&req).await.expect("write");
    let mut buf = vec![0; 4096];
    let n = conn.read(&mut buf).await.expect("read");
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

/// A chunked request body, one chunk per piece.
fn chunked_post(path: &str, content_type: &str, pieces: &[&str]) -> Vec<u8> {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n");
    for piece in pieces {
        req.push_str(&format!("{:x}\r\n{piece}\r\n", piece.len()));
    }
    req.push_str("0\r\n\r\n");
    req.into_bytes()
}

#[tokio::test]
async fn a_body_in_many_chunks_is_read_whole_and_in_order() {
    let app = App::new()
        .route("/json", post(|Json(v): Json<Value>| async move { Json(v) }))
        .route("/text", post(|s: String| async move { s }));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket");
    for (path, content_type, pieces, expected) in [
        (
            "/json",
            "application/json",
            &["{\"a\": [1,", " 2, 3], \"b\"", ": \"caf\u{e9}\"}"][..],
            r#"{"a":[1,2,3],"b":"café"}"#,
        ),
        ("/text", "text/plain", &["one ", "two ", "three"][..], "one two three"),
        ("/text", "text/plain", &["whole"][..], "whole"),
    ] {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(&chunked_post(path, content_type, pieces)).await.expect("write");
        let mut buf = vec![0; 4096];
        let n = conn.read(&mut buf).await.expect("read");
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(expected), "{path} {pieces:?}: {answer}");
    }
    // Trailers after the last chunk are not body.
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(
        b"POST /text HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n\
          3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n",
    )
    .await
    .expect("write");
    let answer = read_responses(&mut conn, 1).await;
    assert_eq!(answer, ["abcde"]);
}

#[tokio::test]
async fn lifespan_hooks_run_around_serving() {
    let events = Arc::new(AtomicUsize::new(0));
    let (start, stop) = (events.clone(), events.clone());
    let app = App::new()
        .route("/", get(|| async { "up" }))
        .on_startup(move || async move {
            start.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .on_shutdown(move || async move {
            stop.fetch_add(10, Ordering::SeqCst);
            Ok(())
        });
    let client = TestClient::serve(app).await;
    assert_eq!(client.get("/").send().await.text(), "up");
    assert_eq!(events.load(Ordering::SeqCst), 1);
    client.shutdown().await;
    assert_eq!(events.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn a_failing_startup_hook_stops_the_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let app = App::new().on_startup(|| async { Err("database unreachable".into()) });
    let err = app.serve_with_shutdown(listener, std::future::pending()).await.err();
    assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("database unreachable"));
}

/// Reads from `conn` until `count` HTTP responses (each ending in its `Content-Length` body)
/// have arrived; returns their bodies in order.
async fn read_responses(conn: &mut TcpStream, count: usize) -> Vec<String> {
    let mut data = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let bodies = split_responses(&data);
        if bodies.len() >= count {
            return bodies;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("responses in time")
            .expect("read");
        assert!(n > 0, "connection closed after {} responses", bodies.len());
        data.extend_from_slice(&buf[..n]);
    }
}

fn split_responses(mut data: &[u8]) -> Vec<String> {
    let mut bodies = Vec::new();
    while let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let start = end + 4;
        if data.len() < start + length {
            break;
        }
        bodies.push(String::from_utf8_lossy(&data[start..start + length]).into_owned());
        data = &data[start + length..];
    }
    bodies
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let app = App::new().route("/n/{n}", get(|Path(n): Path<u32>| async move { format!("#{n}") }));
    let client = TestClient::serve(app).await;
    let mut conn = TcpStream::connect(client.addr().expect("socket")).await.expect("connect");
    let mut batch = Vec::new();
    for n in 0..64 {
        batch.extend_from_slice(format!("GET /n/{n} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes());
    }
    conn.write_all(&batch).await.expect("write");
    let bodies = read_responses(&mut conn, 64).await;
    let expected: Vec<String> = (0..64).map(|n| format!("#{n}")).collect();
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn a_pipelined_answer_is_not_held_back_by_a_slow_one_behind_it() {
    let app = App::new().route("/fast", get(|| async { "fast" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "slow"
        }),
    );
    let client = TestClient::serve(app).await;
    let mut conn = TcpStream::connect(client.addr().expect("socket")).await.expect("connect");
    conn.write_all(b"GET /fast HTTP/1.1\r\nhost: x\r\n\r\nGET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    // The first answer must leave while the second is still being computed.
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf))
        .await
        .expect("the fast answer did not wait for the slow one")
        .expect("read");
    assert_eq!(split_responses(&buf[..n]), vec!["fast".to_owned()]);
}

async fn echo_len(body: Bytes) -> String {
    body.len().to_string()
}

/// Reads until the peer closes the connection (or 5 s pass); returns what came.
async fn read_to_close(conn: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut data)).await;
    String::from_utf8_lossy(&data).into_owned()
}

#[tokio::test]
async fn a_body_slower_than_the_minimum_rate_is_a_408_and_the_connection_closes() {
    let rate = brisk::body::MinBodyRate { bytes_per_second: 1000, grace: Duration::from_millis(300) };
    let app = App::new().route("/upload", post(echo_len)).min_body_rate(Some(rate));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket");

    // 10 bytes of 10,000, then nothing: cut after the grace (plus 10 ms earned by 10 bytes).
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 10000\r\n\r\n0123456789")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let answer = read_to_close(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("Request body too slow"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    // A body that keeps coming faster than the floor is read whole, however long it takes.
    let mut steady = TcpStream::connect(addr).await.expect("connect");
    steady
        .write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 800\r\n\r\n")
        .await
        .expect("write");
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        steady.write_all(&[b'x'; 100]).await.expect("write");
    }
    let bodies = read_responses(&mut steady, 1).await;
    assert_eq!(bodies, vec!["800".to_owned()]);
}

#[tokio::test]
async fn an_http2_body_slower_than_the_minimum_rate_is_a_408() {
    use futures_util::StreamExt;
    let rate = brisk::body::MinBodyRate { bytes_per_second: 1000, grace: Duration::from_millis(300) };
    let app = App::new().route("/upload", post(echo_len)).min_body_rate(Some(rate));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket");
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(conn);
    // 10 bytes of 10,000, then the stream stays open with nothing more.
    let first = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(http_body::Frame::data(
        Bytes::from_static(b"0123456789"),
    ))]);
    let body = http_body_util::StreamBody::new(first.chain(futures_util::stream::pending()));
    let req = http::Request::post(format!("http://{addr}/upload"))
        .header("content-length", "10000")
        .body(body)
        .expect("request");
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(5), sender.send_request(req))
        .await
        .expect("an answer before the client gives up")
        .expect("h2 response");
    assert_eq!(res.status(), 408);
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    use http_body_util::BodyExt;
    let body = res.into_body().collect().await.expect("body").to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("Request body too slow"), "{body:?}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = App::new().route("/", get(|| async { "ok" })).header_read_timeout(Duration::from_millis(400));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket");
    let started = std::time::Instant::now();
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut half_preface = TcpStream::connect(addr).await.expect("connect");
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.expect("write");
    assert_eq!(read_to_close(&mut silent).await, "");
    assert_eq!(read_to_close(&mut half_preface).await, "");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    // Others are served as before.
    assert_eq!(client.get("/").send().await.text(), "ok");
}

#[tokio::test]
async fn a_connection_close_answer_arrives_whole_before_the_close() {
    let app = App::new()
        .route("/items", post(|Json(v): Json<Value>| async move { (StatusCode::CREATED, Json(v)) }));
    let client = TestClient::serve(app).await;
    let mut conn = TcpStream::connect(client.addr().expect("socket")).await.expect("connect");
    let body = r#"{"name":"Widget","tags":["a","b"]}"#;
    let req = format!(
        "POST /items HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.expect("write");
    let answer = read_to_close(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.ends_with(body), "{answer}");
}

#[tokio::test]
async fn a_busy_keep_alive_connection_is_kept_and_its_unfinished_head_is_cut() {
    let app = App::new().route("/", get(|| async { "ok" })).header_read_timeout(Duration::from_millis(300));
    let client = TestClient::serve(app).await;
    let mut conn = TcpStream::connect(client.addr().expect("socket")).await.expect("connect");
    // Requests every 100 ms for 1.2 s: each head arrives well inside its own timeout, though
    // the connection lives four timeouts long.
    let started = std::time::Instant::now();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
        assert_eq!(read_responses(&mut conn, 1).await, ["ok"]);
    }
    assert!(started.elapsed() >= Duration::from_millis(1200));
    // Then half a head, and nothing more: cut one timeout after the last answer (the clock
    // runs from when the server starts waiting for the next head).
    let stalled = std::time::Instant::now();
    conn.write_all(b"GET / HTTP/1.1\r\nhost:").await.expect("write");
    let rest = read_to_close(&mut conn).await;
    let waited = stalled.elapsed();
    assert!(!rest.contains("200 OK"), "{rest}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn a_slow_http2_download_outlives_the_idle_timeout() {
    // One 4 MiB chunk: hyper hands it to h2 (and lets go of the body) at once, long before a
    // slow reader has it all; the connection must stay while bytes are still going out.
    const SIZE: usize = 4 << 20;
    let big = || async { Bytes::from(vec![b'x'; SIZE]) };
    let app = App::new().header_read_timeout(Duration::from_millis(200)).route("/big", get(big));
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket mode");
    let (mut sender, _conn) = h2_client(addr).await;
    let req = http::Request::builder()
        .uri(format!("http://{addr}/big"))
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request");
    let res = sender.send_request(req).await.expect("h2 request");
    let mut body = res.into_body();
    let started = std::time::Instant::now();
    let mut got = 0;
    use http_body_util::BodyExt;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("the download is not cut off");
        if let Some(data) = frame.data_ref() {
            got += data.len();
            // About 1 MiB a second: the whole takes ~4 s, past GOAWAY (0.2 s) + grace (1 s).
            tokio::time::sleep(Duration::from_millis(u64::try_from(data.len() / 1024).unwrap_or(0))).await;
        }
    }
    assert_eq!(got, SIZE);
    assert!(started.elapsed() > Duration::from_millis(2500), "too fast to test: {:?}", started.elapsed());
}

#[tokio::test]
async fn graceful_shutdown_finishes_an_http2_request_in_flight() {
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "finished over h2"
    };
    let listener = brisk::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(App::new().route("/slow", get(slow)).serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let (mut sender, conn) = h2_client(addr).await;
    let request = tokio::spawn(async move { h2_get(&mut sender, addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = stop.send(());
    let (status, body) = request.await.expect("join");
    assert_eq!((status, &body[..]), (http::StatusCode::OK, &b"finished over h2"[..]));
    // The server said GOAWAY, the connection ends, and the server exits.
    tokio::time::timeout(Duration::from_secs(5), conn).await.expect("the h2 connection ends").ok();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server exits")
        .expect("join")
        .expect("serve");
}

#[tokio::test]
async fn bind_reports_a_port_already_taken() {
    let taken = brisk::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr");
    let err = brisk::bind(addr).await.expect_err("the port is taken");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let err = brisk::bind("no-such-host.invalid:80").await.expect_err("no address");
    assert_ne!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn bind_queues_a_burst_of_connections_beyond_128() {
    // Nothing accepts: every connect must fit the listen backlog (tokio's default is 128; a
    // connect past it has its SYN dropped and retried a second later).
    let listener = brisk::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut queued = Vec::new();
    for i in 0..400 {
        match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => queued.push(stream),
            other => panic!("connect {i} did not complete: {other:?}"),
        }
    }
    assert_eq!(queued.len(), 400);
}
