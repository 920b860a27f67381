//! [`Route`]: one type-erased endpoint, cheap to clone, one allocation per call.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tower::ServiceExt;
use tower_service::Service;

use crate::body::Body;
use crate::depends::{defer, describe_dependency, resolve_detailed, Dependency, Failure};
use crate::error::{BoxError, Error, ErrorFormatter};
use crate::extract::Request;
use crate::extract::RequestContext;
use crate::handler::{BoxFuture, Handler};
use crate::openapi::DescribeFn;
use crate::response::{IntoResponse, Response};

pub(crate) trait Endpoint: Send + Sync {
    /// Answers a request whose [`RequestContext`] travels in its extensions (behind a layer).
    fn call(&self, req: Request) -> BoxFuture<'static, Response>;

    /// Answers a request with its context handed over directly, as the app's dispatch does;
    /// endpoints that can read it without the extensions round trip override this.
    fn call_with(&self, mut req: Request, cx: RequestContext) -> BoxFuture<'static, Response> {
        req.extensions_mut().insert(cx);
        self.call(req)
    }

    /// Whether a request reaching this endpoint is answered 422, before any user code runs,
    /// when a route dependency left validation errors in its extensions
    /// ([`crate::depends`]). A tower service cannot promise it.
    fn reads_deferred_errors(&self) -> bool {
        false
    }
}

struct HandlerEndpoint<H, T> {
    handler: H,
    _marker: PhantomData<fn() -> T>,
}

impl<H: Handler<T>, T: 'static> Endpoint for HandlerEndpoint<H, T> {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        self.handler.clone().call(req)
    }

    fn call_with(&self, req: Request, cx: RequestContext) -> BoxFuture<'static, Response> {
        self.handler.clone().call_with_context(req, cx)
    }

    fn reads_deferred_errors(&self) -> bool {
        H::READS_DEFERRED_ERRORS
    }
}

struct ServiceEndpoint<S>(S);

impl<S, B> Endpoint for ServiceEndpoint<S>
where
    S: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        let service = self.0.clone();
        Box::pin(async move {
            match service.oneshot(req).await {
                Ok(res) => res.map(Body::new),
                Err(e) => Error::internal(e).into_response(),
            }
        })
    }
}

struct DependencyEndpoint<D> {
    inner: Route,
    _marker: PhantomData<fn() -> D>,
}

impl<D: Dependency> Endpoint for DependencyEndpoint<D> {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        let (mut parts, body) = req.into_parts();
        let cx = parts.extensions.remove::<RequestContext>().unwrap_or_default();
        self.call_with(Request::from_parts(parts, body), cx)
    }

    fn call_with(&self, req: Request, cx: RequestContext) -> BoxFuture<'static, Response> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match resolve_detailed::<D>(&mut parts, &cx, true).await {
                Ok(_) => {}
                // Invalid inputs: the handler lists these with its own arguments' errors.
                Err(Failure::Inputs(e)) if inner.reads_deferred_errors() => {
                    if let Err(e) = defer(&mut parts.extensions, e) {
                        return e.into_response();
                    }
                }
                Err(failure) => return failure.into_error().into_response(),
            }
            inner.0.call_with(Request::from_parts(parts, body), cx).await
        })
    }

    fn reads_deferred_errors(&self) -> bool {
        self.inner.reads_deferred_errors()
    }
}

/// How a route documents itself: its handler's describe function and type name, after the
/// router- or app-level dependencies wrapped around it.
#[derive(Clone)]
pub(crate) struct RouteDoc {
    pub(crate) describe: DescribeFn,
    pub(crate) name: &'static str,
    pub(crate) dependencies: Vec<DescribeFn>,
    /// Run last, when the operation is otherwise complete (its 422 and 415 included): an
    /// error formatter's schema replaces the error responses' ones.
    pub(crate) finish: Vec<DescribeFn>,
}

