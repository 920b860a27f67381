//! [`TestWebSocket`]: a WebSocket client for tests, from [`TestClient::websocket`]. Needs
//! feature `ws`.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::connection::{self, Connection};
use super::stream::DEFAULT_TIMEOUT;
use super::{TestClient, Transport};
use crate::ws::{CloseFrame, Message, WebSocket, WsError};

/// The `Host` of an in-process WebSocket handshake that names none (as Starlette's
/// `http://testserver`).
const IN_PROCESS_HOST: &str = "testserver";

impl TestClient {
    /// A WebSocket handshake to `path`; finish it with
    /// [`connect`](TestWebSocketRequest::connect). Needs feature `ws` (a default feature).
    ///
    /// It works in both transports. Over a socket ([`TestClient::serve`]) it is a real
    /// connection to the server. In process ([`TestClient::new`]) an upgrade still needs a
    /// connection to take over, so the handshake goes through hyper's HTTP/1.1 server
    /// connection (with upgrades, as in the real server) over an in-memory pipe: no port is
    /// opened, and the app's handler sees the same request; the `Host` is `testserver` unless
    /// the test sets one (so a same-site `Origin` there is `http://testserver`; over a socket
    /// it is `http://` and [`addr`](TestClient::addr)).
    ///
    /// No `Origin` is sent unless the test sets one, as a client that is not a browser: brisk
    /// accepts it. Set one to test the same-origin check.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::testing::TestClient;
    /// use brisk::ws::{close_code, Message, WebSocketResponse, WebSocketUpgrade};
    ///
    /// async fn shout(ws: WebSocketUpgrade) -> WebSocketResponse {
    ///     ws.on_upgrade(|mut socket| async move {
    ///         while let Some(Ok(Message::Text(text))) = socket.recv().await {
    ///             if text == "bye" {
    ///                 socket.close(close_code::NORMAL, "see you").await.ok();
    ///                 return;
    ///             }
    ///             socket.send_text(text.to_uppercase()).await.ok();
    ///         }
    ///     })
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let client = TestClient::new(App::new().route("/ws", get(shout)));
    /// let mut socket = client.websocket("/ws").connect().await.expect("upgraded");
    /// socket.send_text("hello").await.expect("sent");
    /// assert_eq!(socket.receive_text().await.expect("a text message"), "HELLO");
    /// socket.send_text("bye").await.expect("sent");
    /// let closed = socket.receive_text().await.expect_err("the server closed");
    /// let frame = closed.close_frame().expect("a close frame");
    /// assert_eq!((frame.code, frame.reason.as_str()), (close_code::NORMAL, "see you"));
    ///
    /// // A cross-site page is refused by brisk's same-origin check.
    /// let refused = client.websocket("/ws").header("origin", "https://evil.example").connect().await;
    /// assert_eq!(refused.expect_err("refused").status(), Some(StatusCode::FORBIDDEN));
    /// # }
    /// ```
    pub fn websocket(&self, path: &str) -> TestWebSocketRequest<'_> {
        TestWebSocketRequest {
            client: self,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            protocols: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }
}

/// A WebSocket handshake being built, from [`TestClient::websocket`]; finish with
/// [`connect`](Self::connect). Needs feature `ws`.
#[must_use = "a handshake is sent with `connect`"]
pub struct TestWebSocketRequest<'a> {
    client: &'a TestClient,
    path: String,
    headers: HeaderMap,
    protocols: Vec<String>,
    timeout: Option<Duration>,
}

