//! The rate-limited endpoint: asks the app's store about each request, answers 429 when it
//! is refused, and adds the `RateLimit-*` headers to every answer it limits.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::limit::RateLimit;
use super::memory::MemoryRateLimits;
use super::store::{Decision, RateLimitStore};
use crate::error::Error;
use crate::extract::{Request, RequestContext};
use crate::handler::BoxFuture;
use crate::openapi::{document_error, DocContext, Operation};
use crate::response::{IntoResponse, Response};
use crate::routing::{Endpoint, Route};

/// The app's store, as it is kept in the app's state.
pub(crate) type SharedStore = Arc<dyn RateLimitStore>;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

pub(crate) struct Limited {
    pub(crate) inner: Route,
    pub(crate) limit: Arc<RateLimit>,
}

/// The store a request is checked against: the app's, else (a route served outside an app)
/// one store for the process.
fn store_of(cx: Option<&RequestContext>) -> SharedStore {
    static FALLBACK: OnceLock<SharedStore> = OnceLock::new();
    match cx.and_then(|cx| cx.state::<SharedStore>()) {
        Some(store) => store.clone(),
        None => FALLBACK.get_or_init(|| Arc::new(MemoryRateLimits::new())).clone(),
    }
}

impl Limited {
    fn limited(&self, req: Request, cx: Option<RequestContext>) -> BoxFuture<'static, Response> {
        let (parts, body) = req.into_parts();
        let key = self.limit.key_of(&parts);
        let req = Request::from_parts(parts, body);
        let inner = self.inner.clone();
        let Some(key) = key else {
            return match cx {
                Some(cx) => inner.call_with(req, cx),
                None => inner.call(req),
            };
        };
        let store = store_of(cx.as_ref().or_else(|| req.extensions().get::<RequestContext>()));
        let limit = self.limit.clone();
        Box::pin(async move {
            let decision = match store.check(&key, limit.quota).await {
                Ok(decision) => decision,
                Err(e) => return store_failed(e).into_response(),
            };
            if !decision.allowed {
                let mut refused = Error::http(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
                    .with_header(RETRY_AFTER, seconds(decision.retry_after));
                for (name, value) in headers(&limit, &decision) {
                    refused = refused.with_header(name, value);
                }
                return refused.into_response();
            }
            let mut res = match cx {
                Some(cx) => inner.call_with(req, cx).await,
                None => inner.call(req).await,
            };
            add_headers(res.headers_mut(), &limit, &decision);
            res
        })
    }
}

impl Endpoint for Limited {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        self.limited(req, None)
    }

    fn call_with(&self, req: Request, cx: RequestContext) -> BoxFuture<'static, Response> {
        self.limited(req, Some(cx))
    }

    /// An allowed request reaches the inner route unchanged: a dependency's deferred 422 is
    /// still read there.
    fn reads_deferred_errors(&self) -> bool {
        self.inner.reads_deferred_errors()
    }
}

/// A store that could not decide: 503, keeping a backend's own `Retry-After`.
fn store_failed(e: Error) -> Error {
    if e.status() == StatusCode::SERVICE_UNAVAILABLE
        && e.headers().is_some_and(|h| h.contains_key(RETRY_AFTER))
    {
        return e;
    }
    tracing::warn!(target: "brisk::rate_limit", error = %e, "the rate-limit store failed");
    Error::unavailable(Duration::from_secs(1))
}

/// Whole seconds, rounded up (a client that waits that long is allowed).
fn seconds(d: Duration) -> HeaderValue {
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    HeaderValue::from(whole)
}

/// The IETF draft's headers (draft-ietf-httpapi-ratelimit-headers-07): the quota, what is
/// left of it, seconds until it is whole again, and the policy (`10;w=60`).
fn headers(limit: &RateLimit, decision: &Decision) -> [(HeaderName, HeaderValue); 4] {
    [
        (LIMIT, HeaderValue::from(limit.quota.limit())),
        (REMAINING, HeaderValue::from(decision.remaining)),
        (RESET, seconds(decision.reset_after)),
        (POLICY, limit.policy.clone()),
    ]
}

fn add_headers(map: &mut HeaderMap, limit: &RateLimit, decision: &Decision) {
    for (name, value) in headers(limit, decision) {
        map.insert(name, value);
    }
}

/// The 429 on a limited route's operation.
pub(crate) fn document_429(cx: &mut DocContext, op: &mut Operation) {
    document_error(cx, op, 429, "Too many requests: retry after the Retry-After delay (in seconds)");
}

/// `route` behind `limit`.
pub(crate) fn wrap(route: Route, limit: &Arc<RateLimit>) -> Route {
    route.wrapped(Limited { inner: route.clone(), limit: limit.clone() }, document_429)
}
