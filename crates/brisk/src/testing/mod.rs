//! [`TestClient`]: requests against an app, in process or over a real socket, with their
//! responses read whole ([`TestResponse`]), as they stream ([`TestStream`]: chunks,
//! Server-Sent Events, JSON Lines), or as a WebSocket ([`TestWebSocket`], feature `ws`).
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::testing::TestClient;
//!
//! async fn hello() -> Json<serde_json::Value> {
//!     Json(serde_json::json!({"message": "hi"}))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::new(App::new().route("/", get(hello)));
//! let res = client.get("/").send().await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.json::<serde_json::Value>()["message"], "hi");
//! # }
//! ```
//!
//! ## Streams
//!
//! [`TestRequest::stream`] returns once the response's head has come and reads its body as it
//! comes: [`TestStream::sse_events`], [`TestStream::json_lines`] or [`TestStream::chunks`].
//! An endless stream can be tested: read what the test needs, then drop the reader, and the
//! server sees the client leave (in process the body is dropped; over a socket the connection
//! is closed). Each read waits at most [`DEFAULT_TIMEOUT`] (change it with
//! [`TestStream::timeout`]) and a malformed line or event is an error value
//! ([`TestStreamError`]), never a panic.
//!
//! ```
//! use std::time::Duration;
//! use brisk::prelude::*;
//! use brisk::response::{Event, Sse};
//! use brisk::testing::TestClient;
//! use futures_util::{stream, Stream, StreamExt};
//!
//! /// An endless stream of ticks.
//! async fn ticks() -> Sse<impl Stream<Item = Event<u64>> + Send> {
//!     Sse::new(stream::iter(0..).map(|n| Event::json(n).event("tick")))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = TestClient::new(App::new().route("/ticks", get(ticks)));
//! let mut events = client.get("/ticks").stream().await.sse_events();
//! for expected in 0..3u64 {
//!     let event = events.next().await.expect("an event").expect("a well-formed event");
//!     assert_eq!(event.event.as_deref(), Some("tick"));
//!     assert_eq!(event.json::<u64>().expect("JSON data"), expected);
//! }
//! drop(events); // the client leaves: the server drops the stream
//! # }
//! ```
//!
//! ## WebSockets
//!
//! [`TestClient::websocket`] (feature `ws`) opens a WebSocket in both transports; see
//! [`TestWebSocket`].

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{App, AppService};
use crate::body::Body;
use crate::extract::Request;

mod connection;
mod json_lines;
mod lines;
mod sse;
mod stream;
mod stream_error;
#[cfg(feature = "ws")]
mod websocket;

pub use json_lines::JsonLinesItems;
pub use sse::{SseEvent, SseEvents};
pub use stream::{Chunks, TestStream, DEFAULT_TIMEOUT};
pub use stream_error::TestStreamError;
#[cfg(feature = "ws")]
pub use websocket::{TestWebSocket, TestWebSocketError, TestWebSocketRequest};

use connection::Connection;

enum Transport {
    InProcess(AppService),
    Socket { addr: SocketAddr },
}

