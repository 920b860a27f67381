//! [`WebSocket`]: an open connection, and [`WsError`].

use std::fmt;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::{Error as RawError, Message as RawMessage};
use tokio_tungstenite::WebSocketStream;

use super::message::{close_code, CloseFrame, Message};

pub(crate) type Stream = WebSocketStream<TokioIo<Upgraded>>;

/// How long closing waits for the peer (its close frame, or the end of the connection).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// An open WebSocket connection, handed to the callback of
/// [`WebSocketUpgrade::on_upgrade`](super::WebSocketUpgrade::on_upgrade).
///
/// Read with [`recv`](Self::recv) (or [`recv_json`](Self::recv_json)) until it returns `None`;
/// write with [`send`](Self::send) and its typed helpers. Pings are answered for you.
/// Dropping the socket while it is open closes it with `1000` (`1011` if the task panicked).
///
/// `recv` is cancel-safe: it can sit in a `tokio::select!` beside, say, a broadcast channel.
///
/// ```
/// use brisk::ws::{close_code, Message, WebSocket};
///
/// async fn chat(mut socket: WebSocket) {
///     socket.send_text("welcome").await.ok();
///     while let Some(Ok(message)) = socket.recv().await {
///         match message {
///             Message::Text(text) if text == "bye" => {
///                 socket.close(close_code::NORMAL, "see you").await.ok();
///                 return;
///             }
///             Message::Text(text) => {
///                 if socket.send_text(text.to_uppercase()).await.is_err() {
///                     return;
///                 }
///             }
///             _ => {}
///         }
///     }
/// }
/// ```
pub struct WebSocket {
    stream: Option<Stream>,
    protocol: Option<String>,
    /// A ping or close already read, handed over once its automatic answer has been flushed.
    pending: Option<Message>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("open", &self.stream.is_some())
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(stream: Stream, protocol: Option<String>) -> Self {
        WebSocket { stream: Some(stream), protocol, pending: None }
    }

    /// The subprotocol agreed in the handshake, if any
    /// (see [`WebSocketUpgrade::protocols`](super::WebSocketUpgrade::protocols)).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Whether the connection is closed (nothing more to read or send).
    pub fn is_closed(&self) -> bool {
        self.stream.is_none() && self.pending.is_none()
    }

