//! `GET /ws/echo`: a WebSocket that sends back every text and binary message.

use brisk::prelude::*;
use brisk::ws::{WebSocketResponse, WebSocketUpgrade};

/// Echo over a WebSocket.
///
/// Every text and binary message comes back as it was sent; pings are answered.
#[brisk::endpoint(tags = ["ws"])]
async fn echo(ws: WebSocketUpgrade) -> WebSocketResponse {
    ws.on_upgrade(|mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if message.is_data() && socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

/// The WebSocket routes.
pub fn router() -> Router {
    Router::new().route("/ws/echo", get(echo))
}
