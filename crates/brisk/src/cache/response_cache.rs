//! [`ResponseCache`]: whole GET responses kept in the app's [`Cache`], so one process's work
//! serves every process when the cache is shared (Redis).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{AGE, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use super::handle::Cache;
use crate::body::Body;
use crate::extract::{Request, RequestContext};
use crate::handler::BoxFuture;
use crate::log_throttle::Throttle;
use crate::response::{IntoResponse, Response};
use crate::routing::Route;

/// The header saying whether the cache answered: `HIT` or `MISS`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The default largest body kept: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// A key longer than this is not cached (a query of that size is no one's hot page).
const MAX_KEY: usize = 2048;

/// A layer that caches whole responses of GET (and HEAD) routes for a time to live, in the
/// app's [`Cache`] (see [`App::cache`](crate::App::cache)): with brisk-redis's cache every
/// process serves what one of them made.
///
/// Needs feature `cache`.
///
/// ```
/// use std::time::Duration;
/// use brisk::prelude::*;
/// use brisk::cache::ResponseCache;
///
/// async fn prices() -> Json<Vec<u32>> { Json(vec![3, 5, 8]) }
///
/// let app = App::new().merge(
///     Router::new()
///         .route("/prices", get(prices))
///         .layer(ResponseCache::new(Duration::from_secs(30)).vary_by(["accept-language"])),
/// );
/// ```
///
/// On a single route: `get(prices).layer(ResponseCache::new(ttl))`.
///
/// ## What is cached
///
/// The key is the path, the query and the values of the [`vary_by`](ResponseCache::vary_by)
/// headers. A HEAD request is answered from GET's entry when there is one, and its answer is
/// never kept (it has no body). Only a `200` is kept, with a body of known length up
/// to [`max_body`](ResponseCache::max_body) (1 MiB; a stream is never buffered), and not when
///
/// - the request says `Cache-Control: no-store` (nothing is read or kept) or `no-cache` (a
///   fresh answer is made, and kept), or carries `Authorization`;
/// - the response says `Cache-Control` `no-store`, `no-cache` or `private`, sets a cookie
///   (`Set-Cookie`), or has a `Vary` header naming a header the key does not include (or `*`);
/// - the handler read the session (feature `sessions`): its answer is one visitor's.
///
/// Every answer the layer considered says `X-Cache: HIT` or `X-Cache: MISS`; a hit also has
/// `Age` (seconds since it was made). A cache that cannot be reached is skipped (and logged at
/// most once every 10 s, with how many requests it skipped since): the route
/// answers as if uncached, without `X-Cache` (brisk-redis's test stops Redis under a cached
/// route: 200s meanwhile, hits again once it is back).
///
/// Used as an app-wide layer ([`App::layer`](crate::App::layer)) the layer runs before
/// routing, but it still keeps responses in the app's cache: the app hands the layer its
/// cache as it is built (every route, and 404s and 405s, go through it then; only the `200`s
/// are kept). [`ResponseCache::with_cache`] picks another cache at either level.
///
/// ```
/// use std::time::Duration;
/// use brisk::prelude::*;
/// use brisk::cache::ResponseCache;
///
/// let app = App::new()
///     .route("/", get(|| async { "home" }))
///     .layer(ResponseCache::new(Duration::from_secs(30)));
/// ```
#[derive(Clone, Debug)]
pub struct ResponseCache {
    ttl: Duration,
    vary: Arc<[HeaderName]>,
    max_body: usize,
    cache: Option<Cache>,
}

impl ResponseCache {
    /// Keeps responses for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        ResponseCache { ttl, vary: Arc::from([]), max_body: DEFAULT_MAX_BODY, cache: None }
    }

    /// Adds these request headers to the key (`accept-language`, `accept`). A name that is
    /// not a valid header name is ignored.
    pub fn vary_by<'a>(mut self, headers: impl IntoIterator<Item = &'a str>) -> Self {
        let mut vary: Vec<HeaderName> = self.vary.to_vec();
        vary.extend(headers.into_iter().filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok()));
        self.vary = Arc::from(vary);
        self
    }

    /// The largest body kept (default 1 MiB); larger responses are served, not kept.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Keeps responses in `cache` instead of the app's.
    pub fn with_cache(mut self, cache: Cache) -> Self {
        self.cache = Some(cache);
        self
    }
}

impl<S> Layer<S> for ResponseCache {
    type Service = ResponseCacheService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // An app applies its app-wide layers as it is built, right after settling its cache
        // (see `building_app`): a layer applied then, which sees no request context at
        // request time, keeps responses in that app's cache.
        let building = if self.cache.is_none() {
            BUILDING_APP.with(|app| app.borrow().clone())
        } else {
            WeakCache::default()
        };
        ResponseCacheService { inner, config: self.clone(), building }
    }
}

