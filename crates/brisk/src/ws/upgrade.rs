//! The [`WebSocketUpgrade`] extractor and the [`WebSocketResponse`] it answers with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::origin::{OriginCheck, WebSocketOrigins};
use super::socket::WebSocket;
use crate::body::Body;
use crate::error::Error;
use crate::extract::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::openapi::{document_error, DescribeInput, DescribeOutput, DocContext, Operation};
use crate::openapi::{Parameter, ParameterIn, ResponseDoc};
use crate::response::{IntoResponse, Response};

/// The default limit on a received message: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// The default limit on a received frame: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 << 20;

/// Extracts a WebSocket handshake (HTTP/1.1 `Upgrade: websocket`, RFC 6455).
///
/// Configure it, then answer with [`on_upgrade`](Self::on_upgrade):
///
/// ```
/// use brisk::prelude::*;
/// use brisk::ws::{WebSocketResponse, WebSocketUpgrade};
///
/// async fn feed(ws: WebSocketUpgrade) -> WebSocketResponse {
///     ws.allowed_origins(&["https://app.example.com"])
///         .protocols(["feed.v2", "feed.v1"])
///         .max_message_size(1 << 20)
///         .on_upgrade(|mut socket| async move {
///             let version = socket.protocol().unwrap_or("feed.v1").to_owned();
///             socket.send_text(format!("hello over {version}")).await.ok();
///         })
/// }
/// ```
///
/// The request must be a `GET` with `Connection: Upgrade`, `Upgrade: websocket`,
/// `Sec-WebSocket-Version: 13` and a valid `Sec-WebSocket-Key`. A request that is not a
/// WebSocket handshake, a malformed one, or one of a version other than 13 answers `400` with
/// what to send instead (`Upgrade: websocket`, `Sec-WebSocket-Version: 13`). RFC 6455 asks for
/// "an appropriate HTTP error code (such as 426)"; 400 is the one API clients and testers
/// (schemathesis) expect for a request that breaks the documented headers.
///
/// **Origins.** A handshake from a browser page of another site answers `403`
/// (``{"detail": "WebSocket handshake refused: the Origin `https://evil.example` is not this site ..."}``):
/// only pages of the request's own site (`Origin` host and port equal to `Host`'s, whatever the
/// scheme) get through by default, plus the origins the app allows
/// ([`WebSocketOrigins`](super::WebSocketOrigins), as app state) and the route allows
/// ([`allowed_origins`](Self::allowed_origins)). A request without `Origin` (not a browser) is
/// accepted. `X-Forwarded-Host` is ignored unless
/// [`WebSocketOrigins::trust_forwarded_host`](super::WebSocketOrigins::trust_forwarded_host)
/// is on.
///
/// `Option<WebSocketUpgrade>` is `None` for a request that does not ask to upgrade, so one
/// route can serve a page and its socket.
pub struct WebSocketUpgrade {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
    origins: OriginCheck,
    requested_protocols: Vec<String>,
    protocols: Vec<String>,
    config: WebSocketConfig,
}

impl fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("origin", &self.origins.origin)
            .field("requested_protocols", &self.requested_protocols)
            .field("allowed_origins", &self.origins.allowed)
            .field("protocols", &self.protocols)
            .field("max_message_size", &self.config.max_message_size)
            .field("max_frame_size", &self.config.max_frame_size)
            .finish_non_exhaustive()
    }
}

