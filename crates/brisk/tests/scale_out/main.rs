//! Scale-out pieces of core: rate limits, the cache and the response cache, pub/sub, health
//! routes, the instance header and SO_REUSEPORT.

#[cfg(feature = "cache")]
mod cache;
mod health;
mod pubsub;
mod rate_limit;
mod reuse_port;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One GET over a fresh connection (`Connection: close`): the status line and the rest.
pub async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}
