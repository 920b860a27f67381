//! [`MethodRouter`]: the endpoints of one path, by HTTP method.

use http::{HeaderValue, Method};

use super::route::Route;
use crate::handler::Handler;

const METHODS: [Method; 8] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
];

fn slot(method: &Method) -> Option<usize> {
    METHODS.iter().position(|m| m == method)
}

/// The endpoints of one path by method, built with [`get`], [`post`] ... and chained:
/// `get(list).post(create)`.
///
/// A GET endpoint answers HEAD too unless HEAD has its own.
#[derive(Clone, Default)]
pub struct MethodRouter {
    endpoints: [Option<Route>; 8],
    pub(crate) body_limit: Option<usize>,
    pub(crate) errors: Vec<String>,
    pub(crate) tags: Vec<String>,
    /// The names `url_for` knows this path by (see [`MethodRouter::name`]).
    pub(crate) names: Vec<String>,
    /// Left out of the OpenAPI document (see [`Router::include_in_schema`](super::Router::include_in_schema)).
    pub(crate) hidden: bool,
}

macro_rules! chained {
    ($($name:ident => $method:expr),* $(,)?) => {
        impl MethodRouter {
            $(
                #[doc = concat!("Adds `handler` for ", stringify!($name), " requests.")]
                pub fn $name<H: Handler<T>, T: 'static>(self, handler: H) -> Self {
                    self.on($method, handler)
                }
            )*
        }
        $(
            #[doc = concat!("A [`MethodRouter`] answering ", stringify!($name), " requests with `handler`.")]
            pub fn $name<H: Handler<T>, T: 'static>(handler: H) -> MethodRouter {
                MethodRouter::default().on($method, handler)
            }
        )*
    };
}

chained!(
    get => Method::GET,
    head => Method::HEAD,
    post => Method::POST,
    put => Method::PUT,
    patch => Method::PATCH,
    delete => Method::DELETE,
    options => Method::OPTIONS,
    trace => Method::TRACE,
);

impl MethodRouter {
    /// Adds `handler` for `method`.
    pub fn on<H: Handler<T>, T: 'static>(self, method: Method, handler: H) -> Self {
        self.on_route(method, Route::from_handler(handler))
    }

    /// Adds any tower service for `method`.
    pub fn on_route(mut self, method: Method, route: Route) -> Self {
        match slot(&method) {
            Some(i) if self.endpoints[i].is_some() => {
                self.errors.push(format!("{method} is registered twice for the same path"));
            }
            Some(i) => self.endpoints[i] = Some(route),
            None => self.errors.push(format!("brisk does not route the {method} method")),
        }
        self
    }

    /// Caps the request body for these endpoints (the app's limit applies otherwise).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// async fn upload(body: brisk::bytes::Bytes) -> String { body.len().to_string() }
    /// let app = App::new().route("/upload", post(upload).body_limit(10 * 1024 * 1024));
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Names this path, so that pages and handlers can build its URL from the name
    /// (`url_for("notes.detail", id=3)` in templates, [`UrlFor`](super::UrlFor) in handlers)
    /// instead of repeating it. The name belongs to the path, whatever the method; a name given
    /// to two different paths makes `App::build` fail.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// async fn show(Path(id): Path<i64>) -> String { id.to_string() }
    /// let app = App::new().route("/notes/{id}", get(show).name("notes.detail"));
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_owned());
        }
        self
    }

    /// Limits the endpoints added so far (this route's methods) with `limit`: see
    /// [`Router::rate_limit`](super::Router::rate_limit).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::rate_limit::RateLimit;
    /// async fn login() -> &'static str { "welcome" }
    /// let app = App::new().route("/login", post(login).rate_limit(RateLimit::per_minute(5).name("login")));
    /// ```
    pub fn rate_limit(self, limit: crate::rate_limit::RateLimit) -> Self {
        let limit = std::sync::Arc::new(limit);
        self.map_routes(&mut |route: Route| crate::rate_limit::wrap(route, &limit))
    }

    /// Wraps the endpoints added so far (this route's methods) in a tower layer: see
    /// [`Router::layer`](super::Router::layer).
    pub fn layer<L, B>(self, layer: L) -> Self
    where
        L: tower_layer::Layer<Route>,
        L::Service: tower_service::Service<crate::extract::Request, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<crate::extract::Request>>::Error: Into<crate::error::BoxError>,
        <L::Service as tower_service::Service<crate::extract::Request>>::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<crate::error::BoxError>,
    {
        self.map_routes(&mut |route: Route| {
            Route::from_service(layer.layer(route.clone())).with_doc_of(&route)
        })
    }

    /// Merges the endpoints of `other` in; a method both have is recorded as a conflict.
    pub(crate) fn merge(mut self, other: MethodRouter, path: &str) -> Self {
        for (i, route) in other.endpoints.into_iter().enumerate() {
            if let Some(route) = route {
                if self.endpoints[i].is_some() {
                    self.errors.push(format!("{} {path} is registered twice", METHODS[i]));
                } else {
                    self.endpoints[i] = Some(route);
                }
            }
        }
        self.errors.extend(other.errors);
        self.body_limit = self.body_limit.or(other.body_limit);
        self.hidden |= other.hidden;
        for tag in other.tags {
            if !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
        for name in other.names {
            if !self.names.contains(&name) {
                self.names.push(name);
            }
        }
        self
    }

    /// Wraps every endpoint with `f`.
    pub(crate) fn map_routes(mut self, f: &mut impl FnMut(Route) -> Route) -> Self {
        for endpoint in self.endpoints.iter_mut() {
            if let Some(route) = endpoint.take() {
                *endpoint = Some(f(route));
            }
        }
        self
    }

    /// Every endpoint with its method, in a stable order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Method, &Route)> {
        METHODS.iter().zip(&self.endpoints).filter_map(|(m, r)| r.as_ref().map(|r| (m, r)))
    }

    /// The endpoint for `method`; HEAD falls back to GET (the caller drops the body).
    pub(crate) fn route_for(&self, method: &Method) -> Option<&Route> {
        let found = slot(method).and_then(|i| self.endpoints[i].as_ref());
        match found {
            None if method == Method::HEAD => self.endpoints[0].as_ref(),
            found => found,
        }
    }

    /// The `Allow` header: every method with an endpoint, HEAD included when GET is.
    pub(crate) fn allow(&self) -> HeaderValue {
        let mut names: Vec<&str> = Vec::new();
        for (i, method) in METHODS.iter().enumerate() {
            let has = self.endpoints[i].is_some() || (i == 1 && self.endpoints[0].is_some());
            if has {
                names.push(method.as_str());
            }
        }
        HeaderValue::from_str(&names.join(", ")).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.endpoints.iter().all(Option::is_none)
    }
}
