//! Middleware from a plain async function: [`from_fn`].
//!
//! Any tower layer works with [`App::layer`](crate::App::layer) and
//! [`Router::layer`](crate::Router::layer); `from_fn` covers the common case without writing a
//! `Service`.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use crate::extract::Request;
use crate::handler::BoxFuture;
use crate::response::{IntoResponse, Response};
use crate::routing::Route;

/// The rest of the stack, for a [`from_fn`] middleware to call.
#[derive(Clone)]
pub struct Next(Route);

impl Next {
    /// Passes the request on and returns the response.
    pub async fn run(self, req: Request) -> Response {
        self.0.call(req).await
    }
}

/// A layer that runs `f(request, next)` around the routes it wraps.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::middleware::{from_fn, Next};
/// use brisk::extract::Request;
///
/// async fn add_header(req: Request, next: Next) -> Response {
///     let mut res = next.run(req).await;
///     res.headers_mut().insert("x-served-by", "brisk".parse().unwrap());
///     res
/// }
///
/// async fn hello() -> &'static str { "hi" }
/// let app = App::new().route("/", get(hello)).layer(from_fn(add_header));
/// ```
///
/// Return early (without calling `next`) to short-circuit, e.g. with an error.
pub fn from_fn<F>(f: F) -> FromFnLayer<F> {
    FromFnLayer(f)
}

/// The layer [`from_fn`] returns.
#[derive(Clone)]
pub struct FromFnLayer<F>(F);

impl<F: Clone> Layer<Route> for FromFnLayer<F> {
    type Service = FromFn<F>;

    fn layer(&self, inner: Route) -> FromFn<F> {
        FromFn { f: self.0.clone(), inner }
    }
}

/// The service [`FromFnLayer`] builds.
#[derive(Clone)]
pub struct FromFn<F> {
    f: F,
    inner: Route,
}

impl<F, Fut, R> Service<Request> for FromFn<F>
where
    F: Fn(Request, Next) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let fut = (self.f)(req, Next(self.inner.clone()));
        Box::pin(async move { Ok(fut.await.into_response()) })
    }
}
