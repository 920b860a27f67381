//! Backpressure for routes: a concurrency limit that answers 503, and a timeout that answers 504.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};
use tokio::sync::Semaphore;

use super::route::{Endpoint, Route};
use crate::error::Error;
use crate::extract::Request;
use crate::handler::BoxFuture;
use crate::openapi::{document_error, DocContext, Operation};
use crate::response::{IntoResponse, Response};

/// At most `permits` requests run at once; up to `queue` more wait for a turn; the rest get
/// 503 with `Retry-After: 1`.
pub(crate) struct ConcurrencyLimit {
    pub(crate) inner: Route,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) queue: usize,
    pub(crate) waiting: Arc<AtomicUsize>,
}

fn overloaded() -> Response {
    Error::http(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        .with_header(RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response()
}

impl Endpoint for ConcurrencyLimit {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        let (inner, permits, queue, waiting) =
            (self.inner.clone(), self.permits.clone(), self.queue, self.waiting.clone());
        Box::pin(async move {
            let permit = match permits.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) if waiting.fetch_add(1, Ordering::SeqCst) < queue => {
                    let permit = permits.acquire_owned().await;
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    match permit {
                        Ok(permit) => permit,
                        Err(_) => return overloaded(),
                    }
                }
                Err(_) => {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    return overloaded();
                }
            };
            let res = inner.call(req).await;
            // The permit is held until the handler is done, not until the body is sent.
            drop(permit);
            res
        })
    }

    fn reads_deferred_errors(&self) -> bool {
        self.inner.reads_deferred_errors()
    }
}

/// A request whose handler takes longer than `after` gets 504 (the handler is dropped).
pub(crate) struct Timeout {
    pub(crate) inner: Route,
    pub(crate) after: Duration,
}

impl Endpoint for Timeout {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        let (fut, after) = (self.inner.call(req), self.after);
        Box::pin(async move {
            match tokio::time::timeout(after, fut).await {
                Ok(res) => res,
                Err(_) => Error::from_status(StatusCode::GATEWAY_TIMEOUT).into_response(),
            }
        })
    }

    fn reads_deferred_errors(&self) -> bool {
        self.inner.reads_deferred_errors()
    }
}

pub(crate) fn document_503(cx: &mut DocContext, op: &mut Operation) {
    document_error(cx, op, 503, "Too many requests in flight; retry after the Retry-After delay");
}

pub(crate) fn document_504(cx: &mut DocContext, op: &mut Operation) {
    document_error(cx, op, 504, "The handler took longer than the route's timeout");
}
