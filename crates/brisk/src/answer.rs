//! The future of one request's answer: the endpoint's future under a panic guard, then the
//! answer finished (a HEAD answer loses its body, an error goes through the app's formatter)
//! and logged.
//!
//! A hand-written future rather than an `async` block: the block moved the 224-byte response
//! through five places on its way out (about a tenth of the `memcpy` a pipelined request costs);
//! here it is finished in place and moved once.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method};
use http_body::Body as _;

use crate::body::Body;
use crate::error::{render_error, rerender_error, vary_on_accept, Error, ErrorFormatter, Negotiation};
use crate::handler::BoxFuture;
use crate::response::{RenderedError, Response};

/// How an answer is finished: whether the request was a HEAD, and the app's own error
/// formatter (`None`: errors are already rendered the default way).
pub(crate) struct Finishing {
    pub(crate) head: bool,
    pub(crate) formatter: Option<Arc<dyn ErrorFormatter>>,
    /// The app's HTML error pages and the request's `Accept` (`None`: pages are off).
    pub(crate) pages: Option<Negotiation>,
}

/// What the access log line needs, taken before the request is handed on.
struct AccessLog {
    started: Instant,
    method: Method,
    path: String,
}

/// One request's answer; never fails (a panic becomes a 500).
pub(crate) struct Answer {
    inner: BoxFuture<'static, Response>,
    /// `None` when the answer comes finished already (from behind the app's layers).
    finishing: Option<Finishing>,
    /// Renders the 500 of a panic.
    formatter: Arc<dyn ErrorFormatter>,
    log: Option<Box<AccessLog>>,
    /// The error pages a panic's 500 may be rendered with, for an answer finished already
    /// (behind the app's layers); otherwise they are in `finishing`.
    pages: Option<Negotiation>,
}

impl Answer {
    /// The answer `inner` will give; `log_request` is `Some((arrived, method, path))` when
    /// access logging is on (taken before routing, so the latency logged counts it).
    pub(crate) fn new(
        inner: BoxFuture<'static, Response>,
        finishing: Option<Finishing>,
        formatter: Arc<dyn ErrorFormatter>,
        log_request: Option<(Instant, Method, String)>,
        pages: Option<Negotiation>,
    ) -> Self {
        let log = log_request.map(|(started, method, path)| Box::new(AccessLog { started, method, path }));
        Answer { inner, finishing, formatter, log, pages }
    }
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut res = match std::panic::catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(res)) => res,
            Err(panic) => {
                // The 500 is rendered by the app's formatter, or as a page for a browser; a HEAD
                // answer still loses its body.
                let finishing = this.finishing.take();
                let pages = finishing.as_ref().and_then(|f| f.pages.as_ref()).or(this.pages.as_ref());
                let error = Error::internal("handler panicked");
                let rendered =
                    pages.and_then(Negotiation::html_pages).map(|pages| pages.render(&error, None));
                let vary = pages.is_some();
                this.finishing = finishing.map(|f| Finishing { head: f.head, formatter: None, pages: None });
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic payload".to_owned());
                tracing::error!(target: "brisk::error", panic = %message, "handler panicked");
                let mut res = rendered.unwrap_or_else(|| render_error(this.formatter.as_ref(), &error));
                if vary {
                    vary_on_accept(&mut res);
                }
                res
            }
        };
        if let Some(finishing) = this.finishing.take() {
            finish(&mut res, finishing.head, finishing.formatter.as_deref(), finishing.pages.as_ref());
        }
        if let Some(log) = this.log.take() {
            tracing::info!(
                target: "brisk::access",
                method = %log.method,
                path = log.path,
                status = res.status().as_u16(),
                latency = ?log.started.elapsed(),
            );
        }
        Poll::Ready(Ok(res))
    }
}

/// A HEAD answer loses its body; an error is rendered as an HTML page for a browser (when the
/// app has pages), else by the app's formatter, if it has one.
pub(crate) fn finish(
    res: &mut Response,
    head: bool,
    formatter: Option<&dyn ErrorFormatter>,
    pages: Option<&Negotiation>,
) {
    let paged_error = pages.filter(|_| res.extensions().get::<RenderedError>().is_some());
    let paged = paged_error.is_some_and(|pages| pages.render_page(res));
    if let Some(formatter) = formatter.filter(|_| !paged) {
        if let Some(RenderedError(error)) = res.extensions_mut().remove::<RenderedError>() {
            let rendered = std::mem::replace(res, Response::new(Body::empty()));
            *res = rerender_error(formatter, &error, rendered);
        }
    }
    if paged_error.is_some() {
        vary_on_accept(res);
    }
    if head {
        strip_body(res);
    }
}

/// A HEAD answer: the GET answer's headers (with its length), no body.
fn strip_body(res: &mut Response) {
    if let Some(len) = res.body().size_hint().exact() {
        if !res.headers().contains_key(CONTENT_LENGTH) {
            res.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    *res.body_mut() = Body::empty();
}