/// An app's cache, weakly (the app's state holds it): a layer made outside an app's build
/// keeps no other app's cache alive.
#[derive(Clone, Default)]
struct WeakCache(Option<(std::sync::Weak<dyn super::backend::CacheBackend>, Arc<str>)>);

impl WeakCache {
    fn upgrade(&self) -> Option<Cache> {
        let (backend, prefix) = self.0.as_ref()?;
        Some(Cache::from_arc(backend.upgrade()?).with_prefix(prefix.as_ref()))
    }
}

impl std::fmt::Debug for WeakCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakCache").field("prefix", &self.0.as_ref().map(|(_, prefix)| prefix)).finish()
    }
}

thread_local! {
    static BUILDING_APP: std::cell::RefCell<WeakCache> = std::cell::RefCell::default();
}

/// Records `cache` as the cache of the app being built on this thread, for the app-wide
/// [`ResponseCache`] layers the build applies next (they run before routing, where no
/// request context says which app's cache to use).
pub(crate) fn building_app(cache: &Cache) {
    let weak = (Arc::downgrade(cache.backend()), Arc::from(cache.prefix()));
    BUILDING_APP.with(|app| *app.borrow_mut() = WeakCache(Some(weak)));
}

/// The service [`ResponseCache`] wraps a route in.
#[derive(Clone, Debug)]
pub struct ResponseCacheService<S> {
    inner: S,
    config: ResponseCache,
    /// The cache of the app this layer was applied in as it was built (app-wide layers).
    building: WeakCache,
}

impl Service<Request> for ResponseCacheService<Route> {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let inner = self.inner.clone();
        let cache = self
            .config
            .cache
            .clone()
            .or_else(|| req.extensions().get::<RequestContext>().and_then(|cx| cx.state::<Cache>().cloned()))
            .or_else(|| self.building.upgrade());
        if cache.is_none() {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    target: "brisk::cache",
                    "ResponseCache has no cache here (not applied by an App): give it one with ResponseCache::with_cache; answering uncached"
                );
            });
        }
        let plan = cache.and_then(|cache| plan(&self.config, &req).map(|(key, lookup)| (cache, key, lookup)));
        let Some((cache, key, lookup)) = plan else {
            return Box::pin(async move { Ok(inner.call(req).await) });
        };
        let (ttl, max_body, vary) = (self.config.ttl, self.config.max_body, self.config.vary.clone());
        // A HEAD answer has no body (the server drops it): it may be served from GET's entry,
        // but never kept, or later GETs would get its empty body.
        let head = req.method() == Method::HEAD;
        #[cfg(feature = "sessions")]
        let session = req.extensions().get::<crate::sessions::Session>().cloned();
        Box::pin(async move {
            let full_key = format!("{}{key}", cache.prefix());
            if lookup {
                match cache.backend().get(&full_key).await {
                    Ok(Some(bytes)) => {
                        if let Some(mut hit) = decode(&bytes) {
                            if head {
                                // The GET answer's head: its length, no body.
                                let len = hit.body().size_hint().exact().unwrap_or(0);
                                hit.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len));
                                *hit.body_mut() = Body::empty();
                            }
                            return Ok(hit);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // Every request says so while the cache is down: one line per 10 s.
                        static UNREACHABLE: Throttle = Throttle::new(Duration::from_secs(10));
                        if let Some(skipped) = UNREACHABLE.admit() {
                            tracing::warn!(target: "brisk::cache", error = %e, skipped, "response cache unreachable; answering uncached (said at most every 10 s; `skipped`: times since the last)");
                        }
                        return Ok(inner.call(req).await);
                    }
                }
            }
            let res = inner.call(req).await;
            if head {
                let mut res = res;
                res.headers_mut().insert(X_CACHE, HeaderValue::from_static("MISS"));
                return Ok(res);
            }
            // A handler that read the session answered for one visitor (the session layer
            // adds `Vary: Cookie` only after this layer has seen the response).
            #[cfg(feature = "sessions")]
            let personal = session.is_some_and(|session| session.is_loaded());
            #[cfg(not(feature = "sessions"))]
            let personal = false;
            let mut res = match keepable(res, personal, max_body, &vary).await {
                Ok((res, body)) => {
                    if let Err(e) = cache.backend().set(&full_key, encode(&res, &body), Some(ttl)).await {
                        static NOT_KEPT: Throttle = Throttle::new(Duration::from_secs(10));
                        if let Some(skipped) = NOT_KEPT.admit() {
                            tracing::warn!(target: "brisk::cache", error = %e, skipped, "could not keep a response (said at most every 10 s; `skipped`: times since the last)");
                        }
                    }
                    res.map(|()| Body::from(body))
                }
                Err(res) => res,
            };
            res.headers_mut().insert(X_CACHE, HeaderValue::from_static("MISS"));
            Ok(res)
        })
    }
}

