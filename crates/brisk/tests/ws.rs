//! WebSockets over real sockets: echo, typed JSON, ping/pong, close codes, size limits,
//! same-origin by default and allowed origins, subprotocols, handshake errors, and the route's
//! OpenAPI entry.

use std::net::SocketAddr;
use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk::ws::{close_code, Message, WebSocketOrigins, WebSocketResponse, WebSocketUpgrade, WsError};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as RawCloseFrame;
use tokio_tungstenite::tungstenite::Message as RawMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// Echoes text and binary messages.
async fn echo(ws: WebSocketUpgrade) -> WebSocketResponse {
    ws.on_upgrade(|mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if message.is_data() && socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

async fn connect(addr: SocketAddr, path: &str) -> Client {
    let (client, response) = connect_async(format!("ws://{addr}{path}")).await.expect("handshake");
    assert_eq!(response.status(), 101);
    client
}

/// The next frame the client reads, within a deadline.
async fn next(client: &mut Client) -> RawMessage {
    match tokio::time::timeout(WAIT, client.next()).await {
        Ok(Some(Ok(message))) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn close_of(message: RawMessage) -> (u16, String) {
    match message {
        RawMessage::Close(Some(frame)) => (frame.code.into(), frame.reason.as_str().to_owned()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

async fn serve(app: App) -> (TestClient, SocketAddr) {
    let client = TestClient::serve(app).await;
    let addr = client.addr().expect("socket mode");
    (client, addr)
}

#[tokio::test]
async fn echoes_text_and_binary() {
    let (_server, addr) = serve(App::new().route("/ws/echo", get(echo))).await;
    let mut client = connect(addr, "/ws/echo").await;

    client.send(RawMessage::text("héllo")).await.expect("send");
    assert_eq!(next(&mut client).await, RawMessage::text("héllo"));
    client.send(RawMessage::binary(vec![0u8, 1, 2, 255])).await.expect("send");
    assert_eq!(next(&mut client).await, RawMessage::binary(vec![0u8, 1, 2, 255]));
    let big = "x".repeat(300_000);
    client.send(RawMessage::text(big.clone())).await.expect("send");
    assert_eq!(next(&mut client).await, RawMessage::text(big));

    client.close(None).await.expect("close");
    assert!(matches!(next(&mut client).await, RawMessage::Close(_)));
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Question {
    text: String,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Answer {
    words: usize,
    echo: String,
}

async fn count(ws: WebSocketUpgrade) -> WebSocketResponse {
    ws.on_upgrade(|mut socket| async move {
        while let Some(question) = socket.recv_json::<Question>().await {
            let sent = match question {
                Ok(q) => {
                    let answer = Answer { words: q.text.split_whitespace().count(), echo: q.text };
                    socket.send_json(&answer).await
                }
                Err(WsError::Json(e)) => socket.send_json(&serde_json::json!({"error": e.to_string()})).await,
                Err(_) => break,
            };
            if sent.is_err() {
                break;
            }
        }
    })
}

#[tokio::test]
async fn typed_json_round_trip_and_a_bad_message_keeps_the_connection() {
    let (_server, addr) = serve(App::new().route("/ws/count", get(count))).await;
    let mut client = connect(addr, "/ws/count").await;

    let question = serde_json::to_string(&Question { text: "one two three".into() }).expect("json");
    client.send(RawMessage::text(question)).await.expect("send");
    let answer: Answer =
        serde_json::from_str(next(&mut client).await.to_text().expect("text")).expect("json");
    assert_eq!(answer, Answer { words: 3, echo: "one two three".into() });

    // Not a `Question`: the handler gets `WsError::Json`, answers, and the socket stays open.
    client.send(RawMessage::text(r#"{"txt": 1}"#)).await.expect("send");
    let error: serde_json::Value =
        serde_json::from_str(next(&mut client).await.to_text().expect("text")).expect("json");
    assert!(error["error"].as_str().is_some_and(|e| e.contains("missing field `text`")), "{error}");
    client.send(RawMessage::text("not json at all")).await.expect("send");
    assert!(next(&mut client).await.to_text().expect("text").contains("error"));

    // JSON in a binary message is read too.
    client.send(RawMessage::binary(br#"{"text": "still here"}"#.to_vec())).await.expect("send");
    let answer: Answer =
        serde_json::from_str(next(&mut client).await.to_text().expect("text")).expect("json");
    assert_eq!(answer.words, 2);
}

#[tokio::test]
async fn pings_are_answered_and_the_server_can_ping() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Message>();
    let app = App::new().route(
        "/ws/ping",
        get(move |ws: WebSocketUpgrade| {
            let seen_tx = seen_tx.clone();
            async move {
                ws.on_upgrade(move |mut socket| async move {
                    socket.ping(&b"from-server"[..]).await.expect("server ping");
                    while let Some(Ok(message)) = socket.recv().await {
                        let _ = seen_tx.send(message);
                    }
                })
            }
        }),
    );
    let (_server, addr) = serve(app).await;
    let mut client = connect(addr, "/ws/ping").await;

    // The server's ping arrives (the client answers it by itself).
    assert_eq!(next(&mut client).await, RawMessage::Ping(b"from-server".to_vec().into()));
    client.send(RawMessage::Ping(b"hi".to_vec().into())).await.expect("ping");
    assert_eq!(next(&mut client).await, RawMessage::Pong(b"hi".to_vec().into()));

    // The handler saw the client's pong to its ping, and the client's ping.
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").expect("message"));
    }
    assert!(got.contains(&Message::Pong(b"from-server".to_vec().into())), "{got:?}");
    assert!(got.contains(&Message::Ping(b"hi".to_vec().into())), "{got:?}");
}

#[tokio::test]
async fn close_codes_travel_both_ways() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Option<Message>>();
    let app = App::new()
        .route(
            "/ws/kick",
            get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    socket.close(4001, "kicked").await.expect("close");
                    assert!(socket.is_closed());
                    assert!(matches!(socket.send_text("late").await, Err(WsError::Closed)));
                })
            }),
        )
        .route(
            "/ws/listen",
            get(move |ws: WebSocketUpgrade| {
                let seen_tx = seen_tx.clone();
                async move {
                    ws.on_upgrade(move |mut socket| async move {
                        let close = socket.recv().await.and_then(Result::ok);
                        let _ = seen_tx.send(close);
                        let _ = seen_tx.send(socket.recv().await.and_then(Result::ok));
                    })
                }
            }),
        )
        .route(
            "/ws/bye",
            get(|ws: WebSocketUpgrade| async move {
                // Returns at once: dropping the open socket closes it with 1000.
                ws.on_upgrade(|mut socket| async move {
                    let _ = socket.send_text("bye").await;
                })
            }),
        );
    let (_server, addr) = serve(app).await;

    let mut client = connect(addr, "/ws/kick").await;
    assert_eq!(close_of(next(&mut client).await), (4001, "kicked".to_owned()));
    // The client's reply completes the handshake; then the server ends the connection.
    assert!(tokio::time::timeout(WAIT, client.next()).await.expect("in time").is_none());

    let mut client = connect(addr, "/ws/listen").await;
    client
        .close(Some(RawCloseFrame { code: CloseCode::Away, reason: "leaving".into() }))
        .await
        .expect("close");
    assert_eq!(close_of(next(&mut client).await).0, 1001, "the server echoes the code");
    let close = tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").expect("sent");
    assert_eq!(close, Some(Message::Close(Some(brisk::ws::CloseFrame::new(close_code::AWAY, "leaving")))));
    let after = tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").expect("sent");
    assert_eq!(after, None, "recv returns None after the close");

    let mut client = connect(addr, "/ws/bye").await;
    assert_eq!(next(&mut client).await, RawMessage::text("bye"));
    assert_eq!(close_of(next(&mut client).await).0, 1000);
}

#[tokio::test]
async fn messages_and_frames_over_the_limit_close_with_1009() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<String>();
    let limited = move |ws: WebSocketUpgrade| {
        let seen_tx = seen_tx.clone();
        async move {
            ws.max_message_size(1024).max_frame_size(512).on_upgrade(move |mut socket| async move {
                while let Some(message) = socket.recv().await {
                    match message {
                        Ok(message) if message.is_data() => {
                            let _ = socket.send(message).await;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = seen_tx.send(match e {
                                WsError::TooLarge { size, max } => format!("too large {size} > {max}"),
                                other => format!("other: {other}"),
                            });
                        }
                    }
                }
            })
        }
    };
    let (_server, addr) = serve(App::new().route("/ws/limited", get(limited))).await;

    // A 1000-byte message in two 500-byte frames is within both limits.
    let mut client = connect(addr, "/ws/limited").await;
    let half = "a".repeat(500);
    client.send(RawMessage::Frame(frame(&half, false, true))).await.expect("send");
    client.send(RawMessage::Frame(frame(&half, true, false))).await.expect("send");
    assert_eq!(next(&mut client).await.into_text().expect("text").len(), 1000);

    // 1500 bytes in three frames: the message is too big.
    for (i, fin) in [(0, false), (1, false), (2, true)] {
        let _ = client.send(RawMessage::Frame(frame(&half, fin, i == 0))).await;
    }
    assert_eq!(close_of(next(&mut client).await).0, 1009);
    let error = tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").expect("error");
    assert!(error.starts_with("too large") && error.ends_with("> 1024"), "{error}");

    // One 600-byte frame is over the frame limit.
    let mut client = connect(addr, "/ws/limited").await;
    let _ = client.send(RawMessage::text("b".repeat(600))).await;
    assert_eq!(close_of(next(&mut client).await).0, 1009);
    let error = tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").expect("error");
    assert!(error.starts_with("too large"), "{error}");
}

/// One frame of a text message (client frames are masked by the client).
fn frame(payload: &str, fin: bool, first: bool) -> tokio_tungstenite::tungstenite::protocol::frame::Frame {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let opcode = if first { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
    Frame::message(payload.to_owned(), opcode, fin)
}

#[tokio::test]
async fn a_protocol_violation_closes_with_1002() {
    let (_server, addr) = serve(App::new().route("/ws/echo", get(echo))).await;
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let handshake = format!(
        "GET /ws/echo HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    );
    conn.write_all(handshake.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).await.expect("read");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    // The RFC's own example: the key above is answered with this accept value.
    assert!(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");

    // An unmasked text frame "hi": clients must mask.
    conn.write_all(&[0x81, 0x02, b'h', b'i']).await.expect("write");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(WAIT, conn.read_to_end(&mut reply)).await.expect("the server ends it");
    assert!(reply.len() >= 4 && reply[0] == 0x88, "a close frame: {reply:?}");
    assert_eq!(u16::from_be_bytes([reply[2], reply[3]]), 1002);
}

#[tokio::test]
async fn origins_outside_the_allowed_list_are_refused_with_403() {
    let guarded = |ws: WebSocketUpgrade| async move {
        ws.allowed_origins(&["https://app.example.com"]).on_upgrade(|mut socket| async move {
            let _ = socket.send_text("welcome").await;
        })
    };
    let (server, addr) = serve(App::new().route("/ws/guarded", get(guarded))).await;

    let handshake = |origin: Option<&str>| {
        let mut req = server
            .get("/ws/guarded")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req
    };
    let refused = handshake(Some("https://evil.example.net")).send().await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().contains("Origin"), "{}", refused.text());

    // The allowed origin (any case), the app's own site, and a non-browser client without
    // `Origin`, get through.
    let own = format!("http://{addr}");
    for origin in [Some("https://APP.example.com"), Some(own.as_str()), None] {
        let mut req = format!("ws://{addr}/ws/guarded").into_client_request().expect("request");
        if let Some(origin) = origin {
            req.headers_mut().insert("origin", origin.parse().expect("header"));
        }
        let (mut client, response) = connect_async(req).await.expect("handshake");
        assert_eq!(response.status(), 101);
        assert_eq!(next(&mut client).await, RawMessage::text("welcome"));
    }
}

/// A handshake to `/ws/echo` over a real socket, with these extra headers: the status of the
/// answer, and its JSON body when it is not a `101`.
async fn handshake_with(addr: SocketAddr, headers: &[(&str, &str)]) -> (u16, Option<serde_json::Value>) {
    let mut req = format!("ws://{addr}/ws/echo").into_client_request().expect("request");
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
        req.headers_mut().insert(name, value.parse().expect("header"));
    }
    match connect_async(req).await {
        Ok((mut client, response)) => {
            // The socket works: an echo comes back.
            client.send(RawMessage::text("ping?")).await.expect("send");
            assert_eq!(next(&mut client).await, RawMessage::text("ping?"));
            (response.status().as_u16(), None)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            (response.status().as_u16(), serde_json::from_slice(body).ok())
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn only_the_same_origin_is_accepted_by_default() {
    let (_server, addr) = serve(App::new().route("/ws/echo", get(echo))).await;

    // A page of the app's own site (any scheme: a TLS proxy may sit in front), and a client
    // that is not a browser (no `Origin`).
    for origin in [Some(format!("http://{addr}")), Some(format!("https://{addr}")), None] {
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", o.as_str())).collect();
        assert_eq!(handshake_with(addr, &headers).await, (101, None), "{origin:?}");
    }

    // Another site, another port of the same host, and an opaque origin: 403, saying why.
    let other_port = format!("http://{}:{}", addr.ip(), addr.port().wrapping_add(1).max(1));
    for origin in ["https://evil.example.net", other_port.as_str(), "null"] {
        let (status, body) = handshake_with(addr, &[("origin", origin)]).await;
        assert_eq!(status, 403, "{origin}");
        let detail = body.as_ref().and_then(|b| b["detail"].as_str()).unwrap_or_default().to_owned();
        assert_eq!(
            detail,
            format!(
                "WebSocket handshake refused: the Origin `{origin}` is not this site (`{addr}`) nor an allowed origin"
            )
        );
    }

    // `X-Forwarded-Host` is not trusted unless the app says so.
    let proxied = [("origin", "https://app.example.com"), ("x-forwarded-host", "app.example.com")];
    assert_eq!(handshake_with(addr, &proxied).await.0, 403);
}

#[tokio::test]
async fn the_app_widens_the_default_with_websocket_origins() {
    let app = App::new()
        .route("/ws/echo", get(echo))
        .with_state(WebSocketOrigins::new().allow(["https://app.example.com"]).trust_forwarded_host(true));
    let (_server, addr) = serve(app).await;

    assert_eq!(handshake_with(addr, &[("origin", "https://app.example.com")]).await.0, 101);
    assert_eq!(handshake_with(addr, &[("origin", &format!("http://{addr}"))]).await.0, 101, "its own site");
    assert_eq!(handshake_with(addr, &[("origin", "https://evil.example.net")]).await.0, 403);

    // Behind a proxy: the `X-Forwarded-Host` it wrote is the site now.
    let proxied = [("origin", "https://api.example.com"), ("x-forwarded-host", "api.example.com")];
    assert_eq!(handshake_with(addr, &proxied).await.0, 101);
    let spoofed = [("origin", "https://evil.example.net"), ("x-forwarded-host", "api.example.com")];
    assert_eq!(handshake_with(addr, &spoofed).await.0, 403);
}

#[tokio::test]
async fn the_first_common_subprotocol_is_chosen() {
    let chat = |ws: WebSocketUpgrade| async move {
        let offered = ws.requested_protocols().join(",");
        ws.protocols(["chat.v2", "chat.v1"]).on_upgrade(move |mut socket| async move {
            let chosen = socket.protocol().unwrap_or("none").to_owned();
            let _ = socket.send_text(format!("{chosen} of {offered}")).await;
        })
    };
    let (_server, addr) = serve(App::new().route("/ws/chat", get(chat))).await;

    let mut req = format!("ws://{addr}/ws/chat").into_client_request().expect("request");
    req.headers_mut().insert("sec-websocket-protocol", "chat.v1, chat.v2".parse().expect("header"));
    let (mut client, response) = connect_async(req).await.expect("handshake");
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
    assert_eq!(next(&mut client).await, RawMessage::text("chat.v2 of chat.v1,chat.v2"));

    // Nothing in common: no subprotocol header, and the socket has none.
    let (mut client, response) = connect_async(format!("ws://{addr}/ws/chat")).await.expect("handshake");
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(next(&mut client).await, RawMessage::text("none of "));
}

#[tokio::test]
async fn requests_that_are_not_handshakes_are_answered_clearly() {
    let (server, _addr) = serve(App::new().route("/ws/echo", get(echo))).await;

    // A plain GET: 400, with what to send instead.
    let res = server.get("/ws/echo").send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.header("upgrade"), Some("websocket"));
    assert_eq!(res.header("sec-websocket-version"), Some("13"));
    assert!(res.text().contains("speaks WebSocket"), "{}", res.text());

    let upgrade = |key: Option<&str>, version: Option<&str>| {
        let mut req =
            server.get("/ws/echo").header("connection", "keep-alive, Upgrade").header("upgrade", "websocket");
        if let Some(key) = key {
            req = req.header("sec-websocket-key", key);
        }
        if let Some(version) = version {
            req = req.header("sec-websocket-version", version);
        }
        req
    };
    let res = upgrade(Some("dGhlIHNhbXBsZSBub25jZQ=="), Some("8")).send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.header("sec-websocket-version"), Some("13"));
    assert!(res.text().contains("version 13"), "{}", res.text());

    let res = upgrade(Some("dGhlIHNhbXBsZSBub25jZQ=="), None).send().await;
    assert_eq!(res.status(), 400);
    assert!(res.text().contains("Sec-WebSocket-Version"), "{}", res.text());

    for key in [None, Some("too-short"), Some("dGhlIHNhbXBsZSBub25jZQ")] {
        let res = upgrade(key, Some("13")).send().await;
        assert_eq!(res.status(), 400, "{key:?}");
        assert!(res.text().contains("Sec-WebSocket-Key"), "{}", res.text());
    }

    // `Upgrade: websocket` without `Connection: Upgrade` is no handshake either.
    let res = server
        .get("/ws/echo")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn an_optional_upgrade_lets_one_route_serve_http_and_websocket() {
    async fn page(ws: Option<WebSocketUpgrade>) -> Result<WebSocketResponse, &'static str> {
        match ws {
            Some(ws) => Ok(ws.on_upgrade(|mut socket| async move {
                let _ = socket.send_text("socket").await;
            })),
            None => Err("page"),
        }
    }
    let (server, addr) = serve(App::new().route("/live", get(page))).await;
    assert_eq!(server.get("/live").send().await.text(), "page");
    let mut client = connect(addr, "/live").await;
    assert_eq!(next(&mut client).await, RawMessage::text("socket"));
}

#[tokio::test]
async fn the_route_is_left_out_of_the_document_unless_asked_then_documented_as_a_101() {
    // As in FastAPI: not HTTP after the handshake, so generic tools cannot call it.
    let plain = App::new().route("/ws/echo", get(echo));
    let doc = serde_json::to_value(plain.openapi().expect("document")).expect("json");
    assert!(doc["paths"].get("/ws/echo").is_none(), "{doc}");
    let (server, _addr) = serve(App::new().route("/ws/echo", get(echo))).await;
    let served: serde_json::Value = server.get("/openapi.json").send().await.json();
    assert!(served["paths"].get("/ws/echo").is_none(), "{served}");

    let app = App::new().route("/ws/echo", get(echo)).document_websockets(true);
    let doc = serde_json::to_value(app.openapi().expect("document")).expect("json");
    let op = &doc["paths"]["/ws/echo"]["get"];
    let switching = &op["responses"]["101"];
    assert!(switching["description"].as_str().is_some_and(|d| d.starts_with("Switching Protocols")), "{op}");
    assert!(switching["headers"].get("Sec-WebSocket-Accept").is_some(), "{op}");
    assert!(op["responses"].get("400").is_some(), "{op}");
    assert!(op["responses"].get("200").is_none(), "{op}");
    let headers: Vec<&str> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "header" && p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(headers, ["Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]);

    // Served as such too.
    let (server, _addr) = serve(App::new().route("/ws/echo", get(echo)).document_websockets(true)).await;
    let served: serde_json::Value = server.get("/openapi.json").send().await.json();
    assert!(served["paths"]["/ws/echo"]["get"]["responses"].get("101").is_some());
}