    /// The next message; `None` once the connection is closed.
    ///
    /// Pings and pongs are returned too (the pong answering a ping is already sent), and so is
    /// the peer's close frame (already answered); the call after it returns `None`.
    ///
    /// An error ends the connection: a message over the size limit is
    /// [`WsError::TooLarge`] (the peer is sent close `1009`), a protocol violation
    /// [`WsError::Protocol`] (`1002`, or `1007` for invalid UTF-8); then `recv` returns `None`.
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        loop {
            let Some(stream) = self.stream.as_mut() else {
                return self.pending.take().map(Ok);
            };
            if let Some(pending) = &self.pending {
                // The pong or close reply is queued: send it before handing the frame over.
                if let Err(e) = stream.flush().await {
                    tracing::debug!(target: "brisk::ws", error = %e, "flushing an automatic reply failed");
                }
                if pending.is_close() {
                    // Both close frames have been exchanged: the server closes the TCP connection.
                    self.stream = None;
                }
                return self.pending.take().map(Ok);
            }
            match stream.next().await {
                None => {
                    self.stream = None;
                    return None;
                }
                Some(Ok(raw)) => match Message::from_raw(raw) {
                    Some(message @ (Message::Ping(_) | Message::Close(_))) => self.pending = Some(message),
                    Some(message) => return Some(Ok(message)),
                    None => {}
                },
                Some(Err(e)) => return Some(Err(self.fail(e))),
            }
        }
    }

    /// The next text or binary message read as JSON of a `T`; `None` once the connection is
    /// closed. Pings and pongs are skipped.
    ///
    /// A message that is not a `T` gives [`WsError::Json`] and leaves the connection open: the
    /// handler decides whether to answer, skip it or close.
    ///
    /// ```
    /// # async fn demo(mut socket: brisk::ws::WebSocket) {
    /// #[derive(serde::Deserialize)]
    /// struct Move { x: i32, y: i32 }
    ///
    /// while let Some(next) = socket.recv_json::<Move>().await {
    ///     match next {
    ///         Ok(m) => println!("moved to {},{}", m.x, m.y),
    ///         Err(brisk::ws::WsError::Json(e)) => { socket.send_text(format!("bad move: {e}")).await.ok(); }
    ///         Err(_) => break,
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Option<Result<T, WsError>> {
        loop {
            match self.recv().await? {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).map_err(WsError::Json)),
                Ok(Message::Binary(data)) => {
                    return Some(serde_json::from_slice(&data).map_err(WsError::Json))
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_)) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Sends a message (and flushes it).
    ///
    /// Sending `Message::Close(..)` starts the closing handshake but keeps the socket readable:
    /// `recv` then returns what the peer still sends, its close frame, then `None`.
    /// [`close`](Self::close) does the whole handshake in one call.
    pub async fn send(&mut self, message: Message) -> Result<(), WsError> {
        check_sendable(&message)?;
        let stream = self.stream.as_mut().ok_or(WsError::Closed)?;
        match stream.send(message.into_raw()).await {
            Ok(()) => Ok(()),
            Err(RawError::ConnectionClosed | RawError::AlreadyClosed)
            | Err(RawError::Protocol(ProtocolError::SendAfterClosing)) => Err(WsError::Closed),
            Err(RawError::Io(e)) => {
                self.stream = None;
                Err(WsError::Io(e))
            }
            Err(e) => Err(WsError::Protocol(e.to_string())),
        }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), WsError> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), WsError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends `value` as JSON in a text message.
    ///
    /// ```
    /// # async fn demo(mut socket: brisk::ws::WebSocket) -> Result<(), brisk::ws::WsError> {
    /// #[derive(serde::Serialize)]
    /// struct Token<'a> { text: &'a str }
    ///
    /// socket.send_json(&Token { text: "hello" }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WsError> {
        let text = serde_json::to_string(value).map_err(WsError::Json)?;
        self.send(Message::Text(text)).await
    }

    /// Sends a ping; the peer's pong comes back through [`recv`](Self::recv).
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), WsError> {
        self.send(Message::Ping(payload.into())).await
    }

    /// Closes the connection with `code` (see [`close_code`]) and `reason` (at most 123
    /// bytes): sends the close frame, waits for the peer's (up to 5 s, discarding messages that
    /// still arrive), then ends the connection. Closing a closed socket does nothing.
    ///
    /// ```
    /// # async fn demo(mut socket: brisk::ws::WebSocket) {
    /// use brisk::ws::close_code;
    /// socket.close(close_code::POLICY, "too many requests").await.ok();
    /// assert!(socket.is_closed());
    /// # }
    /// ```
    pub async fn close(&mut self, code: u16, reason: impl Into<String>) -> Result<(), WsError> {
        let frame = CloseFrame::new(code, reason);
        check_close(&frame)?;
        self.pending = None;
        match self.stream.take() {
            Some(mut stream) => close_handshake(&mut stream, frame).await,
            None => Ok(()),
        }
    }

    /// Ends the connection after a failed read: sends the matching close code and lets the peer
    /// see the end of the stream (on its own task), and reports the error.
    fn fail(&mut self, error: RawError) -> WsError {
        let (error, close) = classify(error);
        if let Some(stream) = self.stream.take() {
            if let Some(frame) = close {
                tracing::debug!(target: "brisk::ws", error = %error, code = frame.code, "failing the WebSocket connection");
                spawn(fail_connection(stream, frame));
            }
        }
        error
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            let frame = if std::thread::panicking() {
                CloseFrame::new(close_code::ERROR, "")
            } else {
                CloseFrame::new(close_code::NORMAL, "")
            };
            spawn(async move {
                let _ = close_handshake(&mut stream, frame).await;
            });
        }
    }
}

fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    }
}

/// Sends our close frame, waits for the peer's, and leaves the TCP connection to be dropped.
async fn close_handshake(stream: &mut Stream, frame: CloseFrame) -> Result<(), WsError> {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    match timeout_at(deadline, stream.close(Some(frame.into_raw()))).await {
        Ok(Ok(())) => {}
        // The peer already closed: nothing to wait for.
        Ok(Err(RawError::ConnectionClosed | RawError::AlreadyClosed)) => return Ok(()),
        Ok(Err(RawError::Protocol(ProtocolError::SendAfterClosing))) => {}
        Ok(Err(RawError::Io(e))) => return Err(WsError::Io(e)),
        Ok(Err(e)) => return Err(WsError::Protocol(e.to_string())),
        Err(_) => {
            return Err(WsError::Io(io::Error::new(io::ErrorKind::TimedOut, "sending close timed out")))
        }
    }
    loop {
        match timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(RawMessage::Close(_)))) => {
                // Flushes nothing new; tungstenite now considers the connection finished.
                let _ = timeout_at(deadline, stream.flush()).await;
                return Ok(());
            }
            Ok(Some(Ok(_))) => {}
            Ok(None) | Ok(Some(Err(_))) => return Ok(()),
            Err(_) => {
                tracing::debug!(target: "brisk::ws", "the peer did not answer the close frame in time");
                return Ok(());
            }
        }
    }
}

