//! [`ClientAddr`]: the address of the peer that sent the request.

use std::future::Future;
use std::net::SocketAddr;

use http::request::Parts;

use super::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::error::Error;

tokio::task_local! {
    /// The peer of the connection whose request is being answered: set by the server around
    /// each request's future (no allocation, nothing stored in the request).
    static PEER: SocketAddr;
}

/// The address of the TCP peer that sent the request: the client, or the proxy or load
/// balancer in front of the app (which usually names the client in `X-Forwarded-For`; a
/// battery that trusts such a header says so, as brisk-auth's login throttling can).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::extract::ClientAddr;
///
/// async fn whoami(ClientAddr(addr): ClientAddr) -> String {
///     format!("you are {}", addr.ip())
/// }
/// let app = App::new().route("/whoami", get(whoami));
/// ```
///
/// A request that did not come over a socket (an in-process test client) is answered 500, as
/// a missing state is; `Option<ClientAddr>` is `None` there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl ClientAddr {
    /// The peer of the request being answered on this task, if it came over a socket.
    pub fn current() -> Option<SocketAddr> {
        PEER.try_with(|peer| *peer).ok()
    }
}

/// Runs `answer` (one request's future) with `peer` as its [`ClientAddr`].
pub(crate) fn with_peer<F: Future>(peer: SocketAddr, answer: F) -> impl Future<Output = F::Output> {
    PEER.scope(peer, answer)
}

impl FromRequestParts for ClientAddr {
    async fn from_request_parts(_parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        ClientAddr::current()
            .map(ClientAddr)
            .ok_or_else(|| Error::internal("the request did not come over a socket: no client address"))
    }
}

impl OptionalFromRequestParts for ClientAddr {
    async fn from_request_parts(_parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        Ok(ClientAddr::current().map(ClientAddr))
    }
}

/// The peer is the server's to know: documents nothing.
impl crate::openapi::DescribeInput for ClientAddr {
    fn describe_input(_cx: &mut crate::openapi::DocContext, _op: &mut crate::openapi::Operation) {}
}
