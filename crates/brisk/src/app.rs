//! [`App`]: routes, state, layers, lifespan and limits, built once into an [`AppService`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use http::header::ALLOW;
use http::{Method, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::answer::{finish, Answer, Finishing};
use crate::background::TaskTracker;
use crate::body::MinBodyRate;
use crate::depends::{Dependency, Overrides};
use crate::error::{BoxError, Error, ErrorFormatter};
use crate::extract::{PathParams, Request, RequestContext, StateMap};
use crate::handler::{BoxFuture, Handler};
use crate::openapi::{build_document, docs_router, DocsConfig, OpenApi, Server};
use crate::response::{IntoResponse, Response};
use crate::routing::{Matched, MethodRouter, Route, RouteTable, Router};

/// The default request body limit: 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

type LayerFn = Box<dyn FnOnce(Route) -> Route + Send>;
type Hook = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

fn boxed_hook<F, Fut>(hook: F) -> Hook
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    Box::new(move || Box::pin(hook()))
}

/// Server settings an app carries to [`App::serve`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long in-flight requests may take to finish after a shutdown signal (default 30 s).
    pub drain_timeout: Duration,
    /// How long a client may take to send a request head (default 10 s); slower ones are cut.
    /// Also the idle timeout: HTTP/1.1 keep-alive, and HTTP/2 with no request in flight.
    pub header_read_timeout: Duration,
    /// Most headers in a request (default 100); more is a 431.
    pub max_headers: usize,
    /// The slowest a request body may arrive (default 240 B/s after 5 s); `None`: no floor.
    pub min_body_rate: Option<MinBodyRate>,
    /// How long the server keeps accepting connections after a shutdown signal, with
    /// `/healthz` answering 503, before it closes the port and drains (default 0): time for a
    /// load balancer that polls `/healthz` to stop sending requests. See [`crate::health`].
    pub shutdown_grace: Duration,
    /// Bind with `SO_REUSEPORT` (unix), so that several processes serve one port and the
    /// kernel spreads connections among them (default false; `BRISK_REUSE_PORT=1` with
    /// [`run`](crate::run)).
    pub reuse_port: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            drain_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_headers: 100,
            min_body_rate: Some(MinBodyRate::default()),
            shutdown_grace: Duration::ZERO,
            reuse_port: false,
        }
    }
}

