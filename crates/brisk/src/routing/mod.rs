//! Routing: paths to endpoints.
//!
//! Paths use `{name}` for one segment and `{*rest}` for the remainder. Routers nest under a
//! prefix and merge; every route ends up in one flat table built once, when the app is built,
//! where two routes that could match the same path are refused with both named.
//!
//! A path can be named (`get(show).name("notes.detail")`) and its URL built from the name:
//! see [`UrlFor`] and [`UrlTo`].

mod formatted;
mod limits;
mod method;
mod names;
mod route;
mod table;

use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, ErrorFormatter};
use crate::extract::Request;
use crate::handler::Handler;

pub use method::{delete, get, head, options, patch, post, put, trace, MethodRouter};
pub use names::{RouteName, RouteNames, UrlError, UrlFor, UrlParams, UrlTo};
pub(crate) use route::Endpoint;
pub use route::Route;
pub(crate) use table::{param_names, Matched, RouteTable};

/// A set of routes, possibly with its own layers, to nest under a prefix or merge into an app.
///
/// ```
/// use brisk::prelude::*;
///
/// async fn stats() -> &'static str { "ok" }
///
/// let admin = Router::new().route("/stats", get(stats));
/// let app = App::new().nest("/admin", admin); // GET /admin/stats
/// ```
#[derive(Clone, Default)]
pub struct Router {
    pub(crate) routes: Vec<(String, MethodRouter)>,
    pub(crate) fallback: Option<Route>,
    pub(crate) errors: Vec<String>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds the endpoints of `methods` at `path`. Adding to a path twice merges the methods;
    /// the same method twice is refused when the app is built.
    pub fn route(mut self, path: &str, methods: MethodRouter) -> Self {
        if !path.starts_with('/') {
            self.errors.push(format!("route path `{path}` must start with `/`"));
            return self;
        }
        if let Some(existing) = self.routes.iter_mut().find(|(p, _)| p == path) {
            let current = std::mem::take(&mut existing.1);
            existing.1 = current.merge(methods, path);
        } else {
            self.routes.push((path.to_owned(), methods));
        }
        self
    }

    /// Mounts every route of `router` under `prefix` (`/admin` + `/stats` = `/admin/stats`;
    /// the nested `/` becomes `/admin`). The nested router's layers stay on its routes.
    pub fn nest(mut self, prefix: &str, router: Router) -> Self {
        if !prefix.starts_with('/') || prefix.ends_with('/') {
            self.errors.push(format!("nest prefix `{prefix}` must start with `/` and not end with `/`"));
            return self;
        }
        self.errors.extend(router.errors);
        for (path, methods) in router.routes {
            let full = if path == "/" { prefix.to_owned() } else { format!("{prefix}{path}") };
            self = self.route(&full, methods);
        }
        self
    }

    /// Adds every route of `other` (and its fallback, if this router has none).
    pub fn merge(mut self, other: Router) -> Self {
        self.errors.extend(other.errors);
        for (path, methods) in other.routes {
            self = self.route(&path, methods);
        }
        if self.fallback.is_none() {
            self.fallback = other.fallback;
        }
        self
    }