/// The key of a cacheable request, and whether to look it up (`no-cache` skips the lookup);
/// `None` when the request bypasses the cache.
fn plan(config: &ResponseCache, req: &Request) -> Option<(String, bool)> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return None;
    }
    let directives = cache_control(req.headers());
    if directives.iter().any(|d| d == "no-store") || req.headers().contains_key(AUTHORIZATION) {
        return None;
    }
    let lookup = !directives.iter().any(|d| d == "no-cache");
    let mut key = String::from("resp:GET:");
    key.push_str(req.uri().path());
    if let Some(query) = req.uri().query() {
        key.push('?');
        key.push_str(query);
    }
    for name in config.vary.iter() {
        key.push('|');
        key.push_str(name.as_str());
        key.push('=');
        for value in req.headers().get_all(name) {
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
            key.push(',');
        }
    }
    (key.len() <= MAX_KEY).then_some((key, lookup))
}

/// The lowercased directives of every `Cache-Control` line (`max-age=0` as it is).
fn cache_control(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect()
}

/// The response's head and whole body when it may be kept; otherwise the response as it was.
async fn keepable(
    res: Response,
    personal: bool,
    max_body: usize,
    vary: &[HeaderName],
) -> Result<(http::Response<()>, Bytes), Response> {
    let refused = personal
        || res.status() != StatusCode::OK
        || res.headers().contains_key(SET_COOKIE)
        || cache_control(res.headers())
            .iter()
            .any(|d| d == "no-store" || d == "no-cache" || d == "private" || d.starts_with("private="))
        || !varies_within(res.headers(), vary)
        || res.body().size_hint().exact().is_none_or(|len| len > max_body as u64);
    if refused {
        return Err(res);
    }
    let (parts, body) = res.into_parts();
    match body.collect().await {
        Ok(collected) => Ok((http::Response::from_parts(parts, ()), collected.to_bytes())),
        // A body of known length that failed while in memory: answer the error as the route did.
        Err(e) => Err(crate::error::Error::internal(e).into_response()),
    }
}

/// Whether every header the response's `Vary` names is part of the key.
fn varies_within(headers: &HeaderMap, vary: &[HeaderName]) -> bool {
    headers.get_all(VARY).iter().all(|line| {
        line.to_str().is_ok_and(|line| {
            line.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .all(|name| name != "*" && vary.iter().any(|kept| kept.as_str().eq_ignore_ascii_case(name)))
        })
    })
}

const MAGIC: &[u8; 4] = b"brc1";

/// `brc1`, the time it was made (ms since the epoch), the status, the headers, the body.
fn encode(head: &http::Response<()>, body: &Bytes) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(64 + body.len());
    out.put_slice(MAGIC);
    out.put_u64(now_millis());
    out.put_u16(head.status().as_u16());
    let headers: Vec<_> =
        head.headers().iter().filter(|(name, _)| **name != X_CACHE && **name != AGE).collect();
    out.put_u32(headers.len() as u32);
    for (name, value) in headers {
        out.put_u16(name.as_str().len() as u16);
        out.put_slice(name.as_str().as_bytes());
        out.put_u32(value.len() as u32);
        out.put_slice(value.as_bytes());
    }
    out.put_slice(body);
    out.to_vec()
}

/// A kept response, answered as a hit; `None` when the bytes are not one (another version's).
fn decode(bytes: &[u8]) -> Option<Response> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let made = u64::from_be_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let status = StatusCode::from_u16(u16::from_be_bytes(take(&mut rest, 2)?.try_into().ok()?)).ok()?;
    let count = u32::from_be_bytes(take(&mut rest, 4)?.try_into().ok()?);
    let mut res = Response::new(Body::empty());
    for _ in 0..count {
        let len = u16::from_be_bytes(take(&mut rest, 2)?.try_into().ok()?);
        let name = HeaderName::from_bytes(take(&mut rest, len as usize)?).ok()?;
        let len = u32::from_be_bytes(take(&mut rest, 4)?.try_into().ok()?);
        let value = HeaderValue::from_bytes(take(&mut rest, len as usize)?).ok()?;
        res.headers_mut().append(name, value);
    }
    *res.status_mut() = status;
    *res.body_mut() = Body::from(Bytes::copy_from_slice(rest));
    let age = now_millis().saturating_sub(made) / 1000;
    res.headers_mut().insert(AGE, HeaderValue::from(age));
    res.headers_mut().insert(X_CACHE, HeaderValue::from_static("HIT"));
    Some(res)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
