//! Extractors: the typed arguments of a handler.
//!
//! Each argument of a handler says what it needs from the request. All of them but the last
//! implement [`FromRequestParts`] (they read the head: path, query, headers, state); the last
//! may implement [`FromRequest`] and consume the body ([`Json`], [`Form`], `Bytes`, `String`,
//! [`Multipart`]).
//!
//! When several extractors fail validation, the 422 lists every failure of the request at
//! once, as FastAPI does; any other failure (415, 413, ...) answers at once.
//!
//! `Option<T>` makes an extractor optional: absent input gives `None`, but input that is
//! present and wrong is still an error.
//!
//! ## Writing your own
//!
//! ```
//! use brisk::extract::{FromRequestParts, RequestContext};
//! use brisk::http::request::Parts;
//! use brisk::{Error, http::StatusCode};
//!
//! struct ApiVersion(u8);
//!
//! impl FromRequestParts for ApiVersion {
//!     async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
//!         match parts.headers.get("x-api-version").map(|v| v.as_bytes()) {
//!             Some(b"2") => Ok(ApiVersion(2)),
//!             None | Some(b"1") => Ok(ApiVersion(1)),
//!             Some(_) => Err(Error::http(StatusCode::BAD_REQUEST, "Unknown API version")),
//!         }
//!     }
//! }
//! ```

mod body;
mod client_addr;
mod context;
mod cookie;
mod describe;
mod form;
mod form_errors;
mod header;
mod json;
mod json_value;
#[cfg(feature = "multipart")]
mod multipart;
mod params;
mod parts;
mod path;
mod percent;
mod query;
mod state;
mod stream;
mod tuple;

use std::future::Future;

use http::request::Parts;

use crate::body::Body;
use crate::error::Error;

pub use body::read_body;
pub(crate) use client_addr::with_peer;
pub use client_addr::ClientAddr;
pub use context::RequestContext;
pub use cookie::{CookieJar, Cookies};
pub use form::Form;
pub use form_errors::{FormErrors, FormResult, FormValues, UploadedFile, NON_FIELD};
pub use header::{Header, TypedHeader};
pub use json::Json;
#[cfg(feature = "multipart")]
pub use multipart::{Field, Multipart, MultipartLimits};
pub use path::Path;
pub use query::Query;
pub use state::State;
pub use stream::BodyStream;

pub(crate) use context::StateMap;
pub(crate) use cookie::parse_cookies;
pub(crate) use form_errors::{inputs_of, messages_by_field, SubmittedValues};
pub(crate) use params::PathParams;
pub use percent::form_pairs;
pub(crate) use percent::invalid_utf8;

/// The request type: `http::Request` with brisk's [`Body`].
pub type Request<B = Body> = http::Request<B>;

/// Markers that keep the two blanket impls of [`FromRequest`] apart.
pub mod private {
    /// The extractor reads the whole request.
    #[derive(Debug, Clone, Copy)]
    pub enum ViaRequest {}
    /// The extractor reads only the head.
    #[derive(Debug, Clone, Copy)]
    pub enum ViaParts {}
}

/// An extractor that reads the request head only (path, query, headers, state).
///
/// Any number of them may appear in a handler's arguments, in any order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor brisk can build from the request head",
    label = "not a request-head extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Header<T>`, `Cookies<T>`, `State<T>`, `Method`, `HeaderMap` ...; a body extractor (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Multipart`) must be the last argument"
)]
pub trait FromRequestParts: Sized {
    /// Builds the value from the request head.
    fn from_request_parts(
        parts: &mut Parts,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Error>> + Send;
}

/// An extractor that consumes the request, body included. Only the last argument may be one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor brisk can build from a request",
    label = "not an extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Json<T>`, `Form<T>`, `Header<T>`, `State<T>` ...; types they carry derive `Deserialize`, `JsonSchema` and `Validate`"
)]
pub trait FromRequest<M = private::ViaRequest>: Sized {
    /// Builds the value from the whole request.
    fn from_request(req: Request, cx: &RequestContext) -> impl Future<Output = Result<Self, Error>> + Send;

    /// Builds the value from a request a handler has already split into head and body (the
    /// last argument's case). The default puts the request back together for
    /// [`from_request`](FromRequest::from_request); brisk's own extractors read the head where
    /// it is, which keeps the handler's future small (a request is 336 bytes, and every copy of
    /// it in the future is allocated and moved on every call).
    #[doc(hidden)]
    fn from_parts_and_body(
        parts: &mut Parts,
        body: Body,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Error>> + Send {
        let head = std::mem::replace(parts, Request::new(()).into_parts().0);
        Self::from_request(Request::from_parts(head, body), cx)
    }
}

impl<T> FromRequest<private::ViaParts> for T
where
    T: FromRequestParts + Send,
{
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    fn from_parts_and_body(
        parts: &mut Parts,
        _body: Body,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Error>> + Send {
        T::from_request_parts(parts, cx)
    }
}

/// `from_request` for an extractor whose work is in `from_parts_and_body`: splits the request and
/// hands it on.
pub(crate) async fn split_then<T: FromRequest<M>, M>(req: Request, cx: &RequestContext) -> Result<T, Error> {
    let (mut parts, body) = req.into_parts();
    T::from_parts_and_body(&mut parts, body, cx).await
}

/// A head extractor that can be absent: `Option<T>` gives `None` then.
pub trait OptionalFromRequestParts: Sized {
    /// `Ok(None)` when the input is absent; an error when it is present and wrong.
    fn from_request_parts(
        parts: &mut Parts,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

/// A body extractor that can be absent (an empty body): `Option<T>` gives `None` then.
pub trait OptionalFromRequest: Sized {
    /// `Ok(None)` when there is no body; an error when it is present and wrong.
    fn from_request(
        req: Request,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

impl<T: OptionalFromRequestParts + Send> FromRequestParts for Option<T> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        <T as OptionalFromRequestParts>::from_request_parts(parts, cx).await
    }
}

impl<T: OptionalFromRequest + Send> FromRequest<private::ViaRequest> for Option<T> {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        <T as OptionalFromRequest>::from_request(req, cx).await
    }
}
