use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::json;

use crate::raw_get;

#[tokio::test]
async fn health_routes_answer_and_are_not_documented() {
    let app = App::new().health_routes().readiness_check("database", || Box::pin(async { Ok(()) }));
    let doc = serde_json::to_value(app.openapi().unwrap()).unwrap();
    let client = TestClient::new(app);
    let live = client.get("/healthz").send().await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<serde_json::Value>(), json!({"status": "ok"}));
    assert_eq!(live.header("cache-control"), Some("no-store"));
    let ready = client.get("/readyz").send().await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>(), json!({"status": "ok", "checks": {"database": "ok"}}));
    assert!(doc["paths"].get("/healthz").is_none() && doc["paths"].get("/readyz").is_none(), "{doc}");
}

#[tokio::test]
async fn health_routes_are_off_unless_asked_for() {
    let client = TestClient::new(App::new());
    assert_eq!(client.get("/healthz").send().await.status(), 404);
}

#[tokio::test]
async fn a_failing_or_slow_check_makes_the_app_unready() {
    let app = App::new()
        .health_routes_at("/live", "/ready")
        .readiness_timeout(Duration::from_millis(50))
        .readiness_check("redis", || Box::pin(async { Err("connection refused".to_owned()) }))
        .readiness_check("slow", || {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            })
        })
        .readiness_check("database", || Box::pin(async { Ok(()) }));
    let client = TestClient::new(app);
    let ready = client.get("/ready").send().await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>(),
        json!({"status": "unavailable", "checks": {"database": "ok", "redis": "connection refused", "slow": "timed out"}})
    );
    assert_eq!(client.get("/live").send().await.status(), 200, "alive all the same");
}

#[tokio::test]
async fn healthz_says_503_once_shutdown_starts_while_the_grace_period_still_serves() {
    let app = App::new().health_routes().shutdown_grace(Duration::from_secs(2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    assert_eq!(raw_get(addr, "/healthz").await.0, 200);
    stop.send(()).unwrap();
    // The signal is taken by the accept loop; then, within the grace, new connections are served.
    let mut answered = 0;
    for _ in 0..50 {
        let (status, body) = raw_get(addr, "/healthz").await;
        if status == 503 {
            assert!(body.contains(r#"{"status":"draining"}"#), "{body}");
            answered = 503;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(answered, 503, "/healthz never said draining");
    assert_eq!(raw_get(addr, "/readyz").await.0, 503);
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is closed after the grace");
}

async fn hello() -> &'static str {
    "hi"
}

#[tokio::test]
async fn the_instance_header_names_the_process_on_every_answer() {
    let client = TestClient::new(App::new().instance_header().route("/", get(hello)));
    let name = brisk::instance::instance_name();
    assert!(!name.is_empty());
    assert_eq!(client.get("/").send().await.header("x-instance"), Some(name.as_str()));
    assert_eq!(client.get("/missing").send().await.header("x-instance"), Some(name.as_str()));
    let plain = TestClient::new(App::new().route("/", get(hello)));
    assert_eq!(plain.get("/").send().await.header("x-instance"), None);
}

/// Reads `stream` until what came contains `needle`.
async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    while !seen.contains(needle) {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed before {needle:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// Opens `path` as a long-lived GET.
async fn open(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    stream
}

/// Reads until the server closes the connection, within `within`.
async fn ends_within(stream: &mut tokio::net::TcpStream, seen: &mut String, within: Duration) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.unwrap_or_else(|_| panic!("still open: {seen}"));
}

#[tokio::test]
async fn open_event_streams_end_when_the_server_drains_and_hooks_hear_the_signal() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use brisk::pubsub::PubSub;
    use brisk::response::{Event, Sse};
    use futures_util::StreamExt;

    async fn endless() -> Sse<impl futures_util::Stream<Item = Event<u32>> + Send> {
        Sse::new(futures_util::stream::iter([Event::json(1)]).chain(futures_util::stream::pending()))
    }
    async fn follow(pubsub: PubSub) -> Result<Sse<impl futures_util::Stream<Item = Event> + Send>> {
        pubsub.sse("room").await
    }
    let pubsub = PubSub::default();
    let signalled = Arc::new(AtomicBool::new(false));
    let flag = signalled.clone();
    let app = App::new()
        .pubsub(pubsub.clone())
        .route("/events", get(endless))
        .route("/room", get(follow))
        .on_draining(move || flag.store(true, Ordering::SeqCst));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let (mut events, mut events_seen) = (open(addr, "/events").await, String::new());
    read_until(&mut events, &mut events_seen, "data: 1\n\n").await;
    let (mut room, mut room_seen) = (open(addr, "/room").await, String::new());
    // Published until heard (the subscription starts as the request is answered).
    let publisher = tokio::spawn(async move {
        loop {
            pubsub.publish("room", "hello").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    read_until(&mut room, &mut room_seen, "data: hello\n\n").await;
    publisher.abort();
    assert!(!signalled.load(Ordering::SeqCst));

    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    ends_within(&mut events, &mut events_seen, Duration::from_secs(1)).await;
    ends_within(&mut room, &mut room_seen, Duration::from_secs(1)).await;
    assert!(events_seen.ends_with("0\r\n\r\n"), "the stream ended cleanly: {events_seen:?}");
    assert!(room_seen.ends_with("0\r\n\r\n"), "the stream ended cleanly: {room_seen:?}");
    tokio::time::timeout(Duration::from_secs(3), server).await.expect("no 30 s drain").unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(signalled.load(Ordering::SeqCst), "the on_draining hook ran");
}