impl fmt::Debug for TestWebSocketRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestWebSocketRequest")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("protocols", &self.protocols)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TestWebSocketRequest<'_> {
    /// Adds a header (`Origin`, `Cookie`, `Authorization` ...). Panics on an invalid name or
    /// value (a bug in the test). The handshake's own headers (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`) are added unless set here, so a test can
    /// send a broken handshake.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).unwrap_or_else(|e| panic!("bad header name {name:?}: {e}"));
        let value =
            HeaderValue::try_from(value).unwrap_or_else(|e| panic!("bad header value {value:?}: {e}"));
        self.headers.append(name, value);
        self
    }

    /// Offers these subprotocols (`Sec-WebSocket-Protocol`), preferred first; the one the
    /// server chose is [`TestWebSocket::protocol`].
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols.extend(protocols.into_iter().map(Into::into));
        self
    }

    /// How long the handshake, and then each send and receive, waits (see
    /// [`TestWebSocket::set_timeout`]); [`DEFAULT_TIMEOUT`] by default, `None` for ever.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the handshake. A server that does not switch protocols (a `403` from the
    /// same-origin check, a `400` from a route that is not a WebSocket ...) gives
    /// [`TestWebSocketError::Refused`] with its status, headers and body.
    pub async fn connect(self) -> Result<TestWebSocket, TestWebSocketError> {
        let timeout = self.timeout;
        within(timeout, self.handshake()).await?
    }

    async fn handshake(self) -> Result<TestWebSocket, TestWebSocketError> {
        let failed = |what: &str, e: &dyn fmt::Display| TestWebSocketError::Handshake(format!("{what}: {e}"));
        let (host, opened) = match &self.client.transport {
            Transport::InProcess(service) => (IN_PROCESS_HOST.to_owned(), connection::pipe(service).await),
            Transport::Socket { addr } => (addr.to_string(), connection::tcp(*addr).await),
        };
        let (mut sender, connection) = opened.map_err(|e| failed("cannot connect", &e))?;

        let mut req = http::Request::new(Full::new(Bytes::new()));
        *req.method_mut() = Method::GET;
        *req.uri_mut() = self.path.parse().map_err(|e| failed("invalid path", &e))?;
        let mut headers = self.headers;
        let defaults = [
            (HOST, HeaderValue::try_from(host).ok()),
            (CONNECTION, Some(HeaderValue::from_static("upgrade"))),
            (UPGRADE, Some(HeaderValue::from_static("websocket"))),
            (SEC_WEBSOCKET_VERSION, Some(HeaderValue::from_static("13"))),
            (SEC_WEBSOCKET_KEY, HeaderValue::try_from(generate_key()).ok()),
        ];
        for (name, value) in defaults {
            if let Some(value) = value {
                headers.entry(name).or_insert(value);
            }
        }
        if !self.protocols.is_empty() {
            let offered = HeaderValue::try_from(self.protocols.join(", "))
                .map_err(|e| failed("invalid subprotocol", &e))?;
            headers.append(SEC_WEBSOCKET_PROTOCOL, offered);
        }
        let expected_accept =
            headers.get(SEC_WEBSOCKET_KEY).map(|key| derive_accept_key(key.as_bytes().trim_ascii()));
        *req.headers_mut() = headers;

        let res = sender.send_request(req).await.map_err(|e| failed("the handshake failed", &e))?;
        if res.status() != StatusCode::SWITCHING_PROTOCOLS {
            let (parts, body) = res.into_parts();
            let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            return Err(TestWebSocketError::Refused {
                status: parts.status,
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let accept = res.headers().get(SEC_WEBSOCKET_ACCEPT).map(|v| v.as_bytes());
        if accept.is_none() || accept != expected_accept.as_ref().map(|a| a.as_bytes()) {
            return Err(TestWebSocketError::Handshake(
                "the server's Sec-WebSocket-Accept does not answer the Sec-WebSocket-Key".to_owned(),
            ));
        }
        let protocol = res
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned());
        if let Some(chosen) = &protocol {
            if !self.protocols.contains(chosen) {
                return Err(TestWebSocketError::Handshake(format!(
                    "the server chose the subprotocol `{chosen}`, which was not offered"
                )));
            }
        }
        let headers = res.headers().clone();
        let upgraded = hyper::upgrade::on(res).await.map_err(|e| failed("the upgrade failed", &e))?;
        let stream = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
        Ok(TestWebSocket {
            socket: WebSocket::new(stream, protocol),
            headers,
            timeout: self.timeout,
            close_frame: None,
            _connection: connection,
        })
    }
}

/// Runs `work` within `timeout`.
async fn within<T>(
    timeout: Option<Duration>,
    work: impl Future<Output = T>,
) -> Result<T, TestWebSocketError> {
    match timeout {
        Some(after) => {
            tokio::time::timeout(after, work).await.map_err(|_| TestWebSocketError::Timeout(after))
        }
        None => Ok(work.await),
    }
}

/// An open WebSocket to the app, from [`TestClient::websocket`]. Needs feature `ws`.
///
/// Like Starlette's `websocket_connect`: `send_*` and `receive_*`; a `receive_*` after the
/// server closed gives [`TestWebSocketError::Closed`] with the server's code and reason, and
/// [`receive`](Self::receive) returns the close frame itself as [`Message::Close`]. Pings
/// are answered for you. Each send and receive waits at most the
/// [timeout](Self::set_timeout). Dropping it closes the connection with `1000`.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::testing::TestClient;
/// use brisk::ws::{Message, WebSocketResponse, WebSocketUpgrade};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Move { x: i32 }
///
/// async fn mirror(ws: WebSocketUpgrade) -> WebSocketResponse {
///     ws.protocols(["game.v1"]).on_upgrade(|mut socket| async move {
///         while let Some(Ok(Move { x })) = socket.recv_json::<Move>().await {
///             socket.send_json(&Move { x: -x }).await.ok();
///         }
///     })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = TestClient::serve(App::new().route("/game", get(mirror))).await;
/// let mut socket = client.websocket("/game").protocols(["game.v1"]).connect().await.expect("upgraded");
/// assert_eq!(socket.protocol(), Some("game.v1"));
/// socket.send_json(&Move { x: 3 }).await.expect("sent");
/// assert_eq!(socket.receive_json::<Move>().await.expect("a move"), Move { x: -3 });
/// socket.close(1000, "done").await.expect("closed");
/// # }
/// ```
pub struct TestWebSocket {
    socket: WebSocket,
    headers: HeaderMap,
    timeout: Option<Duration>,
    /// The server's close, once received: `Some(None)` for a close frame without a code.
    close_frame: Option<Option<CloseFrame>>,
    _connection: Connection,
}

impl fmt::Debug for TestWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestWebSocket")
            .field("socket", &self.socket)
            .field("timeout", &self.timeout)
            .field("close_frame", &self.close_frame)
            .finish_non_exhaustive()
    }
}

