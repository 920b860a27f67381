use std::time::Duration;

use brisk::prelude::*;
use brisk::pubsub::{LocalBroker, PubSub};
use brisk::response::{Event, Sse};
use brisk::testing::TestClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn publish(pubsub: PubSub, Path(room): Path<String>, body: String) -> Result<NoContent> {
    pubsub.publish(&format!("room:{room}"), body).await?;
    Ok(NoContent)
}

async fn follow(
    pubsub: PubSub,
    Path(room): Path<String>,
) -> Result<Sse<impl futures_util::Stream<Item = Event> + Send>> {
    pubsub.sse(&format!("room:{room}")).await
}

fn app() -> App {
    App::new().route("/rooms/{room}", post(publish)).route("/rooms/{room}/events", get(follow))
}

/// Opens the SSE stream and reads until its headers are in (the subscription exists then).
async fn open_stream(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let head = read_until(&mut stream, "\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    stream
}

async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended before {needle:?}: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} never came: {}", String::from_utf8_lossy(&seen)));
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_published_event_reaches_the_sse_subscribers_of_its_channel_only() {
    let client = TestClient::serve(app()).await;
    let addr = client.addr().unwrap();
    let mut one = open_stream(addr, "/rooms/1/events").await;
    let mut other = open_stream(addr, "/rooms/2/events").await;
    assert_eq!(client.post("/rooms/1").body(r#"{"text":"hi"}"#).send().await.status(), 204);
    assert_eq!(client.post("/rooms/2").body("second").send().await.status(), 204);
    let got = read_until(&mut one, "\n\n").await;
    assert!(got.contains("data: {\"text\":\"hi\"}\n\n"), "{got}");
    let got = read_until(&mut other, "\n\n").await;
    assert!(got.contains("data: second\n\n"), "{got}");
    assert!(!got.contains("hi"), "room 2 saw room 1's event: {got}");
    drop((one, other));
    client.shutdown().await;
}

#[tokio::test]
async fn a_lagging_sse_client_gets_a_resync_event() {
    let broker = LocalBroker::with_capacity(1);
    let pubsub = PubSub::new(broker);
    let events = pubsub.sse("c").await.unwrap().keep_alive(None);
    for n in 0..3 {
        pubsub.publish("c", n.to_string()).await.unwrap();
    }
    let res = events.into_response();
    let mut body = res.into_body();
    let first = http_body_util::BodyExt::frame(&mut body).await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"event: resync\ndata: gap\n\n");
    let next = http_body_util::BodyExt::frame(&mut body).await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&next[..], b"data: 2\n\n");
}

#[tokio::test]
async fn the_app_uses_the_broker_it_is_given() {
    let pubsub = PubSub::new(LocalBroker::new());
    let mut outside = pubsub.subscribe("room:7").await.unwrap();
    let client = TestClient::new(app().pubsub(pubsub.clone()));
    client.post("/rooms/7").body("from a handler").send().await;
    let got = futures_util::StreamExt::next(&mut outside).await;
    assert_eq!(got, Some(brisk::pubsub::Delivery::Message("from a handler".into())));
}

async fn via_state(State(pubsub): State<PubSub>) -> Result<NoContent> {
    pubsub.publish("c", "x").await?;
    Ok(NoContent)
}

#[tokio::test]
async fn the_default_broker_is_state_the_document_knows_of() {
    let app = App::new().route("/", post(via_state));
    assert!(app.openapi().is_ok(), "State<PubSub> is provided by the build");
    assert_eq!(TestClient::new(app).post("/").send().await.status(), 204);
}