/// A brisk application.
///
/// ```no_run
/// use brisk::prelude::*;
///
/// async fn hello() -> &'static str {
///     "Hello, World!"
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), brisk::ServeError> {
///     App::new().route("/", get(hello)).serve("127.0.0.1:8000").await
/// }
/// ```
pub struct App {
    router: Router,
    state: StateMap,
    layers: Vec<LayerFn>,
    body_limit: usize,
    redirect_trailing_slash: bool,
    formatter: Option<Arc<dyn ErrorFormatter>>,
    docs: DocsConfig,
    dependencies: Vec<fn(Router) -> Router>,
    overrides: Overrides,
    pub(crate) config: ServerConfig,
    pub(crate) startup: Vec<Hook>,
    pub(crate) shutdown: Vec<Hook>,
    #[cfg(feature = "cli")]
    pub(crate) commands: Vec<Arc<dyn crate::cli::Command>>,
    #[cfg(feature = "cli")]
    pub(crate) checks: Vec<crate::cli::SystemCheck>,
    /// Sessions and CSRF, applied when the app is built: see [`crate::sessions`].
    #[cfg(feature = "sessions")]
    pub(crate) sessions: crate::sessions::AppSessions,
    /// Templates, route names and error pages: see [`crate::web`].
    pub(crate) web: crate::web::WebSetup,
    /// Health routes and readiness checks: see [`crate::health`].
    pub(crate) health: crate::health::HealthSetup,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    /// An app with no routes.
    pub fn new() -> Self {
        App {
            router: Router::new(),
            state: StateMap::default(),
            layers: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            redirect_trailing_slash: false,
            formatter: None,
            docs: DocsConfig::default(),
            dependencies: Vec::new(),
            overrides: Overrides::default(),
            config: ServerConfig::default(),
            startup: Vec::new(),
            shutdown: Vec::new(),
            #[cfg(feature = "cli")]
            commands: Vec::new(),
            #[cfg(feature = "cli")]
            checks: Vec::new(),
            #[cfg(feature = "sessions")]
            sessions: Default::default(),
            web: crate::web::WebSetup::default(),
            health: Default::default(),
        }
    }

    /// Adds endpoints at `path` (`/items/{item_id}`, `/files/{*path}`).
    pub fn route(mut self, path: &str, methods: MethodRouter) -> Self {
        self.router = self.router.route(path, methods);
        self
    }

    /// Mounts a router under `prefix`; its routes keep their own layers.
    pub fn nest(mut self, prefix: &str, router: Router) -> Self {
        self.router = self.router.nest(prefix, router);
        self
    }

    /// Adds every route of `router`.
    pub fn merge(mut self, router: Router) -> Self {
        self.router = self.router.merge(router);
        self
    }

    /// Answers requests no route matches (instead of 404 `{"detail": "Not Found"}`).
    pub fn fallback<H: Handler<T>, T: 'static>(mut self, handler: H) -> Self {
        self.router = self.router.fallback(handler);
        self
    }

    /// Adds a value handlers read with [`State<T>`](crate::State); one per type.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The state of type `T` added so far, if any: how a battery finds what another installed
    /// before it (brisk-auth finds brisk-orm's database for its commands).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().with_state(42u32);
    /// assert_eq!(app.state::<u32>(), Some(&42));
    /// assert_eq!(app.state::<String>(), None);
    /// ```
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.state.get::<T>()
    }

    /// Wraps the whole app (every route, 404s and 405s too) in any tower layer.
    /// Layers added later wrap those added earlier.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().layer(tower_http::cors::CorsLayer::permissive());
    /// ```
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Send + 'static,
        L::Service: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers.push(Box::new(move |route| Route::from_service(layer.layer(route))));
        self
    }

    /// The largest request body any route accepts unless it sets its own (default 2 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Redirects a path that matches no route to the same path with the trailing slash
    /// added or removed, when that one is routed: `/items/` to `/items` and `/items` to
    /// `/items/`, with the query string kept. **Off by default.**
    ///
    /// The answer is `307 Temporary Redirect`, as FastAPI's: the client repeats the same
    /// method with the same body (a `POST` stays a `POST`, where 301/302 let clients turn it
    /// into a `GET`), and nothing caches it for good (a 308 would outlive a later change to
    /// the routes in every browser that saw it).
    ///
    /// Why off by default, unlike FastAPI: routing stays exact, one URL per operation as the
    /// OpenAPI document lists it; an API client that calls the wrong form learns it from a
    /// 404 instead of a redirect that many HTTP clients do not follow for a `POST`; and nothing
    /// about a miss depends on which other paths exist. Turn it on for a FastAPI app's clients
    /// or for pages people type. It only costs anything on a miss (one more lookup), and it
    /// runs before the [fallback](App::fallback).
    ///
    /// A redirect is never made to a path that starts with `//` or `/\` (browsers read
    /// `Location: //evil.example` as another host): `//evil.example/` stays a 404.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::testing::TestClient;
    ///
    /// async fn items() -> &'static str {
    ///     "items"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = App::new().route("/items", get(items)).redirect_trailing_slash(true);
    /// let client = TestClient::new(app);
    /// let res = client.get("/items/?page=2").send().await;
    /// assert_eq!(res.status(), 307);
    /// assert_eq!(res.header("location"), Some("/items?page=2"));
    /// # }
    /// ```
    pub fn redirect_trailing_slash(mut self, on: bool) -> Self {
        self.redirect_trailing_slash = on;
        self
    }

    /// Replaces how errors are rendered (FastAPI's JSON by default).
    pub fn error_formatter(mut self, formatter: impl ErrorFormatter) -> Self {
        self.formatter = Some(Arc::new(formatter));
        self
    }

    /// How long in-flight requests may run after a shutdown signal (default 30 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.drain_timeout = timeout;
        self
    }

    /// How long a client may take to send a request head (default 10 s). The same timeout
    /// closes idle connections: a new one that sends nothing, an HTTP/1.1 keep-alive connection
    /// waiting for its next request, and an HTTP/2 connection with no request in flight (it gets
    /// GOAWAY, then is closed a second later if the client keeps it open).
    ///
    /// ```
    /// use std::time::Duration;
    /// let app = brisk::App::new().header_read_timeout(Duration::from_secs(30));
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// The slowest a request body may arrive (default: 240 bytes per second of waiting, after
    /// 5 s of grace, as ASP.NET Core's Kestrel); a slower client gets a 408 and its connection
    /// closed. Only time spent waiting on the client counts, not time the handler spends
    /// between reads. `None` turns the floor off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use brisk::prelude::*;
    /// use brisk::body::MinBodyRate;
    ///
    /// let app = App::new().min_body_rate(Some(MinBodyRate { bytes_per_second: 1024, grace: Duration::from_secs(2) }));
    /// ```
    pub fn min_body_rate(mut self, rate: Option<MinBodyRate>) -> Self {
        self.config.min_body_rate = rate;
        self
    }

    /// How long the server keeps accepting connections after a shutdown signal, with
    /// `/healthz` answering 503, before it stops accepting and drains (default 0). Behind a
    /// balancer that polls `/healthz` every 2 s, 5 s lets it notice the process is leaving
    /// before connections are refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// let app = brisk::App::new().health_routes().shutdown_grace(Duration::from_secs(5));
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// Binds with `SO_REUSEPORT` in [`App::serve`] (unix only; elsewhere binding fails), so
    /// that several processes serve one port without a balancer, the kernel spreading new
    /// connections among them. [`run`](crate::run) turns it on with `BRISK_REUSE_PORT=1`.
    ///
    /// ```
    /// let app = brisk::App::new().reuse_port(true);
    /// ```
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.config.reuse_port = reuse;
        self
    }

    /// Runs `hook` before the server accepts its first connection; an error stops the start.
    pub fn on_startup<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.startup.push(boxed_hook(hook));
        self
    }

    /// Runs `hook` after the server has drained, on graceful shutdown.
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.shutdown.push(boxed_hook(hook));
        self
    }

    /// Resolves dependency `D` for every route of the app (including routes added later),
    /// before their handlers run; its failure answers instead.
    pub fn dependency<D: Dependency>(mut self) -> Self {
        self.dependencies.push(|router| router.dependency::<D>());
        self
    }

    /// Replaces dependency `D` with the value `factory` makes, on every request (for tests).
    ///
    /// ```
    /// use brisk::prelude::*;
    ///
    /// #[derive(Clone)]
    /// struct CurrentUser(String);
    /// impl Dependency for CurrentUser {
    ///     type Inputs = ();
    ///     async fn provide(_: (), _: &Scope) -> Result<Self> {
    ///         Err(Error::http(StatusCode::UNAUTHORIZED, "Not authenticated"))
    ///     }
    /// }
    ///
    /// let app = App::new().override_dependency(|| CurrentUser("alice".into()));
    /// ```
    pub fn override_dependency<D: Dependency>(
        mut self,
        factory: impl Fn() -> D + Send + Sync + 'static,
    ) -> Self {
        self.overrides.insert(factory);
        self
    }

    fn routes(&self) -> Router {
        self.dependencies
            .iter()
            .fold(self.router.clone(), |router, apply| apply(router))
            .apply_error_formatters()
    }

    /// The API's title in the OpenAPI document and the docs pages (default `brisk`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.docs.info.title = title.into();
        self
    }

    /// The API's version in the OpenAPI document (default `0.1.0`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.docs.info.version = version.into();
        self
    }

    /// The API's description (Markdown) in the OpenAPI document.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.docs.info.description = Some(description.into());
        self
    }

    /// Lists a server (`https://api.example.com`, or a relative `/api`) in the document.
    pub fn server(mut self, url: impl Into<String>, description: Option<&str>) -> Self {
        self.docs.servers.push(Server { url: url.into(), description: description.map(str::to_owned) });
        self
    }

    /// Where the OpenAPI document is served (default `/openapi.json`); `None` serves no
    /// document and no docs pages.
    pub fn openapi_url(mut self, url: Option<&str>) -> Self {
        self.docs.openapi_url = url.map(str::to_owned);
        self
    }

    /// Where Swagger UI is served (default `/docs`); `None` switches it off.
    ///
    /// Needs feature `docs-ui` (a default feature) for the page's files: without it the page is
    /// served but its scripts and styles are not.
    pub fn docs_url(mut self, url: Option<&str>) -> Self {
        self.docs.docs_url = url.map(str::to_owned);
        self
    }

    /// Puts WebSocket routes in the OpenAPI document (their handshake: `101 Switching
    /// Protocols`, the 403 of a refused `Origin`). Off by default, as in FastAPI: what follows
    /// the handshake is not HTTP, so generic tools (client generators, fuzzers such as
    /// schemathesis) cannot call those operations.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::ws::{WebSocketResponse, WebSocketUpgrade};
    /// async fn echo(ws: WebSocketUpgrade) -> WebSocketResponse {
    ///     ws.on_upgrade(|_socket| async {})
    /// }
    /// let app = App::new().route("/ws", get(echo));
    /// assert!(app.openapi().unwrap().paths.get("/ws").is_none());
    /// let app = App::new().route("/ws", get(echo)).document_websockets(true);
    /// assert!(app.openapi().unwrap().paths["/ws"]["get"]["responses"].get("101").is_some());
    /// ```
    pub fn document_websockets(mut self, document: bool) -> Self {
        self.docs.websockets = document;
        self
    }

    /// Where ReDoc is served (default `/redoc`); `None` switches it off.
    ///
    /// Needs feature `docs-ui` (a default feature) for the page's script: without it the page
    /// is served but its script is not.
    pub fn redoc_url(mut self, url: Option<&str>) -> Self {
        self.docs.redoc_url = url.map(str::to_owned);
        self
    }

    /// The OpenAPI 3.1 document, without starting a server (snapshot-test your API with it).
    /// Fails like [`App::build`] when a route cannot be documented truthfully.
    pub fn openapi(&self) -> Result<OpenApi, BuildError> {
        build_document(&self.routes(), &self.docs, &|id| self.state.contains(id) || provided_at_build(id))
            .map_err(BuildError)
    }

    /// Compiles the routes into one table, documents them, and applies the layers. Conflicting
    /// routes, path parameters no extractor reads, duplicate operation ids ... are refused here,
    /// all of them named in the error.
    pub fn build(self) -> Result<AppService, BuildError> {
        self.into_parts().map(|(service, _)| service)
    }

    pub(crate) fn into_parts(mut self) -> Result<(AppService, Lifespan), BuildError> {
        #[cfg(feature = "sessions")]
        {
            self = crate::sessions::apply(self)?;
        }
        if !self.overrides.is_empty() {
            self.state.insert(std::mem::take(&mut self.overrides));
        }
        crate::rate_limit::default_store(&mut self.state);
        crate::pubsub::default_broker(&mut self.state);
        #[cfg(feature = "cache")]
        crate::cache::default_cache(&mut self.state);
        let health = std::mem::take(&mut self.health);
        let routes = crate::health::apply(health, self.routes(), &mut self.state);
        let (docs, mut problems) = match self.openapi() {
            Ok(doc) => match docs_router(&self.docs, &doc) {
                Ok(docs) => (docs, Vec::new()),
                Err(e) => (Router::new(), vec![e]),
            },
            Err(BuildError(problems)) => (Router::new(), problems),
        };
        let pages = crate::web::assemble(&mut self.web, &routes, &mut self.state, &mut problems);
        let table = match RouteTable::build(routes.merge(docs)) {
            Ok(table) if problems.is_empty() => table,
            Ok(_) => return Err(BuildError(problems)),
            Err(mut more) => {
                problems.append(&mut more);
                return Err(BuildError(problems));
            }
        };
        let core = Arc::new(Core {
            table,
            tasks: Arc::default(),
            state: Arc::new(self.state),
            body_limit: self.body_limit,
            redirect_trailing_slash: self.redirect_trailing_slash,
            formatter: self.formatter.clone(),
            pages,
        });
        let layered = if self.layers.is_empty() {
            None
        } else {
            let mut route = Route::from_service(Dispatcher(core.clone()));
            for wrap in self.layers {
                route = wrap(route);
            }
            Some(route)
        };
        let formatter = self.formatter.unwrap_or_else(|| Arc::new(crate::error::FastApiFormatter));
        let service = AppService { core, layered, formatter };
        let lifespan = Lifespan { config: self.config, startup: self.startup, shutdown: self.shutdown };
        Ok((service, lifespan))
    }
}