/// A type-erased endpoint: a handler, or a tower service (a handler wrapped in layers).
#[derive(Clone)]
pub struct Route(Arc<dyn Endpoint>, Option<RouteDoc>, Option<Arc<dyn ErrorFormatter>>);

impl Route {
    /// A route from a handler; it documents itself from the handler's signature.
    pub fn from_handler<H: Handler<T>, T: 'static>(handler: H) -> Self {
        let doc = RouteDoc {
            describe: H::describe,
            name: std::any::type_name::<H>(),
            dependencies: Vec::new(),
            finish: Vec::new(),
        };
        Route(Arc::new(HandlerEndpoint { handler, _marker: PhantomData }), Some(doc), None)
    }

    /// See [`Endpoint::reads_deferred_errors`].
    pub(crate) fn reads_deferred_errors(&self) -> bool {
        self.0.reads_deferred_errors()
    }

    pub(crate) fn doc(&self) -> Option<&RouteDoc> {
        self.1.as_ref()
    }

    /// The same documentation (and error formatter) on another endpoint (a layer around this
    /// one).
    pub(crate) fn with_doc_of(mut self, other: &Route) -> Self {
        self.1 = other.1.clone();
        self.2 = other.2.clone();
        self
    }

    /// This route behind another endpoint, documented as before plus `extra`.
    pub(crate) fn wrapped(&self, endpoint: impl Endpoint + 'static, extra: DescribeFn) -> Route {
        let mut doc = self.1.clone();
        if let Some(doc) = &mut doc {
            doc.dependencies.push(extra);
        }
        Route(Arc::new(endpoint), doc, self.2.clone())
    }

    /// This route, its errors rendered by `formatter` and documented by `document` (after
    /// everything else, the 422 and 415 included) — unless it has a formatter already (the
    /// innermost wins, in the answers and the document alike). The formatter is applied around
    /// everything wrapped around the route by then, the app's dependencies included, when the
    /// app is built ([`Route::outermost_formatter`]).
    pub(crate) fn with_formatter(&self, formatter: Arc<dyn ErrorFormatter>, document: DescribeFn) -> Route {
        if self.2.is_some() {
            return self.clone();
        }
        let mut doc = self.1.clone();
        if let Some(doc) = &mut doc {
            doc.finish.push(document);
        }
        Route(self.0.clone(), doc, Some(formatter))
    }

    /// This route behind its error formatter, if it has one: the last wrapper, so that every
    /// error of the route (its extractors', its handler's, its limits' and dependencies') is
    /// rendered by it.
    pub(crate) fn outermost_formatter(self) -> Route {
        match self.2.clone() {
            Some(formatter) => Route(
                Arc::new(super::formatted::Formatted { inner: Route(self.0, None, None), formatter }),
                self.1,
                None,
            ),
            None => self,
        }
    }

    /// This route, resolving dependency `D` before it runs (the value is cached for the
    /// handler) and documenting `D`'s inputs on its operation.
    pub(crate) fn with_dependency<D: Dependency>(&self) -> Route {
        self.wrapped(
            DependencyEndpoint::<D> { inner: self.clone(), _marker: PhantomData },
            describe_dependency::<D>,
        )
    }

    /// A route from any tower service whose response body yields `Bytes`.
    pub fn from_service<S, B>(service: S) -> Self
    where
        S: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Route(Arc::new(ServiceEndpoint(service)), None, None)
    }

    /// Calls the endpoint.
    pub fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        self.0.call(req)
    }

    /// Calls the endpoint with the request's context handed over directly.
    pub(crate) fn call_with(&self, req: Request, cx: RequestContext) -> BoxFuture<'static, Response> {
        self.0.call_with(req, cx)
    }
}

type RouteFuture =
    futures_util::future::Map<BoxFuture<'static, Response>, fn(Response) -> Result<Response, Infallible>>;

impl Service<Request> for Route {
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> RouteFuture {
        Route::call(self, req).map(Ok as fn(Response) -> Result<Response, Infallible>)
    }
}
