//! Limits: each hostile request gets its documented status (README "Production defaults"),
//! and the server still answers `GET /` with 200 afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use brisk::bytes::Bytes;
use brisk::extract::Multipart;
use brisk::prelude::*;
use reliability::{get_path, parse_responses, RawResponse, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn root() -> &'static str {
    "ok"
}

async fn echo(body: Bytes) -> String {
    body.len().to_string()
}

async fn json(Json(value): Json<serde_json::Value>) -> String {
    value.to_string().len().to_string()
}

async fn upload(mut form: Multipart) -> Result<String> {
    let mut parts = 0;
    while let Some(field) = form.next_field().await? {
        field.bytes().await?;
        parts += 1;
    }
    Ok(parts.to_string())
}

async fn start() -> Server {
    let app = App::new()
        .route("/", get(root))
        .route("/echo", post(echo))
        .route("/json", post(json))
        .route("/upload", post(upload));
    Server::start(app).await
}

/// Sends `head` then `body` (written by a separate task, so an early answer is read even if
/// the server stops reading), and returns the first response.
async fn send(addr: SocketAddr, head: String, body: Vec<u8>) -> RawResponse {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        for piece in body.chunks(64 * 1024) {
            if wr.write_all(piece).await.is_err() {
                break;
            }
        }
        wr
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let res = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(res) = parse_responses(&buf).0.into_iter().next() {
                return res;
            }
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => panic!("closed without a response: {:?}", String::from_utf8_lossy(&buf)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .expect("a response within 20 s");
    writer.abort();
    res
}

async fn assert_healthy(addr: SocketAddr) {
    let res = get_path(addr, "/").await.expect("GET / after the hostile request");
    assert_eq!(res.status, 200, "server unhealthy: {}", res.text());
}

fn chunked(data: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(piece) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_head_is_431() {
    let server = start().await;
    // hyper's read buffer (~400 KiB) bounds a request head; 1 MiB of one header overflows it.
    let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1024 * 1024));
    let res = send(server.addr, head, Vec::new()).await;
    assert_eq!(res.status, 431);
    assert_healthy(server.addr).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_count_limit_is_100() {
    let server = start().await;
    let with = |n: usize| {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 1..n {
            head.push_str(&format!("X-H{i}: v\r\n"));
        }
        head + "\r\n"
    };
    assert_eq!(send(server.addr, with(100), Vec::new()).await.status, 200, "100 headers are allowed");
    assert_eq!(send(server.addr, with(101), Vec::new()).await.status, 431, "101 headers are too many");
    assert_eq!(send(server.addr, with(5000), Vec::new()).await.status, 431, "5000 headers");
    assert_healthy(server.addr).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_with_content_length_is_413() {
    let server = start().await;
    let big = vec![b'a'; 3 * 1024 * 1024];
    // Announced, not sent: the Content-Length alone is refused before any body is read.
    let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", big.len());
    assert_eq!(send(server.addr, head.clone(), Vec::new()).await.status, 413);
    // Announced and sent.
    assert_eq!(send(server.addr, head, big).await.status, 413);
    // Just under the 2 MiB default passes.
    let ok = vec![b'a'; 2 * 1024 * 1024];
    let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", ok.len());
    let res = send(server.addr, head, ok).await;
    assert_eq!((res.status, res.text()), (200, (2 * 1024 * 1024).to_string()));
    assert_healthy(server.addr).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_body_is_413() {
    let server = start().await;
    let head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    let res = send(server.addr, head, chunked(&vec![b'a'; 3 * 1024 * 1024], 16 * 1024)).await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert_healthy(server.addr).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_is_422_json_invalid() {
    let server = start().await;
    for depth in [129, 10_000, 500_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
        let head = format!(
            "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let res = send(server.addr, head, body).await;
        assert_eq!(res.status, 422, "depth {depth}: {}", res.text());
        let detail: serde_json::Value = serde_json::from_slice(&res.body).expect("a JSON 422");
        assert_eq!(detail["detail"][0]["type"], "json_invalid", "depth {depth}: {detail}");
        assert_healthy(server.addr).await;
    }
    // 128 levels are within the limit.
    let body = format!("{}{}", "[".repeat(128), "]".repeat(128)).into_bytes();
    let head = format!(
        "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(send(server.addr, head, body).await.status, 200);
    server.stop().await;
}

fn multipart(parts: usize, file: bool, part_size: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let payload = vec![b'x'; part_size];
    for i in 0..parts {
        let disposition = if file {
            format!("form-data; name=\"f{i}\"; filename=\"f{i}.txt\"")
        } else {
            format!("form-data; name=\"f{i}\"")
        };
        body.extend_from_slice(
            format!("--BOUNDARY\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&payload);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUNDARY--\r\n");
    body
}

async fn post_multipart(addr: SocketAddr, body: Vec<u8>) -> RawResponse {
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BOUNDARY\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    send(addr, head, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_counts_and_sizes_are_bounded() {
    let server = start().await;
    let ok = post_multipart(server.addr, multipart(1000, false, 1)).await;
    assert_eq!((ok.status, ok.text()), (200, "1000".to_owned()), "1000 fields are allowed");

    let res = post_multipart(server.addr, multipart(1001, false, 1)).await;
    assert_eq!(res.status, 400, "1001 fields: {}", res.text());
    assert!(res.text().contains("Too many fields"), "{}", res.text());
    assert_healthy(server.addr).await;

    let res = post_multipart(server.addr, multipart(1001, true, 1)).await;
    assert_eq!(res.status, 400, "1001 files: {}", res.text());
    assert!(res.text().contains("Too many files"), "{}", res.text());
    assert_healthy(server.addr).await;

    // 50,000 tiny fields (under the body limit): stopped at the 1001st.
    let res = post_multipart(server.addr, multipart(50_000, false, 0)).await;
    assert!(matches!(res.status, 400 | 413), "50k fields: {} {}", res.status, res.text());
    assert_healthy(server.addr).await;

    let res = post_multipart(server.addr, multipart(1, true, 1024 * 1024 + 1)).await;
    assert_eq!(res.status, 413, "a part over 1 MiB: {}", res.text());
    assert_healthy(server.addr).await;
    server.stop().await;
}