/// Whether the app's build provides state of this type when the app was given none: the
/// cache, the broker and the rate-limit store have defaults (`State<Cache>` is documented
/// before the default exists).
fn provided_at_build(id: std::any::TypeId) -> bool {
    use std::any::TypeId;
    #[cfg(feature = "cache")]
    if id == TypeId::of::<crate::cache::Cache>() {
        return true;
    }
    id == TypeId::of::<crate::pubsub::PubSub>()
        || id == TypeId::of::<Arc<dyn crate::rate_limit::RateLimitStore>>()
}

/// The parts of an app the server runs around the service.
pub(crate) struct Lifespan {
    pub(crate) config: ServerConfig,
    pub(crate) startup: Vec<Hook>,
    pub(crate) shutdown: Vec<Hook>,
}

/// Why an app refused to build: every problem found, one per line. Its `Debug` is its
/// sentence too, for `fn main() -> Result<...>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BuildError(pub Vec<String>);

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the app has {} problem(s):", self.0.len())?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

struct Core {
    table: RouteTable,
    tasks: Arc<TaskTracker>,
    state: Arc<StateMap>,
    body_limit: usize,
    /// See [`App::redirect_trailing_slash`].
    redirect_trailing_slash: bool,
    formatter: Option<Arc<dyn ErrorFormatter>>,
    /// HTML error pages for browsers (`None`: switched off).
    pages: Option<Arc<crate::error::ErrorPages>>,
}