impl WebSocketUpgrade {
    /// The largest message the socket accepts, in bytes (default 64 MiB). A bigger one closes
    /// the connection with `1009` and [`recv`](super::WebSocket::recv) returns
    /// [`WsError::TooLarge`](super::WsError::TooLarge).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = Some(bytes);
        self
    }

    /// The largest frame the socket accepts, in bytes (default 16 MiB); a message may span
    /// several frames. A bigger one closes the connection with `1009`.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = Some(bytes);
        self
    }

    /// Also accepts browser pages on these origins (`scheme://host[:port]`, compared
    /// case-insensitively), beside the request's own site and the app's
    /// [`WebSocketOrigins`](super::WebSocketOrigins); another `Origin` answers `403`. `"*"`
    /// accepts every origin (for a socket that does not rely on cookies). A request without
    /// `Origin` (not from a browser) is always accepted: the check protects users' browsers
    /// from other sites, it is not authentication.
    pub fn allowed_origins(mut self, origins: &[impl AsRef<str>]) -> Self {
        self.origins.allowed.extend(origins.iter().map(|o| o.as_ref().to_owned()));
        self
    }

    /// The subprotocols this endpoint speaks, preferred first. The first of them the client
    /// offered (`Sec-WebSocket-Protocol`) is chosen and sent back;
    /// [`WebSocket::protocol`](super::WebSocket::protocol) tells which. When none matches, the
    /// handshake goes on without one (a client that insists will then close).
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The subprotocols the client offered, in its order.
    pub fn requested_protocols(&self) -> &[String] {
        &self.requested_protocols
    }

    /// The request's `Origin`, if it has a readable one.
    pub fn origin(&self) -> Option<&str> {
        self.origins.origin.as_ref().and_then(|o| o.to_str().ok())
    }

    /// Answers `101 Switching Protocols` and, once it is sent, runs `callback` with the socket
    /// on its own task. When the origin is not allowed (see [`WebSocketUpgrade`]), answers
    /// `403` and never calls it.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> WebSocketResponse
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if let Err(e) = self.origins.check() {
            return WebSocketResponse(Outcome::Refused(e));
        }
        let protocol = self
            .protocols
            .iter()
            .find(|ours| self.requested_protocols.iter().any(|theirs| theirs == *ours))
            .cloned();

        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, self.accept);
        if let Some(value) = protocol.as_deref().and_then(|p| HeaderValue::from_str(p).ok()) {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }

        let (on_upgrade, config) = (self.on_upgrade, self.config);
        let task = async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let stream =
                        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                            .await;
                    callback(WebSocket::new(stream, protocol)).await;
                }
                Err(e) => tracing::debug!(target: "brisk::ws", error = %e, "the connection was not upgraded"),
            }
        };
        WebSocketResponse(Outcome::Upgrade { response, task: Box::pin(task) })
    }
}

fn tokens(headers: &HeaderMap, name: http::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn has_token(headers: &HeaderMap, name: http::HeaderName, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// Whether the request asks to switch to WebSocket at all.
fn asks_for_websocket(parts: &Parts) -> bool {
    has_token(&parts.headers, UPGRADE, "websocket")
}

/// A `Sec-WebSocket-Key` is 16 bytes in base64: 22 characters and `==`, the last character
/// carrying only 2 significant bits.
fn valid_key(key: &[u8]) -> bool {
    let base64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    key.len() == 24
        && key[..21].iter().all(base64)
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
        && &key[22..] == b"=="
}

fn not_websocket(version: Version) -> Error {
    let error = Error::http(
        StatusCode::BAD_REQUEST,
        "This endpoint speaks WebSocket: send an HTTP/1.1 GET with `Connection: Upgrade` and `Upgrade: websocket`",
    );
    if version == Version::HTTP_11 {
        error
            .with_header(UPGRADE, HeaderValue::from_static("websocket"))
            .with_header(CONNECTION, HeaderValue::from_static("upgrade"))
            .with_header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"))
    } else {
        // HTTP/2 and later forbid `Upgrade` and `Connection`.
        error
    }
}

fn bad_handshake(detail: &str) -> Error {
    Error::http(StatusCode::BAD_REQUEST, format!("Invalid WebSocket handshake: {detail}"))
}

fn handshake(parts: &mut Parts, cx: &RequestContext) -> Result<WebSocketUpgrade, Error> {
    let headers = &parts.headers;
    if parts.version != Version::HTTP_11
        || !asks_for_websocket(parts)
        || !has_token(headers, CONNECTION, "upgrade")
    {
        return Err(not_websocket(parts.version));
    }
    if parts.method != Method::GET {
        return Err(bad_handshake("the method must be GET"));
    }
    match headers.get(SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes().trim_ascii()) {
        None => return Err(bad_handshake("`Sec-WebSocket-Version` is missing")),
        Some(b"13") => {}
        Some(_) => {
            return Err(Error::http(
                StatusCode::BAD_REQUEST,
                "Unsupported WebSocket version: this server speaks version 13",
            )
            .with_header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13")))
        }
    }
    let key = match headers.get(SEC_WEBSOCKET_KEY).map(|v| v.as_bytes().trim_ascii()) {
        Some(key) if valid_key(key) => key,
        Some(_) => return Err(bad_handshake("`Sec-WebSocket-Key` must be 16 bytes in base64")),
        None => return Err(bad_handshake("`Sec-WebSocket-Key` is missing")),
    };
    let accept = HeaderValue::from_str(&derive_accept_key(key))
        .map_err(|_| Error::internal(std::io::Error::other("Sec-WebSocket-Accept is not a header value")))?;
    let origins = OriginCheck::new(parts, cx.state::<WebSocketOrigins>());
    let requested_protocols = tokens(headers, SEC_WEBSOCKET_PROTOCOL).map(str::to_owned).collect();
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return Err(Error::internal(std::io::Error::other(
            "this connection cannot be upgraded to WebSocket (served without hyper's upgrade support, \
             like the in-process TestClient)",
        )));
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(32 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(DEFAULT_MAX_MESSAGE_SIZE))
        .max_frame_size(Some(DEFAULT_MAX_FRAME_SIZE));
    Ok(WebSocketUpgrade { on_upgrade, accept, origins, requested_protocols, protocols: Vec::new(), config })
}

impl FromRequestParts for WebSocketUpgrade {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        handshake(parts, cx)
    }
}

/// `None` when the request does not ask for WebSocket (no `Upgrade: websocket`); a request
/// that asks but is malformed is still an error.
impl OptionalFromRequestParts for WebSocketUpgrade {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Option<Self>, Error> {
        if asks_for_websocket(parts) {
            handshake(parts, cx).map(Some)
        } else {
            Ok(None)
        }
    }
}

fn header_parameter(name: &str, required: bool, schema: serde_json::Value, description: &str) -> Parameter {
    Parameter {
        name: name.to_owned(),
        location: ParameterIn::Header,
        required,
        schema,
        description: Some(description.to_owned()),
    }
}

/// The handshake headers (their schemas accept exactly what the handshake accepts), and the
/// `400` answer to a request that is not one.
impl DescribeInput for WebSocketUpgrade {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        op.add_parameter(header_parameter(
            "Upgrade",
            true,
            json!({"type": "string", "pattern": "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$"}),
            "WebSocket handshake (RFC 6455): `websocket`",
        ));
        op.add_parameter(header_parameter(
            "Connection",
            true,
            json!({"type": "string", "pattern": "(^|[ ,])[Uu][Pp][Gg][Rr][Aa][Dd][Ee]($|[ ,])"}),
            "Must include the `Upgrade` token",
        ));
        op.add_parameter(header_parameter(
            "Sec-WebSocket-Key",
            true,
            json!({"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"}),
            "16 random bytes in base64",
        ));
        op.add_parameter(header_parameter(
            "Sec-WebSocket-Version",
            true,
            json!({"type": "string", "enum": ["13"]}),
            "The protocol version: 13",
        ));
        op.add_parameter(header_parameter(
            "Sec-WebSocket-Protocol",
            false,
            json!({"type": "string"}),
            "Subprotocols the client speaks, comma-separated",
        ));
        document_error(
            cx,
            op,
            400,
            "Bad Request: not a WebSocket handshake, an invalid one, or not version 13",
        );
    }
}

enum Outcome {
    Upgrade { response: Response, task: Pin<Box<dyn Future<Output = ()> + Send>> },
    Refused(Error),
}

/// The answer to a WebSocket handshake, from [`WebSocketUpgrade::on_upgrade`]: `101 Switching
/// Protocols` (documented as such in OpenAPI), or `403` when the origin is not allowed (see
/// [`WebSocketUpgrade`]).
///
/// Return it from the handler; the socket's task starts when the response is built.
pub struct WebSocketResponse(Outcome);

impl fmt::Debug for WebSocketResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Outcome::Upgrade { response, .. } => f.debug_tuple("WebSocketResponse").field(response).finish(),
            Outcome::Refused(e) => f.debug_tuple("WebSocketResponse").field(e).finish(),
        }
    }
}

