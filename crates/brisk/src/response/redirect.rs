use http::header::LOCATION;
use http::{HeaderValue, StatusCode};

use super::{IntoResponse, Response};
use crate::body::Body;
use crate::error::Error;

/// A redirect: 303 See Other, 307 Temporary or 308 Permanent.
///
/// ```
/// use brisk::response::Redirect;
/// async fn old() -> Redirect {
///     Redirect::to("/new")
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: String,
}

impl Redirect {
    /// 303 See Other: the client follows with a GET (after a form POST, say).
    pub fn to(uri: impl Into<String>) -> Self {
        Redirect { status: StatusCode::SEE_OTHER, location: uri.into() }
    }

    /// 307 Temporary Redirect: the client repeats the same method and body.
    pub fn temporary(uri: impl Into<String>) -> Self {
        Redirect { status: StatusCode::TEMPORARY_REDIRECT, location: uri.into() }
    }

    /// 308 Permanent Redirect.
    pub fn permanent(uri: impl Into<String>) -> Self {
        Redirect { status: StatusCode::PERMANENT_REDIRECT, location: uri.into() }
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        match HeaderValue::try_from(self.location) {
            Ok(location) => {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = self.status;
                res.headers_mut().insert(LOCATION, location);
                res
            }
            Err(_) => Error::internal("redirect location is not a valid header value").into_response(),
        }
    }
}