impl TestWebSocket {
    /// The subprotocol the server chose, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.socket.protocol()
    }

    /// The headers of the server's `101 Switching Protocols` (a `Set-Cookie`, say).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// How long each send and receive waits before [`TestWebSocketError::Timeout`]; `None`
    /// waits for ever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The server's close frame, once [`receive`](Self::receive) has read it.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.close_frame.as_ref().and_then(Option::as_ref)
    }

    /// Sends a message.
    pub async fn send(&mut self, message: Message) -> Result<(), TestWebSocketError> {
        let sent = within(self.timeout, self.socket.send(message)).await?;
        sent.map_err(|e| self.error(e))
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), TestWebSocketError> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), TestWebSocketError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends `value` as JSON in a text message.
    pub async fn send_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TestWebSocketError> {
        let text = serde_json::to_string(value).map_err(|e| TestWebSocketError::Socket(WsError::Json(e)))?;
        self.send(Message::Text(text)).await
    }

    /// The next message: text, binary, a ping or pong, or the server's close
    /// ([`Message::Close`], already answered). After the close (or when the connection ended
    /// without one) it is [`TestWebSocketError::Closed`].
    pub async fn receive(&mut self) -> Result<Message, TestWebSocketError> {
        match within(self.timeout, self.socket.recv()).await? {
            Some(Ok(Message::Close(frame))) => {
                self.close_frame = Some(frame.clone());
                Ok(Message::Close(frame))
            }
            Some(Ok(message)) => Ok(message),
            Some(Err(e)) => Err(self.error(e)),
            None => Err(TestWebSocketError::Closed(self.close_frame().cloned())),
        }
    }

    /// The next data message (pings and pongs are skipped); the server's close is
    /// [`TestWebSocketError::Closed`] with its code and reason.
    async fn receive_data(&mut self) -> Result<Message, TestWebSocketError> {
        loop {
            match self.receive().await? {
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Close(frame) => return Err(TestWebSocketError::Closed(frame)),
                message => return Ok(message),
            }
        }
    }

    /// The next text message. A binary one is [`TestWebSocketError::Unexpected`].
    pub async fn receive_text(&mut self) -> Result<String, TestWebSocketError> {
        match self.receive_data().await? {
            Message::Text(text) => Ok(text),
            other => Err(TestWebSocketError::Unexpected(other)),
        }
    }

    /// The next binary message. A text one is [`TestWebSocketError::Unexpected`].
    pub async fn receive_bytes(&mut self) -> Result<Bytes, TestWebSocketError> {
        match self.receive_data().await? {
            Message::Binary(data) => Ok(data),
            other => Err(TestWebSocketError::Unexpected(other)),
        }
    }

    /// The next text or binary message read as JSON of a `T`; one that is not gives
    /// [`TestWebSocketError::Json`] with its text.
    pub async fn receive_json<T: DeserializeOwned>(&mut self) -> Result<T, TestWebSocketError> {
        let message = self.receive_data().await?;
        serde_json::from_slice(message.as_bytes()).map_err(|error| TestWebSocketError::Json {
            text: String::from_utf8_lossy(message.as_bytes()).into_owned(),
            error,
        })
    }

    /// Closes the connection with `code` and `reason` and waits for the server's close
    /// frame (see [`WebSocket::close`]).
    pub async fn close(&mut self, code: u16, reason: impl Into<String>) -> Result<(), TestWebSocketError> {
        let closed = within(self.timeout, self.socket.close(code, reason)).await?;
        closed.map_err(|e| self.error(e))
    }

    fn error(&self, error: WsError) -> TestWebSocketError {
        match error {
            WsError::Closed => TestWebSocketError::Closed(self.close_frame().cloned()),
            other => TestWebSocketError::Socket(other),
        }
    }
}

