//! Dependency injection, like FastAPI's `Depends`.
//!
//! A dependency is a type built per request from extractors and other dependencies. A handler
//! asks for it with [`Depends<D>`]; brisk resolves the graph once per request (every asker
//! gets the same value; [`Fresh<D>`] opts out), runs registered teardown after the response
//! has been sent, and documents the dependency's parameters, body and security in the
//! operation as if the handler had asked for them itself.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::depends::{Dependency, Depends, Scope};
//!
//! #[derive(Clone)]
//! struct Pool;
//!
//! #[derive(Clone)]
//! struct DbSession(u32);
//!
//! impl Dependency for DbSession {
//!     type Inputs = (State<Pool>,);
//!     async fn provide((State(_pool),): Self::Inputs, scope: &Scope) -> Result<Self> {
//!         scope.on_teardown("db", async { /* commit or roll back */ Ok(()) });
//!         Ok(DbSession(1))
//!     }
//! }
//!
//! async fn handler(Depends(db): Depends<DbSession>) -> String {
//!     db.0.to_string()
//! }
//!
//! let app = App::new().route("/", get(handler)).with_state(Pool);
//! ```
//!
//! An `async fn` can provide one too: `#[dependency]` turns a function returning `Result<T>`
//! into `T`'s provider, its arguments being the inputs.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::depends::dependency;
//!
//! #[derive(Clone)]
//! struct Locale(String);
//!
//! #[dependency]
//! async fn locale(Header(h): Header<LocaleHeader>) -> Result<Locale> {
//!     Ok(Locale(h.accept_language.unwrap_or_else(|| "en".into())))
//! }
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct LocaleHeader { accept_language: Option<String> }
//!
//! async fn greet(Depends(l): Depends<Locale>) -> String { l.0 }
//! ```
//!
//! Attach a dependency to every route of a router or app (its value unused, e.g. an auth check)
//! with [`Router::dependency`](crate::Router::dependency) / [`App::dependency`](crate::App::dependency);
//! replace one in tests with [`App::override_dependency`](crate::App::override_dependency).
//!
//! As in FastAPI, a request that fails validation gets one 422 listing every failure: those of
//! the route's dependencies' inputs first, then those of the handler's arguments (the handler
//! does not run). A dependency that answers another error (`provide` returning 401 or 403, say)
//! answers it at once, before the handler's arguments are read.

mod cache;
pub(crate) use cache::{resolve_detailed, DepCache, Failure};
mod deferred;
pub(crate) use deferred::{defer, take_deferred};
mod overrides;
mod scope;

use std::future::Future;

use http::request::Parts;

pub use brisk_macros::dependency;
pub use scope::Scope;

pub(crate) use overrides::Overrides;

use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// A value built per request from extractors and other dependencies.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a brisk dependency",
    label = "implement `brisk::depends::Dependency` for it",
    note = "a dependency names its inputs (extractors or other `Depends<...>`) and builds itself from them"
)]
pub trait Dependency: Clone + Send + Sync + Sized + 'static {
    /// What it reads from the request: an extractor, `Depends<Other>`, or a tuple of them.
    type Inputs: FromRequestParts + DescribeInput + Send;

    /// Builds the value; `scope` registers teardown.
    fn provide(inputs: Self::Inputs, scope: &Scope) -> impl Future<Output = Result<Self, Error>> + Send;
}

/// Asks for a dependency, resolved at most once per request and shared by all who ask.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depends<D>(pub D);

/// Asks for a dependency built anew for this use (not taken from, nor stored in, the
/// request's cache).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fresh<D>(pub D);

impl<D: Dependency> FromRequestParts for Depends<D> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        cache::resolve::<D>(parts, cx, true).await.map(Depends)
    }
}

impl<D: Dependency> FromRequestParts for Fresh<D> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        cache::resolve::<D>(parts, cx, false).await.map(Fresh)
    }
}

/// Documents the dependency's own inputs on the operation that uses it.
pub(crate) fn describe_dependency<D: Dependency>(cx: &mut DocContext, op: &mut Operation) {
    if cx.enter_dependency::<D>() {
        D::Inputs::describe_input(cx, op);
        cx.leave_dependency();
    }
}

impl<D: Dependency> DescribeInput for Depends<D> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        describe_dependency::<D>(cx, op);
    }
}

impl<D: Dependency> DescribeInput for Fresh<D> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        describe_dependency::<D>(cx, op);
    }
}
