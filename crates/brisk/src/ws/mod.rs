//! WebSockets: the [`WebSocketUpgrade`] extractor and the [`WebSocket`] it hands your code.
//!
//! Needs feature `ws`.
//!
//! A handler takes a `WebSocketUpgrade`, optionally sets limits, allowed origins and
//! subprotocols, and returns [`WebSocketUpgrade::on_upgrade`]: a `101 Switching Protocols`
//! response. Once it has been sent, brisk runs your callback with the socket on its own task.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::ws::{Message, WebSocketResponse, WebSocketUpgrade};
//!
//! /// Echoes every text and binary message.
//! async fn echo(ws: WebSocketUpgrade) -> WebSocketResponse {
//!     ws.on_upgrade(|mut socket| async move {
//!         while let Some(Ok(message)) = socket.recv().await {
//!             if matches!(message, Message::Text(_) | Message::Binary(_)) && socket.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! let app = App::new().route("/ws/echo", get(echo));
//! // Out of the OpenAPI document by default, as in FastAPI (not HTTP after the handshake) ...
//! assert!(app.openapi().unwrap().paths.get("/ws/echo").is_none());
//! // ... and in it, as its handshake, when asked.
//! let doc = app.document_websockets(true).openapi().unwrap();
//! assert!(doc.paths["/ws/echo"]["get"]["responses"].get("101").is_some());
//! ```
//!
//! Typed messages are JSON text frames:
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::ws::{WebSocketResponse, WebSocketUpgrade};
//!
//! #[derive(Deserialize)]
//! struct Question { text: String }
//!
//! #[derive(Serialize)]
//! struct Answer { words: usize }
//!
//! async fn count(ws: WebSocketUpgrade) -> WebSocketResponse {
//!     ws.max_message_size(64 * 1024).on_upgrade(|mut socket| async move {
//!         while let Some(question) = socket.recv_json::<Question>().await {
//!             let reply = match question {
//!                 Ok(q) => socket.send_json(&Answer { words: q.text.split_whitespace().count() }).await,
//!                 // Not a `Question`: say so and keep the connection.
//!                 Err(e) => socket.send_text(format!("error: {e}")).await,
//!             };
//!             if reply.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//! ```
//!
//! ## What brisk does for you
//!
//! - **Handshake checks.** A request that is not a WebSocket handshake, a malformed one (not
//!   `GET`, no valid `Sec-WebSocket-Key`, no `Sec-WebSocket-Version`) or one of a version
//!   other than 13 answers `400` with what to send instead (`Upgrade: websocket`,
//!   `Sec-WebSocket-Version: 13`; RFC 6455 allows any fitting error code).
//! - **Same origin by default.** A browser page of another site cannot open a socket to the app
//!   with the user's cookies (cross-site WebSocket hijacking): a handshake whose `Origin` is not
//!   the request's own site answers `403`. Widen it app-wide with [`WebSocketOrigins`] (app
//!   state) or per route with [`allowed_origins`](WebSocketUpgrade::allowed_origins); clients
//!   that are not browsers send no `Origin` and are accepted. `X-Forwarded-Host` counts only
//!   when [`WebSocketOrigins::trust_forwarded_host`] is on.
//! - **Pings.** Every ping is answered with a pong at once; [`WebSocket::recv`] still shows it.
//! - **Closing.** A peer's close is answered; [`WebSocket::close`] runs the closing handshake;
//!   a socket dropped while open is closed with `1000`. A message over the size limit closes
//!   the connection with `1009`, a protocol violation with `1002`, invalid UTF-8 with `1007`
//!   (and `recv` returns the matching [`WsError`]).
//!
//! ## Limits of this implementation
//!
//! HTTP/1.1 only: the Upgrade handshake of RFC 6455. HTTP/2 extended CONNECT (RFC 8441) is not
//! supported. No extensions are negotiated (no `permessage-deflate`). A socket lives on its own
//! task, outside the request: graceful shutdown does not wait for open WebSockets.
//!
//! Test a socket with [`TestClient::websocket`](crate::testing::TestClient::websocket), in
//! process or over a real socket.
//!
//! Conformance: the Autobahn test cases (sections 1–7, 9 and 10) pass against the
//! `examples/ws-echo` app; `scripts/autobahn` runs them.

mod message;
mod origin;
mod socket;
mod upgrade;

pub use message::{close_code, CloseFrame, Message};
pub use origin::WebSocketOrigins;
pub use socket::{WebSocket, WsError};
pub use upgrade::{WebSocketResponse, WebSocketUpgrade, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE};