impl Core {
    /// Finds the endpoint and starts it. Routing happens here, before any future exists, so
    /// what the request's future holds is the endpoint's boxed future and little else.
    fn start(&self, req: Request) -> BoxFuture<'static, Response> {
        let error = match self.table.at(req.uri().path()) {
            Matched::Route { methods, allow, params } => match methods.route_for(req.method()) {
                Some(route) => {
                    let limit = methods.body_limit.unwrap_or(self.body_limit);
                    let cx = RequestContext::new(self.state.clone(), params, limit, self.tasks.clone());
                    return route.call_with(req, cx);
                }
                None => Error::from_status(StatusCode::METHOD_NOT_ALLOWED).with_header(ALLOW, allow.clone()),
            },
            Matched::BadParam(error) => error,
            Matched::None if self.redirect_trailing_slash => match self.slash_redirect(req.uri()) {
                Some(location) => return Box::pin(std::future::ready(slash_redirect_response(location))),
                None => return self.fallback_or_404(req),
            },
            Matched::None => return self.fallback_or_404(req),
        };
        Box::pin(std::future::ready(error.into_response()))
    }

    /// The app's fallback route for a path no route matched, or a 404.
    fn fallback_or_404(&self, req: Request) -> BoxFuture<'static, Response> {
        let error = match &self.table.fallback {
            Some(fallback) => {
                let cx = RequestContext::new(
                    self.state.clone(),
                    PathParams::default(),
                    self.body_limit,
                    self.tasks.clone(),
                );
                return fallback.call_with(req, cx);
            }
            None => Error::not_found(),
        };
        Box::pin(std::future::ready(error.into_response()))
    }

    /// Where [`App::redirect_trailing_slash`] sends `uri` (whose path matched no route): the
    /// path with its trailing slash removed or one added, if that is a route, with the query.
    fn slash_redirect(&self, uri: &http::Uri) -> Option<String> {
        let path = uri.path();
        let other = match path.strip_suffix('/') {
            Some("") => return None,
            Some(trimmed) => trimmed.to_owned(),
            None => format!("{path}/"),
        };
        // `//host` and `/\host` are another host to a browser: never an open redirect.
        if !other.starts_with('/') || other.starts_with("//") || other.starts_with("/\\") {
            return None;
        }
        if !matches!(self.table.at(&other), Matched::Route { .. }) {
            return None;
        }
        Some(match uri.query() {
            Some(query) => format!("{other}?{query}"),
            None => other,
        })
    }

    /// Finds the endpoint, runs it, and finishes its answer (see [`finish`]).
    async fn dispatch(self: Arc<Self>, req: Request) -> Response {
        let head = req.method() == Method::HEAD;
        let pages = self.pages.as_ref().map(|pages| pages.for_request(req.headers()));
        let mut res = self.start(req).await;
        finish(&mut res, head, self.formatter.as_deref(), pages.as_ref());
        res
    }
}

