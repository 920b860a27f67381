//! Everything a handler may return: [`IntoResponse`] and the response types.
//!
//! Strings are `text/plain`, [`Json`](crate::Json) is `application/json`, [`Html`] is
//! `text/html`, a [`StatusCode`] alone is an empty response, `(StatusCode, T)` sets the status,
//! headers can be added with `(HeaderMap, T)` or `([(name, value); N], T)`, and
//! `Result<T, E>` answers with whichever side it holds.

mod describe;
mod html;
mod json;
mod json_lines;
mod negotiate;
mod redirect;
mod sse;
mod status;

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::Body;
use crate::error::{Error, FastApiFormatter};

pub use html::Html;
pub(crate) use json::to_json_bytes;
pub use json_lines::JsonLines;
pub(crate) use negotiate::accepts_html;
pub use negotiate::prefers_html;
pub use redirect::Redirect;
pub(crate) use sse::EndsOnDrain;
pub use sse::{Event, Sse, DONE};
pub use status::{Created, NoContent};

/// The response type: `http::Response` with brisk's [`Body`].
pub type Response<B = Body> = http::Response<B>;

/// Something a handler can return.
///
/// ```
/// use brisk::response::{IntoResponse, Response};
/// use brisk::http::StatusCode;
///
/// struct Teapot;
/// impl IntoResponse for Teapot {
///     fn into_response(self) -> Response {
///         (StatusCode::IM_A_TEAPOT, "short and stout").into_response()
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a handler",
    label = "this type does not implement `IntoResponse`",
    note = "return a `String`, `Json<T>`, `Html<T>`, a `StatusCode`, a tuple like `(StatusCode, Json<T>)`, or `brisk::Result<T>`"
)]
pub trait IntoResponse {
    /// Builds the response.
    fn into_response(self) -> Response;
}

/// The error a response carries after being rendered with the default formatter, so the app
/// can render it again with its own formatter.
#[derive(Clone)]
pub(crate) struct RenderedError(pub(crate) Arc<Error>);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let crate::error::ErrorKind::Internal(source) = self.kind() {
            tracing::error!(target: "brisk::error", error = %source, "internal error");
        }
        let mut res = crate::error::render_error(&FastApiFormatter, &self);
        res.extensions_mut().insert(RenderedError(Arc::new(self)));
        res
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(Body::empty())
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self;
        res
    }
}

pub(crate) fn with_content_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut res = Response::new(body.into());
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for Cow<'static, str> {
    fn into_response(self) -> Response {
        match self {
            Cow::Borrowed(s) => s.into_response(),
            Cow::Owned(s) => s.into_response(),
        }
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        with_content_type(self, OCTETS)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        with_content_type(self, OCTETS)
    }
}

impl IntoResponse for &'static [u8] {
    fn into_response(self) -> Response {
        with_content_type(self, OCTETS)
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

impl IntoResponse for HeaderMap {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.headers_mut() = self;
        res
    }
}

impl<R: IntoResponse> IntoResponse for (StatusCode, R) {
    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        // An error keeps its own status: `(StatusCode::CREATED, Err(e))` must not answer 201.
        if res.extensions().get::<RenderedError>().is_none() {
            *res.status_mut() = self.0;
        }
        res
    }
}

impl<R: IntoResponse> IntoResponse for (HeaderMap, R) {
    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        res.headers_mut().extend(self.0);
        res
    }
}

impl<R: IntoResponse> IntoResponse for (StatusCode, HeaderMap, R) {
    fn into_response(self) -> Response {
        (self.0, (self.1, self.2)).into_response()
    }
}

impl<R, K, V, const N: usize> IntoResponse for ([(K, V); N], R)
where
    R: IntoResponse,
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        for (name, value) in self.0 {
            match (name.try_into(), value.try_into()) {
                (Ok(name), Ok(value)) => {
                    res.headers_mut().insert(name, value);
                }
                _ => return Error::internal("a handler returned an invalid header").into_response(),
            }
        }
        res
    }
}

impl<R, K, V, const N: usize> IntoResponse for (StatusCode, [(K, V); N], R)
where
    R: IntoResponse,
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    fn into_response(self) -> Response {
        (self.0, (self.1, self.2)).into_response()
    }
}
