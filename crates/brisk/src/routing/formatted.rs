//! Routes whose errors another [`ErrorFormatter`] renders: [`Router::error_formatter`](super::Router::error_formatter).

use std::sync::Arc;

use serde_json::{json, Value};

use super::route::{Endpoint, Route};
use crate::error::{rerender_error, ErrorFormatter};
use crate::extract::Request;
use crate::handler::BoxFuture;
use crate::openapi::{DocContext, Operation};
use crate::response::{RenderedError, Response};

/// `inner` (the route with everything wrapped around it), its errors rendered again by
/// `formatter`. The rendered error is taken out of the response, so the app's own formatter
/// (and its HTML error pages) leave it as it is.
pub(crate) struct Formatted {
    pub(crate) inner: Route,
    pub(crate) formatter: Arc<dyn ErrorFormatter>,
}

impl Endpoint for Formatted {
    fn call(&self, req: Request) -> BoxFuture<'static, Response> {
        let (fut, formatter) = (self.inner.call(req), self.formatter.clone());
        Box::pin(async move {
            let mut res = fut.await;
            match res.extensions_mut().remove::<RenderedError>() {
                Some(RenderedError(error)) => rerender_error(formatter.as_ref(), &error, res),
                None => res,
            }
        })
    }

    /// The request reaches `inner` unchanged: a dependency's deferred 422 is still read there.
    fn reads_deferred_errors(&self) -> bool {
        self.inner.reads_deferred_errors()
    }
}

/// Documents every error response (`4XX`, `5XX`, `default`) of the operation with `F`'s
/// schema, when it has one.
pub(crate) fn document<F: ErrorFormatter>(cx: &mut DocContext, op: &mut Operation) {
    let Some(schema) = F::error_schema(cx) else { return };
    for (status, response) in op.responses.iter_mut() {
        let is_error = status == "default" || status.starts_with('4') || status.starts_with('5');
        if let (true, Value::Object(response)) = (is_error, response) {
            response.insert("content".to_owned(), json!({"application/json": {"schema": schema.clone()}}));
        }
    }
}