/// Why a [`TestWebSocket`] handshake, send or receive failed. Needs feature `ws`.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestWebSocketError {
    /// The server did not switch protocols: its answer.
    Refused {
        /// Its status (`403` from the same-origin check, `400` from a route that is not a
        /// WebSocket ...).
        status: StatusCode,
        /// Its headers.
        headers: HeaderMap,
        /// Its body (lossy UTF-8).
        body: String,
    },
    /// The handshake could not be made, or the server's answer is not a valid one.
    Handshake(String),
    /// The connection is closed; the server's close frame when it sent one.
    Closed(Option<CloseFrame>),
    /// Nothing within the timeout.
    Timeout(Duration),
    /// A message of another kind than asked for (binary for `receive_text` ...).
    Unexpected(Message),
    /// A message that is not JSON of the expected type.
    Json {
        /// Its text (lossy UTF-8).
        text: String,
        /// serde_json's error.
        error: serde_json::Error,
    },
    /// The connection failed (a protocol error, a message over the limit ...).
    Socket(WsError),
}

impl TestWebSocketError {
    /// The status of a refused handshake.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            TestWebSocketError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The body of a refused handshake.
    pub fn body(&self) -> Option<&str> {
        match self {
            TestWebSocketError::Refused { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The server's close frame, when the server closed with one.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        match self {
            TestWebSocketError::Closed(frame) => frame.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for TestWebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestWebSocketError::Refused { status, body, .. } => {
                write!(f, "the WebSocket handshake was refused with {status}: {body}")
            }
            TestWebSocketError::Handshake(e) => write!(f, "WebSocket handshake: {e}"),
            TestWebSocketError::Closed(Some(frame)) => {
                write!(f, "the WebSocket is closed ({} {:?})", frame.code, frame.reason)
            }
            TestWebSocketError::Closed(None) => f.write_str("the WebSocket is closed (no close code)"),
            TestWebSocketError::Timeout(after) => write!(f, "nothing within {after:?}"),
            TestWebSocketError::Unexpected(message) => write!(f, "unexpected WebSocket message: {message:?}"),
            TestWebSocketError::Json { text, error } => {
                write!(f, "not the expected JSON ({error}): `{text}`")
            }
            TestWebSocketError::Socket(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TestWebSocketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestWebSocketError::Json { error, .. } => Some(error),
            TestWebSocketError::Socket(e) => Some(e),
            _ => None,
        }
    }
}