/// Fails the connection (RFC 6455 §7.1.7): sends `frame`, half-closes, and reads what the peer
/// still sends until it closes too (so the close frame is not lost to a TCP reset).
async fn fail_connection(mut stream: Stream, frame: CloseFrame) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    if !matches!(timeout_at(deadline, stream.close(Some(frame.into_raw()))).await, Ok(Ok(()))) {
        return;
    }
    let io = stream.get_mut();
    if !matches!(timeout_at(deadline, io.shutdown()).await, Ok(Ok(()))) {
        return;
    }
    let mut discard = vec![0u8; 16 * 1024];
    while let Ok(Ok(1..)) = timeout_at(deadline, io.read(&mut discard)).await {}
}

/// What to tell the handler and which close frame to send for a read error.
fn classify(error: RawError) -> (WsError, Option<CloseFrame>) {
    match error {
        RawError::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
            WsError::TooLarge { size, max: max_size },
            Some(CloseFrame::new(close_code::SIZE, "message too big")),
        ),
        RawError::Capacity(e) => {
            (WsError::Protocol(e.to_string()), Some(CloseFrame::new(close_code::SIZE, "message too big")))
        }
        RawError::Utf8(e) => (
            WsError::Protocol(format!("invalid UTF-8: {e}")),
            Some(CloseFrame::new(close_code::INVALID, "invalid UTF-8")),
        ),
        RawError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => (
            WsError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer left without a closing handshake",
            )),
            None,
        ),
        RawError::Protocol(e) => {
            (WsError::Protocol(e.to_string()), Some(CloseFrame::new(close_code::PROTOCOL, "protocol error")))
        }
        RawError::ConnectionClosed | RawError::AlreadyClosed => (WsError::Closed, None),
        RawError::Io(e) => (WsError::Io(e), None),
        other => (WsError::Protocol(other.to_string()), Some(CloseFrame::new(close_code::ERROR, ""))),
    }
}

fn check_close(frame: &CloseFrame) -> Result<(), WsError> {
    if !frame.is_sendable() {
        return Err(WsError::Invalid(format!("close code {} may not be sent", frame.code)));
    }
    if frame.reason.len() > 123 {
        return Err(WsError::Invalid(format!(
            "a close reason is at most 123 bytes, got {}",
            frame.reason.len()
        )));
    }
    Ok(())
}

fn check_sendable(message: &Message) -> Result<(), WsError> {
    match message {
        Message::Ping(data) | Message::Pong(data) if data.len() > 125 => {
            Err(WsError::Invalid(format!("a ping or pong carries at most 125 bytes, got {}", data.len())))
        }
        Message::Close(Some(frame)) => check_close(frame),
        _ => Ok(()),
    }
}

/// Why a WebSocket operation failed.
///
/// It converts into [`brisk::Error`](crate::Error) (a 500) like any error, so `?` works in
/// code shared with handlers.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsError {
    /// The connection is closed: nothing more can be sent.
    Closed,
    /// A received message (or frame) was over the limit; the peer was sent close `1009` and the
    /// connection ended. See [`WebSocketUpgrade::max_message_size`](super::WebSocketUpgrade::max_message_size).
    TooLarge {
        /// Its size in bytes (as far as it was read).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The peer broke the WebSocket protocol; it was sent close `1002` (`1007` for invalid
    /// UTF-8) and the connection ended.
    Protocol(String),
    /// A message was not the JSON of the expected type, or a value could not be serialised.
    /// The connection stays open.
    Json(serde_json::Error),
    /// A message that may not be sent (a ping over 125 bytes, close code 1006 ...). Nothing
    /// was sent; the connection stays open.
    Invalid(String),
    /// Reading or writing the connection failed (the peer vanished, say); the connection ended.
    Io(io::Error),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Closed => f.write_str("the WebSocket is closed"),
            WsError::TooLarge { size, max } => {
                write!(f, "WebSocket message too big: {size} bytes, the limit is {max}")
            }
            WsError::Protocol(e) => write!(f, "WebSocket protocol error: {e}"),
            WsError::Json(e) => write!(f, "invalid JSON message: {e}"),
            WsError::Invalid(e) => write!(f, "cannot send this WebSocket message: {e}"),
            WsError::Io(e) => write!(f, "WebSocket I/O error: {e}"),
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WsError::Json(e) => Some(e),
            WsError::Io(e) => Some(e),
            _ => None,
        }
    }
}