    /// Answers requests no route matches (instead of 404 `{"detail": "Not Found"}`).
    pub fn fallback<H: Handler<T>, T: 'static>(mut self, handler: H) -> Self {
        self.fallback = Some(Route::from_handler(handler));
        self
    }

    /// Resolves dependency `D` for every route added so far, before their handlers run (its
    /// value is cached for handlers that ask for it; its failure answers instead). When its
    /// inputs fail validation, the 422 also lists the handler's arguments' failures, as FastAPI
    /// does (the handler does not run); see [`crate::depends`]. So the handler's extractors
    /// still run then — its body is read, its own `Depends` are resolved — before the 422: a
    /// dependency that must stop a request before any of that (an API key) answers its error
    /// from `provide` (a 401 or 403 there answers at once).
    pub fn dependency<D: crate::depends::Dependency>(self) -> Self {
        self.map_all(&mut |route: Route| route.with_dependency::<D>())
    }

    /// Lets at most `permits` requests run at once on each route added so far (each route has
    /// its own limit); up to `queue` more wait, the rest get 503 with `Retry-After`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// async fn generate() -> &'static str { "tokens" }
    /// let model = Router::new().route("/generate", post(generate)).concurrency_limit(4, 16);
    /// ```
    pub fn concurrency_limit(self, permits: usize, queue: usize) -> Self {
        self.map_all(&mut |route: Route| {
            let endpoint = limits::ConcurrencyLimit {
                inner: route.clone(),
                permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
                queue,
                waiting: std::sync::Arc::default(),
            };
            route.wrapped(endpoint, limits::document_503)
        })
    }

    /// Limits every route added so far with `limit`: past its quota a client gets 429 with
    /// `Retry-After`, and every answer of a limited route carries the `RateLimit-*` headers.
    /// The routes share one budget; the count is kept in the app's store (see
    /// [`App::rate_limit_store`](crate::App::rate_limit_store) and [`crate::rate_limit`]).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::rate_limit::RateLimit;
    /// async fn generate() -> &'static str { "tokens" }
    /// let model = Router::new().route("/generate", post(generate)).rate_limit(RateLimit::per_minute(10));
    /// ```
    pub fn rate_limit(self, limit: crate::rate_limit::RateLimit) -> Self {
        let limit = std::sync::Arc::new(limit);
        self.map_all(&mut |route: Route| crate::rate_limit::wrap(route, &limit))
    }

    /// Renders the errors of every route added so far with `formatter` instead of the app's
    /// (see [`App::error_formatter`](crate::App::error_formatter)), and documents their error
    /// responses with its [`error_schema`](ErrorFormatter::error_schema): every error those
    /// routes answer — their extractors', validation's, handlers', and those of the limits and
    /// dependencies around them (the app's included), with the headers they carry.
    /// An OpenAI-compatible router answers in OpenAI's shape while the rest of the app keeps
    /// FastAPI's:
    ///
    /// ```
    /// use brisk::error::OpenAiFormatter;
    /// use brisk::prelude::*;
    /// async fn models() -> &'static str { "[]" }
    /// let openai = Router::new().route("/v1/models", get(models)).error_formatter(OpenAiFormatter);
    /// ```
    ///
    /// Errors answered outside the routes (404 for an unknown path, 405, a panic's 500) keep
    /// the app's formatter, and these routes' errors are not turned into HTML pages for
    /// browsers.
    pub fn error_formatter<F: ErrorFormatter>(self, formatter: F) -> Self {
        let formatter: std::sync::Arc<dyn ErrorFormatter> = std::sync::Arc::new(formatter);
        self.map_all(&mut |route: Route| route.with_formatter(formatter.clone(), formatted::document::<F>))
    }

    /// Puts each route that has its own error formatter behind it, outermost (the app does
    /// this when it is built, after its own dependencies are wrapped around the routes).
    pub(crate) fn apply_error_formatters(self) -> Self {
        self.map_all(&mut |route: Route| route.outermost_formatter())
    }

    /// Answers 504 when a handler of a route added so far takes longer than `after` (the
    /// handler is dropped, so its work stops).
    pub fn timeout(self, after: std::time::Duration) -> Self {
        self.map_all(&mut |route: Route| {
            route.wrapped(limits::Timeout { inner: route.clone(), after }, limits::document_504)
        })
    }

    fn map_all(mut self, wrap: &mut impl FnMut(Route) -> Route) -> Self {
        self.routes = std::mem::take(&mut self.routes)
            .into_iter()
            .map(|(path, methods)| (path, methods.map_routes(wrap)))
            .collect();
        self
    }

    /// Leaves every route added so far out of the OpenAPI document when `include` is false
    /// (FastAPI's `include_in_schema=False`): HTML pages, an admin, anything that is not the
    /// API. They are served as any route.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// async fn page() -> Html<&'static str> { Html("<h1>Hi</h1>") }
    /// let app = App::new().merge(Router::new().route("/page", get(page)).include_in_schema(false));
    /// assert!(app.openapi().unwrap().paths.get("/page").is_none());
    /// ```
    pub fn include_in_schema(mut self, include: bool) -> Self {
        for (_, methods) in &mut self.routes {
            methods.hidden = !include;
        }
        self
    }

    /// Adds an OpenAPI tag to every route added so far (they group the docs UI).
    pub fn tag(mut self, tag: &str) -> Self {
        for (_, methods) in &mut self.routes {
            methods.tags.push(tag.to_owned());
        }
        self
    }

    /// Wraps every route added so far (and the fallback) in a tower layer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use brisk::prelude::*;
    ///
    /// async fn slow() -> &'static str { "done" }
    /// let api = Router::new()
    ///     .route("/slow", get(slow))
    ///     .layer(tower_http::timeout::TimeoutLayer::with_status_code(
    ///         brisk::http::StatusCode::REQUEST_TIMEOUT,
    ///         Duration::from_secs(5),
    ///     ));
    /// ```
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: Layer<Route>,
        L::Service: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut wrap = |route: Route| Route::from_service(layer.layer(route.clone())).with_doc_of(&route);
        self.fallback = self.fallback.take().map(&mut wrap);
        self.map_all(&mut wrap)
    }
}
