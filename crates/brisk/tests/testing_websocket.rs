//! `TestClient::websocket`, in process and over a socket: echo of text, binary and JSON,
//! closes both ways with their codes and reasons, subprotocols and handshake headers, and
//! refused handshakes (another site's `Origin`, a route that is not a WebSocket, a broken
//! handshake) as error values.

use std::sync::{Arc, Mutex};

use brisk::http::HeaderMap;
use brisk::prelude::*;
use brisk::testing::{TestClient, TestWebSocketError};
use brisk::ws::{close_code, CloseFrame, Message, WebSocketResponse, WebSocketUpgrade};

/// The same app in both transports, with the `Origin` a page of the app's own site sends.
async fn both(app: impl Fn() -> App) -> [(&'static str, TestClient, String); 2] {
    let served = TestClient::serve(app()).await;
    let own = format!("http://{}", served.addr().expect("socket mode"));
    [("in process", TestClient::new(app()), "http://testserver".to_owned()), ("socket", served, own)]
}

/// What the server saw of the client's close.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Option<Message>>>);

/// Echoes text and binary; `"close"` makes it close with 4000 and a reason; records the
/// client's close frame.
async fn echo(ws: WebSocketUpgrade, State(seen): State<Seen>) -> WebSocketResponse {
    ws.on_upgrade(move |mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            match message {
                Message::Text(text) if text == "close" => {
                    socket.close(4000, "asked to close").await.ok();
                    return;
                }
                Message::Close(_) => {
                    if let Ok(mut seen) = seen.0.lock() {
                        *seen = Some(message);
                    }
                }
                message => {
                    if message.is_data() && socket.send(message).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
}

fn app(seen: &Seen) -> App {
    App::new()
        .route("/ws/echo", get(echo))
        .route("/plain", get(|| async { "just HTTP" }))
        .with_state(seen.clone())
}

#[tokio::test]
async fn text_binary_and_json_round_trips() {
    let seen = Seen::default();
    for (transport, client, _) in both(|| app(&seen)).await {
        let mut socket = client.websocket("/ws/echo").connect().await.expect("upgraded");
        socket.send_text("héllo").await.expect("sent");
        assert_eq!(socket.receive_text().await.expect("text"), "héllo", "{transport}");
        socket.send_binary(vec![0u8, 1, 2, 255]).await.expect("sent");
        assert_eq!(socket.receive_bytes().await.expect("binary"), vec![0u8, 1, 2, 255], "{transport}");
        let big = "x".repeat(200_000);
        socket.send_text(big.clone()).await.expect("sent");
        assert_eq!(socket.receive().await.expect("a message"), Message::Text(big), "{transport}");

        socket.send_json(&serde_json::json!({"n": 1, "tags": ["a"]})).await.expect("sent");
        let value: serde_json::Value = socket.receive_json().await.expect("JSON");
        assert_eq!(value, serde_json::json!({"n": 1, "tags": ["a"]}), "{transport}");

        // The wrong kind or the wrong JSON: error values, and the socket goes on.
        socket.send_binary(&b"raw"[..]).await.expect("sent");
        match socket.receive_text().await {
            Err(TestWebSocketError::Unexpected(Message::Binary(data))) => assert_eq!(data, &b"raw"[..]),
            other => panic!("{transport}: {other:?}"),
        }
        socket.send_text("not json").await.expect("sent");
        match socket.receive_json::<serde_json::Value>().await {
            Err(TestWebSocketError::Json { text, .. }) => assert_eq!(text, "not json", "{transport}"),
            other => panic!("{transport}: {other:?}"),
        }
        socket.send_text("still open").await.expect("sent");
        assert_eq!(socket.receive_text().await.expect("text"), "still open", "{transport}");
    }
}

#[tokio::test]
async fn the_server_closing_is_seen_with_its_code_and_reason() {
    let seen = Seen::default();
    for (transport, client, _) in both(|| app(&seen)).await {
        let asked = CloseFrame::new(4000, "asked to close");
        // `receive` returns the close frame itself, then `Closed`.
        let mut socket = client.websocket("/ws/echo").connect().await.expect("upgraded");
        socket.send_text("close").await.expect("sent");
        assert_eq!(
            socket.receive().await.expect("the close"),
            Message::Close(Some(asked.clone())),
            "{transport}"
        );
        assert_eq!(socket.close_frame(), Some(&asked));
        match socket.receive().await {
            Err(TestWebSocketError::Closed(frame)) => assert_eq!(frame.as_ref(), Some(&asked), "{transport}"),
            other => panic!("{transport}: {other:?}"),
        }
        assert!(matches!(socket.send_text("late").await, Err(TestWebSocketError::Closed(_))), "{transport}");

        // A typed receive gives the close as an error with the frame.
        let mut socket = client.websocket("/ws/echo").connect().await.expect("upgraded");
        socket.send_text("close").await.expect("sent");
        let error = socket.receive_text().await.expect_err("closed");
        assert_eq!(error.close_frame(), Some(&asked), "{transport}");
        assert!(error.to_string().contains("4000"), "{error}");
    }
}

#[tokio::test]
async fn the_client_closing_reaches_the_server() {
    let seen = Seen::default();
    for (transport, client, _) in both(|| app(&seen)).await {
        *seen.0.lock().expect("lock") = None;
        let mut socket = client.websocket("/ws/echo").connect().await.expect("upgraded");
        socket.close(close_code::AWAY, "leaving").await.expect("closed");
        // The server answered the close before its handler saw it: give the handler a moment.
        let mut got = None;
        for _ in 0..500 {
            got = seen.0.lock().expect("lock").clone();
            if got.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            got,
            Some(Message::Close(Some(CloseFrame::new(close_code::AWAY, "leaving")))),
            "{transport}"
        );
    }
}

#[tokio::test]
async fn another_sites_origin_is_refused_with_403_as_an_error_value() {
    let seen = Seen::default();
    for (transport, client, own) in both(|| app(&seen)).await {
        let refused = client.websocket("/ws/echo").header("origin", "https://evil.example").connect().await;
        match refused {
            Err(e @ TestWebSocketError::Refused { .. }) => {
                assert_eq!(e.status(), Some(StatusCode::FORBIDDEN), "{transport}");
                let body = e.body().unwrap_or_default();
                assert!(
                    body.contains("the Origin `https://evil.example` is not this site"),
                    "{transport}: {body}"
                );
            }
            other => panic!("{transport}: {other:?}"),
        }
        // The app's own site gets through.
        let mut socket =
            client.websocket("/ws/echo").header("origin", &own).connect().await.expect("same site");
        socket.send_text("hi").await.expect("sent");
        assert_eq!(socket.receive_text().await.expect("text"), "hi", "{transport}");
    }
}

#[tokio::test]
async fn a_route_that_is_not_a_websocket_is_an_error_value() {
    let seen = Seen::default();
    for (transport, client, _) in both(|| app(&seen)).await {
        match client.websocket("/plain").connect().await {
            Err(TestWebSocketError::Refused { status, body, .. }) => {
                assert_eq!((status, body.as_str()), (StatusCode::OK, "just HTTP"), "{transport}")
            }
            other => panic!("{transport}: {other:?}"),
        }
        let missing = client.websocket("/nowhere").connect().await.expect_err("no route");
        assert_eq!(missing.status(), Some(StatusCode::NOT_FOUND), "{transport}");
        // A handshake of another version: brisk says which one it speaks.
        let old = client.websocket("/ws/echo").header("sec-websocket-version", "8").connect().await;
        match old {
            Err(TestWebSocketError::Refused { status, headers, body }) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{transport}");
                assert_eq!(headers.get("sec-websocket-version").map(|v| v.as_bytes()), Some(&b"13"[..]));
                assert!(body.contains("version 13"), "{transport}: {body}");
            }
            other => panic!("{transport}: {other:?}"),
        }
    }
}

/// Greets with the `Cookie` it was sent, speaking `chat.v2` when offered.
async fn greet(headers: HeaderMap, ws: WebSocketUpgrade) -> WebSocketResponse {
    let cookie = headers.get("cookie").and_then(|c| c.to_str().ok()).unwrap_or("none").to_owned();
    ws.protocols(["chat.v2"]).on_upgrade(move |mut socket| async move {
        let protocol = socket.protocol().unwrap_or("none").to_owned();
        socket.send_text(format!("cookie={cookie} protocol={protocol}")).await.ok();
    })
}

#[tokio::test]
async fn subprotocols_and_request_headers_reach_the_handler() {
    for (transport, client, _) in both(|| App::new().route("/greet", get(greet))).await {
        let mut socket = client
            .websocket("/greet")
            .header("cookie", "session=abc")
            .protocols(["chat.v1", "chat.v2"])
            .connect()
            .await
            .expect("upgraded");
        assert_eq!(socket.protocol(), Some("chat.v2"), "{transport}");
        assert_eq!(
            socket.headers().get("sec-websocket-protocol").map(|v| v.as_bytes()),
            Some(&b"chat.v2"[..])
        );
        assert_eq!(socket.receive_text().await.expect("text"), "cookie=session=abc protocol=chat.v2");
        // The handler returned: its socket was dropped, which closes with 1000.
        let closed = socket.receive_text().await.expect_err("closed");
        assert_eq!(closed.close_frame().map(|f| f.code), Some(close_code::NORMAL), "{transport}");

        let mut socket = client.websocket("/greet").connect().await.expect("upgraded");
        assert_eq!(socket.protocol(), None, "{transport}");
        assert_eq!(socket.receive_text().await.expect("text"), "cookie=none protocol=none");
    }
}