/// A client for tests. [`TestClient::new`] calls the app directly, with no socket;
/// [`TestClient::serve`] starts the real server on an ephemeral port.
pub struct TestClient {
    transport: Transport,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl TestClient {
    /// An in-process client. Panics if the app does not build (its message names why).
    pub fn new(app: App) -> Self {
        match app.build() {
            Ok(service) => TestClient { transport: Transport::InProcess(service), server: None },
            Err(e) => panic!("{e}"),
        }
    }

    /// Serves the app on `127.0.0.1:0` and returns a client that talks to it over TCP.
    pub async fn serve(app: App) -> Self {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("cannot bind a test port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("cannot read the test port: {e}"),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                let _ = stopped.await;
            };
            if let Err(e) = app.serve_with_shutdown(listener, signal).await {
                panic!("test server failed: {e}");
            }
        });
        TestClient { transport: Transport::Socket { addr }, server: Some((stop, task)) }
    }

    /// The server's address, in socket mode.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.transport {
            Transport::Socket { addr } => Some(addr),
            Transport::InProcess(_) => None,
        }
    }

    /// Signals a graceful shutdown (socket mode) and waits until the server has drained.
    pub async fn shutdown(mut self) {
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest {
            client: self,
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A POST request.
    pub fn post(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A PUT request.
    pub fn put(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A PATCH request.
    pub fn patch(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// A DELETE request.
    pub fn delete(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// A HEAD request.
    pub fn head(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::HEAD, path)
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

/// A request being built; finish with [`send`](TestRequest::send).
pub struct TestRequest<'a> {
    client: &'a TestClient,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl TestRequest<'_> {
    /// Adds a header. Panics on an invalid name or value (a bug in the test).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).unwrap_or_else(|e| panic!("bad header name {name:?}: {e}"));
        let value =
            HeaderValue::try_from(value).unwrap_or_else(|e| panic!("bad header value {value:?}: {e}"));
        self.headers.append(name, value);
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        let bytes =
            serde_json::to_vec(body).unwrap_or_else(|e| panic!("cannot serialize the test body: {e}"));
        self.body = Bytes::from(bytes);
        self.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// An urlencoded form body.
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        let value =
            serde_json::to_value(body).unwrap_or_else(|e| panic!("cannot serialize the test form: {e}"));
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => serializer.append_pair(&k, &s),
                    other => serializer.append_pair(&k, &other.to_string()),
                };
            }
        }
        self.body = Bytes::from(serializer.finish());
        self.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        self
    }

    /// A raw body (set the content type yourself with [`header`](Self::header)).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let (parts, body, connection) = self.dispatch().await;
        let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        drop(connection);
        TestResponse { status: parts.status, headers: parts.headers, body }
    }

    /// Sends the request and returns once the response's head has come, its body unread: read
    /// it as it streams with [`TestStream::sse_events`], [`TestStream::json_lines`] or
    /// [`TestStream::chunks`]. Dropping the stream (or its reader) leaves: the server sees the
    /// client go, as with a real client that disconnects.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::response::JsonLines;
    /// use brisk::testing::TestClient;
    /// use futures_util::{stream, Stream};
    ///
    /// async fn rows() -> JsonLines<impl Stream<Item = serde_json::Value> + Send> {
    ///     JsonLines(stream::iter([serde_json::json!({"row": 1}), serde_json::json!({"row": 2})]))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let client = TestClient::serve(App::new().route("/rows", get(rows))).await;
    /// let res = client.get("/rows").stream().await;
    /// assert_eq!(res.status(), 200);
    /// let mut rows = res.json_lines::<serde_json::Value>();
    /// assert_eq!(rows.next().await.expect("a row").expect("JSON")["row"], 1);
    /// assert_eq!(rows.next().await.expect("a row").expect("JSON")["row"], 2);
    /// assert!(rows.next().await.is_none(), "the end of the body");
    /// # }
    /// ```
    pub async fn stream(self) -> TestStream {
        let (parts, body, connection) = self.dispatch().await;
        TestStream::new(parts, body, connection)
    }

    /// Sends the request: the response's head, its unread body, and (socket mode) the
    /// connection that carries the body. Panics when the test server cannot be reached.
    async fn dispatch(self) -> (http::response::Parts, Body, Option<Connection>) {
        let mut builder = http::Request::builder().method(self.method).uri(&self.path);
        if let Some(headers) = builder.headers_mut() {
            *headers = self.headers;
        }
        match &self.client.transport {
            Transport::InProcess(service) => {
                let req: Request =
                    builder.body(Body::from(self.body)).unwrap_or_else(|e| panic!("bad test request: {e}"));
                let (parts, body) = service.call(req).await.into_parts();
                (parts, body, None)
            }
            Transport::Socket { addr } => {
                let addr = *addr;
                let (mut sender, connection) = connection::tcp(addr)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
                let mut req = builder
                    .body(http_body_util::Full::new(self.body))
                    .unwrap_or_else(|e| panic!("bad test request: {e}"));
                if let Ok(host) = HeaderValue::try_from(addr.to_string()) {
                    req.headers_mut().entry(HOST).or_insert(host);
                }
                let res = sender.send_request(req).await.unwrap_or_else(|e| panic!("request failed: {e}"));
                let (parts, body) = res.into_parts();
                (parts, Body::new(body), Some(connection))
            }
        }
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON. Panics with the body when it is not (a failed test).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not the expected JSON ({e}): {}", self.text()))
    }
}