/// `307 Temporary Redirect` to `location` (method and body kept; see
/// [`App::redirect_trailing_slash`]).
fn slash_redirect_response(location: String) -> Response {
    let mut res = Response::new(crate::body::Body::empty());
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    match http::HeaderValue::try_from(location) {
        Ok(value) => {
            res.headers_mut().insert(http::header::LOCATION, value);
        }
        Err(_) => *res.status_mut() = StatusCode::NOT_FOUND,
    }
    res
}

/// The router as a tower service, for the app's layers to wrap.
#[derive(Clone)]
struct Dispatcher(Arc<Core>);

impl Service<Request> for Dispatcher {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        Box::pin(self.0.clone().dispatch(req).map(Ok))
    }
}

/// A built app: cheap to clone, ready to serve or to test.
///
/// Every request runs under a panic guard (a panicking handler gets a 500, the server keeps
/// serving) and, when `brisk::access` logging is enabled at INFO, is logged with its method,
/// path, status and latency.
#[derive(Clone)]
pub struct AppService {
    core: Arc<Core>,
    layered: Option<Route>,
    formatter: Arc<dyn ErrorFormatter>,
}

impl AppService {
    /// The built app's state value of type `T`.
    pub(crate) fn state<T: 'static>(&self) -> Option<&T> {
        self.core.state.get::<T>()
    }

    /// Resolves when no background task or teardown is running.
    pub(crate) async fn after_response_work_done(&self) {
        self.core.tasks.wait_idle().await;
    }

    /// Answers one request.
    pub fn call(&self, req: Request) -> impl Future<Output = Response> + Send + 'static {
        self.answer(req).map(|res| match res {
            Ok(res) => res,
            Err(never) => match never {},
        })
    }

    /// Answers one request, as the server's hyper service wants it (a `Result`).
    pub(crate) fn answer(&self, req: Request) -> Answer {
        let log = tracing::enabled!(target: "brisk::access", tracing::Level::INFO)
            .then(|| (Instant::now(), req.method().clone(), req.uri().path().to_owned()));
        // Behind app layers the router runs as a tower service (`Dispatcher`) that finishes its
        // own answers; otherwise the route starts right here and its answer is finished after.
        let pages = self.core.pages.as_ref().map(|pages| pages.for_request(req.headers()));
        let (inner, finishing, layered_pages): (BoxFuture<'static, Response>, _, _) = match &self.layered {
            Some(route) => (route.call(req), None, pages),
            None => {
                let head = req.method() == Method::HEAD;
                let core = &self.core;
                match std::panic::catch_unwind(AssertUnwindSafe(|| core.start(req))) {
                    Ok(started) => {
                        (started, Some(Finishing { head, formatter: core.formatter.clone(), pages }), None)
                    }
                    Err(panic) => (
                        Box::pin(async move { std::panic::resume_unwind(panic) }),
                        Some(Finishing { head, formatter: None, pages }),
                        None,
                    ),
                }
            }
        };
        Answer::new(inner, finishing, self.formatter.clone(), log, layered_pages)
    }
}

impl Service<Request> for AppService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        Box::pin(AppService::call(self, req).map(Ok))
    }
}
