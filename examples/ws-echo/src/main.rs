//! A WebSocket echo server: `GET /ws/echo` sends back every text and binary message.
//!
//! `cargo run -p ws-echo` (reads `HOST`, `PORT`, `WORKERS`, `RUST_LOG` like every brisk app),
//! then connect a WebSocket client to `ws://127.0.0.1:8000/ws/echo`. Like every brisk
//! WebSocket route it accepts browser pages of its own site only (and clients that send no
//! `Origin`); see `brisk::ws::WebSocketOrigins` to allow others. `scripts/autobahn` runs the
//! Autobahn conformance cases against it.
use brisk::prelude::*;
use brisk::ws::{WebSocketResponse, WebSocketUpgrade};

/// Echoes every text and binary message back to the sender.
async fn echo(ws: WebSocketUpgrade) -> WebSocketResponse {
    ws.on_upgrade(|mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if message.is_data() && socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

fn main() -> Result<(), brisk::ServeError> {
    brisk::run(App::new().title("WebSocket echo").route("/ws/echo", get(echo)))
}
