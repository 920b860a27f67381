//! HTTP/1.1 connections for the test client: over TCP to a served app, or over an in-memory
//! pipe to an app served in process by hyper (so that a WebSocket upgrade has a connection to
//! take over).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

use crate::error::BoxError;

/// How much an in-memory pipe holds in each direction before a writer waits for the reader.
#[cfg(feature = "ws")]
const PIPE_CAPACITY: usize = 64 * 1024;

/// The tasks that drive one test connection. Dropping it ends the connection at once, so the
/// server sees the client leave (an event stream it was sending stops).
pub(crate) struct Connection {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What sends requests on a connection.
pub(crate) type Sender = SendRequest<Full<Bytes>>;

/// A connection to the app served at `addr`.
pub(crate) async fn tcp(addr: SocketAddr) -> Result<(Sender, Connection), BoxError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    client(stream, Vec::new()).await
}

/// A connection to `service` over an in-memory pipe, its server side being hyper's HTTP/1.1
/// connection with upgrades, as in the real server (without its timeouts and limits).
#[cfg(feature = "ws")]
pub(crate) async fn pipe(service: &crate::app::AppService) -> Result<(Sender, Connection), BoxError> {
    let (client_io, server_io) = tokio::io::duplex(PIPE_CAPACITY);
    let service = service.clone();
    let hyper_service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let answer = service.call(req.map(|body| crate::body::Body::incoming(body, None)));
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    });
    let server = tokio::spawn(async move {
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_io), hyper_service)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(target: "brisk::testing", error = %e, "in-process connection ended with an error");
        }
    });
    client(client_io, vec![server]).await
}

async fn client<I>(io: I, mut tasks: Vec<JoinHandle<()>>) -> Result<(Sender, Connection), BoxError>
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(io)).await {
        Ok(pair) => pair,
        Err(e) => {
            // Ends the in-process server side too.
            drop(Connection { tasks });
            return Err(e.into());
        }
    };
    tasks.push(tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(target: "brisk::testing", error = %e, "test connection ended with an error");
        }
    }));
    Ok((sender, Connection { tasks }))
}