impl IntoResponse for WebSocketResponse {
    fn into_response(self) -> Response {
        match self.0 {
            Outcome::Upgrade { response, task } => {
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(task);
                        response
                    }
                    // Outside a runtime nothing could drive the socket: do not switch protocols.
                    Err(_) => Error::internal(std::io::Error::other(
                        "a WebSocket response was built outside the Tokio runtime",
                    ))
                    .into_response(),
                }
            }
            Outcome::Refused(e) => e.into_response(),
        }
    }
}

/// `101 Switching Protocols` with its handshake headers, and the `403` of a page of another
/// site (see [`WebSocketUpgrade`]).
impl DescribeOutput for WebSocketResponse {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        let mut doc = ResponseDoc::new(
            "Switching Protocols: the connection is now a WebSocket (RFC 6455); messages follow on it",
        );
        let header = |description: &str| json!({"description": description, "schema": {"type": "string"}});
        doc.headers.insert("Upgrade".to_owned(), header("`websocket`"));
        doc.headers.insert("Connection".to_owned(), header("`upgrade`"));
        doc.headers
            .insert("Sec-WebSocket-Accept".to_owned(), header("Proof that the server read the handshake"));
        doc.headers.insert(
            "Sec-WebSocket-Protocol".to_owned(),
            header("The chosen subprotocol, when one was offered and is spoken"),
        );
        op.add_response("101", doc);
        cx.is_websocket();
        document_error(
            cx,
            op,
            403,
            "Forbidden: a browser page of another site (its Origin is neither this site nor an allowed origin)",
        );
    }
}
