//! The `X-Instance` header: which process answered, for diagnosing an app that runs as many
//! processes behind a balancer.

use std::convert::Infallible;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue};
use tower_layer::Layer;
use tower_service::Service;

use crate::app::App;
use crate::extract::Request;
use crate::handler::BoxFuture;
use crate::response::Response;
use crate::routing::Route;

/// The header naming the process.
pub const X_INSTANCE: HeaderName = HeaderName::from_static("x-instance");

/// This process's name: `BRISK_INSTANCE` when set (and a valid header value), else the host's
/// name and the process id (`web-3-41522`).
pub fn instance_name() -> String {
    if let Ok(name) = std::env::var("BRISK_INSTANCE") {
        if !name.is_empty() && HeaderValue::from_str(&name).is_ok() {
            return name;
        }
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && HeaderValue::from_str(h).is_ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{}", std::process::id())
}

impl App {
    /// Adds `X-Instance: <name>` to every response, errors and 404s included: the
    /// [`instance_name`] (`BRISK_INSTANCE`, else host name and process id). Off by default (it
    /// tells clients about the deployment).
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().instance_header();
    /// ```
    pub fn instance_header(self) -> Self {
        let name = instance_name();
        let value = HeaderValue::from_str(&name).unwrap_or_else(|_| HeaderValue::from_static("brisk"));
        self.layer(InstanceLayer(value))
    }
}

#[derive(Clone)]
struct InstanceLayer(HeaderValue);

impl Layer<Route> for InstanceLayer {
    type Service = Instance;

    fn layer(&self, inner: Route) -> Instance {
        Instance { inner, value: self.0.clone() }
    }
}

#[derive(Clone)]
struct Instance {
    inner: Route,
    value: HeaderValue,
}

impl Service<Request> for Instance {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (answer, value) = (self.inner.call(req), self.value.clone());
        Box::pin(async move {
            let mut res = answer.await;
            res.headers_mut().insert(X_INSTANCE, value);
            Ok(res)
        })
    }
}
