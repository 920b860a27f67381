//! [`Undocumented`]: the one explicit way to leave something out of the OpenAPI document.

use http::request::Parts;

use super::{DescribeInput, DescribeOutput, DocContext, Operation, ResponseDoc};
use crate::error::Error;
use crate::extract::{private::ViaRequest, FromRequest, FromRequestParts, Request, RequestContext};
use crate::response::{IntoResponse, Response};

/// Wraps an extractor or a return type that should not appear in the OpenAPI document.
///
/// As an extractor it documents nothing; as a return type it documents only a `default`
/// response. Prefer implementing [`DescribeInput`] / [`DescribeOutput`]: this is the escape hatch.
///
/// ```
/// use brisk::openapi::Undocumented;
/// use brisk::http::HeaderMap;
///
/// async fn raw(Undocumented(headers): Undocumented<HeaderMap>) -> Undocumented<String> {
///     Undocumented(format!("{} headers", headers.len()))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Undocumented<T>(pub T);

impl<T: FromRequestParts + Send> FromRequestParts for Undocumented<T> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        T::from_request_parts(parts, cx).await.map(Undocumented)
    }
}

impl<T: FromRequest<ViaRequest> + Send> FromRequest<ViaRequest> for Undocumented<T> {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        T::from_request(req, cx).await.map(Undocumented)
    }
}

impl<T> DescribeInput for Undocumented<T> {
    fn describe_input(cx: &mut DocContext, _op: &mut Operation) {
        // Whatever it reads, the path parameters are not to be reported as unread.
        cx.claimed_path = true;
    }
}

impl<T: IntoResponse> IntoResponse for Undocumented<T> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<T> DescribeOutput for Undocumented<T> {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("default", ResponseDoc::new("Undocumented response"));
    }
}
